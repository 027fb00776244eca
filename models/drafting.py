"""Drafts for operators: rewrites of an answer, product copy, an entry composed from agents' replies.

Nothing here is sent to a customer: every text is a draft an operator reads, edits and approves.
Each one passes the same grounding guard as a generated reply (``models/grounding.py``): no
number, date, e-mail, link or name that its sources do not contain, and close in meaning to them.
A text that fails is returned as refused, with the reason, never silently replaced.

What writes each text, honestly named in ``DraftPart.method``:

- ``shorter``: the fine-tuned SmolLM2 when one is trained — it learned exactly this (the answer's
  sentences that answer the question, within ~45 words) — else an extractive cut (the sentences
  closest to the question, by embedding, within half the words).
- ``friendlier`` and ``steps``: rules (contractions and a warm opening and close; one numbered
  step per sentence or clause). A 135M model does not change a text's tone or layout reliably,
  and a rule that keeps every word of the answer cannot invent a fact.
- product copy: templates filled with the operator's facts only; a text the facts cannot carry
  (a post with neither price nor offer, a description with no features) is refused, not padded.
- an entry: the agents' answering sentences (greetings, sign-offs and questions back dropped,
  near-duplicates merged), condensed by the generator when one is trained and its text passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from common.pii import mask
from knowledge_base.model import FaqEntry, text_key
from models.grounding import GroundingGuard, source_texts
from models.prompting import build_messages, is_handoff
from models.training import fitted_answer, split_sentences

# Writes greedy text for chat messages (a fine-tuned generator's ``write``); None: no model.
Complete = Callable[[list[dict[str, str]]], str]


class RewriteStyle(StrEnum):
    SHORTER = "shorter"
    FRIENDLIER = "friendlier"
    STEPS = "steps"


class Method(StrEnum):
    GENERATOR = "generator"  # the fine-tuned SmolLM2
    EXTRACTIVE = "extractive"  # sentences copied from the sources
    RULES = "rules"  # a deterministic transform of the sources' words
    TEMPLATE = "template"  # the operator's facts in a fixed layout


class DraftInputError(ValueError):
    """A draft request that cannot be written (no facts, unknown style…); nothing is produced."""


@dataclass(frozen=True, slots=True)
class DraftPart:
    """One text of a draft: what it is, the text, whether it passed the checks and why not."""

    label: str  # "answer", "description", "post"
    text: str
    ok: bool
    method: str
    reason: str = ""
    unsupported: tuple[str, ...] = ()

    def why(self) -> str:
        """The refusal in one line: the reason and the facts the sources lack."""
        if self.ok:
            return ""
        if self.unsupported:
            return f"{self.reason}: {', '.join(self.unsupported)}"
        return self.reason


@dataclass(frozen=True, slots=True)
class EntryComposition:
    """An entry drafted from a content gap: the question, the customers' wordings, an answer."""

    question: str
    phrasings: tuple[str, ...]
    answer: DraftPart
    sources: tuple[str, ...]  # the agents' replies, masked, that the answer was composed from


# ---------------------------------------------------------------------------------- rewriting

_CONTRACTIONS = (
    ("do not", "don't"), ("does not", "doesn't"), ("did not", "didn't"), ("cannot", "can't"),
    ("can not", "can't"), ("will not", "won't"), ("is not", "isn't"), ("are not", "aren't"),
    ("have not", "haven't"), ("has not", "hasn't"), ("you will", "you'll"), ("we will", "we'll"),
    ("you are", "you're"), ("we are", "we're"), ("it is", "it's"), ("you have", "you've"),
    ("we have", "we've"), ("that is", "that's"),
)  # fmt: skip
FRIENDLY_OPENING = "Happy to help!"
FRIENDLY_CLOSING = "Just let us know if anything else comes up."
_THEN = re.compile(r"^(?:then|and then|after that|next)\s*,?\s+", re.I)
_CLAUSE_SPLIT = re.compile(r";\s+|,\s+(?:and\s+)?then\s+|\s+and then\s+", re.I)
MAX_STEPS = 8


def _contract(text: str) -> str:
    for long, short in _CONTRACTIONS:
        words = r"\s+".join(long.split())
        pattern = re.compile(rf"\b{words}\b", re.I)

        def keep_case(match: re.Match[str], short: str = short) -> str:
            return short[0].upper() + short[1:] if match.group(0)[0].isupper() else short

        text = pattern.sub(keep_case, text)
    return text


def friendlier(answer: str) -> str:
    """The answer with contractions, a warm opening and, in its own paragraph, an offer of more
    help (its own paragraph also when the answer ends with a link: a capital after a link's
    full stop would read as a name to the guard)."""
    body = _contract(" ".join(answer.split()))
    return f"{FRIENDLY_OPENING} {body}\n\n{FRIENDLY_CLOSING}"


def as_steps(answer: str) -> list[str]:
    """The answer's sentences and clauses ("…; …", "…, then …") as steps, in order."""
    steps: list[str] = []
    for sentence in split_sentences(answer):
        for clause in _CLAUSE_SPLIT.split(sentence):
            clause = _THEN.sub("", clause.strip()).strip()
            if not clause.rstrip(".!?"):
                continue
            if clause[-1] not in ".!?":
                clause += "."
            steps.append(clause[0].upper() + clause[1:])
    return steps


def number_steps(steps: Sequence[str]) -> str:
    return "\n".join(f"{n}. {step}" for n, step in enumerate(steps, 1))


# ---------------------------------------------------------------------------------- product copy

COPY_FACTS = ("name", "features", "price", "offer")


@dataclass(frozen=True, slots=True)
class ProductFacts:
    """What an operator says about a product; nothing else may appear in its copy."""

    name: str = ""
    features: tuple[str, ...] = ()
    price: str = ""
    offer: str = ""

    @classmethod
    def parse(cls, text: str) -> ProductFacts:
        """``name=…; features=a, b; price=…; offer=…`` (any order; features split on commas)."""
        found: dict[str, str] = {}
        problems = []
        for part in (p.strip() for p in text.replace("\n", ";").split(";")):
            if not part:
                continue
            key, sep, value = part.partition("=")
            key = key.strip().lower()
            if not sep or key not in COPY_FACTS:
                problems.append(f"{part[:40]!r} is not one of {', '.join(COPY_FACTS)}=…")
                continue
            if value.strip():
                found[key] = " ".join(value.split())
        if problems:
            raise DraftInputError("; ".join(problems))
        features = tuple(f.strip() for f in found.get("features", "").split(",") if f.strip())
        return cls(found.get("name", ""), features, found.get("price", ""), found.get("offer", ""))

    @property
    def empty(self) -> bool:
        return not (self.name or self.features or self.price or self.offer)

    def source(self) -> str:
        """The facts as the grounding guard reads them."""
        lines = [f"name: {self.name}", f"features: {', '.join(self.features)}"]
        lines += [f"price: {self.price}", f"offer: {self.offer}"]
        return "\n".join(line for line in lines if not line.endswith(": "))

    def describe(self) -> str:
        """The facts in the ``name=…; …`` form they are typed in."""
        parts = [("name", self.name), ("features", ", ".join(self.features))]
        parts += [("price", self.price), ("offer", self.offer)]
        return "; ".join(f"{k}={v}" for k, v in parts if v)


def _listed(items: Sequence[str]) -> str:
    items = [i.rstrip(".") for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?" else text + "."


def describe_product(facts: ProductFacts) -> str:
    text = f"{facts.name}: {_listed(facts.features)}."
    if facts.price:
        text += f" Price: {_sentence(facts.price)}"
    if facts.offer:
        text += f" {_sentence(facts.offer[0].upper() + facts.offer[1:])}"
    return text


def channel_post(facts: ProductFacts) -> str:
    lines = [f"✨ {facts.name}"]
    if facts.features:
        lines += ["", *(f"• {f}" for f in facts.features)]
    lines.append("")
    if facts.price:
        lines.append(f"💶 {facts.price}")
    if facts.offer:
        lines.append(f"🎁 {facts.offer}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- entries

_CHATTER = re.compile(
    r"^\W*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|thanks?|thank you|"
    r"sorry for the (?:wait|delay)|apologies for|have a (?:nice|good|great)|kind regards|"
    r"best regards|cheers|you'?re welcome|let me (?:check|look)|one moment|i'?ll (?:check|look)|"
    r"hope (?:this|that) helps|is there anything else|anything else)\b",
    re.I,
)
_MASKED = re.compile(r"\[(?:email|phone|card|iban|national_id)\]")
ENTRY_WORDS = 70  # the composed answer's word budget
DUPLICATE_SIMILARITY = 0.9
REPEATS = 0.8  # a sentence this close to a chosen one adds nothing to the answer


def answering_sentences(replies: Sequence[str]) -> list[str]:
    """The agents' sentences that answer: greetings, thanks, sign-offs, questions back and any
    sentence that held personal data (masked: it was about one customer, not the topic) out."""
    kept: list[str] = []
    seen: set[str] = set()
    for reply in replies:
        for sentence in split_sentences(mask(reply)):
            if sentence.endswith("?") or _CHATTER.search(sentence) or _MASKED.search(sentence):
                continue
            if len(sentence.split()) < 3:
                continue
            if text_key(sentence) not in seen:
                seen.add(text_key(sentence))
                kept.append(sentence)
    return kept


# ---------------------------------------------------------------------------------- the writer


@dataclass
class DraftWriter:
    """Writes and checks drafts; ``complete`` is the fine-tuned generator (None: none trained)."""

    guard: GroundingGuard
    complete: Complete | None = None
    model_name: str = ""  # the generator version, for the draft's label
    entry_words: int = ENTRY_WORDS
    _vectors: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def has_generator(self) -> bool:
        return self.complete is not None

    def checked(self, label: str, text: str, sources: Sequence[str], method: str) -> DraftPart:
        """``text`` as a draft part: passed, or refused with the guard's reason."""
        verdict = self.guard.check(text, sources)
        return DraftPart(label, text, verdict.ok, method, verdict.reason, verdict.unsupported)

    def _encode(self, texts: list[str], kind: str) -> np.ndarray | None:
        if self.guard.embedder is None:
            return None
        return self.guard.embedder.encode(texts, kind=kind)

    # -- rewrites

    def rewrite(self, entry: FaqEntry, style: RewriteStyle | str) -> DraftPart:
        """``entry``'s answer in ``style``, checked against the entry (refused with why)."""
        try:
            style = RewriteStyle(style)
        except ValueError:
            styles = ", ".join(s.value for s in RewriteStyle)
            raise DraftInputError(f"unknown style {style!r}; expected one of {styles}") from None
        sources = source_texts([entry])
        if style is RewriteStyle.FRIENDLIER:
            return self.checked("answer", friendlier(entry.answer), sources, Method.RULES)
        if style is RewriteStyle.STEPS:
            steps = as_steps(entry.answer)[:MAX_STEPS]
            if len(steps) < 2:
                return DraftPart("answer", entry.answer, False, Method.RULES, "a single step")
            # The numbers are layout the draft adds; the steps' words are what is checked.
            part = self.checked("answer", " ".join(steps), sources, Method.RULES)
            return DraftPart(
                part.label, number_steps(steps), part.ok, part.method, part.reason,
                part.unsupported,
            )  # fmt: skip
        return self._shorter(entry, sources)

    def _shorter(self, entry: FaqEntry, sources: list[str]) -> DraftPart:
        original_words = len(entry.answer.split())
        if self.complete is not None:
            text = self.complete(build_messages(entry.question, [entry]))
            method = Method.GENERATOR
            if is_handoff(text):
                return DraftPart("answer", text, False, method, "the model found no answer")
        else:
            sentences = split_sentences(entry.answer)
            if len(sentences) < 2:
                return DraftPart("answer", entry.answer, False, Method.EXTRACTIVE, "one sentence")
            method = Method.EXTRACTIVE
            budget = max(12, original_words // 2)
            vectors = self._encode([entry.question, *sentences], "passage")
            if vectors is None:
                text = " ".join(sentences[:1])
            else:
                text = fitted_answer(vectors[0], sentences, vectors[1:], budget)
        part = self.checked("answer", text, sources, method)
        if part.ok and len(text.split()) >= original_words:
            return DraftPart("answer", text, False, method, "not shorter than the original")
        return part

    # -- product copy

    def product_copy(self, facts: ProductFacts) -> list[DraftPart]:
        """A short description and a channel post from ``facts`` alone (DraftInputError when
        there is nothing to write from)."""
        if facts.empty:
            raise DraftInputError("no facts given: name=…; features=…; price=…; offer=…")
        if not facts.name:
            raise DraftInputError("a product name is needed (name=…)")
        sources = [facts.source()]
        parts = []
        if facts.features:
            parts.append(
                self.checked("description", describe_product(facts), sources, Method.TEMPLATE)
            )
        else:
            parts.append(DraftPart("description", "", False, Method.TEMPLATE, "no features given"))
        if facts.price or facts.offer:
            parts.append(self.checked("post", channel_post(facts), sources, Method.TEMPLATE))
        else:
            parts.append(DraftPart("post", "", False, Method.TEMPLATE, "no price or offer given"))
        return parts

    # -- entries from agents' answers

    def entry(
        self, question: str, wordings: Sequence[str], replies: Sequence[str], phrasings: int = 10
    ) -> EntryComposition:
        """An entry for a content-gap cluster (``question``: its representative) from what agents
        replied in its tickets; the customers' other wordings become phrasings (masked)."""
        question = mask(question)
        sources = tuple(mask(r) for r in replies if r.strip())
        others = [mask(w) for w in wordings if text_key(w) != text_key(question)]
        others = list(dict.fromkeys(others))[:phrasings]
        sentences = self._distinct(answering_sentences(sources))
        if not sentences:
            reason = "no answering sentence in the agents' replies"
            return EntryComposition(
                question, tuple(others), DraftPart("answer", "", False, Method.EXTRACTIVE, reason),
                sources,
            )  # fmt: skip
        composed = self._central(question, sentences)
        answer = self.checked("answer", composed, sources, Method.EXTRACTIVE)
        if self.complete is not None and len(composed.split()) > 25:
            draft = FaqEntry("draft", question, composed)
            text = self.complete(build_messages(question, [draft]))
            if text and not is_handoff(text) and len(text.split()) < len(composed.split()):
                condensed = self.checked("answer", text, sources, Method.GENERATOR)
                if condensed.ok:
                    answer = condensed
        return EntryComposition(question, tuple(others), answer, sources)

    def _distinct(self, sentences: list[str]) -> list[str]:
        """Near-duplicate sentences (several agents saying the same) merged: the first is kept."""
        vectors = self._encode(sentences, "passage") if len(sentences) > 1 else None
        if vectors is None:
            return sentences
        kept: list[int] = []
        for i in range(len(sentences)):
            if all(float(vectors[i] @ vectors[j]) < DUPLICATE_SIMILARITY for j in kept):
                kept.append(i)
        return [sentences[i] for i in kept]

    def _central(self, question: str, sentences: list[str]) -> str:
        """The agents' sentences in their order, each adding something (one that mostly repeats
        what is chosen is skipped), within the word budget. No topic filter: a sentence such as
        "It takes 5–7 days." reads as far from the question on its own, yet answers it."""
        vectors = self._encode([question, *sentences], "passage") if len(sentences) > 1 else None
        chosen: list[int] = []
        words = 0
        for i, sentence in enumerate(sentences):
            n = len(sentence.split())
            if chosen and words + n > self.entry_words:
                continue
            if vectors is not None:
                vecs = vectors[1:]
                if chosen and self._repeats(vecs[i], vecs[chosen]):
                    continue
            chosen.append(i)
            words += n
        return " ".join(sentences[i] for i in chosen)

    @staticmethod
    def _repeats(vector: np.ndarray, chosen: np.ndarray) -> bool:
        """Close to one chosen sentence, or to what the chosen ones say together."""
        together = chosen.sum(axis=0)
        together = together / max(float(np.linalg.norm(together)), 1e-12)
        return max(float(np.max(chosen @ vector)), float(together @ vector)) > REPEATS
