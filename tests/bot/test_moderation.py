"""Abusive language through the real dispatcher, the fake Bot API and Redis: a calm warning (and
still an answer), then a mute with one notice, silence while muted, /unmute by an agent, expiry."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from bot.errors import ConfigurationError
from bot.i18n import Catalog
from bot.services.events import DomainEvent, EventKind, RedisEventLog
from bot.services.moderation import INLINE_CHARS, ModerationService, Verdict
from bot.settings import ModerationSettings, Settings, load_settings
from bot.store import Stores
from common.moderation import AbuseDetector
from common.privacy import Customer
from knowledge_base import KnowledgeBase
from retrieval import FaqRetriever
from tests.bot.test_console import PASSWORD, USER, Console, console  # noqa: F401 (fixture)
from tests.support.handoff import (
    AGENT_ID,
    AGENT_NAME,
    AGENTS_CHAT,
    CUSTOMER,
    RunningBot,
    handoff_bot,
    handoff_settings,
)
from tests.support.texts import TEXTS

ZH = Catalog.load().texts("zh")
# Abusive, but not angry enough for the sentiment check: answered from the FAQ.
ABUSIVE = "how long does delivery take, asshole"
# Abusive and angry (VADER -0.8): the customer is handed to a person.
ANGRY = "How long does delivery take, you stupid bitch?"
AGAIN = "answer me, you fucking idiot"
QUESTION = "How long does delivery take?"
DELIVERY = "3–5 business days"
WARNING = TEXTS.get("moderation-warning")


def moderation_settings(**moderation: float) -> Settings:
    values = {"window_minutes": 60.0, "mute_minutes": 15.0, "warnings": 1} | moderation
    return handoff_settings().model_copy(
        update={"moderation": ModerationSettings(**values)}  # type: ignore[arg-type]
    )


@pytest_asyncio.fixture
async def run(
    stores: Stores, retriever: FaqRetriever, small_kb: KnowledgeBase
) -> AsyncIterator[RunningBot]:
    async with handoff_bot(stores, retriever, small_kb, moderation_settings()) as running:
        yield running


async def events_of(stores: Stores, *kinds: EventKind) -> list[DomainEvent]:
    return [e for e in await RedisEventLog(stores.redis, stores.keys).read() if e.kind in kinds]


async def wait_for_event(stores: Stores, kind: EventKind, count: int = 1) -> None:
    deadline = time.monotonic() + 10
    while len(await events_of(stores, kind)) < count:
        assert time.monotonic() < deadline, f"no {kind} event"
        await asyncio.sleep(0.05)


async def new_texts(run: RunningBot, chat_id: int, seen: int, count: int) -> list[str]:
    """The next ``count`` texts sent to ``chat_id`` after the first ``seen``."""
    deadline = time.monotonic() + 10
    while len(run.api.sent_texts(chat_id)) < seen + count:
        assert time.monotonic() < deadline, run.api.sent_texts(chat_id)[seen:]
        await asyncio.sleep(0.05)
    return run.api.sent_texts(chat_id)[seen : seen + count]


def in_topic(thread: int):
    return lambda p: p.get("chat_id") == AGENTS_CHAT and p.get("message_thread_id") == thread


async def test_a_warning_and_still_an_answer_then_a_mute_then_silence(
    run: RunningBot, stores: Stores
) -> None:
    api = run.api
    # First abusive message: a calm warning, and the question is still answered.
    await run.say(CUSTOMER, ABUSIVE)
    warned, answered = await new_texts(run, CUSTOMER, 0, 2)
    assert warned == WARNING
    assert DELIVERY in answered

    # Abusive again within the window: muted, one notice saying until when.
    seen = len(api.sent_texts(CUSTOMER))
    before = time.time()
    await run.say(CUSTOMER, AGAIN)
    (notice,) = await new_texts(run, CUSTOMER, seen, 1)
    until = await stores.moderation.muted_until(CUSTOMER)
    assert until is not None and 15 * 60 - 5 <= until - before <= 15 * 60 + 5
    assert notice == TEXTS.get("moderation-muted", **run.dp["moderation"].until_args(until))
    assert "15 minutes" in notice and "(UTC)" in notice

    # Muted: a question, even a polite one, is neither answered nor turned into a ticket.
    for text in (QUESTION, "I want to talk to a human", AGAIN):
        await run.say(CUSTOMER, text)
    await wait_for_event(stores, EventKind.MUTED_MESSAGE, 3)
    await asyncio.sleep(0.3)
    assert api.sent_texts(CUSTOMER)[seen + 1 :] == []
    assert await run.escalation.current(CUSTOMER) is None

    wanted = (EventKind.ABUSE_WARNED, EventKind.CUSTOMER_MUTED, EventKind.MUTED_MESSAGE)
    recorded = await events_of(stores, *wanted)
    assert [e.kind for e in recorded] == [
        EventKind.ABUSE_WARNED,
        EventKind.CUSTOMER_MUTED,
        *[EventKind.MUTED_MESSAGE] * 3,
    ]
    assert {e.chat_id for e in recorded} == {CUSTOMER}


async def test_an_abusive_angry_customer_reaches_a_person_and_agents_can_lift_the_mute(
    run: RunningBot, stores: Stores
) -> None:
    api = run.api
    start = len(api.calls)
    await run.say(CUSTOMER, ANGRY, first_name="Alice")
    warned, handed = await new_texts(run, CUSTOMER, 0, 2)
    assert warned == WARNING
    assert handed.startswith(TEXTS.get("handoff-new", ticket="1").split("(")[0])
    topic = await api.wait_for("createForumTopic", start=start)
    thread = topic.result["message_thread_id"]

    # Muted: the customer hears it once; the ticket's topic gets one note.
    start = len(api.calls)
    await run.say(CUSTOMER, AGAIN)
    note = await api.wait_for("sendMessage", in_topic(thread), start=start)
    await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    until = await stores.moderation.muted_until(CUSTOMER)
    assert until is not None
    args = run.dp["moderation"].until_args(until)
    assert note.params["text"] == TEXTS.get("agent-customer-muted", **args)
    assert "/unmute" in note.params["text"]

    # While muted nothing the customer writes reaches the agents.
    start = len(api.calls)
    await run.say(CUSTOMER, "hello? order 12345")
    await wait_for_event(stores, EventKind.MUTED_MESSAGE)
    await asyncio.sleep(0.3)
    assert not [c for c in api.calls[start:] if in_topic(thread)(c.params)]
    assert not [c for c in api.calls[start:] if c.params.get("chat_id") == CUSTOMER]

    # Someone who is not an agent cannot lift it.
    stranger = 777
    api.set_member_status(AGENTS_CHAT, stranger, "left")
    start = len(api.calls)
    api.push_update(
        api.text_update(AGENTS_CHAT, "/unmute", user_id=stranger, message_thread_id=thread)
    )
    refused = await api.wait_for("sendMessage", in_topic(thread), start=start)
    assert refused.params["text"] == TEXTS.get("agent-not-allowed")
    assert await stores.moderation.muted_until(CUSTOMER) is not None

    # An agent can: the customer hears it in their language, the topic says who.
    start = len(api.calls)
    api.push_update(
        api.text_update(
            AGENTS_CHAT,
            "/unmute",
            user_id=AGENT_ID,
            first_name=AGENT_NAME,
            message_thread_id=thread,
        )
    )
    told = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert told.params["text"] == TEXTS.get("moderation-unmuted")
    lifted = await api.wait_for("sendMessage", in_topic(thread), start=start)
    assert lifted.params["text"] == TEXTS.get("agent-unmuted", agent=AGENT_NAME)
    assert await stores.moderation.muted_until(CUSTOMER) is None
    (unmuted,) = await events_of(stores, EventKind.CUSTOMER_UNMUTED)
    assert (unmuted.chat_id, unmuted.ticket_id, unmuted.actor) == (CUSTOMER, "1", AGENT_NAME)
    assert not [c for c in api.calls_of("copyMessage") if c.params["chat_id"] == CUSTOMER]

    # A second /unmute: a clear answer.
    start = len(api.calls)
    api.push_update(
        api.text_update(AGENTS_CHAT, "/unmute", user_id=AGENT_ID, message_thread_id=thread)
    )
    again = await api.wait_for("sendMessage", in_topic(thread), start=start)
    assert again.params["text"] == TEXTS.get("agent-not-muted")

    # The customer's messages reach the agents again.
    start = len(api.calls)
    await run.say(CUSTOMER, "sorry, it is order 12345")
    relayed = await api.wait_for("sendMessage", in_topic(thread), start=start)
    assert "order 12345" in relayed.params["text"]


async def test_a_chinese_customer_is_warned_and_muted_in_chinese(
    run: RunningBot, stores: Stores
) -> None:
    await run.say(CUSTOMER, "你们这些傻逼，送货要多久？", language_code="zh-hans")
    warned, handled = await new_texts(run, CUSTOMER, 0, 2)  # the warning, then the message's
    assert warned == ZH.get("moderation-warning")  # own reply (a person, in Chinese)
    assert ZH.get("handoff-new", ticket="1").split("（")[0] in handled
    seen = len(run.api.sent_texts(CUSTOMER))
    await run.say(CUSTOMER, "傻 逼", language_code="zh-hans")
    (notice,) = await new_texts(run, CUSTOMER, seen, 1)
    until = await stores.moderation.muted_until(CUSTOMER)
    assert until is not None
    assert notice == ZH.get("moderation-muted", **run.dp["moderation"].until_args(until))


async def test_ordinary_messages_are_not_moderated(run: RunningBot, stores: Stores) -> None:
    traps = [
        "I live in Scunthorpe: how long does delivery take?",
        "please assess my class order, how long does delivery take?",
        "A cocktail shaker: how long does delivery take?",
        "This sucks, how long does delivery take?",
    ]
    for n, text in enumerate(traps):  # one customer each: no "same question again" handoff
        reply = await run.ask(CUSTOMER + n, text)
        assert DELIVERY in reply.params["text"]
    await asyncio.sleep(0.3)
    assert WARNING not in run.api.sent_texts()
    assert await events_of(stores, EventKind.ABUSE_WARNED, EventKind.CUSTOMER_MUTED) == []
    assert await stores.moderation.export(Customer(CUSTOMER)) is None  # nothing kept


async def test_a_mute_ends_by_itself(
    stores: Stores, retriever: FaqRetriever, small_kb: KnowledgeBase
) -> None:
    settings = moderation_settings(mute_minutes=1 / 60)  # one second
    async with handoff_bot(stores, retriever, small_kb, settings) as run:
        await run.say(CUSTOMER, ABUSIVE)
        await new_texts(run, CUSTOMER, 0, 2)
        await run.say(CUSTOMER, AGAIN)
        await new_texts(run, CUSTOMER, 2, 1)
        assert await stores.moderation.muted_until(CUSTOMER) is not None
        await asyncio.sleep(1.5)
        assert await stores.moderation.muted_until(CUSTOMER) is None
        answer = await run.ask(CUSTOMER, QUESTION)
        assert DELIVERY in answer.params["text"]


async def test_agents_operators_and_a_disabled_moderation_are_not_moderated(
    stores: Stores, retriever: FaqRetriever, small_kb: KnowledgeBase
) -> None:
    async with handoff_bot(stores, retriever, small_kb, moderation_settings()) as run:
        for text in (ABUSIVE, AGAIN):
            reply = await run.ask(AGENT_ID, text)
            assert reply.params["text"] != WARNING
        assert await stores.moderation.muted_until(AGENT_ID) is None
    settings = moderation_settings()
    settings = settings.model_copy(
        update={"moderation": settings.moderation.model_copy(update={"enabled": False})}
    )
    async with handoff_bot(stores, retriever, small_kb, settings) as run:
        for n in range(3):
            reply = await run.ask(CUSTOMER + n, ABUSIVE)
            assert DELIVERY in reply.params["text"]
    assert await events_of(stores, EventKind.ABUSE_WARNED, EventKind.CUSTOMER_MUTED) == []


async def test_the_moderation_store_exports_and_forgets_a_customer(stores: Stores) -> None:
    store = stores.moderation
    assert await store.strike(CUSTOMER, 60) == 1
    assert await store.export(Customer(CUSTOMER)) == {
        "muted_until": None,
        "abusive_messages_in_window": 1,
    }
    assert await store.mute(CUSTOMER, 2_000_000_000, 60)
    assert not await store.mute(CUSTOMER, 2_000_000_000, 60)  # once
    assert await store.export(Customer(CUSTOMER)) == {
        "muted_until": 2_000_000_000.0,
        "abusive_messages_in_window": 0,
    }
    assert 0 < await stores.redis.ttl(stores.keys.muted(CUSTOMER)) <= 60
    assert await store.forget(Customer(CUSTOMER)) == 1
    assert await store.muted_until(CUSTOMER) is None
    assert await store.forget(Customer(CUSTOMER)) == 0


async def test_the_console_button_lifts_a_mute(console: Console) -> None:  # noqa: F811
    ticket_id = await console.customer_asks(CUSTOMER, "Alice", "I want to talk to a human")
    await console.stores.moderation.mute(CUSTOMER, time.time() + 600, 600)
    page_url = f"{console.url}/tickets/{ticket_id}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = {"username": USER, "password": PASSWORD}
        async with http.post(f"{console.url}/login", data=login) as resp:
            assert resp.status == 200
        async with http.get(page_url) as resp:
            page = await resp.text()
        assert 'id="unmute"' in page and "muted for abusive language until" in page
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)

        # A forged form (no CSRF token) changes nothing.
        async with http.post(f"{page_url}/unmute", data={"csrf": "forged"}) as resp:
            assert resp.status == 403
        assert await console.stores.moderation.muted_until(CUSTOMER) is not None

        start = len(console.api.calls)
        async with http.post(f"{page_url}/unmute", data={"csrf": csrf}) as resp:
            page = await resp.text()  # back on the ticket page
        assert TEXTS.get("console-unmuted") in page and 'id="unmute"' not in page
        assert await console.stores.moderation.muted_until(CUSTOMER) is None
        told = await console.api.wait_for(
            "sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start
        )
        assert told.params["text"] == TEXTS.get("moderation-unmuted")
        (unmuted,) = await events_of(console.stores, EventKind.CUSTOMER_UNMUTED)
        assert (unmuted.ticket_id, unmuted.actor) == (ticket_id, USER)

        async with http.post(f"{page_url}/unmute", data={"csrf": csrf}) as resp:
            assert TEXTS.get("console-not-muted") in await resp.text()


async def test_a_long_message_is_checked_too(stores: Stores) -> None:
    """Long texts are checked off the event loop; the verdict is the same."""
    moderation = ModerationService(
        stores.moderation,
        RedisEventLog(stores.redis, stores.keys),
        ModerationSettings(),
        detector=AbuseDetector(),
    )
    padding = "I ordered a cocktail shaker from Scunthorpe and it has not arrived. " * 5
    assert len(padding) > INLINE_CHARS
    assert (await moderation.check(CUSTOMER, padding)).verdict is Verdict.CLEAN
    abusive = await moderation.check(CUSTOMER, padding + "You are a fucking idiot.")
    assert abusive.verdict is Verdict.WARNED
    muted = await moderation.check(CUSTOMER, "idiot " + padding + " asshole")
    assert muted.verdict is Verdict.MUTED and muted.until is not None
    assert (await moderation.check(CUSTOMER, "hello")).verdict is Verdict.SILENCED


def test_moderation_settings_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("MODERATION__MUTE_MINUTES", "5")
    monkeypatch.setenv("MODERATION__ENABLED", "false")
    moderation = load_settings(_env_file=None).moderation
    assert (moderation.enabled, moderation.mute_minutes, moderation.warnings) == (False, 5.0, 1)
    monkeypatch.setenv("MODERATION__WARNINGS", "-1")
    with pytest.raises(ConfigurationError, match="MODERATION__WARNINGS"):
        load_settings(_env_file=None)


async def test_an_unsure_abusive_question_is_checked_once_and_goes_to_a_person(
    run: RunningBot, stores: Stores, monkeypatch
) -> None:
    """Moderation's verdict reaches the answer path (handler data ``abusive``): the text that is
    both abusive and not understood goes to a person, and the detector reads it only once."""
    detector = run.app.abuse
    assert detector is not None
    checked: list[str] = []
    real = detector.is_abusive

    def counting(text: str) -> bool:
        checked.append(text)
        return real(text)

    monkeypatch.setattr(detector, "is_abusive", counting)
    await run.say(CUSTOMER, "what colour is the moon tonight, asshole")
    warned, handed = await new_texts(run, CUSTOMER, 0, 2)
    assert warned == WARNING
    assert handed.startswith(TEXTS.get("handoff-new", ticket="1").split("(")[0])
    assert checked == ["what colour is the moon tonight, asshole"]
