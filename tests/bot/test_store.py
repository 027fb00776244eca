"""Repositories against the real Redis."""

from __future__ import annotations

import asyncio

from bot.store import AnswerRecord, Stores, Turn


async def test_history_is_bounded_and_expires(stores: Stores) -> None:
    stores.conversations.max_turns = 3
    for i in range(5):
        await stores.conversations.append(42, Turn("customer", f"message {i}"))
    history = await stores.conversations.history(42)
    assert [t.text for t in history] == ["message 2", "message 3", "message 4"]
    ttl = await stores.redis.ttl(stores.keys.history(42))
    assert 0 < ttl <= 3600
    assert [t.text for t in await stores.conversations.history(42, limit=1)] == ["message 4"]


async def test_feedback_vote_can_change_without_double_counting(stores: Stores) -> None:
    await stores.answers.save(AnswerRecord("a1", 42, "where is my order", "track-order", 0.8))
    await stores.answers.record_feedback("a1", helpful=True)
    await stores.answers.record_feedback("a1", helpful=True)
    await stores.answers.record_feedback("a1", helpful=False)
    assert await stores.answers.feedback_stats() == {"track-order:up": 0, "track-order:down": 1}
    assert await stores.answers.record_feedback("missing", helpful=True) is None


async def test_simultaneous_escalations_open_one_ticket(stores: Stores) -> None:
    results = await asyncio.gather(
        *(stores.tickets.open(42, "Dana", "asked_for_human", f"q{i}") for i in range(10))
    )
    ids = {ticket.id for ticket, _ in results}
    assert len(ids) == 1
    assert sum(is_new for _, is_new in results) == 1
    ticket = await stores.tickets.current(42)
    assert ticket is not None and ticket.status == "open"
    await stores.tickets.close(ticket)
    assert await stores.tickets.current(42) is None
    assert await stores.tickets.list_open() == []
    reopened, is_new = await stores.tickets.open(42, "Dana", "low_confidence", "again")
    assert is_new and reopened.id != ticket.id
