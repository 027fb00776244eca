"""Retrieval quality: accuracy, recall, MRR, F1, out-of-scope detection and latency."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from knowledge_base.loaders import LabelledQuery
from retrieval.retriever import FaqRetriever, SearchResult
from retrieval.threshold import OperatingPoint

# What EvalReport.summary() reports (`supportbot eval --json`, the benchmarks).
HEADLINE_METRICS = ("accuracy_at_1", "recall_at_5", "mrr", "macro_f1", "p50_ms", "p99_ms")
OOS_METRICS = ("threshold", "in_scope_accuracy", "oos_precision", "oos_recall", "oos_f1", "auroc")


@dataclass(frozen=True, slots=True)
class EntryScores:
    entry_id: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvalReport:
    n_queries: int
    n_in_scope: int
    accuracy_at_1: float
    recall_at_5: float
    mrr: float
    macro_f1: float
    p50_ms: float
    p99_ms: float
    per_entry: list[EntryScores] = field(default_factory=list)
    confused_pairs: list[tuple[str, str, int]] = field(default_factory=list)
    threshold: float | None = None
    in_scope_accuracy: float | None = None
    oos_precision: float | None = None
    oos_recall: float | None = None
    oos_f1: float | None = None
    auroc: float | None = None
    tradeoff: list[tuple[float, float, float]] = field(default_factory=list)
    # How the threshold was chosen when it comes with a promise for unseen questions.
    promise: OperatingPoint | None = None

    def summary(self) -> dict[str, float]:
        """The headline numbers; the out-of-scope ones too when a threshold was evaluated, and
        what to expect on unseen questions when the threshold was chosen with a bound."""
        keys = HEADLINE_METRICS if self.threshold is None else HEADLINE_METRICS + OOS_METRICS
        out = {k: round(float(getattr(self, k)), 4) for k in keys}
        if self.promise is not None:
            out.update({k: v for k, v in self.promise.summary().items() if k not in out})
        return out


def search_all(
    retriever: FaqRetriever, texts: Sequence[str], k: int = 5, batch: int = 256
) -> list[SearchResult]:
    """Search many queries in batches, with a progress bar."""
    results: list[SearchResult] = []
    for start in tqdm(range(0, len(texts), batch), desc="searching", unit="batch", leave=False):
        results.extend(retriever.search_many(list(texts[start : start + batch]), k))
    return results


def measure_latency(
    retriever: FaqRetriever, texts: Sequence[str], n: int = 200
) -> tuple[float, float]:
    """p50 and p99 (ms) of single-query search (embedding + search + scoring)."""
    sample = list(texts[:n])
    for text in sample[:5]:
        retriever.search(text)
    timings = []
    for text in sample:
        started = time.perf_counter()
        retriever.search(text)
        timings.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(timings, 50)), float(np.percentile(timings, 99))


def auroc(scores_pos: np.ndarray, scores_neg: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    if len(scores_pos) == 0 or len(scores_neg) == 0:
        return float("nan")
    allv = np.concatenate([scores_pos, scores_neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    sorted_v = allv[order]
    i = 0
    while i < len(sorted_v):
        j = i
        while j + 1 < len(sorted_v) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos_ranks = ranks[: len(scores_pos)].sum()
    n_pos, n_neg = len(scores_pos), len(scores_neg)
    return float((pos_ranks - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


DEFAULT_OOS_RECALL = 0.9


def choose_threshold(
    results: Sequence[SearchResult],
    queries: Sequence[LabelledQuery],
    min_oos_recall: float | None = DEFAULT_OOS_RECALL,
) -> float | None:
    """The confidence threshold below which the bot escalates, chosen on labelled queries.

    With ``min_oos_recall``: the threshold that escalates at least that share of the out-of-scope
    queries and, among those, answers the most in-scope queries correctly (the operating point an
    operator asks for: "hand over at least 90 % of what we cannot answer"). Without it: the one
    that maximises the mean of (in-scope queries answered correctly above the threshold) and
    (out-of-scope queries below it). None when there are no out-of-scope queries.
    """
    conf = np.array([r.confidence for r in results])
    oos = np.array([q.faq_id is None for q in queries])
    correct = np.array(
        [r.top is not None and r.top.id == q.faq_id for r, q in zip(results, queries, strict=True)]
    )
    return threshold_for_recall(conf, oos, correct, min_oos_recall)


def threshold_for_recall(
    conf: np.ndarray,
    oos: np.ndarray,
    correct: np.ndarray,
    min_oos_recall: float | None = DEFAULT_OOS_RECALL,
) -> float | None:
    """``choose_threshold`` on arrays: confidences, out-of-scope mask, first entry right."""
    conf, oos, correct = np.asarray(conf), np.asarray(oos, bool), np.asarray(correct, bool)
    if not oos.any() or oos.all():
        return None
    candidates = np.unique(np.concatenate([conf, [0.0, 1.0, np.nextafter(conf.max(), 2.0)]]))
    best, best_value = 0.0, -1.0
    for t in candidates:
        answered = conf >= t
        in_scope = (correct & answered)[~oos].mean()
        recall = (~answered)[oos].mean()
        if min_oos_recall is None:
            value = in_scope + recall
        elif recall >= min_oos_recall - 1e-12:
            value = in_scope
        else:
            continue
        if value > best_value + 1e-12:
            best, best_value = float(t), value
    return best


def evaluate(
    results: Sequence[SearchResult],
    queries: Sequence[LabelledQuery],
    *,
    threshold: float | None = None,
    latency: tuple[float, float] = (float("nan"), float("nan")),
) -> EvalReport:
    in_scope = [(r, q) for r, q in zip(results, queries, strict=True) if q.faq_id is not None]
    ranks = []
    predicted: list[str | None] = []
    gold: list[str] = []
    for result, query in in_scope:
        ids = [c.id for c in result.candidates]
        ranks.append(ids.index(query.faq_id) + 1 if query.faq_id in ids else 0)
        predicted.append(ids[0] if ids else None)
        gold.append(query.faq_id)
    ranks_a = np.array(ranks)
    n = max(len(in_scope), 1)
    per_entry, macro_f1 = _per_entry(predicted, gold)
    confused = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if p and g != p)
    report = EvalReport(
        n_queries=len(queries),
        n_in_scope=len(in_scope),
        accuracy_at_1=float((ranks_a == 1).sum() / n),
        recall_at_5=float(((ranks_a >= 1) & (ranks_a <= 5)).sum() / n),
        mrr=float(np.where(ranks_a > 0, 1.0 / np.maximum(ranks_a, 1), 0.0).sum() / n),
        macro_f1=macro_f1,
        p50_ms=latency[0],
        p99_ms=latency[1],
        per_entry=per_entry,
        confused_pairs=[(g, p, c) for (g, p), c in confused.most_common(10)],
    )
    if any(q.faq_id is None for q in queries):
        _add_oos(report, results, queries, threshold if threshold is not None else 0.0)
    return report


def _per_entry(predicted: list[str | None], gold: list[str]) -> tuple[list[EntryScores], float]:
    labels = sorted(set(gold))
    tp, fp, fn = Counter(), Counter(), Counter()
    for g, p in zip(gold, predicted, strict=True):
        if g == p:
            tp[g] += 1
        else:
            fn[g] += 1
            if p is not None:
                fp[p] += 1
    scores = []
    for label in labels:
        prec = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        rec = tp[label] / (tp[label] + fn[label]) if tp[label] + fn[label] else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        scores.append(EntryScores(label, prec, rec, f1, tp[label] + fn[label]))
    macro = float(np.mean([s.f1 for s in scores])) if scores else 0.0
    return scores, macro


def _add_oos(
    report: EvalReport,
    results: Sequence[SearchResult],
    queries: Sequence[LabelledQuery],
    threshold: float,
) -> None:
    conf = np.array([r.confidence for r in results])
    oos = np.array([q.faq_id is None for q in queries])
    correct = np.array(
        [r.top is not None and r.top.id == q.faq_id for r, q in zip(results, queries, strict=True)]
    )
    escalated = conf < threshold
    tp = float((escalated & oos).sum())
    report.threshold = threshold
    report.in_scope_accuracy = float((correct & ~escalated)[~oos].mean())
    report.oos_recall = tp / max(oos.sum(), 1)
    report.oos_precision = tp / escalated.sum() if escalated.sum() else 0.0
    pr, rc = report.oos_precision, report.oos_recall
    report.oos_f1 = 2 * pr * rc / (pr + rc) if pr + rc else 0.0
    report.auroc = auroc(conf[~oos], conf[oos])
    for t in np.linspace(0, 1, 101):
        esc = conf < t
        report.tradeoff.append(
            (float(t), float((correct & ~esc)[~oos].mean()), float(esc[oos].mean()))
        )
