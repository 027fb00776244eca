"""Flood control through the real dispatcher and Redis: a flooding customer gets one notice and a
bounded number of answers; other customers, and operators, are unaffected."""

from __future__ import annotations

import asyncio
import time

from aiogram.types import Message
from redis.asyncio import Redis

from bot.middlewares.flood import FloodControlMiddleware
from bot.services.events import EventKind, RedisEventLog
from bot.settings import FloodSettings, OperatorSettings
from bot.store import Keys, Stores
from knowledge_base import KnowledgeBase
from retrieval import FaqRetriever
from tests.support.handoff import handoff_bot, handoff_settings

FLOODER, OTHER, OPERATOR = 6101, 6102, 6103
FLOOD = 25
QUESTION = "when will my parcel arrive?"
# Different questions, so that the flood is not also "the same question again" (a handoff).
QUESTIONS = ["shipping time?", "return policy", "password reset link", "payment options"]
NOTICE = "sending messages very quickly"


def _settings(rate: str):
    return handoff_settings().model_copy(
        update={
            "flood": FloodSettings(per_customer=rate),
            "operators": OperatorSettings(ids=[OPERATOR]),
        }
    )


async def _all_received(stores: Stores, chat: int, count: int, timeout: float = 30.0) -> None:
    """Wait until ``count`` messages of ``chat`` were handled or throttled, then a little more
    for the last one's reply."""
    log = RedisEventLog(stores.redis, stores.keys)
    deadline = time.monotonic() + timeout
    while True:
        received = [
            e
            for e in await log.read()
            if e.kind in (EventKind.MESSAGE_RECEIVED, EventKind.THROTTLED) and e.chat_id == chat
        ]
        if len(received) >= count:
            break
        assert time.monotonic() < deadline, f"{len(received)} of {count} messages handled"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)


async def test_a_flooding_customer_gets_one_notice_and_a_bounded_number_of_answers(
    stores: Stores, retriever: FaqRetriever, small_kb: KnowledgeBase
) -> None:
    async with handoff_bot(stores, retriever, small_kb, _settings("5 per 30 seconds")) as run:
        api = run.api
        for n in range(FLOOD):  # a burst at once
            api.push_update(api.text_update(FLOODER, QUESTIONS[n % len(QUESTIONS)]))
        started = time.monotonic()
        other = await run.ask(OTHER, "I forgot my password", timeout=10)
        other_latency = time.monotonic() - started
        assert "Forgot password" in other.params["text"]  # another customer is answered
        await _all_received(stores, FLOODER, FLOOD)
        texts = api.sent_texts(FLOODER)
        notices = [t for t in texts if NOTICE in t]
        answers = [t for t in texts if NOTICE not in t]
        assert len(notices) == 1, texts
        assert len(answers) == 5, texts  # the limit's worth, each a different entry's answer
        assert await run.escalation.current(FLOODER) is None  # no ticket from a flood

        for n in range(8):  # an operator is never limited
            api.push_update(api.text_update(OPERATOR, QUESTIONS[n % len(QUESTIONS)]))
        # (an operator's messages are staff work, not recorded as a customer's: wait for replies)
        deadline = time.monotonic() + 30
        while len(api.sent_texts(OPERATOR)) < 8:
            assert time.monotonic() < deadline, api.sent_texts(OPERATOR)
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        assert not [t for t in api.sent_texts(OPERATOR) if NOTICE in t]
        assert len(api.sent_texts(OPERATOR)) == 8
    events = await RedisEventLog(stores.redis, stores.keys).read()
    throttled = [e for e in events if e.kind is EventKind.THROTTLED]
    assert len(throttled) == FLOOD - len(answers)
    assert {e.chat_id for e in throttled} == {FLOODER}
    print(
        f"\nflood: {FLOOD} messages at once → {len(answers)} answers, {len(notices)} notice; "
        f"another customer answered in {other_latency * 1000:.0f} ms"
    )


async def test_every_worker_counts_against_the_same_limit(
    redis_client: Redis, key_prefix: str
) -> None:
    """Two workers' middlewares over one Redis: a customer's messages on either one add up."""
    keys = Keys(key_prefix)
    events = RedisEventLog(redis_client, keys)
    workers = [
        FloodControlMiddleware(redis_client, keys, "3 per 30 seconds", events) for _ in "ab"
    ]
    await redis_client.set(keys.flood_notice(FLOODER), "1")  # the notice was sent already
    message = Message.model_validate(
        {
            "message_id": 1,
            "date": 0,
            "chat": {"id": FLOODER, "type": "private"},
            "from": {"id": FLOODER, "is_bot": False, "first_name": "Flo"},
            "text": QUESTION,
        }
    )
    handled: list[str] = []

    async def handler(event, data):
        handled.append(data["worker"])

    for n in range(6):
        worker = workers[n % 2]
        await worker(handler, message, {"worker": "ab"[n % 2]})
    assert handled == ["a", "b", "a"]  # three in all, whichever worker took them
