"""Retrieval with the real all-MiniLM-L6-v2: grouping per entry, caching, incremental re-embedding."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base import FaqEntry, KnowledgeBase, bundled_path, load_knowledge_base
from retrieval import FaqRetriever, SentenceTransformerEmbedder
from retrieval.scoring import ScoringConfig


def test_finds_the_entry_for_paraphrases(retriever: FaqRetriever) -> None:
    cases = {
        "how many days does shipping take": "delivery-time",
        "I'd like to send my purchase back": "return-item",
        "lost my password, help": "reset-password",
        "do you take apple pay": "payment-methods",
    }
    unrelated = retriever.search("recipe for lasagne with spinach").confidence
    for query, expected in cases.items():
        result = retriever.search(query, k=3)
        assert result.top is not None and result.top.id == expected, query
        assert result.confidence > unrelated


def test_results_are_grouped_per_entry_and_ranked(retriever: FaqRetriever) -> None:
    result = retriever.search("password reset link", k=4)
    ids = [c.id for c in result.candidates]
    assert len(ids) == len(set(ids)) == 4
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert result.top.matched == "password reset link"
    assert result.top.score > result.candidates[1].score + 0.2


def test_nearest_phrasing_baseline_scores_raw_similarity(
    embedder: SentenceTransformerEmbedder, small_kb: KnowledgeBase
) -> None:
    baseline = FaqRetriever(embedder, scoring=ScoringConfig.nearest_phrasing())
    baseline.load(small_kb)
    result = baseline.search("password reset link")
    assert result.top.score > 0.99 and result.confidence == min(1.0, result.top.score)


def test_confidence_is_calibrated_on_held_out_phrasings(
    embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    kb = load_knowledge_base(bundled_path())
    retriever = FaqRetriever(embedder, cache_dir=tmp_path)
    unanswerable = ["who won the football match", "write me a poem"]
    stats = retriever.load(kb, out_of_scope=unanswerable)
    assert "calibration_seconds" in stats
    snap_calibrator = retriever._snapshot.calibrator
    assert snap_calibrator.fitted and snap_calibrator.samples > 90
    inside = retriever.search("my parcel still hasn't arrived, where is it?")
    outside = retriever.search("what's the capital of mongolia")
    assert 0.0 <= outside.confidence < inside.confidence <= 1.0
    # An operator adds one phrasing: it alone is embedded and the calibration is kept.
    first = kb.entries[0]
    stats = retriever.load(
        kb.with_extra_phrasings({first.id: ["a brand new way to ask"]}), out_of_scope=unanswerable
    )
    assert stats["embedded"] == 1 and stats["calibration_reused"] == 1
    assert retriever._snapshot.calibrator is snap_calibrator
    assert retriever.search("a brand new way to ask").top.id == first.id


def test_unrelated_query_has_low_confidence(retriever: FaqRetriever) -> None:
    assert retriever.search("recipe for lasagne with spinach").confidence < 0.5


def test_index_is_cached_and_rebuilt_only_when_content_changes(
    embedder: SentenceTransformerEmbedder, small_kb: KnowledgeBase, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = FaqRetriever(embedder, cache_dir=cache).load(small_kb)
    assert first["embedded"] == small_kb.phrasing_count()
    again = FaqRetriever(embedder, cache_dir=cache).load(small_kb)
    assert again.get("cache_hit") == 1.0 and again["embedded"] == 0
    changed = KnowledgeBase(
        entries=(*small_kb.entries, FaqEntry("gift", "Do you sell gift cards?", "Yes.")),
        name="changed",
    )
    rebuilt = FaqRetriever(embedder, cache_dir=cache).load(changed)
    assert "cache_hit" not in rebuilt
    assert len(list(cache.iterdir())) == 2


def test_reload_embeds_only_new_phrasings_and_swaps(
    embedder: SentenceTransformerEmbedder, small_kb: KnowledgeBase
) -> None:
    retriever = FaqRetriever(embedder)
    retriever.load(small_kb)
    edited = small_kb.with_extra_phrasings({"delivery-time": ["parcel ETA"]})
    stats = retriever.load(edited)
    assert stats["embedded"] == 1
    assert retriever.knowledge_base is edited
    assert retriever.search("parcel ETA").top.matched == "parcel ETA"


def test_empty_query_and_empty_batch(retriever: FaqRetriever) -> None:
    assert retriever.search_many([], k=3) == []
    result = retriever.search("?", k=2)
    assert len(result.candidates) == 2


def test_reload_embeds_only_new_phrasings_and_reuses_the_index_for_answers(
    retriever: FaqRetriever, small_kb: KnowledgeBase
) -> None:
    ret = small_kb["return-item"]
    answers_only = KnowledgeBase(
        tuple(
            FaqEntry(e.id, e.question, "60 days now.", e.alternatives, e.tags)
            if e.id == ret.id
            else e
            for e in small_kb
        )
    )
    stats = retriever.load(answers_only)
    assert stats["embedded"] == 0 and stats["reused_index"] == 1
    assert retriever.search("how can I send my purchase back").top.text == "60 days now."
    phrased = answers_only.with_extra_phrasings({ret.id: ["refund my order please"]})
    stats = retriever.load(phrased)
    assert stats["embedded"] == 1
    assert retriever.search("refund my order please").top.id == ret.id


def test_known_out_of_scope_questions_lower_the_confidence_of_similar_ones(
    embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    kb = load_knowledge_base(bundled_path())
    unanswerable = [
        "can you recommend a good pizza place nearby",
        "what's a good restaurant for dinner tonight",
        "where can I get sushi around here",
        "book me a table at an italian restaurant",
        "who won the football match yesterday",
        "what's the weather going to be tomorrow",
        "tell me a joke",
        "write me a poem about the sea",
    ]
    plain = FaqRetriever(embedder, cache_dir=tmp_path)
    plain.load(kb)
    taught = FaqRetriever(embedder, cache_dir=tmp_path)
    taught.load(kb, out_of_scope=unanswerable)
    question = "any good burger restaurants near me?"
    assert taught.search(question).confidence < plain.search(question).confidence
    # An answerable question keeps its entry and a high confidence.
    answerable = taught.search("my parcel still hasn't arrived, where is it?")
    assert answerable.top.id == plain.search("my parcel still hasn't arrived, where is it?").top.id
    assert answerable.confidence > 0.5
    # The knowledge base's own list teaches the same (the operators' versioned list).
    from_kb = FaqRetriever(embedder, cache_dir=tmp_path)
    from_kb.load(kb.with_out_of_scope(unanswerable))
    assert from_kb._snapshot.oos_texts == tuple(unanswerable)
    assert from_kb.search(question).confidence == pytest.approx(taught.search(question).confidence)


def test_threshold_meets_the_out_of_scope_recall_asked_for() -> None:
    from knowledge_base.loaders import LabelledQuery
    from retrieval.evaluation import choose_threshold
    from retrieval.retriever import RetrievedFaq, SearchResult

    entry = FaqEntry("a", "question", "answer")

    def result(confidence: float) -> SearchResult:
        return SearchResult("q", (RetrievedFaq(entry, confidence, "question"),), confidence)

    # In scope (all answered right): 0.9, 0.8, 0.7, 0.35; out of scope: 0.1, 0.2, 0.3, 0.4, 0.6.
    # A query is escalated when its confidence is below the threshold.
    conf = [0.9, 0.8, 0.7, 0.35, 0.1, 0.2, 0.3, 0.4, 0.6]
    gold = ["a"] * 4 + [None] * 5
    results = [result(c) for c in conf]
    queries = [LabelledQuery("q", g) for g in gold]
    # 3 of 5 (60 %) escalated at 0.35 keeps every in-scope answer.
    assert choose_threshold(results, queries, min_oos_recall=0.6) == 0.35
    # 4 of 5 needs a threshold above 0.4, which escalates the in-scope 0.35 too; 0.6 is the lowest.
    assert choose_threshold(results, queries, min_oos_recall=0.8) == 0.6
    # All 5 need a threshold above 0.6.
    assert choose_threshold(results, queries, min_oos_recall=1.0) == 0.7
    # Balanced: 3/4 answered + 5/5 escalated at 0.7 beats 4/4 + 3/5 at 0.35.
    assert choose_threshold(results, queries, min_oos_recall=None) == 0.7
    assert choose_threshold(results[:4], queries[:4]) is None
