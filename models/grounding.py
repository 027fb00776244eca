"""The grounding guard: a generated reply may only state facts that its sources state.

Checked before a reply is shown: every number (amounts, dates, times, durations), e-mail address,
URL and product name in the reply must occur in the retrieved entries; a reply that opens with
"yes" or "no" must not contradict the entries' own yes or no; the reply must stay semantically
close to them; and it must not echo the prompt. A reply that fails is replaced by the
verbatim FAQ answer. The same checks score faithfulness in ``supportbot eval-generator``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from knowledge_base.model import FaqEntry
from models.prompting import HANDOFF_REPLY, SYSTEM_PROMPT
from retrieval.embedder import Embedder

_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"')\]]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)+/[^\s<>\"')\]]*", re.I
)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_WORD = re.compile(r"[A-Za-z][\w'’-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n]\s*|[\"“(]\s*)$")
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fourteen": "14",
    "fifteen": "15", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60",
    "ninety": "90", "hundred": "100",
}  # fmt: skip
# Capitalised words that are not product names even mid-sentence.
_COMMON_CAPS = frozenset({"i", "i'm", "i'll", "i've", "i'd", "ok", "okay"})
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_LEAK_MARKERS = ("<|im_", "help-centre entries", "customer message:", "earlier in this chat")
_YES = re.compile(r"^\W*(?:yes|yeah|yep|sure|of course|absolutely|certainly|definitely)\b", re.I)
_NO = re.compile(
    r"^\W*(?:no\b(?!\s+(?:problem|worries|need)\b)|nope\b|unfortunately\b|sorry,?\s+(?:we|you)\s+"
    r"(?:can(?:no|['’])t|cannot|don['’]t|do not|won['’]t)\b)",
    re.I,
)


def _trim_url(url: str) -> str:
    return url.rstrip(".,;:!?").lower()


def extract_facts(text: str) -> dict[str, list[str]]:
    """The checkable facts of a text: urls, emails, numbers and product names (capitalised)."""
    urls = [_trim_url(u) for u in _URL.findall(text)]
    emails = [e.lower() for e in _EMAIL.findall(text)]
    rest = _EMAIL.sub(" ", _URL.sub(" ", text))
    numbers = _NUMBER.findall(rest)
    lowered = rest.lower()
    numbers += [_NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", lowered) if w in _NUMBER_WORDS]
    names = []
    for match in _WORD.finditer(rest):
        word = match.group(0)
        if not (word[0].isupper() or any(c.isupper() for c in word[1:])):
            continue
        if word.lower() in _COMMON_CAPS:
            continue
        at_start = _SENTENCE_START.search(rest[: match.start()]) is not None
        if at_start and not any(c.isupper() for c in word[1:]):
            continue  # an ordinary word starting a sentence
        names.append(word)
    return {"urls": urls, "emails": emails, "numbers": numbers, "names": names}


def _source_facts(sources: Sequence[str]) -> tuple[str, set[str], set[str]]:
    joined = "\n".join(sources)
    lowered = joined.lower()
    facts = extract_facts(joined)
    numbers = {n for n in facts["numbers"]}
    words = {w.lower() for w in _WORD.findall(joined)}
    return lowered, numbers, words


def unsupported_facts(reply: str, sources: Sequence[str]) -> list[str]:
    """Facts in ``reply`` that none of ``sources`` contains (empty: everything is supported)."""
    lowered, numbers, words = _source_facts(sources)
    facts = extract_facts(reply)
    missing = [u for u in facts["urls"] if u not in lowered]
    missing += [e for e in facts["emails"] if e not in lowered]
    missing += [n for n in facts["numbers"] if n not in numbers]
    missing += [w for w in facts["names"] if w.lower().replace("’", "'") not in words]
    return missing


def source_texts(entries: Sequence[FaqEntry]) -> list[str]:
    """The guard's view of the entries a reply was written from: "question\nanswer" each."""
    return [f"{e.question}\n{e.answer}" for e in entries]


def polarity(text: str) -> int:
    """+1 when a text opens with a yes, -1 with a no, 0 when it opens with neither."""
    if _YES.search(text):
        return 1
    if _NO.search(text):
        return -1
    return 0


def contradicts_sources(reply: str, sources: Sequence[str]) -> bool:
    """The reply opens with a yes (no) where every source that answers yes or no says no (yes).

    A source is "question\nanswer"; its answer's opening word is what counts.
    """
    said = polarity(reply)
    if not said:
        return False
    stated = [polarity(s.split("\n", 1)[-1]) for s in sources]
    stated = [p for p in stated if p]
    return bool(stated) and all(p == -said for p in stated)


def looks_like_leak(reply: str) -> bool:
    """The reply echoes the prompt's scaffolding or rules instead of answering."""
    lowered = reply.lower()
    if any(marker in lowered for marker in _LEAK_MARKERS):
        return True
    rules = " ".join(SYSTEM_PROMPT.replace(HANDOFF_REPLY, " ").lower().split()).split()
    reply_norm = " ".join(lowered.split())
    return any(" ".join(rules[i : i + 7]) in reply_norm for i in range(len(rules) - 6))


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a reply may be sent, and if not, why."""

    ok: bool
    unsupported: tuple[str, ...] = ()
    similarity: float | None = None
    reason: str = ""
    details: dict[str, float] = field(default_factory=dict)


class GroundingGuard:
    """Checks replies against their sources; the embedder measures semantic closeness."""

    def __init__(self, embedder: Embedder | None, min_similarity: float = 0.5) -> None:
        self.embedder = embedder
        self.min_similarity = min_similarity

    def similarity(self, reply: str, sources: Sequence[str]) -> float:
        """Cosine similarity of the reply to its closest source or source sentence.

        Sentences count too: a short reply that answers from one sentence of a long entry is
        close to that sentence, not to the whole paragraph.
        """
        if self.embedder is None or not sources:
            return 1.0
        pieces = list(sources)
        for source in sources:
            pieces += [p for p in _SENTENCE_SPLIT.split(source) if len(p.split()) >= 4]
        vectors = self.embedder.encode([reply, *pieces], kind="passage")
        return float(np.max(vectors[1:] @ vectors[0]))

    def check_facts(self, reply: str, sources: Sequence[str]) -> Verdict:
        """The cheap part, usable on a partial reply while it streams."""
        if looks_like_leak(reply):
            return Verdict(False, reason="prompt leakage")
        missing = unsupported_facts(reply, sources)
        if missing:
            return Verdict(False, tuple(missing), reason="unsupported facts")
        if contradicts_sources(reply, sources):
            return Verdict(False, reason="contradicts the source's yes or no")
        return Verdict(True)

    def check(self, reply: str, sources: Sequence[str]) -> Verdict:
        if not reply.strip():
            return Verdict(False, reason="empty reply")
        verdict = self.check_facts(reply, sources)
        if not verdict.ok:
            return verdict
        sim = self.similarity(reply, sources)
        if sim < self.min_similarity:
            return Verdict(False, similarity=sim, reason="off topic")
        return Verdict(True, similarity=sim)
