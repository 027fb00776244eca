"""Canned replies: operators save them, agents send them with /reply in a ticket's topic (through
the real dispatcher, the fake Bot API and Redis) or from the console, where they also send files."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.services.canned import CannedReplies, CannedReplyError
from bot.services.events import EventKind, RedisEventLog
from bot.store import Stores
from knowledge_base import KnowledgeBase
from retrieval import FaqRetriever
from tests.support.handoff import (
    AGENT_ID,
    AGENT_NAME,
    AGENTS_CHAT,
    CUSTOMER,
    RunningBot,
    handoff_bot,
)
from tests.support.texts import TEXTS

GREETING = "Hi {name}, I'm {agent} and I'm looking at ticket #{ticket} now."


def in_topic(thread: int):
    return lambda p: p["chat_id"] == AGENTS_CHAT and p.get("message_thread_id") == thread


def refusal(thread: int):
    return lambda p: in_topic(thread)(p) and p["text"].startswith("❌")


@pytest_asyncio.fixture
async def run(
    stores: Stores, retriever: FaqRetriever, small_kb: KnowledgeBase
) -> AsyncIterator[RunningBot]:
    async with handoff_bot(stores, retriever, small_kb) as running:
        yield running


def canned(stores: Stores) -> CannedReplies:
    return CannedReplies(stores.canned, TEXTS)


async def escalate(run: RunningBot) -> int:
    start = len(run.api.calls)
    await run.say(CUSTOMER, "I want to talk to a human", first_name="Alice")
    topic = await run.api.wait_for("createForumTopic", start=start)
    thread = topic.result["message_thread_id"]
    await run.api.wait_for(
        "sendMessage", lambda p: in_topic(thread)(p) and "reply_markup" in p, start=start
    )
    await run.api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    return thread


async def agent_says(run: RunningBot, thread: int, text: str, user_id: int = AGENT_ID) -> int:
    start = len(run.api.calls)
    run.api.push_update(
        run.api.text_update(
            AGENTS_CHAT, text, user_id=user_id, first_name=AGENT_NAME, message_thread_id=thread
        )
    )
    return start


async def test_a_reply_with_an_unknown_placeholder_or_bad_name_is_refused_and_nothing_stored(
    stores: Stores,
) -> None:
    replies = canned(stores)
    await replies.save("greeting", GREETING, "olga")
    with pytest.raises(CannedReplyError) as refused:
        await replies.save("greeting", "Your order {order} is on its way", "olga")
    assert refused.value.problems == [
        TEXTS.get(
            "canned-bad-placeholder", placeholder="{order}", allowed="{name}, {agent}, {ticket}"
        )
    ]
    with pytest.raises(CannedReplyError, match="can't be a canned reply's name"):
        await replies.save("Two words", "hello", "olga")
    with pytest.raises(CannedReplyError, match="needs a text"):
        await replies.save("blank", "   ", "olga")
    stored = await stores.canned.list_all()
    assert [(r.name, r.text, r.updated_by) for r in stored] == [("greeting", GREETING, "olga")]
    with pytest.raises(CannedReplyError, match=r"no canned reply “nope”\. Known: greeting"):
        await replies.delete("nope")
    await replies.delete("greeting")
    assert await stores.canned.list_all() == []


async def test_reply_name_in_the_topic_sends_the_rendered_text_and_keeps_it(
    run: RunningBot, stores: Stores
) -> None:
    api = run.api
    await canned(stores).save("greeting", GREETING, "olga")
    thread = await escalate(run)

    # /reply alone lists the replies; nothing reaches the customer.
    start = await agent_says(run, thread, "/reply")
    listed = await api.wait_for("sendMessage", in_topic(thread), start=start)
    assert listed.params["text"] == TEXTS.get("agent-canned-list", names="greeting")

    start = await agent_says(run, thread, "/reply greeting")
    expected = f"Hi Alice, I'm {AGENT_NAME} and I'm looking at ticket #1 now."
    sent = await api.wait_for(
        "sendMessage",
        lambda p: p["chat_id"] == CUSTOMER and p["text"] == expected,
        start=start,
    )
    assert sent.params["text"] == expected
    shown = await api.wait_for(
        "sendMessage", lambda p: in_topic(thread)(p) and "greeting" in p["text"], start=start
    )
    assert expected in shown.params["text"]
    assert not [c for c in api.calls_of("copyMessage") if c.params["chat_id"] == CUSTOMER]
    transcript = await stores.tickets.transcript("1")
    assert (transcript[-1].role, transcript[-1].text) == ("agent", expected)
    events = await RedisEventLog(stores.redis, stores.keys).read()
    replied = [e for e in events if e.kind == EventKind.TICKET_REPLIED]
    assert [(e.ticket_id, e.actor) for e in replied] == [("1", AGENT_NAME)]


async def test_reply_kb_entry_sends_its_answer(
    run: RunningBot, stores: Stores, small_kb: KnowledgeBase
) -> None:
    api = run.api
    thread = await escalate(run)
    answer = small_kb.get("delivery-time").answer
    start = await agent_says(run, thread, "/reply kb:delivery-time")
    sent = await api.wait_for(
        "sendMessage", lambda p: p["chat_id"] == CUSTOMER and p["text"] == answer, start=start
    )
    assert sent.params["text"] == answer
    assert (await stores.tickets.transcript("1"))[-1].text == answer

    start = await agent_says(run, thread, "/reply kb:no-such-entry")
    refused = await api.wait_for("sendMessage", refusal(thread), start=start)
    assert TEXTS.get("canned-unknown-kb", id="no-such-entry") in refused.params["text"]


async def test_unknown_name_and_non_agents_send_nothing(run: RunningBot, stores: Stores) -> None:
    api = run.api
    await canned(stores).save("greeting", GREETING, "olga")
    thread = await escalate(run)
    turns = len(await stores.tickets.transcript("1"))
    customer_texts = len(api.sent_texts(CUSTOMER))

    start = await agent_says(run, thread, "/reply refund")
    refused = await api.wait_for("sendMessage", refusal(thread), start=start)
    assert TEXTS.get("canned-unknown", name="refund", known="greeting") in refused.params["text"]

    stranger = 777
    api.set_member_status(AGENTS_CHAT, stranger, "left")
    start = await agent_says(run, thread, "/reply greeting", user_id=stranger)
    refused = await api.wait_for("sendMessage", in_topic(thread), start=start)
    assert refused.params["text"] == TEXTS.get("agent-not-allowed")

    await asyncio.sleep(0.3)
    assert len(api.sent_texts(CUSTOMER)) == customer_texts
    assert len(await stores.tickets.transcript("1")) == turns
    assert not api.calls_of("copyMessage")
