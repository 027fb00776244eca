"""The one sending path against the fake Bot API: Telegram's errors and limits, nothing lost.

Each fault test prints what was sent, answered and lost (``pytest -s`` shows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from bot.sending import DeliveryMiddleware, Redeliverer, UndeliveredStore
from bot.settings import SendingSettings, Settings
from bot.store import Stores
from knowledge_base import KnowledgeBase
from retrieval import FaqRetriever
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.handoff import (
    AGENT_ID,
    AGENTS_CHAT,
    CUSTOMER,
    RunningBot,
    handoff_app,
    handoff_settings,
    running_bot,
)

QUESTION = "when will my parcel arrive?"
ANSWER_START = "Standard delivery takes 3–5 business days"


def sending_settings(**sending: Any) -> Settings:
    """The handoff tests' settings with the sending path's retries at test speed."""
    values: dict[str, Any] = {
        "attempts": 4,
        "backoff_s": 0.05,
        "max_backoff_s": 0.2,
        "redeliver_every_s": 0.2,
    }
    values.update(sending)
    return handoff_settings().model_copy(update={"sending": SendingSettings(**values)})


@contextlib.asynccontextmanager
async def redelivering(run: RunningBot, settings: Settings) -> AsyncIterator[UndeliveredStore]:
    """The kept messages of ``run``'s app, with the redelivery task running meanwhile."""
    store = UndeliveredStore(run.app.stores.redis, run.app.stores.keys)
    task = asyncio.create_task(Redeliverer(run.bot, store, settings.sending).run())
    try:
        yield store
    finally:
        task.cancel()


def answers(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [t for t in api.sent_texts(chat_id) if t.startswith(ANSWER_START)]


def report(name: str, sent: int, answered: int) -> None:
    print(f"\n{name}: sent {sent}, answered {answered}, lost {sent - answered}")


@pytest.fixture
async def api() -> Any:
    async with FakeBotAPI() as server:
        yield server


async def test_answer_survives_a_flood_wait(
    api: FakeBotAPI, stores: Stores, retriever: FaqRetriever, small_kb: KnowledgeBase
) -> None:
    api.fail("sendMessage", 429, "Too Many Requests: retry after 1", parameters={"retry_after": 1})
    async with (
        handoff_app(sending_settings(), stores, retriever, small_kb) as app,
        running_bot(api, app) as run,
    ):
        started = time.monotonic()
        await run.say(301, QUESTION)
        await _until(lambda: answers(api, 301), timeout=10)
        waited = time.monotonic() - started
    assert [c.error_code for c in api.calls_of("sendMessage")] == [429, None]
    assert len(answers(api, 301)) == 1
    assert waited >= 1.0  # retry_after was honoured
    report("429 retry_after=1 on an answer", 1, len(answers(api, 301)))


async def test_answer_survives_server_errors_and_a_timeout(
    api: FakeBotAPI, stores: Stores, retriever: FaqRetriever, small_kb: KnowledgeBase
) -> None:
    api.fail("sendMessage", 500, "Internal Server Error", times=2)
    async with (
        handoff_app(sending_settings(), stores, retriever, small_kb) as app,
        running_bot(api, app) as run,
    ):
        await run.say(302, QUESTION)
        await _until(lambda: answers(api, 302), timeout=10)
        assert [c.error_code for c in api.calls_of("sendMessage")] == [500, 500, None]

        run.bot.session.timeout = 0.5
        api.stall("sendMessage", 1.0)
        await run.say(303, QUESTION)
        await _until(lambda: len(answers(api, 303)) >= 1, timeout=10)
    # The slow call still went through on the server after the client gave up, so the retry may
    # repeat it: at least once, never lost.
    assert 1 <= len(answers(api, 303)) <= 2
    assert len(answers(api, 302)) == 1
    report("500 twice on an answer", 1, len(answers(api, 302)))
    report("timeout on an answer", 1, min(1, len(answers(api, 303))))


async def test_a_blocked_customer_is_recorded_once_without_retries(
    api: FakeBotAPI,
    stores: Stores,
    retriever: FaqRetriever,
    small_kb: KnowledgeBase,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api.fail(
        "sendMessage",
        403,
        "Forbidden: bot was blocked by the user",
        times=None,
        when=lambda p: p["chat_id"] == 304,
    )
    caplog.set_level(logging.INFO)
    blocked_before = REGISTRY.get_sample_value("supportbot_outgoing_blocked_chats_total") or 0
    async with (
        handoff_app(sending_settings(), stores, retriever, small_kb) as app,
        running_bot(api, app) as run,
    ):
        await run.say(304, QUESTION)
        await api.wait_for("sendMessage", lambda p: p["chat_id"] == 304, timeout=10)
        await run.say(304, "I forgot my password")
        await _until(lambda: len(api.calls_of("sendMessage")) >= 2)
        await asyncio.sleep(0.3)
        store = UndeliveredStore(stores.redis, stores.keys)
        assert await store.is_blocked(304)
        assert await store.count() == 0  # a blocked chat is not kept for redelivery
    assert len(api.calls_of("sendMessage")) == 2  # one try per message, no retry loop
    warnings = [r for r in caplog.records if "has blocked the bot" in r.getMessage()]
    assert len(warnings) == 1
    blocked = REGISTRY.get_sample_value("supportbot_outgoing_blocked_chats_total")
    assert blocked == blocked_before + 1  # counted once, like the warning
    assert not [r for r in caplog.records if r.exc_info and "Forbidden" in str(r.exc_info[1])]


async def test_messages_kept_while_telegram_is_down_are_delivered_when_it_returns(
    api: FakeBotAPI, stores: Stores, retriever: FaqRetriever, small_kb: KnowledgeBase
) -> None:
    """The Bot API answers 502 for a while (every try of the first answer fails): the answer is
    kept in Redis, and the redelivery task sends it once the server answers again."""
    down = api.fail("sendMessage", 502, "Bad Gateway", times=None)
    settings = sending_settings(attempts=2)
    before = _samples("kept", "redelivered", "retries")
    async with (
        handoff_app(settings, stores, retriever, small_kb) as app,
        running_bot(api, app) as run,
        redelivering(run, settings) as store,
    ):
        await run.say(305, QUESTION)
        await _until(lambda: len(api.calls_of("sendMessage")) >= 2)
        await _until_async(lambda: _kept(store), timeout=5)
        kept = await store.all()
        assert kept and kept[0].method == "SendMessage" and kept[0].chat_id == 305
        assert answers(api, 305) == []
        api._failures.remove(down)  # Telegram is back
        await _until(lambda: answers(api, 305), timeout=5)
        await asyncio.sleep(settings.sending.redeliver_every_s * 2)  # a pass after delivery
    assert len(answers(api, 305)) == 1
    after = _samples("kept", "redelivered", "retries")
    # Visible as metrics: kept once, delivered later, the retry before keeping it counted.
    assert after["kept"] - before["kept"] >= 1
    assert after["redelivered"] - before["redelivered"] >= 1
    assert after["retries"] > before["retries"]
    assert REGISTRY.get_sample_value("supportbot_outgoing_kept_waiting") == 0
    reply = next(c for c in api.calls_of("sendMessage") if c.ok)
    labels = [b["text"] for row in reply.params["reply_markup"]["inline_keyboard"] for b in row]
    assert "👍" in labels  # redelivered whole, buttons included
    report("Bot API down (502) during an answer", 1, len(answers(api, 305)))


async def test_the_api_unreachable_for_30_seconds_loses_nothing(
    stores: Stores, retriever: FaqRetriever, small_kb: KnowledgeBase
) -> None:
    """The server goes away altogether (connection refused) for 30 s just after a question
    arrives and comes back on the same address: the answer is delivered, once, when it does."""
    api = FakeBotAPI()
    await api.start()
    settings = sending_settings(attempts=3, backoff_s=0.5, max_backoff_s=0.5)
    try:
        async with (
            handoff_app(settings, stores, retriever, small_kb) as app,
            running_bot(api, app) as run,
            redelivering(run, settings),
        ):
            # The answer's first try meets a 502; the server is gone before the retry.
            api.fail("sendMessage", 502, "Bad Gateway", times=1)
            await run.say(306, QUESTION)
            await _until(lambda: api.calls_of("sendMessage"), timeout=5)
            await api.stop()
            await asyncio.sleep(30.0)
            assert not answers(api, 306)
            await api.start()
            await _until(lambda: answers(api, 306), timeout=15)
            await asyncio.sleep(settings.sending.redeliver_every_s * 3)  # no second copy
        assert len(answers(api, 306)) == 1
        report("Bot API unreachable for 30 s during an answer", 1, len(answers(api, 306)))
    finally:
        await api.stop()


async def test_relays_survive_server_errors_and_an_outage(
    api: FakeBotAPI, stores: Stores, retriever: FaqRetriever, small_kb: KnowledgeBase
) -> None:
    """The agent's replies reach the customer through 500s; during a longer outage the agent is
    told the reply is kept, and it arrives (once) when Telegram answers again."""
    settings = sending_settings(attempts=3)
    async with (
        handoff_app(settings, stores, retriever, small_kb) as app,
        running_bot(api, app) as run,
        redelivering(run, settings),
    ):
        await run.say(CUSTOMER, "I want to talk to a human", first_name="Alice")
        topic = await api.wait_for("createForumTopic", timeout=5)
        thread = topic.result["message_thread_id"]
        to_customer = lambda p: p["chat_id"] == CUSTOMER  # noqa: E731

        api.fail("copyMessage", 500, "Internal Server Error", times=2, when=to_customer)
        api.push_update(
            api.text_update(AGENTS_CHAT, "First reply", user_id=AGENT_ID, message_thread_id=thread)
        )
        await _until(lambda: _copies(api) == 1, timeout=10)

        down = api.fail("copyMessage", 502, "Bad Gateway", times=None, when=to_customer)
        api.push_update(
            api.text_update(
                AGENTS_CHAT, "Second reply", user_id=AGENT_ID, message_thread_id=thread
            )
        )
        note = await api.wait_for(
            "sendMessage",
            lambda p: p["chat_id"] == AGENTS_CHAT and "kept" in p.get("text", ""),
            timeout=10,
        )
        assert note.params.get("message_thread_id") == thread
        api._failures.remove(down)
        await _until(lambda: _copies(api) == 2, timeout=10)
        await asyncio.sleep(0.5)
    assert _copies(api) == 2  # each reply once
    report("agent relays: 500 twice on one, a 502 outage on the other", 2, _copies(api))


def _copies(api: FakeBotAPI) -> int:
    return sum(1 for c in api.calls_of("copyMessage") if c.ok and c.params["chat_id"] == CUSTOMER)


async def test_limits_pace_one_chat_and_leave_others_alone(
    api: FakeBotAPI, stores: Stores
) -> None:
    settings = sending_settings(per_chat="2 per 1 second", overall="100 per 1 second")
    from bot.app import sending_path

    bot = api.make_bot()
    try:
        path = sending_path(bot, stores, settings)
        assert isinstance(path, DeliveryMiddleware)
        assert sending_path(bot, stores, settings) is path  # attached once
        started = time.monotonic()
        await asyncio.gather(*(bot.send_message(401, f"m{i}") for i in range(6)))
        paced = time.monotonic() - started
        started = time.monotonic()
        await bot.send_message(402, "other customer")
        other = time.monotonic() - started
    finally:
        await bot.session.close()
    assert sorted(api.sent_texts(401)) == [f"m{i}" for i in range(6)]
    assert paced >= 1.5  # 6 messages at 2 a second: the last ones wait two windows
    assert other < 0.5


async def _kept(store: UndeliveredStore) -> bool:
    return await store.count() > 0


def _samples(*names: str) -> dict[str, float]:
    """Current values of the sending path's counters (``bot/metrics.py``)."""
    values = {}
    for name in names:
        if name == "retries":
            values[name] = sum(
                REGISTRY.get_sample_value("supportbot_outgoing_retries_total", {"reason": r}) or 0
                for r in ("flood_wait", "server_error", "network")
            )
        else:
            values[name] = REGISTRY.get_sample_value(f"supportbot_outgoing_{name}_total") or 0
    return values


async def _until(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def _until_async(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
