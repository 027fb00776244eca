"""Fine-tuning the embedder: a tiny budget on a tiny knowledge base, then serving the new version."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from knowledge_base import FaqEntry, KnowledgeBase
from retrieval import FaqRetriever, SentenceTransformerEmbedder
from retrieval.embedder import resolve_model_dir
from retrieval.training import (
    TrainingConfig,
    distinct_label_batches,
    out_of_scope_negatives,
    train_retriever,
)


def test_batches_never_hold_two_phrasings_of_one_entry() -> None:
    labels = [i % 5 for i in range(53)]
    batches = distinct_label_batches(labels, 4, random.Random(0))
    assert batches and all(len({labels[i] for i in b}) == len(b) for b in batches)
    assert sorted(i for b in batches for i in b) == list(range(53))


def test_training_saves_a_version_the_retriever_serves(small_kb: KnowledgeBase, tmp_path: Path):
    kb = KnowledgeBase(
        entries=(*small_kb.entries, FaqEntry("gift", "Do you sell gift cards?", "Yes, online.")),
        out_of_scope=("where can I eat near your store",),  # the operators' own list joins in
    )
    config = TrainingConfig(
        epochs=2, batch_size=4, time_budget_s=120, threads=2, hard_negatives=True
    )
    unanswerable = ["who won the football match", "write me a poem", "will it rain tomorrow"]
    report = train_retriever(
        kb, tmp_path / "models", config, out_of_scope=unanswerable, progress=False
    )
    assert report.steps == report.planned_steps > 0 and not report.stopped_by_budget
    assert resolve_model_dir(tmp_path / "models") == report.model_dir
    meta = json.loads((report.model_dir / "supportbot-model.json").read_text())
    assert meta["knowledge_base"] == kb.content_hash() and meta["steps"] == report.steps
    assert 0 < meta["hard_negatives"] <= kb.phrasing_count()
    assert meta["out_of_scope"] == len(unanswerable) + 1
    retriever = FaqRetriever(SentenceTransformerEmbedder(tmp_path / "models"))
    retriever.load(kb)
    assert retriever.search("I'd like to send my purchase back").top.id == "return-item"
    assert retriever.embedder.name.startswith("st-retriever-")

    # The out-of-scope questions (negatives only) moved away from every phrasing.
    def nearest(embedder: SentenceTransformerEmbedder) -> float:
        phrasings = embedder.encode([p for e in kb.entries for p in e.phrasings], kind="passage")
        return float((embedder.encode(unanswerable, kind="query") @ phrasings.T).max(1).mean())

    assert nearest(retriever.embedder) < nearest(SentenceTransformerEmbedder())


def test_time_budget_stops_training(small_kb: KnowledgeBase, tmp_path: Path) -> None:
    config = TrainingConfig(epochs=50, batch_size=4, time_budget_s=0.0)
    report = train_retriever(small_kb, tmp_path, config, progress=False)
    assert report.stopped_by_budget and report.steps == 0
    assert report.model_dir.is_dir()


def test_hard_negatives_come_from_other_entries() -> None:
    from retrieval.training import mine_hard_negatives

    # Rows 0,1 belong to entry 0; row 2 (entry 1) is close to row 0; row 3 (entry 2) is far.
    vectors = np.array([[1, 0], [0.9, 0.44], [0.95, 0.31], [-1, 0]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = [0, 0, 1, 2]
    negatives = mine_hard_negatives(vectors, labels)
    assert negatives[0] == 2 and negatives[1] == 2  # the nearest other-entry phrasing
    assert negatives[2] in (0, 1) and labels[negatives[3]] != 2
    assert mine_hard_negatives(vectors[:2], [0, 0]) == [None, None]


def test_out_of_scope_negatives_are_masked(small_kb: KnowledgeBase) -> None:
    """Customers' questions become training negatives without their personal data."""
    kb = KnowledgeBase(small_kb.entries, out_of_scope=("call me on +44 20 7946 0958 please",))
    negatives = out_of_scope_negatives(kb, ["write to dana.k@example.org about the weather"])
    assert negatives == ["call me on [phone] please", "write to [email] about the weather"]
