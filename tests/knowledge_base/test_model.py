"""The knowledge-base model: its entries' phrasings in the order retrieval indexes them."""

from __future__ import annotations

from knowledge_base import FaqEntry, KnowledgeBase


def test_phrasing_rows_list_each_phrasing_once_with_its_entry() -> None:
    kb = KnowledgeBase(
        entries=(
            FaqEntry(
                "ship",
                "How long is shipping?",
                "3-5 days.",
                ("delivery time?", "HOW LONG IS SHIPPING?"),
            ),
            FaqEntry("pin", "How do I change my PIN?", "In the app.", ()),
            FaqEntry("fee", "Why was I charged?", "A fee.", ("how long is shipping?",)),
        )
    )
    texts, owners = kb.phrasing_rows()
    assert texts == [
        "How long is shipping?",
        "delivery time?",
        "How do I change my PIN?",
        "Why was I charged?",
        "how long is shipping?",
    ]
    assert owners == [0, 0, 1, 2, 2]
    assert len(texts) == kb.phrasing_count()
