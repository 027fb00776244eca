"""An escalation threshold whose out-of-scope recall holds on questions it was not chosen on.

The old way (``evaluation.choose_threshold``) takes the point where a labelled set's out-of-scope
questions are escalated at exactly the rate asked for. With 100 such questions that point is as
much noise as signal: on CLINC150 the threshold chosen on dev for 90 % caught 82.8 % of the
official test's unseen out-of-scope questions. Here:

* every labelled out-of-scope question takes part (the knowledge base's own list, the settings
  file, a training file's and a dev file's rows), each with the confidence a model that never saw
  it gives it: the calibrator is refitted in folds (``FaqRetriever.held_out_confidence``) and a
  question's closeness to the known out-of-scope questions leaves itself out, so the questions
  that teach the confidence do not also grade the threshold they set;
* the threshold is the lowest one at which the one-sided Clopper–Pearson lower bound of the recall
  (95 % by default) still reaches the promise, not the point estimate; with too few questions for
  any threshold to keep it, there is no proposal (``TooFewOutOfScope``) rather than a made-up one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_LEVEL = 0.95


class TooFewOutOfScope(ValueError):
    """Not enough labelled out-of-scope questions to promise ``target`` at ``level``."""

    def __init__(self, have: int, needed: int, target: float, level: float) -> None:
        super().__init__(
            f"{have} out-of-scope questions; {needed} are needed to promise {target:.0%}"
            f" recall with {level:.0%} confidence"
        )
        self.have, self.needed, self.target, self.level = have, needed, target, level


def recall_lower_bound(k: int, n: int, level: float = DEFAULT_LEVEL) -> float:
    """One-sided Clopper–Pearson lower bound of a recall of ``k`` out of ``n``."""
    from scipy.stats import beta

    if n <= 0 or k <= 0:
        return 0.0
    return float(beta.ppf(1.0 - level, k, n - k + 1))


def recall_interval(k: int, n: int, level: float = DEFAULT_LEVEL) -> tuple[float, float]:
    """Two-sided Clopper–Pearson interval of a recall of ``k`` out of ``n``."""
    from scipy.stats import beta

    if n <= 0:
        return 0.0, 1.0
    tail = (1.0 - level) / 2
    low = float(beta.ppf(tail, k, n - k + 1)) if k > 0 else 0.0
    high = float(beta.ppf(1.0 - tail, k + 1, n - k)) if k < n else 1.0
    return low, high


def questions_needed(target: float, level: float = DEFAULT_LEVEL) -> int:
    """The fewest out-of-scope questions for which escalating all of them can promise ``target``."""
    if target <= 0.0:
        return 1
    if target >= 1.0:
        raise ValueError("a recall of 100 % cannot be promised from a sample")
    return max(1, math.ceil(math.log(1.0 - level) / math.log(target) - 1e-9))


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """A threshold and what to expect of it on unseen questions."""

    threshold: float
    target: float  # the recall promised: ``recall_bound`` ≥ it
    level: float
    n_oos: int  # labelled out-of-scope questions it was chosen on
    escalated: int  # of those, how many it escalates
    recall_low: float  # two-sided interval of the recall to expect
    recall_high: float
    recall_bound: float  # one-sided lower bound (≥ target)
    n_in_scope: int = 0  # held-out in-scope questions it was measured on (0: none)
    answered: float | None = None  # their share answered (confidence ≥ threshold)
    in_scope_accuracy: float | None = None  # their share answered with the right entry

    @property
    def recall(self) -> float:
        return self.escalated / self.n_oos

    def summary(self) -> dict[str, float]:
        out = {
            "threshold": self.threshold,
            "expected_oos_recall": self.recall,
            "expected_oos_recall_low": self.recall_low,
            "expected_oos_recall_high": self.recall_high,
            "oos_questions": float(self.n_oos),
        }
        if self.in_scope_accuracy is not None:
            out["expected_in_scope_accuracy"] = self.in_scope_accuracy
        return {k: round(float(v), 4) for k, v in out.items()}


def threshold_with_bound(
    oos_confidence: Sequence[float] | np.ndarray,
    target: float,
    *,
    level: float = DEFAULT_LEVEL,
    in_scope_confidence: Sequence[float] | np.ndarray = (),
    in_scope_correct: Sequence[bool] | np.ndarray = (),
) -> OperatingPoint:
    """The lowest threshold (4 decimals) whose recall lower bound on ``oos_confidence`` ≥ ``target``.

    ``oos_confidence``: the confidences of labelled out-of-scope questions as unseen questions get
    them (out of fold). A question is escalated when its confidence is below the threshold; the
    lowest such threshold answers the most in-scope questions. ``in_scope_*`` (held-out in-scope
    questions and whether the first entry was right) only measure what the threshold costs.
    Raises ``TooFewOutOfScope`` when even escalating everything cannot keep the promise, and
    ``ValueError`` for a target outside [0, 1).
    """
    if not 0.0 <= target < 1.0:
        raise ValueError(f"the recall to promise must be from 0 to 1 (below 1), got {target}")
    conf = np.sort(np.asarray(oos_confidence, dtype=np.float64))
    n = len(conf)
    needed = questions_needed(target, level)
    if n < needed:
        raise TooFewOutOfScope(n, needed, target, level)
    k = next(k for k in range(1, n + 1) if recall_lower_bound(k, n, level) >= target)
    # Strictly above the k-th lowest confidence, rounded up: at least k questions fall below it.
    threshold = (math.floor(conf[k - 1] * 10_000) + 1) / 10_000
    threshold = min(threshold, 1.0)
    escalated = int((conf < threshold).sum())
    low, high = recall_interval(escalated, n, level)
    in_conf = np.asarray(in_scope_confidence, dtype=np.float64)
    in_ok = np.asarray(in_scope_correct, dtype=bool)
    answered = accuracy = None
    if len(in_conf):
        kept = in_conf >= threshold
        answered = float(kept.mean())
        accuracy = float((kept & in_ok).mean())
    return OperatingPoint(
        threshold=threshold,
        target=target,
        level=level,
        n_oos=n,
        escalated=escalated,
        recall_low=low,
        recall_high=high,
        recall_bound=recall_lower_bound(escalated, n, level),
        n_in_scope=len(in_conf),
        answered=answered,
        in_scope_accuracy=accuracy,
    )


@dataclass(frozen=True)
class HeldOutConfidence:
    """Confidences as a served model gives questions it never saw (``held_out_confidence``).

    ``in_scope_*``: held-out phrasings of the knowledge base, searched against the other
    phrasings; empty when no entry has phrasings to spare (then the confidence is borrowed from
    the bundled knowledge base, ``borrowed``). ``oos_confidence``: the known out-of-scope
    questions, each scored by a calibrator fitted without it.
    """

    in_scope_confidence: np.ndarray
    in_scope_correct: np.ndarray
    oos_confidence: np.ndarray
    borrowed: bool = False

    def operating_point(self, target: float, level: float = DEFAULT_LEVEL) -> OperatingPoint:
        return threshold_with_bound(
            self.oos_confidence,
            target,
            level=level,
            in_scope_confidence=self.in_scope_confidence,
            in_scope_correct=self.in_scope_correct,
        )
