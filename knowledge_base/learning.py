"""Learning from traffic: when a confirmed customer question may become a phrasing of an entry.

A question whose answer was confirmed (👍, the customer's choice under "Did you mean …?", or an
agent's answer in a ticket mapped to an entry) is a *candidate* phrasing of that entry. ``judge``
decides, from the candidate, its nearest neighbours in the knowledge base and a few counts, whether
to add it automatically, queue it for an operator, or learn nothing. The rules are pure data
(``LearningRules``) so the bot, the console and ``benchmarks/learning_curve.py`` apply the same
policy; the defaults are the ones that benchmark tuned on the dev splits.

Pure Python + numpy: no Redis, no aiogram, no model. Where candidates are stored and how phrasings
are added or withdrawn is the caller's concern.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class Evidence(StrEnum):
    THUMBS_UP = "thumbs_up"  # 👍 on the answer
    DID_YOU_MEAN = "did_you_mean"  # the customer chose this entry under "Did you mean …?"
    AGENT = "agent"  # an agent's answer in a ticket mapped to this entry


class Action(StrEnum):
    ADD = "add"  # add the phrasing to the entry automatically
    SUGGEST = "suggest"  # queue it for an operator (existing suggestions)
    SKIP = "skip"  # learn nothing


@dataclass(frozen=True, slots=True)
class LearningRules:
    """Thresholds of the learning policy (cosines are between L2-normalised embeddings)."""

    enabled: bool = True
    auto_add: bool = True
    # Distinct customers who confirmed this entry (in the caller's window) before any automatic
    # add; fewer → SUGGEST ("few_customers"), and the caller may judge it again later.
    min_customers: int = 2
    # Candidates one customer may contribute per day; more are skipped ("customer_cap").
    per_customer_per_day: int = 3
    # A 👍 on an answer given with less confidence than this → SUGGEST ("low_confidence").
    # 0.5 sits just under the answer threshold (``RETRIEVAL__THRESHOLD`` 0.55): in the BANKING77
    # replay the 👍 between 0.55 and 0.7 were 151 right and 1 wrong, so every answered 👍 counts;
    # a bot answering lower than that still has its weakest 👍 checked by an operator.
    min_confidence: float = 0.5
    # The same floor for a "Did you mean …?" choice (those are shown below the answer threshold).
    min_choice_confidence: float = 0.2
    # Cosine to another entry's phrasing at or above this → SUGGEST ("near_other_entry").
    max_other_similarity: float = 0.9
    # A 👍 candidate must be at least this much closer to its own entry than to any other entry
    # (own − other), else it is confusable → SUGGEST ("near_other_entry"). A 👎-free answer the
    # bot gave with confidence is already its top entry, so this is off (−2) by default.
    min_margin: float = -2.0
    # The same for a "Did you mean …?" choice: a button pressed by mistake names an entry the
    # question is not nearest to, so a choice must be nearer its own entry than any other.
    min_choice_margin: float = 0.0
    # Cosine to a known out-of-scope question at or above this → SKIP ("out_of_scope").
    out_of_scope_similarity: float = 0.85
    # Cosine to the entry's own phrasing at or above this → SKIP ("duplicate": already there).
    duplicate_similarity: float = 0.97
    # An agent mapping a ticket to an entry is staff evidence: it needs no other customers.
    agent_needs_customers: bool = False
    # A learned phrasing whose answers collect this many 👎 is withdrawn …
    withdraw_after_downvotes: int = 2
    # … unless (when on) its answers collected at least as many 👍: a rare wrong 👎 on a phrasing
    # that keeps helping does not throw it away.
    withdraw_only_outvoted: bool = True

    def __post_init__(self) -> None:
        for name in ("min_customers", "per_customer_per_day", "withdraw_after_downvotes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in (
            "min_confidence",
            "min_choice_confidence",
            "max_other_similarity",
            "out_of_scope_similarity",
            "duplicate_similarity",
        ):
            value = getattr(self, name)
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between -1 and 1, got {value}")
        for name in ("min_margin", "min_choice_margin"):
            value = getattr(self, name)
            if not -2.0 <= value <= 2.0:
                raise ValueError(f"{name} must be between -2 and 2, got {value}")


@dataclass(frozen=True, slots=True)
class Candidate:
    text: str  # the customer's question, personal data already masked (common.pii.mask)
    entry_id: str
    evidence: Evidence
    customer: str  # opaque per-customer key (a hash, never a name)
    confidence: float  # the bot's calibrated confidence in this entry (1.0 for AGENT)


@dataclass(frozen=True, slots=True)
class Neighbours:
    own: float  # max cosine to the entry's own phrasings
    other: float  # max cosine to any other entry's phrasing
    other_entry: str | None  # which entry that was
    out_of_scope: float  # max cosine to an out-of-scope question (0.0 if none)

    @property
    def margin(self) -> float:
        """How much closer the candidate is to its own entry than to the nearest other one."""
        return self.own - self.other


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    # short key: "confirmed", "duplicate", "near_other_entry", "out_of_scope", "customer_cap",
    # "few_customers", "low_confidence", "auto_add_off", "disabled", "empty"
    reason: str


def neighbours(
    vector: np.ndarray,
    phrasing_vectors: np.ndarray,
    phrasing_entries: Sequence[str],
    entry_id: str,
    oos_vectors: np.ndarray | None,
    exclude: str | None = None,
) -> Neighbours:
    """The candidate's nearest phrasings: its own entry's, another entry's, an out-of-scope one.

    All vectors are L2-normalised rows (as ``FaqRetriever.phrasing_vectors`` returns), so the dot
    product is the cosine. ``phrasing_entries[i]`` is the entry id of ``phrasing_vectors[i]``.
    ``exclude``: an entry whose phrasings do not count as "another entry's" — the one the
    customer rejected (👎) before choosing this one: the question is near it by construction.
    """
    query = np.asarray(vector, dtype=np.float32).reshape(-1)
    rows = np.asarray(phrasing_vectors, dtype=np.float32)
    if rows.ndim != 2 or (len(rows) and rows.shape[1] != query.shape[0]):
        raise ValueError(f"phrasing vectors of shape {rows.shape} do not match {query.shape}")
    if len(rows) != len(phrasing_entries):
        raise ValueError(
            f"{len(rows)} phrasing vectors but {len(phrasing_entries)} entry ids for them"
        )
    own = other = 0.0
    other_entry: str | None = None
    if len(rows):
        sims = rows @ query
        is_own = np.fromiter((e == entry_id for e in phrasing_entries), bool, len(rows))
        is_other = ~is_own
        if exclude is not None and exclude != entry_id:
            is_other &= np.fromiter((e != exclude for e in phrasing_entries), bool, len(rows))
        if is_own.any():
            own = float(sims[is_own].max())
        if is_other.any():
            others = np.flatnonzero(is_other)
            best = int(others[np.argmax(sims[others])])
            other, other_entry = float(sims[best]), phrasing_entries[best]
    out_of_scope = 0.0
    if oos_vectors is not None and len(oos_vectors):
        out_of_scope = max(0.0, float((np.asarray(oos_vectors, np.float32) @ query).max()))
    return Neighbours(own=own, other=other, other_entry=other_entry, out_of_scope=out_of_scope)


def judge(
    candidate: Candidate,
    near: Neighbours,
    rules: LearningRules,
    *,
    entry_customers: int,
    customer_today: int,
) -> Verdict:
    """Add, suggest or skip one candidate phrasing.

    ``entry_customers``: distinct customers who confirmed ``candidate.entry_id`` in the window,
    this one included. ``customer_today``: candidates this customer already contributed today
    (before this one). Checks run from "learn nothing" to "ask a person" to "add": a question that
    is already there or looks out of scope is never queued; a confusable or weakly confirmed one
    goes to an operator; only the rest is added when automatic adds are on.
    """
    if not rules.enabled:
        return Verdict(Action.SKIP, "disabled")
    if not candidate.text.strip():
        return Verdict(Action.SKIP, "empty")
    if candidate.evidence is not Evidence.AGENT and customer_today >= rules.per_customer_per_day:
        return Verdict(Action.SKIP, "customer_cap")
    if near.own >= rules.duplicate_similarity:
        return Verdict(Action.SKIP, "duplicate")
    if near.out_of_scope >= rules.out_of_scope_similarity:
        return Verdict(Action.SKIP, "out_of_scope")
    margin = {
        Evidence.THUMBS_UP: rules.min_margin,
        Evidence.DID_YOU_MEAN: rules.min_choice_margin,
        Evidence.AGENT: -2.0,
    }[candidate.evidence]
    if near.other >= rules.max_other_similarity or near.margin < margin:
        return Verdict(Action.SUGGEST, "near_other_entry")
    floor = {
        Evidence.THUMBS_UP: rules.min_confidence,
        Evidence.DID_YOU_MEAN: rules.min_choice_confidence,
        Evidence.AGENT: 0.0,
    }[candidate.evidence]
    if candidate.confidence < floor:
        return Verdict(Action.SUGGEST, "low_confidence")
    needs_customers = candidate.evidence is not Evidence.AGENT or rules.agent_needs_customers
    if needs_customers and entry_customers < rules.min_customers:
        return Verdict(Action.SUGGEST, "few_customers")
    if not rules.auto_add:
        return Verdict(Action.SUGGEST, "auto_add_off")
    return Verdict(Action.ADD, "confirmed")


def should_withdraw(downvotes: int, upvotes: int, rules: LearningRules) -> bool:
    """Whether a learned phrasing whose answers collected these votes is withdrawn.

    Votes count on answers whose best-matching phrasing (``RetrievedFaq.matched``) is the learned
    one. 👎 never teach; enough of them take a learned phrasing back out.
    """
    if downvotes < rules.withdraw_after_downvotes:
        return False
    return not rules.withdraw_only_outvoted or downvotes > upvotes
