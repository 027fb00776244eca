"""Quality checks with the real embedder: near-duplicates and misplaced phrasings name both ids."""

from __future__ import annotations

from knowledge_base import FaqEntry, KnowledgeBase
from knowledge_base.quality import check_quality
from retrieval import SentenceTransformerEmbedder
from tests.conftest import SMALL_KB


def vectors(embedder: SentenceTransformerEmbedder):
    return lambda texts: embedder.encode(texts, kind="passage")


def test_clean_knowledge_base_has_no_issues(embedder: SentenceTransformerEmbedder) -> None:
    assert check_quality(SMALL_KB, vectors(embedder)) == []


def test_near_duplicate_questions_across_entries(embedder: SentenceTransformerEmbedder) -> None:
    dupe = FaqEntry("shipping-duration", "How long does the delivery take?", "About a week.")
    kb = KnowledgeBase((*SMALL_KB.entries, dupe))
    issues = [i for i in check_quality(kb, vectors(embedder)) if i.kind == "near_duplicate"]
    assert [(i.entry_id, i.other_id) for i in issues] == [("delivery-time", "shipping-duration")]
    assert issues[0].score >= 0.9 and "delivery-time" in issues[0].describe()


def test_phrasing_closer_to_another_entry(embedder: SentenceTransformerEmbedder) -> None:
    payment = SMALL_KB["payment-methods"]
    misplaced = FaqEntry(
        payment.id,
        payment.question,
        payment.answer,
        (*payment.alternatives, "I forgot my password and cannot log in"),
    )
    kb = KnowledgeBase(tuple(misplaced if e.id == payment.id else e for e in SMALL_KB.entries))
    issues = [i for i in check_quality(kb, vectors(embedder)) if i.kind == "closer_to_other"]
    assert [(i.entry_id, i.other_id, i.text) for i in issues] == [
        ("payment-methods", "reset-password", "I forgot my password and cannot log in")
    ]
    # Restricted to other entries' changes, it is not reported.
    assert not [
        i
        for i in check_quality(kb, vectors(embedder), only_ids=["return-item"])
        if i.kind == "closer_to_other"
    ]
