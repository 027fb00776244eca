"""Learning from traffic, simulated: from one question per entry to a well-trained retriever.

The bot starts from ``kb.jsonl`` only (one question per entry). The train split is replayed as
customer traffic in a seeded random order, one distinct simulated customer per row. Each question
goes through the product's real retriever (``FaqRetriever``: MiniLM + FAISS + BM25 + calibrated
confidence) and the product's answer rule:

* confidence ≥ ``--threshold`` (``RETRIEVAL__THRESHOLD``): the top entry is the answer. The
  customer votes with probability 1 − ``--no-vote``: 👍 when the top entry is the row's label,
  👎 otherwise, a ``--wrong-vote`` share of votes flipped. Out-of-scope rows (CLINC150) have no
  right entry: a 👍 on them is always a wrong vote. After a 👎 the bot offers the other plausible
  entries ("Did you mean one of these?", ``AnsweringService.alternatives``; off with
  ``--no-dislike-alternatives``), handled like the buttons below with the rejected entry left out
  of the margin rule.
* below it: "Did you mean …?" with up to three buttons, the candidates scoring at least
  ``--suggest-floor`` (``RETRIEVAL__SUGGEST_FLOOR``, the rule of ``AnsweringService._clarify``).
  The customer presses the labelled entry when it is among them (a ``--wrong-vote`` share press
  another button); otherwise the customer is handed to a person, and with probability
  ``--agent-share`` (default 0.8) the agent answers the ticket with the labelled entry (``/reply
  kb:ID``; the rest answer in their own words, which teaches nothing). An out-of-scope question
  left without an answer is in the content-gap report; with probability ``--operator-oos``
  (default 0.5) an operator marks it out of scope there.

Every 👍, button choice and agent mapping is a ``Candidate`` (text masked with ``common.pii.mask``)
judged by ``knowledge_base.learning.judge`` against the served index: ADD puts the phrasing into
the knowledge base, SKIP drops it, SUGGEST queues it for an operator; with probability
``--operator-review`` (default 0: no operator) an operator reviews a suggestion, approving it when
right and rejecting it when wrong. A suggestion for "few_customers" is judged again when its entry
has been confirmed by enough distinct customers (a caller's option the policy allows). A 👎 on an
answer whose best-matching phrasing was learned counts against that phrasing; it is withdrawn per
``knowledge_base.learning.should_withdraw``.

The index is reloaded every ``--reload-every`` conversations when the knowledge base changed
(``FaqRetriever.load`` re-embeds only new phrasings, from a vector cache here, and keeps the
calibration on small changes); the retriever is fine-tuned (``train_retriever`` from the bundled
MiniLM with the known out-of-scope questions as negatives, as ``supportbot train-retriever``
does, ``--retrain-epochs`` epochs, ``--retrain-budget`` seconds at most) when ``--retrain-every``
phrasings were learned since the last training and at least ``--retrain-growth`` times the
phrasings that training saw, and then everything is re-embedded with the new model. The defaults
(1,000 phrasings, growth 0.5, 2 epochs) keep the whole run of both datasets within an hour on 2
cores: fine-tuning on a few hundred phrasings moves the model too little to pay for itself (see
the README), so the first retraining waits for a thousand.

After 0, 500, 1,000, 2,000, 5,000 and all conversations: accuracy@1 on dev; for CLINC150 also the
in-scope accuracy and out-of-scope recall at the threshold chosen on dev for 90 % recall
(``retrieval.evaluation.choose_threshold``); phrasings learned (in the knowledge base now), wrongly
learned (to an entry that is not the row's label, or from an out-of-scope row), withdrawn,
suggested, and retrains. The end prints the events, the verdicts, and per verdict and evidence how
many candidates were wrong and right (what tunes ``LearningRules``).

Usage:
  python benchmarks/learning_curve.py [--data ../shared/datasets] [--datasets banking77 clinc150]
      [--limit N] [--dev-limit N] [--seed 0] [--no-vote 0.5] [--wrong-vote 0.05]
      [--threshold 0.55] [--suggest-floor 0.45] [--agent-share 0.8] [--operator-oos 0.5]
      [--operator-review 0] [--no-dislike-alternatives] [--reload-every 100]
      [--retrain-every 1000] [--retrain-growth 0.5] [--retrain-epochs 2] [--retrain-budget 600]
      [--rule name=value ...] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.vector_cache import CachedEmbedder
from common.pii import mask
from knowledge_base.learning import (
    Action,
    Candidate,
    Evidence,
    LearningRules,
    judge,
    neighbours,
    should_withdraw,
)
from knowledge_base.loaders import LabelledQuery, load_knowledge_base, load_queries
from knowledge_base.model import KnowledgeBase
from retrieval import FaqRetriever, SentenceTransformerEmbedder
from retrieval.embedder import Embedder
from retrieval.evaluation import choose_threshold, evaluate
from retrieval.retriever import SearchResult
from retrieval.training import TrainingConfig, train_retriever

CHECKPOINTS = (0, 500, 1000, 2000, 5000)
MAX_BUTTONS = 3  # bot.services.answering.MAX_SUGGESTIONS


@dataclass(frozen=True, slots=True)
class SimSettings:
    seed: int = 0
    no_vote: float = 0.5
    wrong_vote: float = 0.05
    threshold: float = 0.55
    suggest_floor: float = 0.45
    top_k: int = 3
    agent_share: float = 0.8
    operator_oos: float = 0.5
    operator_review: float = 0.0
    dislike_alternatives: bool = True
    reload_every: int = 100
    retrain_every: int = 1000
    retrain_growth: float = 0.5
    retrain_budget_s: float = 600.0
    retrain_epochs: float = 2.0
    limit: int | None = None
    dev_limit: int | None = None


DEFAULT = SimSettings()


@dataclass
class Learned:
    entry_id: str
    label: str | None  # the row's true entry (None: out of scope)
    up: int = 0
    down: int = 0


@dataclass
class Point:
    conversations: int
    accuracy: float
    learned: int
    wrong: int
    withdrawn: int
    suggested: int
    retrains: int
    seconds: float
    in_scope: float | None = None
    oos_recall: float | None = None
    threshold: float | None = None


@dataclass
class Outcome:
    points: list[Point] = field(default_factory=list)
    verdicts: Counter = field(default_factory=Counter)
    events: Counter = field(default_factory=Counter)
    # verdict → [wrong, right] candidates (right: the row's label)
    correctness: defaultdict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    seconds: float = 0.0


class Simulation:
    """One dataset's replay of its train split through the product's retriever and policy."""

    def __init__(
        self, folder: Path, rules: LearningRules, sim: SimSettings, work: Path, say
    ) -> None:
        self.rules, self.sim, self.work, self.say = rules, sim, work, say
        self.base_kb = load_knowledge_base(folder / "kb.jsonl")
        traffic = load_queries(folder / "train.jsonl")
        random.Random(sim.seed).shuffle(traffic)
        self.traffic = traffic[: sim.limit] if sim.limit else traffic
        dev = load_queries(folder / "dev.jsonl")
        if sim.dev_limit and sim.dev_limit < len(dev):
            dev = random.Random(sim.seed + 1).sample(dev, sim.dev_limit)
        self.dev = dev
        self.rng = random.Random(sim.seed + 2)
        self.learned: dict[str, Learned] = {}  # masked text → what it was learned as
        self.withdrawn: set[str] = set()
        self.known_oos: list[str] = []  # marked out of scope by the simulated operator
        self.customers: dict[str, set[str]] = defaultdict(set)  # entry → confirming customers
        self.waiting: dict[str, list[tuple[Candidate, str | None]]] = defaultdict(list)
        self.outcome = Outcome()
        self.retrains = 0
        self.since_retrain = 0
        self.trained_size = self.base_kb.phrasing_count()
        self.suggested = 0
        self.dirty = False
        self.kb = self.base_kb
        self._new_model(None)

    # -- the served retriever -------------------------------------------------------------
    def _new_model(self, model_dir: Path | None, done: int = 0) -> None:
        embedder = CachedEmbedder(
            SentenceTransformerEmbedder(model_dir, onnx_dir=self.work / "onnx"), kinds_alike=True
        )
        started = time.perf_counter()
        embedder.prime(
            [q.text for q in self.traffic[done:]]
            + [q.text for q in self.dev]
            + self.kb.phrasing_rows()[0]
        )
        self.say(
            f"  embedded {len(embedder._cache)} texts in {time.perf_counter() - started:.0f}s"
        )
        self.embedder: Embedder = embedder
        self.retriever = FaqRetriever(embedder)
        self._reload()

    def _reload(self) -> None:
        self.kb = self._current_kb()
        self.retriever.load(self.kb)
        texts, owners = self.kb.phrasing_rows()
        self.rows = self.retriever.phrasing_vectors(texts)
        self.row_entries = [self.kb.entries[o].id for o in owners]
        self.row_texts = set(texts)
        self.oos_rows = (
            self.embedder.encode(list(self.kb.out_of_scope)) if self.kb.out_of_scope else None
        )
        self.dirty = False

    def _current_kb(self) -> KnowledgeBase:
        extra: dict[str, list[str]] = defaultdict(list)
        for text, item in self.learned.items():
            extra[item.entry_id].append(text)
        kb = self.base_kb.with_extra_phrasings(dict(extra))
        return kb.with_out_of_scope((*kb.out_of_scope, *self.known_oos))

    def _retrain_due(self) -> bool:
        """Enough new phrasings since the last training: ``retrain_every``, and at least
        ``retrain_growth`` times the phrasings it was trained on (so its cost stays bounded)."""
        sim = self.sim
        if sim.retrain_every <= 0:
            return False
        return self.since_retrain >= max(sim.retrain_every, sim.retrain_growth * self.trained_size)

    def _retrain(self, done: int) -> None:
        started = time.perf_counter()
        config = TrainingConfig(
            epochs=self.sim.retrain_epochs,
            time_budget_s=self.sim.retrain_budget_s,
            seed=self.sim.seed + self.retrains,
        )
        kb = self._current_kb()
        report = train_retriever(kb, self.work / "models", config, progress=False)
        self.trained_size = kb.phrasing_count()
        self.retrains += 1
        self.since_retrain = 0
        self.say(
            f"  retrain {self.retrains}: {report.steps}/{report.planned_steps} steps on "
            f"{report.pairs} phrasings in {report.seconds:.0f}s"
        )
        self._new_model(report.model_dir, done)
        self.say(f"  model swapped in after {time.perf_counter() - started:.0f}s")

    # -- traffic --------------------------------------------------------------------------
    def run(self) -> Outcome:
        started = time.perf_counter()
        total = len(self.traffic)
        marks = sorted({c for c in CHECKPOINTS if c < total} | {total})
        self._checkpoint(0, started)
        done = 0
        for mark in marks[1:]:
            while done < mark:
                end = min(mark, done + self.sim.reload_every)
                self._converse(self.traffic[done:end], done)
                done = end
                if self.dirty:
                    if self._retrain_due():
                        self._retrain(done)
                    else:
                        self._reload()
            self._checkpoint(mark, started)
        self.outcome.seconds = time.perf_counter() - started
        return self.outcome

    def _converse(self, rows: list[LabelledQuery], first: int) -> None:
        texts = [q.text for q in rows]
        results = self.retriever.search_vectors(
            texts, self.embedder.encode(texts), max(self.sim.top_k, MAX_BUTTONS + 1)
        )
        for offset, (query, result) in enumerate(zip(rows, results, strict=True)):
            self._conversation(query, result, f"customer-{first + offset}")

    def _conversation(self, query: LabelledQuery, result: SearchResult, customer: str) -> None:
        sim, events = self.sim, self.outcome.events
        top = result.top
        if top is not None and result.confidence >= sim.threshold:
            events["answered"] += 1
            if self.rng.random() < sim.no_vote:
                return
            right = top.id == query.faq_id
            up = right != (self.rng.random() < sim.wrong_vote)
            events["thumbs_up" if up else "thumbs_down"] += 1
            learned = self.learned.get(top.matched)
            if learned is not None:
                if up:
                    learned.up += 1
                else:
                    learned.down += 1
                    if should_withdraw(learned.down, learned.up, self.rules):
                        self._withdraw(top.matched)
            if up:
                self._confirm(query, top.id, Evidence.THUMBS_UP, customer, result.confidence)
                return
            if not sim.dislike_alternatives:
                return
            # 👎: "Did you mean one of these?" with the other candidates (the rejected one out).
            events["offered_after_dislike"] += 1
            self._offer(query, result, customer, rejected=top.id)
            return
        events["clarified"] += 1
        self._offer(query, result, customer, rejected=None)

    def _offer(
        self, query: LabelledQuery, result: SearchResult, customer: str, rejected: str | None
    ) -> None:
        """Buttons of the plausible candidates (``AnsweringService._clarify``'s rule); the
        customer presses the labelled one if shown; else the ticket goes to an agent."""
        sim, events = self.sim, self.outcome.events
        plausible = [c for c in result.candidates if c.score >= sim.suggest_floor]
        buttons = [c for c in plausible if c.id != rejected][:MAX_BUTTONS]
        ids = [c.id for c in buttons]
        chosen: str | None = None
        if query.faq_id in ids:
            chosen = query.faq_id
            if self.rng.random() < sim.wrong_vote:
                others = [i for i in ids if i != query.faq_id]
                chosen = self.rng.choice(others) if others else None
        elif ids and self.rng.random() < sim.wrong_vote:
            chosen = self.rng.choice(ids)
        if chosen is not None:
            events["chose_button" if rejected is None else "chose_after_dislike"] += 1
            self._confirm(
                query, chosen, Evidence.DID_YOU_MEAN, customer, result.confidence, rejected
            )
        elif query.faq_id is not None and self.rng.random() < sim.agent_share:
            events["agent_answered"] += 1
            self._confirm(query, query.faq_id, Evidence.AGENT, customer, 1.0)
        elif query.faq_id is None and self.rng.random() < sim.operator_oos:
            # The question is in the content-gap report; the operator marks it out of scope.
            events["marked_out_of_scope"] += 1
            self.known_oos.append(mask(query.text))
            self.dirty = True

    def _confirm(
        self,
        query: LabelledQuery,
        entry_id: str,
        evidence: Evidence,
        customer: str,
        confidence: float,
        rejected: str | None = None,
    ) -> None:
        self.customers[entry_id].add(customer)
        candidate = Candidate(mask(query.text), entry_id, evidence, customer, confidence)
        self._judge(candidate, query.faq_id, rejected=rejected)
        if len(self.customers[entry_id]) >= self.rules.min_customers and self.waiting[entry_id]:
            waiting, self.waiting[entry_id] = self.waiting[entry_id], []
            for earlier, label, excluded in waiting:
                self._judge(earlier, label, again=True, rejected=excluded)

    def _judge(
        self,
        candidate: Candidate,
        label: str | None,
        again: bool = False,
        rejected: str | None = None,
    ) -> None:
        text = candidate.text
        if text in self.learned or text in self.withdrawn:
            self.outcome.verdicts["already_judged"] += 1
            return
        vector = self.embedder.encode([text])[0]
        near = neighbours(
            vector, self.rows, self.row_entries, candidate.entry_id, self.oos_rows, rejected
        )
        verdict = judge(
            candidate,
            near,
            self.rules,
            entry_customers=len(self.customers[candidate.entry_id]),
            customer_today=0,  # every simulated customer is a distinct one
        )
        right = candidate.entry_id == label
        if not again:
            self.outcome.verdicts[f"{verdict.action}:{verdict.reason}"] += 1
            key = f"{verdict.action}:{verdict.reason}:{candidate.evidence}"
            self.outcome.correctness[key][right] += 1
        if verdict.action is Action.ADD:
            self._add(text, candidate, label, vector)
            if again:
                self.outcome.verdicts["add:confirmed_later"] += 1
                self.suggested -= 1
        elif verdict.action is Action.SUGGEST and not again:
            if self.rng.random() < self.sim.operator_review:
                # An operator reviews the suggestion: approves a right one, rejects a wrong one.
                self.outcome.events["operator_approved" if right else "operator_rejected"] += 1
                if right:
                    self._add(text, candidate, label, vector)
                return
            self.suggested += 1
            if verdict.reason == "few_customers":
                self.waiting[candidate.entry_id].append((candidate, label, rejected))

    def _add(self, text: str, candidate: Candidate, label: str | None, vector) -> None:
        self.learned[text] = Learned(candidate.entry_id, label)
        if candidate.entry_id != label:
            self.outcome.events[f"wrong_from_{candidate.evidence}"] += 1
        self.rows = np.vstack([self.rows, vector[None, :]])
        self.row_entries.append(candidate.entry_id)
        self.since_retrain += 1
        self.dirty = True

    def _withdraw(self, text: str) -> None:
        item = self.learned.pop(text)
        self.withdrawn.add(text)
        self.outcome.events["withdrawn"] += 1
        if item.entry_id != item.label:
            self.outcome.events["withdrawn_wrong"] += 1
        self.dirty = True

    # -- measurement ----------------------------------------------------------------------
    def _checkpoint(self, conversations: int, started: float) -> None:
        if self.dirty:
            self._reload()
        texts = [q.text for q in self.dev]
        results = self.retriever.search_vectors(texts, self.embedder.encode(texts), 5)
        threshold = choose_threshold(results, self.dev)
        report = evaluate(results, self.dev, threshold=threshold)
        wrong = sum(item.entry_id != item.label for item in self.learned.values())
        point = Point(
            conversations=conversations,
            accuracy=report.accuracy_at_1,
            learned=len(self.learned),
            wrong=wrong,
            withdrawn=self.outcome.events["withdrawn"],
            suggested=self.suggested,
            retrains=self.retrains,
            seconds=time.perf_counter() - started,
        )
        if threshold is not None:
            point.in_scope = report.in_scope_accuracy
            point.oos_recall = report.oos_recall
            point.threshold = threshold
        self.outcome.points.append(point)
        extra = (
            f" in-scope {point.in_scope:.2%} OOS recall {point.oos_recall:.2%}"
            if point.in_scope is not None
            else ""
        )
        self.say(
            f"  after {conversations}: acc@1 {point.accuracy:.2%}{extra} learned {point.learned}"
            f" wrong {wrong} retrains {self.retrains} ({point.seconds:.0f}s)"
        )


def parse_rules(pairs: list[str]) -> LearningRules:
    """``name=value`` overrides of the default ``LearningRules``; unknown names are refused."""
    known = {f.name: f.type for f in dataclasses.fields(LearningRules)}
    values: dict[str, object] = {}
    for pair in pairs:
        name, _, raw = pair.partition("=")
        if name not in known or not raw:
            raise SystemExit(f"--rule {pair!r}: expected name=value, name one of {sorted(known)}")
        default = getattr(LearningRules(), name)
        if isinstance(default, bool):
            values[name] = raw.lower() in ("1", "true", "yes", "on")
        else:
            values[name] = type(default)(raw)
    return LearningRules(**values)


def table(name: str, outcome: Outcome) -> Table:
    oos = any(p.in_scope is not None for p in outcome.points)
    out = Table(title=f"{name}: learning from traffic ({outcome.seconds:.0f}s)")
    heads = ["conversations", "acc@1"]
    if oos:
        heads += ["in-scope", "OOS recall", "threshold"]
    heads += ["learned", "wrong", "wrong %", "withdrawn", "suggested", "retrains", "s"]
    for head in heads:
        out.add_column(head, justify="right")
    for p in outcome.points:
        row = [str(p.conversations), f"{p.accuracy:.2%}"]
        if oos:
            row += [f"{p.in_scope:.2%}", f"{p.oos_recall:.2%}", f"{p.threshold:.3f}"]
        share = p.wrong / p.learned if p.learned else 0.0
        row += [
            str(p.learned),
            str(p.wrong),
            f"{share:.2%}",
            str(p.withdrawn),
            str(p.suggested),
            str(p.retrains),
            f"{p.seconds:.0f}",
        ]
        out.add_row(*row)
    return out


def summary(outcome: Outcome) -> dict:
    points = outcome.points
    curve = {str(p.conversations): round(p.accuracy, 4) for p in points[:-1]}
    curve["all"] = round(points[-1].accuracy, 4)
    last = points[-1]
    out: dict[str, object] = {
        "curve": curve,
        "learned": last.learned,
        "wrong": last.wrong,
        "retrains": last.retrains,
    }
    if last.in_scope is not None:
        out["in_scope"] = round(last.in_scope, 4)
        out["oos_recall"] = round(last.oos_recall, 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--datasets", nargs="+", default=["banking77", "clinc150"])
    parser.add_argument("--limit", type=int, help="replay only the first N conversations")
    parser.add_argument("--dev-limit", type=int, help="evaluate on a seeded sample of dev")
    parser.add_argument("--seed", type=int, default=DEFAULT.seed)
    parser.add_argument(
        "--no-vote", type=float, default=DEFAULT.no_vote, help="share who do not vote"
    )
    parser.add_argument(
        "--wrong-vote", type=float, default=DEFAULT.wrong_vote, help="share of wrong votes"
    )
    parser.add_argument(
        "--threshold", type=float, default=DEFAULT.threshold, help="RETRIEVAL__THRESHOLD"
    )
    parser.add_argument("--suggest-floor", type=float, default=DEFAULT.suggest_floor)
    parser.add_argument(
        "--agent-share",
        type=float,
        default=DEFAULT.agent_share,
        help="share of unrecovered in-scope questions an agent answers with their entry",
    )
    parser.add_argument(
        "--operator-oos",
        type=float,
        default=DEFAULT.operator_oos,
        help="share of unrecovered out-of-scope questions an operator marks out of scope",
    )
    parser.add_argument(
        "--operator-review",
        type=float,
        default=DEFAULT.operator_review,
        help="share of suggestions an operator reviews (approves the right, rejects the wrong)",
    )
    parser.add_argument(
        "--no-dislike-alternatives",
        action="store_true",
        help="a 👎 offers no other entries (the bot before they were offered)",
    )
    parser.add_argument("--reload-every", type=int, default=DEFAULT.reload_every)
    parser.add_argument(
        "--retrain-every",
        type=int,
        default=DEFAULT.retrain_every,
        help="new phrasings per retrain (0: never)",
    )
    parser.add_argument(
        "--retrain-growth",
        type=float,
        default=DEFAULT.retrain_growth,
        help="and at least this share of the phrasings the last training saw (0: off)",
    )
    parser.add_argument(
        "--retrain-budget", type=float, default=DEFAULT.retrain_budget_s, help="seconds"
    )
    parser.add_argument("--retrain-epochs", type=float, default=DEFAULT.retrain_epochs)
    parser.add_argument("--rule", action="append", default=[], help="LearningRules name=value")
    parser.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    args = parser.parse_args()
    for name, value in (("--no-vote", args.no_vote), ("--wrong-vote", args.wrong_vote)):
        if not 0.0 <= value <= 1.0:
            parser.error(f"{name} must be between 0 and 1, got {value}")
    rules = parse_rules(args.rule)
    sim = SimSettings(
        seed=args.seed,
        no_vote=args.no_vote,
        wrong_vote=args.wrong_vote,
        threshold=args.threshold,
        suggest_floor=args.suggest_floor,
        agent_share=args.agent_share,
        operator_oos=args.operator_oos,
        operator_review=args.operator_review,
        dislike_alternatives=not args.no_dislike_alternatives,
        reload_every=args.reload_every,
        retrain_every=args.retrain_every,
        retrain_growth=args.retrain_growth,
        retrain_budget_s=args.retrain_budget,
        retrain_epochs=args.retrain_epochs,
        limit=args.limit,
        dev_limit=args.dev_limit,
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    console = Console(stderr=args.json)
    console.print(f"simulation: {dataclasses.asdict(sim)}")
    console.print(f"rules: {dataclasses.asdict(rules)}")
    console.print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    figures: dict[str, dict] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="learning-curve-") as tmp:
        for name in args.datasets:
            console.print(f"[bold]{name}[/bold]")
            simulation = Simulation(
                args.data / name, rules, sim, Path(tmp) / name, lambda s: console.print(s)
            )
            outcome = simulation.run()
            console.print(table(name, outcome))
            console.print(f"events: {dict(outcome.events)}")
            console.print(f"verdicts: {dict(sorted(outcome.verdicts.items()))}")
            console.print(
                "wrong/right per verdict: "
                f"{ {k: tuple(v) for k, v in sorted(outcome.correctness.items())} }"
            )
            figures[name] = summary(outcome)
    console.print(
        f"whole run: {time.perf_counter() - started:.0f}s; load average now {os.getloadavg()}"
    )
    if args.json:
        print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
