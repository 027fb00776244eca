"""Repositories against the real Redis."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bot.store import AnswerRecord, Stores, Ticket, TicketStatus, Turn, TurnRole, in_process_redis
from tests.conftest import REDIS_URL


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


async def test_an_open_rerun_after_a_concurrent_open_joins_that_ticket(
    stores: Stores, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The open finds no ticket, another process opens one before it commits: the transaction is
    rerun and joins that ticket instead of making a second."""
    elsewhere = Redis.from_url(REDIS_URL, decode_responses=True)
    other = Stores.build(elsewhere, key_prefix, history_ttl_hours=1, history_max_turns=20)
    allocate = stores.redis.incr
    raced: list[tuple[Ticket, bool]] = []

    async def allocate_after_a_concurrent_open(name: str, *args, **kwargs) -> int:
        if not raced:  # between this open's read of the pointer and its commit
            raced.append(await other.tickets.open(42, "Dana", "asked_for_human", "elsewhere"))
        return await allocate(name, *args, **kwargs)

    monkeypatch.setattr(stores.redis, "incr", allocate_after_a_concurrent_open)
    try:
        ticket, is_new = await stores.tickets.open(42, "Dana", "low_confidence", "here")
    finally:
        await elsewhere.aclose()
    [(theirs, theirs_new)] = raced
    assert theirs_new and not is_new
    assert ticket.id == theirs.id and ticket.question == "elsewhere"
    assert [t.id for t in await stores.tickets.list_open()] == [theirs.id]
    assert await stores.redis.get(stores.keys.open_ticket(42)) == theirs.id


async def test_the_in_process_store_opens_one_ticket_too(key_prefix: str) -> None:
    """The terminal chat's in-process Redis runs the same transactions."""
    local = Stores.build(in_process_redis(), key_prefix, history_ttl_hours=1, history_max_turns=5)
    try:
        results = await asyncio.gather(
            *(local.tickets.open(7, "Ana", "asked_for_human", f"q{i}") for i in range(5))
        )
        assert sum(is_new for _, is_new in results) == 1
        ticket = results[0][0]
        claims = await asyncio.gather(
            *(local.tickets.claim(ticket.id, i, f"a{i}") for i in (1, 2))
        )
        assert [c.claimed for c in claims].count(True) == 1
        assert await local.tickets.close(ticket) and not await local.tickets.close(ticket)
        assert ticket.status is TicketStatus.CLOSED
    finally:
        await local.close()


async def test_turns_and_tickets_stored_as_plain_strings_load_as_enums(stores: Stores) -> None:
    """Data written before the enums existed (plain strings) reads back unchanged."""
    await stores.redis.rpush(
        stores.keys.history(9), '{"role": "agent", "text": "hi", "at": 1.0, "meta": {}}'
    )
    [turn] = await stores.conversations.history(9)
    assert turn.role is TurnRole.AGENT
    ticket, _ = await stores.tickets.open(9, "Eve", "asked_for_human", "help")
    assert await stores.redis.hget(stores.keys.ticket(ticket.id), "status") == "open"
    await stores.tickets.append_turn(ticket.id, Turn(TurnRole.CUSTOMER, "hello"))
    [raw] = await stores.redis.lrange(stores.keys.ticket_transcript(ticket.id), 0, -1)
    assert '"role": "customer"' in raw
