"""The escalation threshold chosen with a lower confidence bound, on out-of-fold confidences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge_base import FaqEntry, KnowledgeBase, bundled_path, load_knowledge_base
from retrieval import FaqRetriever, SentenceTransformerEmbedder
from retrieval.evaluation import threshold_for_recall
from retrieval.scoring import Calibrator
from retrieval.threshold import (
    TooFewOutOfScope,
    questions_needed,
    recall_interval,
    recall_lower_bound,
    threshold_with_bound,
)
from tests.support.out_of_scope import UNANSWERABLE


def test_lower_bound_of_a_recall() -> None:
    # All of n escalated: the one-sided 95 % bound is 0.05 ** (1 / n).
    assert recall_lower_bound(29, 29) == pytest.approx(0.05 ** (1 / 29))
    assert recall_lower_bound(28, 28) < 0.9 < recall_lower_bound(29, 29)
    assert questions_needed(0.9) == 29
    assert questions_needed(0.95) == 59
    low, high = recall_interval(90, 100)
    assert 0.82 < low < 0.9 < high < 0.96
    assert recall_interval(0, 10)[0] == 0.0 and recall_interval(10, 10)[1] == 1.0


def test_the_bound_asks_for_more_than_the_point_estimate() -> None:
    # 200 out-of-scope questions with confidences 0.0025, 0.0075, …; escalated below the threshold.
    oos = (np.arange(200) + 0.5) / 200
    point = threshold_with_bound(oos, 0.9)
    k = point.escalated
    # The lowest count whose lower bound reaches 90 %: one fewer would not.
    assert recall_lower_bound(k, 200) >= 0.9 > recall_lower_bound(k - 1, 200)
    assert point.recall_bound >= 0.9 and point.recall > 0.92
    assert oos[k - 1] < point.threshold <= oos[k]
    assert point.recall_low < point.recall < point.recall_high
    # The old way stops at the point estimate: exactly 180 of 200.
    in_scope = np.full(10, 0.999)
    old = threshold_for_recall(
        np.concatenate([oos, in_scope]),
        np.arange(210) < 200,
        np.arange(210) >= 200,
        0.9,
    )
    assert (oos < old).sum() == 180 < k


def test_the_threshold_reports_what_it_costs_in_scope() -> None:
    oos = np.linspace(0.0, 0.5, 40)
    in_conf = np.array([0.2, 0.6, 0.7, 0.8, 0.9])
    in_right = np.array([True, True, False, True, True])
    point = threshold_with_bound(oos, 0.9, in_scope_confidence=in_conf, in_scope_correct=in_right)
    assert 0.5 < point.threshold <= 0.5001  # every out-of-scope question is needed here
    assert point.escalated == 40
    assert point.n_in_scope == 5
    assert point.answered == pytest.approx(0.8)
    assert point.in_scope_accuracy == pytest.approx(0.6)


def test_too_few_questions_get_no_threshold() -> None:
    with pytest.raises(TooFewOutOfScope) as refused:
        threshold_with_bound(np.linspace(0, 0.3, 28), 0.9)
    assert (refused.value.have, refused.value.needed) == (28, 29)
    assert "28 out-of-scope questions; 29 are needed" in str(refused.value)
    assert threshold_with_bound(np.linspace(0, 0.3, 29), 0.9).escalated == 29
    for bad in (1.0, 1.5, -0.1):
        with pytest.raises(ValueError):
            threshold_with_bound(np.linspace(0, 0.3, 40), bad)


@pytest.fixture(scope="module")
def taught(tmp_path_factory: pytest.TempPathFactory) -> FaqRetriever:
    embedder = SentenceTransformerEmbedder()
    retriever = FaqRetriever(embedder, cache_dir=tmp_path_factory.mktemp("cache"))
    retriever.load(load_knowledge_base(bundled_path()), out_of_scope=UNANSWERABLE)
    return retriever


def test_out_of_scope_questions_are_scored_by_a_confidence_fitted_without_them(
    taught: FaqRetriever,
) -> None:
    held = taught.held_out_confidence()
    samples = taught._snapshot.calibration
    assert len(held.oos_confidence) == len(UNANSWERABLE) and not held.borrowed
    assert len(held.in_scope_confidence) == (~samples.oos).sum() > 90
    assert held.in_scope_correct.mean() > 0.6
    # The served confidence is the one fitted on all of them, as before.
    refit = Calibrator().fit(samples.x, samples.y)
    assert np.allclose(
        refit.confidences(samples.x), taught._snapshot.calibrator.confidences(samples.x)
    )
    # Asked as they are, the served model has seen them (each is its own nearest out-of-scope
    # question): their confidence is lower than an unseen question gets; grading a threshold on
    # that would promise a recall unseen questions do not reach.
    served = np.array([r.confidence for r in taught.search_many(UNANSWERABLE)])
    assert held.oos_confidence.mean() > served.mean() + 0.05
    # Folds are stratified and seeded: the same seed, the same confidences.
    again = taught.held_out_confidence()
    assert np.array_equal(again.oos_confidence, held.oos_confidence)
    point = held.operating_point(0.9)
    assert point.n_oos == len(UNANSWERABLE) and point.recall_bound >= 0.9
    assert 0.0 < point.answered <= 1.0


def test_a_borrowed_confidence_scores_the_out_of_scope_questions_directly(
    taught: FaqRetriever, tmp_path: Path
) -> None:
    one_each = KnowledgeBase(
        entries=tuple(
            FaqEntry(e.id, e.question, e.answer) for e in taught.knowledge_base.entries[:30]
        ),
        name="one-each",
    )
    retriever = FaqRetriever(taught.embedder, cache_dir=tmp_path)
    retriever.load(one_each, out_of_scope=UNANSWERABLE)
    held = retriever.held_out_confidence()
    assert held.borrowed and len(held.in_scope_confidence) == 0
    assert len(held.oos_confidence) == len(UNANSWERABLE)
    point = held.operating_point(0.9)
    assert point.in_scope_accuracy is None and point.n_in_scope == 0
