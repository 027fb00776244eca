"""Follow-up questions are searched together with the customer's previous question."""

from __future__ import annotations

from retrieval.followup import contextual_query, is_follow_up


def test_follow_ups_are_recognised() -> None:
    for text in (
        "and how long does that take?",
        "what about express?",
        "is it free?",
        "How much does it cost?",
        "also for the UK?",
    ):
        assert is_follow_up(text), text
    for text in (
        "How long does delivery take?",
        "I forgot my password",
        "can I pay with paypal and apple pay at the same checkout in your app today",
    ):
        assert not is_follow_up(text), text


def test_contextual_query_joins_the_previous_question() -> None:
    earlier = ["how do I return an item", "I want to return my headphones"]
    assert contextual_query("and how long does that take?", earlier) == (
        "I want to return my headphones and how long does that take?"
    )
    assert contextual_query("and how long does that take?", []) is None
    assert contextual_query("Which payment methods do you accept?", earlier) is None
