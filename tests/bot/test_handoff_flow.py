"""Human handoff end to end: the real dispatcher polling a local fake Bot API server, real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from bot.app import App
from bot.services.escalation import Actor
from bot.store import Stores, TicketStatus
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.handoff import (
    AGENT_ID,
    AGENT_NAME,
    AGENTS_CHAT,
    CUSTOMER,
    RunningBot,
    handoff_app,
    handoff_settings,
    running_bot,
)
from tests.support.texts import TEXTS


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


@pytest_asyncio.fixture
async def app(stores: Stores, retriever, small_kb) -> AsyncIterator[App]:
    async with handoff_app(handoff_settings(), stores, retriever, small_kb) as opened:
        yield opened


@pytest_asyncio.fixture
async def run(api: FakeBotAPI, app: App) -> AsyncIterator[RunningBot]:
    async with running_bot(api, app) as running:
        yield running


def in_topic(thread: int):
    return lambda p: p["chat_id"] == AGENTS_CHAT and p.get("message_thread_id") == thread


async def escalate(run: RunningBot, text: str = "I want to talk to a human") -> tuple[int, dict]:
    """The customer asks for a person; returns the new topic's thread id and its opening call."""
    api = run.api
    start = len(api.calls)
    await run.say(CUSTOMER, text, first_name="Alice")
    topic = await api.wait_for("createForumTopic", start=start)
    thread = topic.result["message_thread_id"]
    opening = await api.wait_for(
        "sendMessage", lambda p: in_topic(thread)(p) and "reply_markup" in p, start=start
    )
    return thread, opening.params | {"message_id": opening.result["message_id"]}


async def test_full_two_way_flow(run: RunningBot, stores: Stores) -> None:
    api = run.api
    # The bot answers a question it knows.
    await run.say(CUSTOMER, "How long does delivery take?", first_name="Alice")
    answer = await run.reply_to_customer()
    assert "3–5 business days" in answer.params["text"]

    # Asking for a person: a topic named after the customer, transcript, buttons, a wait notice.
    start = len(api.calls)
    thread, opening = await escalate(run)
    topic = api.calls_of("createForumTopic")[0]
    assert topic.params["chat_id"] == AGENTS_CHAT
    assert topic.params["name"].startswith("#1 Alice · I want to talk to a human")
    assert "How long does delivery take?" in opening["text"]
    assert "3–5 business days" in opening["text"]
    assert "I want to talk to a human" in opening["text"]
    buttons = [b["callback_data"] for b in opening["reply_markup"]["inline_keyboard"][0]]
    assert buttons == ["tk:claim:1", "tk:close:1"]
    told = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert "ticket #1" in told.params["text"] and "within about 15 minutes" in told.params["text"]

    # The agent claims: the customer hears a person joined; the topic says who.
    start = len(api.calls)
    api.push_update(
        api.callback_update(
            AGENTS_CHAT, AGENT_ID, "tk:claim:1", opening["message_id"], first_name=AGENT_NAME
        )
    )
    toast = await api.wait_for("answerCallbackQuery", start=start)
    assert toast.params["text"] == TEXTS.get("agent-claimed-toast", ticket=1)
    joined = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert joined.params["text"] == TEXTS.get("handoff-agent-joined", agent=AGENT_NAME)
    await api.wait_for("sendMessage", lambda p: in_topic(thread)(p) and "Claimed" in p["text"])
    ticket = await stores.tickets.get("1")
    assert ticket.status == TicketStatus.CLAIMED and ticket.claimed_by == AGENT_ID

    # The agent replies with text and a photo: both are copied to the customer.
    start = len(api.calls)
    reply = api.push_update(
        api.text_update(
            AGENTS_CHAT,
            "Hi Alice, I'm Dana. Which order is it?",
            user_id=AGENT_ID,
            first_name=AGENT_NAME,
            message_thread_id=thread,
        )
    )
    copied = await api.wait_for("copyMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert copied.params["from_chat_id"] == AGENTS_CHAT
    assert copied.params["message_id"] == reply["message"]["message_id"]
    assert api.messages[(CUSTOMER, copied.result["message_id"])]["text"].startswith("Hi Alice")
    photo = api.push_update(
        api.media_update(
            AGENTS_CHAT, "photo", user_id=AGENT_ID, message_thread_id=thread, caption="label"
        )
    )
    copied = await api.wait_for(
        "copyMessage",
        lambda p: p["message_id"] == photo["message"]["message_id"],
        start=start,
    )
    assert "photo" in api.messages[(CUSTOMER, copied.result["message_id"])]

    # The customer answers: text and a document reach the topic; the bot itself stays quiet.
    start = len(api.calls)
    await run.say(CUSTOMER, "Order 123, it never arrived", first_name="Alice")
    await api.wait_for(
        "sendMessage", lambda p: in_topic(thread)(p) and "Order 123" in p["text"], start=start
    )
    document = api.push_update(api.media_update(CUSTOMER, "document", caption="receipt"))
    await api.wait_for(
        "copyMessage",
        lambda p: in_topic(thread)(p) and p["message_id"] == document["message"]["message_id"],
        start=start,
    )
    await asyncio.sleep(0.3)
    assert api.sent_texts(CUSTOMER)[-1] == TEXTS.get("handoff-agent-joined", agent=AGENT_NAME)

    # The agent closes: the customer is handed back to the bot and asked for a rating.
    start = len(api.calls)
    api.push_update(
        api.callback_update(
            AGENTS_CHAT, AGENT_ID, "tk:close:1", opening["message_id"], first_name=AGENT_NAME
        )
    )
    closing = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert closing.params["text"] == TEXTS.get("handoff-closed", ticket=1)
    ratings = [b["callback_data"] for b in closing.params["reply_markup"]["inline_keyboard"][0]]
    assert ratings == [f"rate:1:{n}" for n in range(1, 6)]
    assert (await stores.tickets.get("1")).status == TicketStatus.CLOSED
    assert await stores.tickets.current(CUSTOMER) is None

    # The customer rates 5; agents see it.
    start = len(api.calls)
    api.push_update(
        api.callback_update(CUSTOMER, CUSTOMER, "rate:1:5", closing.result["message_id"])
    )
    await api.wait_for(
        "answerCallbackQuery", lambda p: p.get("text") == TEXTS.get("rating-thanks", score=5)
    )
    await api.wait_for("sendMessage", lambda p: in_topic(thread)(p) and "5/5" in p["text"])
    await api.wait_for("sendMessage", lambda p: p["text"] == TEXTS.get("rating-thanks", score=5))
    assert (await stores.tickets.get("1")).rating == 5

    # Back with the bot.
    await run.say(CUSTOMER, "Which payment methods do you accept?", first_name="Alice")
    answer = await run.reply_to_customer()
    assert "PayPal" in answer.params["text"]

    transcript = [(t.role, t.text) for t in await stores.tickets.transcript("1")]
    assert transcript[:4] == [
        ("customer", "How long does delivery take?"),
        ("bot", transcript[1][1]),
        ("customer", "I want to talk to a human"),
        ("bot", f"[claimed by {AGENT_NAME}]"),
    ]
    assert ("agent", "Hi Alice, I'm Dana. Which order is it?") in transcript
    assert ("agent", "[photo] label") in transcript
    assert ("customer", "Order 123, it never arrived") in transcript
    assert ("customer", "[document] receipt") in transcript
    assert ("customer", "[rated 5/5]") in transcript
    assert len(api.calls_of("createForumTopic")) == 1


async def test_two_simultaneous_messages_open_one_ticket(run: RunningBot, stores: Stores) -> None:
    api = run.api
    api.push_update(api.text_update(CUSTOMER, "I want to talk to a human"))
    api.push_update(api.text_update(CUSTOMER, "please, a real person!"))
    topic = await api.wait_for("createForumTopic")
    thread = topic.result["message_thread_id"]
    await api.wait_for(
        "sendMessage", lambda p: in_topic(thread)(p) and "a real person" in p["text"]
    )
    await asyncio.sleep(0.3)
    assert len(api.calls_of("createForumTopic")) == 1
    tickets = await stores.tickets.list_open()
    assert [t.chat_id for t in tickets] == [CUSTOMER]
    said = [t.text for t in await stores.tickets.transcript(tickets[0].id)]
    assert "I want to talk to a human" in said and "please, a real person!" in said


async def test_concurrent_opens_in_the_repository_give_one_ticket(stores: Stores) -> None:
    results = await asyncio.gather(
        *(stores.tickets.open(77, "Bob", "asked_for_human", f"help {i}") for i in range(20))
    )
    assert sum(is_new for _, is_new in results) == 1
    assert len({ticket.id for ticket, _ in results}) == 1
    assert [t.chat_id for t in await stores.tickets.list_open()] == [77]


async def test_deleted_topic_is_recreated_and_nothing_is_lost(
    run: RunningBot, stores: Stores
) -> None:
    api = run.api
    thread, _ = await escalate(run)
    api.delete_topic(AGENTS_CHAT, thread)

    start = len(api.calls)
    await run.say(CUSTOMER, "Hello? Anyone there?")
    new_topic = await api.wait_for("createForumTopic", start=start)
    new_thread = new_topic.result["message_thread_id"]
    assert new_thread != thread
    await api.wait_for(
        "sendMessage",
        lambda p: in_topic(new_thread)(p) and p["text"] == TEXTS.get("agent-topic-recreated"),
        start=start,
    )
    reposted = await api.wait_for(
        "sendMessage", lambda p: in_topic(new_thread)(p) and "Transcript" in p["text"], start=start
    )
    assert "I want to talk to a human" in reposted.params["text"]
    assert "Hello? Anyone there?" in reposted.params["text"]
    ticket = await stores.tickets.current(CUSTOMER)
    assert ticket.thread_id == new_thread
    assert (await stores.tickets.by_thread(AGENTS_CHAT, new_thread)).id == ticket.id

    # The agent answers in the new topic and it reaches the customer.
    start = len(api.calls)
    api.push_update(
        api.text_update(AGENTS_CHAT, "Yes, here!", user_id=AGENT_ID, message_thread_id=new_thread)
    )
    await api.wait_for("copyMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)

    # A topic deleted again, found by the bot's own post (claim notice): recreated once more.
    api.delete_topic(AGENTS_CHAT, new_thread)
    start = len(api.calls)
    await run.say(CUSTOMER, "Thanks")
    third = await api.wait_for("createForumTopic", start=start)
    assert third.result["message_thread_id"] not in (thread, new_thread)
    assert len(await stores.tickets.list_open()) == 1


async def test_non_agent_cannot_claim_close_or_reply(run: RunningBot, stores: Stores) -> None:
    api = run.api
    thread, opening = await escalate(run)
    stranger = 777
    api.set_member_status(AGENTS_CHAT, stranger, "left")

    for action in ("claim", "close"):
        start = len(api.calls)
        api.push_update(
            api.callback_update(AGENTS_CHAT, stranger, f"tk:{action}:1", opening["message_id"])
        )
        refusal = await api.wait_for("answerCallbackQuery", start=start)
        assert refusal.params["text"] == TEXTS.get("agent-not-allowed")
        assert refusal.params["show_alert"] is True

    start = len(api.calls)
    api.push_update(
        api.text_update(AGENTS_CHAT, "hi from outside", user_id=stranger, message_thread_id=thread)
    )
    refused = await api.wait_for("sendMessage", in_topic(thread), start=start)
    assert refused.params["text"] == TEXTS.get("agent-not-allowed-reply")
    await asyncio.sleep(0.3)
    assert not [c for c in api.calls_of("copyMessage") if c.params["chat_id"] == CUSTOMER]
    ticket = await stores.tickets.get("1")
    assert ticket.status == TicketStatus.OPEN and ticket.claimed_by is None

    # A member of the agents' chat (not listed in AGENT_IDS) may act.
    member = 888
    api.set_member_status(AGENTS_CHAT, member, "member")
    start = len(api.calls)
    api.push_update(api.callback_update(AGENTS_CHAT, member, "tk:claim:1", opening["message_id"]))
    await api.wait_for("answerCallbackQuery", start=start)
    assert (await stores.tickets.get("1")).claimed_by == member


async def test_bot_restart_mid_ticket_continues_the_conversation(
    api: FakeBotAPI, app: App, stores: Stores
) -> None:
    async with running_bot(api, app) as first:
        thread, opening = await escalate(first)
        api.push_update(
            api.callback_update(AGENTS_CHAT, AGENT_ID, "tk:claim:1", opening["message_id"])
        )
        await api.wait_for("answerCallbackQuery")

    # A new process: new Bot session, new dispatcher and services, the same Redis.
    async with running_bot(api, app) as second:
        start = len(api.calls)
        api.push_update(
            api.text_update(
                AGENTS_CHAT, "Still here after restart", user_id=AGENT_ID, message_thread_id=thread
            )
        )
        await api.wait_for("copyMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
        await second.say(CUSTOMER, "Great, thanks")
        await api.wait_for(
            "sendMessage", lambda p: in_topic(thread)(p) and "Great, thanks" in p["text"]
        )
        await asyncio.sleep(0.3)
        assert not [
            c
            for c in api.calls[start:]
            if c.method == "sendMessage" and c.params["chat_id"] == CUSTOMER
        ]
    assert len(api.calls_of("createForumTopic")) == 1
    assert (await stores.tickets.get("1")).status == TicketStatus.CLAIMED


async def test_customer_blocked_the_bot_marks_ticket_without_retry_loop(
    run: RunningBot, stores: Stores
) -> None:
    api = run.api
    thread, _ = await escalate(run)
    blocked = api.fail(
        "copyMessage",
        403,
        "Forbidden: bot was blocked by the user",
        times=None,
        when=lambda p: p["chat_id"] == CUSTOMER,
    )
    api.fail(
        "sendMessage",
        403,
        "Forbidden: bot was blocked by the user",
        times=None,
        when=lambda p: p["chat_id"] == CUSTOMER,
    )
    start = len(api.calls)
    api.push_update(
        api.text_update(AGENTS_CHAT, "Hello?", user_id=AGENT_ID, message_thread_id=thread)
    )
    note = await api.wait_for(
        "sendMessage",
        lambda p: in_topic(thread)(p) and p["text"] == TEXTS.get("agent-customer-blocked"),
        start=start,
    )
    assert note.ok
    ticket = await stores.tickets.get("1")
    assert ticket.customer_blocked

    # Another agent message: not attempted again, the agent is told at once.
    start = len(api.calls)
    api.push_update(
        api.text_update(AGENTS_CHAT, "Are you there?", user_id=AGENT_ID, message_thread_id=thread)
    )
    await api.wait_for(
        "sendMessage",
        lambda p: in_topic(thread)(p) and p["text"] == TEXTS.get("agent-customer-blocked"),
        start=start,
    )
    await asyncio.sleep(0.5)
    attempts = [c for c in api.calls_of("copyMessage") if c.params["chat_id"] == CUSTOMER]
    assert len(attempts) == 1 and blocked.hits == 1

    # The bot keeps serving others, and closing still works.
    await run.say(4343, "Which payment methods do you accept?")
    assert "PayPal" in (await run.reply_to_customer(4343)).params["text"]
    ticket, closed = await run.escalation.close("1", Actor(AGENT_ID, AGENT_NAME))
    assert closed and (await stores.tickets.get("1")).status == TicketStatus.CLOSED


async def test_sla_reminder_posted_once_per_period(api: FakeBotAPI, stores, retriever, small_kb):
    settings = handoff_settings(sla_minutes=0.02)  # 1.2 s
    async with (
        handoff_app(settings, stores, retriever, small_kb) as app,
        running_bot(api, app) as run,
    ):
        from bot.services.sla import SlaMonitor

        monitor = asyncio.create_task(SlaMonitor(run.escalation, 0.1).run())
        try:
            thread, _ = await escalate(run)
            reminder = await api.wait_for(
                "sendMessage",
                lambda p: p["chat_id"] == AGENTS_CHAT and p["text"].startswith("⏰"),
                timeout=5,
            )
            assert "message_thread_id" not in reminder.params
            assert "Ticket #1 — Alice" in reminder.params["text"]
            await asyncio.sleep(0.5)  # checked five times more within the period: no repeat
            reminders = [t for t in api.sent_texts(AGENTS_CHAT) if t.startswith("⏰")]
            assert len(reminders) == 1
            assert thread
        finally:
            monitor.cancel()


async def test_agent_reply_survives_flood_wait_and_reports_failures(
    run: RunningBot, stores: Stores
) -> None:
    api = run.api
    thread, opening = await escalate(run)
    to_customer = lambda p: p["chat_id"] == CUSTOMER  # noqa: E731

    # A 429 with retry_after=1 is waited out once, and the message arrives.
    flood = api.fail("copyMessage", 429, "Too Many Requests: retry after 1", when=to_customer)
    start = len(api.calls)
    api.push_update(
        api.text_update(AGENTS_CHAT, "First reply", user_id=AGENT_ID, message_thread_id=thread)
    )
    delivered = await api.wait_for("copyMessage", lambda p: to_customer(p), start=start, timeout=6)
    while not delivered.ok:
        delivered = await api.wait_for(
            "copyMessage", to_customer, start=api.calls.index(delivered) + 1, timeout=6
        )
    assert flood.hits == 1

    # Another refusal is reported to the agent in the topic instead of vanishing.
    api.fail("copyMessage", 400, "Bad Request: chat not found", when=to_customer)
    start = len(api.calls)
    api.push_update(
        api.text_update(AGENTS_CHAT, "Second reply", user_id=AGENT_ID, message_thread_id=thread)
    )
    note = await api.wait_for(
        "sendMessage", lambda p: in_topic(thread)(p) and "Not delivered" in p["text"], start=start
    )
    assert "chat not found" in note.params["text"]
    said = [t.text for t in await stores.tickets.transcript("1") if t.role == "agent"]
    assert said == ["First reply"]

    # After Close, writing in the topic is refused with a hint to reopen.
    api.push_update(
        api.callback_update(AGENTS_CHAT, AGENT_ID, "tk:close:1", opening["message_id"])
    )
    await api.wait_for("sendMessage", lambda p: p["text"] == TEXTS.get("handoff-closed", ticket=1))
    await api.wait_for("sendMessage", lambda p: in_topic(thread)(p) and "Closed by" in p["text"])
    await api.wait_for("answerCallbackQuery", lambda p: "closed" in p.get("text", ""))
    start = len(api.calls)
    api.push_update(
        api.text_update(AGENTS_CHAT, "One more thing", user_id=AGENT_ID, message_thread_id=thread)
    )
    refused = await api.wait_for("sendMessage", in_topic(thread), start=start)
    assert refused.params["text"] == TEXTS.get("agent-reply-to-closed")

    # Reopen brings it back to the queue; the customer can be written to again.
    start = len(api.calls)
    api.push_update(
        api.callback_update(AGENTS_CHAT, AGENT_ID, "tk:reopen:1", opening["message_id"])
    )
    await api.wait_for("sendMessage", lambda p: in_topic(thread)(p) and "Reopened" in p["text"])
    assert (await stores.tickets.current(CUSTOMER)).id == "1"


async def test_an_agent_linked_by_telegram_id_acts_under_their_account_name(
    run: RunningBot, stores: Stores
) -> None:
    """An agent whose Telegram id is linked to a console account (``supportbot users add
    --telegram-id``) is that account in the agents' group: the claim and the customer's notice
    carry its name."""
    from bot.services.accounts import AccountService

    await AccountService(stores.users, TEXTS).add(
        "dana.k", "agent", "violet-harbour-trombone-42", AGENT_ID
    )
    api = run.api
    _, opening = await escalate(run)
    start = len(api.calls)
    api.push_update(
        api.callback_update(
            AGENTS_CHAT, AGENT_ID, "tk:claim:1", opening["message_id"], first_name=AGENT_NAME
        )
    )
    joined = TEXTS.get("handoff-agent-joined", agent="dana.k")
    await api.wait_for(
        "sendMessage", lambda p: p["chat_id"] == CUSTOMER and p["text"] == joined, start=start
    )
    ticket = await stores.tickets.get("1")
    assert ticket.claimed_by == AGENT_ID and ticket.claimed_by_name == "dana.k"
