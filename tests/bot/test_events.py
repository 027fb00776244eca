"""Domain events: a scripted conversation read back from the real Redis stream."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest
from redis.asyncio import Redis

from bot.keyboards import FeedbackCallback
from bot.services.answering import AnsweringService, Escalation
from bot.services.escalation import EscalationService
from bot.services.events import DomainEvent, EventKind, RedisEventLog
from bot.services.knowledge import KnowledgeService
from bot.services.live import LiveModels
from bot.services.sentiment import SentimentAnalyzer
from bot.store import Keys, Stores, Turn
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever
from tests.bot.conftest import AGENTS_CHAT_ID, RunningBot
from tests.conftest import SMALL_KB
from tests.support.texts import TEXTS

AGENT_ID, AGENT_NAME, CUSTOMER = 777, "Dana", 5002
QUESTION = "How long does delivery take?"
ASK_HUMAN = "I want to talk to a human"
AGENT_REPLY = "Hi Alice, I'm Dana. Which order is it?"


async def recorded(stores: Stores, kind: EventKind, timeout: float = 5.0) -> list[DomainEvent]:
    """Everything in the stream once an event of ``kind`` is there."""
    log = RedisEventLog(stores.redis, stores.keys)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        events = await log.read()
        if any(e.kind is kind for e in events):
            return events
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no {kind} event; recorded: {[e.kind for e in events]}")
        await asyncio.sleep(0.02)


def without_time(event: DomainEvent) -> DomainEvent:
    return replace(event, at=0.0)


async def test_a_conversation_is_recorded_as_events(
    running_bot: RunningBot, stores: Stores
) -> None:
    api = running_bot.api
    api.push_update(api.text_update(CUSTOMER, QUESTION, first_name="Alice"))
    answer = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER)
    answered = [e for e in await recorded(stores, EventKind.ANSWERED) if e.kind == "answered"]
    answer_id = answered[0].answer_id
    helpful = FeedbackCallback(answer_id=answer_id, helpful=True).pack()
    api.push_update(api.callback_update(CUSTOMER, CUSTOMER, helpful, answer.result["message_id"]))
    await recorded(stores, EventKind.FEEDBACK)

    start = len(api.calls)
    api.push_update(api.text_update(CUSTOMER, ASK_HUMAN, first_name="Alice"))
    thread = (await api.wait_for("createForumTopic", start=start)).result["message_thread_id"]
    opening = await api.wait_for(
        "sendMessage",
        lambda p: p.get("message_thread_id") == thread and "reply_markup" in p,
        start=start,
    )
    buttons = opening.params["reply_markup"]["inline_keyboard"][0]
    claim, close = (b["callback_data"] for b in buttons)
    opening_id = opening.result["message_id"]
    api.push_update(
        api.callback_update(AGENTS_CHAT_ID, AGENT_ID, claim, opening_id, first_name=AGENT_NAME)
    )
    await recorded(stores, EventKind.TICKET_CLAIMED)
    api.push_update(
        api.text_update(
            AGENTS_CHAT_ID,
            AGENT_REPLY,
            user_id=AGENT_ID,
            first_name=AGENT_NAME,
            message_thread_id=thread,
        )
    )
    await recorded(stores, EventKind.TICKET_REPLIED)
    start = len(api.calls)
    api.push_update(
        api.callback_update(AGENTS_CHAT_ID, AGENT_ID, close, opening_id, first_name=AGENT_NAME)
    )
    closing = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    rate = closing.params["reply_markup"]["inline_keyboard"][0][3]["callback_data"]  # 4 of 5
    api.push_update(api.callback_update(CUSTOMER, CUSTOMER, rate, closing.result["message_id"]))
    events = await recorded(stores, EventKind.RATING)

    entry = answered[0].entry_id
    assert entry == "delivery-time" and 0 < answered[0].confidence <= 1
    received = EventKind.MESSAGE_RECEIVED

    def got(chat: int, kind: str, said: str | None = None) -> DomainEvent:
        # a customer's words are scored; the score is kept, the words are not
        mood = round(SentimentAnalyzer().score(said).compound, 3) if said else None
        return DomainEvent(received, chat_id=chat, message_kind=kind, sentiment=mood)

    to_answer = {"chat_id": CUSTOMER, "answer_id": answer_id, "entry_id": entry}
    by_agent = {"chat_id": CUSTOMER, "ticket_id": "1", "actor": AGENT_NAME}
    expected = [
        got(CUSTOMER, "text", QUESTION),
        DomainEvent(
            EventKind.ANSWERED, **to_answer, confidence=answered[0].confidence, source="faq"
        ),
        got(CUSTOMER, "callback"),
        DomainEvent(EventKind.FEEDBACK, **to_answer, helpful=True),
        got(CUSTOMER, "text", ASK_HUMAN),
        DomainEvent(
            EventKind.ESCALATED,
            chat_id=CUSTOMER,
            ticket_id="1",
            reason="asked_for_human",
            is_new=True,
        ),
        got(AGENTS_CHAT_ID, "callback"),
        DomainEvent(EventKind.TICKET_CLAIMED, **by_agent),
        got(AGENTS_CHAT_ID, "text"),
        DomainEvent(EventKind.TICKET_REPLIED, **by_agent),
        got(AGENTS_CHAT_ID, "callback"),
        DomainEvent(EventKind.TICKET_CLOSED, **by_agent),
        got(CUSTOMER, "callback"),
        DomainEvent(EventKind.RATING, chat_id=CUSTOMER, ticket_id="1", score=4),
    ]
    assert [without_time(e) for e in events] == [without_time(e) for e in expected]
    # Never what anyone wrote: not the question, not the request, not the agent's reply.
    raw = await stores.redis.xrange(stores.keys.events())
    values = " ".join(v for _, fields in raw for v in fields.values())
    for words in (QUESTION, ASK_HUMAN, AGENT_REPLY, "Alice"):
        assert words not in values


async def test_the_answer_path_reads_the_history_once(
    stores: Stores, retriever: FaqRetriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One read per message, and the ticket gets what reading the conversation again would."""
    answering = AnsweringService(
        LiveModels(retriever, VerbatimGenerator()), stores, threshold=0.5, top_k=3
    )
    escalation = EscalationService(stores, catalog=TEXTS.catalog)
    chat = 31
    for n in range(stores.conversations.max_turns):  # a full conversation: the oldest turn goes
        await stores.conversations.append(chat, Turn("customer" if n % 2 else "bot", f"turn {n}"))
    await answering.answer(chat, QUESTION)
    reads: list[int] = []
    history, add = stores.conversations.history, stores.conversations.add

    async def counted(chat_id: int, limit: int | None = None):
        reads.append(chat_id)
        return await history(chat_id, limit)

    async def counted_add(chat_id: int, turn: Turn):  # reads the conversation as it writes
        reads.append(chat_id)
        return await add(chat_id, turn)

    monkeypatch.setattr(stores.conversations, "history", counted)
    monkeypatch.setattr(stores.conversations, "add", counted_add)
    result = await answering.answer(chat, ASK_HUMAN)
    assert isinstance(result, Escalation)
    outcome = await escalation.escalate(chat, "Ola", result)
    assert reads == [chat]
    again = await history(chat)
    assert list(result.transcript) == again
    assert await stores.tickets.transcript(outcome.ticket.id) == again


async def test_a_kb_change_is_recorded_without_the_texts(stores: Stores, key_prefix: str) -> None:
    knowledge = KnowledgeService.build(stores.redis, key_prefix)
    await knowledge.store.seed(SMALL_KB)
    await knowledge.add_out_of_scope("Do you sell second-hand cars?", "olga")
    await knowledge.delete_entry("reset-password", "olga")
    events = await RedisEventLog(stores.redis, stores.keys).read()
    assert [without_time(e) for e in events] == [
        without_time(e)
        for e in (
            DomainEvent(EventKind.KB_CHANGED, version=2, actor="olga", summary="out of scope +1"),
            DomainEvent(
                EventKind.KB_CHANGED, version=3, actor="olga", summary="removed 1: reset-password"
            ),
        )
    ]


async def test_recording_never_fails_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    nowhere = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.services.events"):
            await RedisEventLog(nowhere, Keys("t")).record(DomainEvent(EventKind.RATING, score=5))
    finally:
        await nowhere.aclose()
    assert "event rating not recorded" in caplog.text


async def test_the_stream_is_capped(stores: Stores) -> None:
    log = RedisEventLog(stores.redis, stores.keys, max_events=10)
    for score in range(1000):
        await log.record(DomainEvent(EventKind.RATING, ticket_id="1", score=score % 5 + 1))
    # Trimming is approximate (whole stream nodes of 100 go at a time), so cheap per record.
    assert await stores.redis.xlen(stores.keys.events()) <= 10 + 100
    assert (await log.read())[-1].score == 999 % 5 + 1


def test_an_event_round_trips_through_stream_fields() -> None:
    event = DomainEvent(
        EventKind.ESCALATED, chat_id=-5, ticket_id="7", reason="low_confidence", is_new=False
    )
    fields = event.to_fields()
    assert fields == {
        "kind": "escalated",
        "chat_id": "-5",
        "ticket_id": "7",
        "reason": "low_confidence",
        "is_new": "0",
        "at": str(event.at),
    }
    assert DomainEvent.from_fields(fields) == event
