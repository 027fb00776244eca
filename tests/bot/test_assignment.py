"""Assigning and transferring tickets: ``/assign NAME`` in a ticket's topic through the real
dispatcher polling the fake Bot API, and the console's Assign form and queue views over HTTP."""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import aiohttp
import pytest_asyncio
from argon2 import PasswordHasher

from bot.app import build_escalation
from bot.console import ConsoleServices, create_app
from bot.services.answering import Escalation, EscalationReason
from bot.services.escalation import EscalationService
from bot.services.events import EventKind, RedisEventLog
from bot.store import Account, Role, Stores, TicketStatus, Turn
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.handoff import (
    AGENT_ID,
    AGENTS_CHAT,
    CUSTOMER,
    RunningBot,
    handoff_bot,
    handoff_settings,
)
from tests.support.serving import served
from tests.support.texts import TEXTS

BOB_ID = 5002
USER, PASSWORD = "agent", "s3cret-pass"  # the console login from settings


async def add_accounts(stores: Stores) -> None:
    """dana (the acting agent's Telegram id), bob (linked), carol (console only), and eve
    (disabled)."""
    for account in (
        Account("dana", Role.AGENT, "-", telegram_id=AGENT_ID),
        Account("bob", Role.OPERATOR, "-", telegram_id=BOB_ID),
        Account("carol", Role.AGENT, "-"),
        Account("eve", Role.AGENT, "-", disabled=True),
    ):
        await stores.users.add(account)


def in_topic(thread: int):
    return lambda p: p["chat_id"] == AGENTS_CHAT and p.get("message_thread_id") == thread


async def open_ticket(run: RunningBot) -> int:
    start = len(run.api.calls)
    await run.say(CUSTOMER, "I want to talk to a human", first_name="Alice")
    topic = await run.api.wait_for("createForumTopic", start=start)
    await run.api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    return topic.result["message_thread_id"]


async def command(run: RunningBot, thread: int, text: str, user_id: int = AGENT_ID) -> int:
    """An agent types ``text`` in the ticket's topic; the call count before it."""
    start = len(run.api.calls)
    run.api.push_update(
        run.api.text_update(
            AGENTS_CHAT, text, user_id=user_id, first_name="Dana", message_thread_id=thread
        )
    )
    return start


async def assignments(stores: Stores, ticket_id: str) -> list[tuple[str | None, str | None]]:
    events = await RedisEventLog(stores.redis, stores.keys).between(0, time.time() + 60)
    return [
        (e.actor, e.assignee)
        for e in events
        if e.kind == EventKind.TICKET_ASSIGNED and e.ticket_id == ticket_id
    ]


@pytest_asyncio.fixture
async def run(stores: Stores, retriever, small_kb) -> AsyncIterator[RunningBot]:
    await add_accounts(stores)
    async with handoff_bot(stores, retriever, small_kb) as running:
        yield running


async def test_assign_then_transfer_in_the_topic(run: RunningBot, stores: Stores) -> None:
    api = run.api
    thread = await open_ticket(run)

    # /assign Bob (any case): claimed by bob's Telegram id, a note in the topic, customer told.
    start = await command(run, thread, "/assign Bob")
    note = TEXTS.get("agent-assigned", ticket="1", agent="bob", by="dana")
    await api.wait_for(
        "sendMessage", lambda p: in_topic(thread)(p) and p["text"] == note, start=start
    )
    told = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert told.params["text"] == TEXTS.get("handoff-agent-joined", agent="bob")
    ticket = await stores.tickets.get("1")
    assert ticket.status == TicketStatus.CLAIMED
    assert (ticket.claimed_by, ticket.claimed_by_name) == (BOB_ID, "bob")
    assert ticket.waiting_since is None
    # the command itself never reaches the customer
    assert not [c for c in api.calls_of("copyMessage") if c.params["chat_id"] == CUSTOMER]

    # Transfer to carol (no Telegram id): claimed_by is cleared, the customer hears of carol.
    start = await command(run, thread, "/assign carol")
    note = TEXTS.get("agent-assigned", ticket="1", agent="carol", by="dana")
    await api.wait_for(
        "sendMessage", lambda p: in_topic(thread)(p) and p["text"] == note, start=start
    )
    told = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert told.params["text"] == TEXTS.get("handoff-agent-joined", agent="carol")
    ticket = await stores.tickets.get("1")
    assert (ticket.claimed_by, ticket.claimed_by_name) == (None, "carol")

    # Assigning to the one who already has it: a note for agents, nothing new for the customer.
    told_before = len(api.sent_texts(CUSTOMER))
    start = await command(run, thread, "/assign CAROL")
    await api.wait_for(
        "sendMessage", lambda p: in_topic(thread)(p) and p["text"] == note, start=start
    )
    await asyncio.sleep(0.3)
    assert len(api.sent_texts(CUSTOMER)) == told_before

    assert await assignments(stores, "1") == [
        ("dana", "bob"),
        ("dana", "carol"),
        ("dana", "carol"),
    ]
    transcript = [t.text for t in await stores.tickets.transcript("1")]
    assert TEXTS.get("agent-assigned", ticket="1", agent="bob", by="dana") in transcript


async def test_bad_assignments_are_refused_and_change_nothing(
    run: RunningBot, stores: Stores
) -> None:
    api = run.api
    thread = await open_ticket(run)
    told_before = len(api.sent_texts(CUSTOMER))

    for text, refusal in (
        ("/assign nobody", TEXTS.get("agent-assign-unknown", name="nobody")),
        ("/assign eve", TEXTS.get("agent-assign-unknown", name="eve")),  # disabled
        ("/assign", TEXTS.get("agent-assign-usage")),
    ):
        start = await command(run, thread, text)
        reply = await api.wait_for("sendMessage", in_topic(thread), start=start)
        assert reply.params["text"] == refusal

    stranger = 777
    api.set_member_status(AGENTS_CHAT, stranger, "left")
    start = await command(run, thread, "/assign bob", user_id=stranger)
    reply = await api.wait_for("sendMessage", in_topic(thread), start=start)
    assert reply.params["text"] == TEXTS.get("agent-not-allowed")

    await asyncio.sleep(0.3)
    ticket = await stores.tickets.get("1")
    assert ticket.status == TicketStatus.OPEN
    assert (ticket.claimed_by, ticket.claimed_by_name) == (None, "")
    assert await assignments(stores, "1") == []
    assert len(api.sent_texts(CUSTOMER)) == told_before
    assert not api.calls_of("copyMessage")


async def test_assigning_a_closed_ticket_is_refused(run: RunningBot, stores: Stores) -> None:
    thread = await open_ticket(run)
    start = await command(run, thread, "/close")
    await run.api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    start = await command(run, thread, "/assign bob")
    reply = await run.api.wait_for(
        "sendMessage",
        lambda p: (
            in_topic(thread)(p) and p["text"] == TEXTS.get("agent-ticket-closed-toast", ticket="1")
        ),
        start=start,
    )
    assert reply
    ticket = await stores.tickets.get("1")
    assert ticket.status == TicketStatus.CLOSED and ticket.claimed_by_name == ""
    assert await assignments(stores, "1") == []


# ------------------------------------------------------------------ console


@dataclass
class Console:
    url: str
    api: FakeBotAPI
    escalation: EscalationService
    stores: Stores

    async def customer_asks(self, chat_id: int, name: str, text: str) -> str:
        await self.stores.conversations.append(chat_id, Turn("customer", text))
        outcome = await self.escalation.escalate(
            chat_id, name, Escalation(EscalationReason.ASKED_FOR_HUMAN, text)
        )
        return outcome.ticket.id


@pytest_asyncio.fixture
async def console(stores: Stores) -> AsyncIterator[Console]:
    await add_accounts(stores)
    settings = handoff_settings()
    async with FakeBotAPI() as api:
        bot = api.make_bot()
        escalation = build_escalation(settings, stores, bot)
        app = create_app(ConsoleServices(stores, escalation, TEXTS.catalog), settings)
        try:
            async with served(app) as url:
                yield Console(url, api, escalation, stores)
        finally:
            await bot.session.close()


async def page(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as resp:
        assert resp.status == 200
        return html.unescape(await resp.text())


def csrf_of(body: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', body).group(1)


async def test_console_assign_and_queue_views(console: Console) -> None:
    mine = await console.customer_asks(61, "Carol", "I need a human")
    bobs = await console.customer_asks(62, "Dave", "A person please")
    nobodys = await console.customer_asks(63, "Erin", "Agent!")
    url = console.url
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{url}/login", data={"username": USER, "password": PASSWORD}):
            pass
        body = await page(http, f"{url}/tickets/{bobs}")
        # the select offers the enabled accounts only
        assert re.findall(r'<option value="([^"]+)"', body) == ["bob", "carol", "dana"]
        csrf = csrf_of(body)

        # A forged form changes nothing.
        form = {"name": "bob", "csrf": "forged"}
        async with http.post(f"{url}/tickets/{bobs}/assign", data=form) as resp:
            assert resp.status == 403
        assert (await console.stores.tickets.get(bobs)).claimed_by_name == ""

        # Assign to bob: claimed by him, the customer told, the history says so.
        body = await page_after_post(
            http, f"{url}/tickets/{bobs}/assign", {"name": "bob", "csrf": csrf}
        )
        assert TEXTS.get("console-assigned", ticket=bobs, agent="bob") in body
        ticket = await console.stores.tickets.get(bobs)
        assert (ticket.status, ticket.claimed_by, ticket.claimed_by_name) == (
            TicketStatus.CLAIMED,
            BOB_ID,
            "bob",
        )
        assert console.api.sent_texts(62)[-1] == TEXTS.get("handoff-agent-joined", agent="bob")
        history = body.split('id="history"')[1]
        assert re.search(r"assigned to bob</td><td>agent</td>", history)

        # Not an account: refused with a message, nothing changed.
        body = await page_after_post(
            http, f"{url}/tickets/{bobs}/assign", {"name": "ghost", "csrf": csrf}
        )
        assert TEXTS.get("agent-assign-unknown", name="ghost") in body
        assert (await console.stores.tickets.get(bobs)).claimed_by_name == "bob"

        # The signed-in person claims one; the queue's views split the three tickets.
        await page_after_post(http, f"{url}/tickets/{mine}/claim", {"csrf": csrf})
        for view, expected in (
            ("all", [mine, bobs, nobodys]),
            ("mine", [mine]),
            ("unassigned", [nobodys]),
        ):
            async with http.get(f"{url}/api/tickets", params={"view": view}) as resp:
                assert sorted(t["id"] for t in await resp.json()) == sorted(expected)
            body = await page(http, f"{url}/tickets?view={view}")
            rows = body.split("<tbody>")[1].split("</tbody>")[0]
            shown = re.findall(r'<tr data-ticket="([^"]+)"', rows)
            assert sorted(shown) == sorted(expected)
            assert f'<strong id="view-{view}">' in body


async def page_after_post(http: aiohttp.ClientSession, url: str, form: dict[str, str]) -> str:
    """Post a console form and read the page it redirects to (with its flash)."""
    async with http.post(url, data=form) as resp:
        assert resp.status == 200, resp.status
        return html.unescape(await resp.text())


# ------------------------------------------------------------------ automatic assignment


@pytest_asyncio.fixture
async def auto_run(stores: Stores, retriever, small_kb) -> AsyncIterator[RunningBot]:
    await add_accounts(stores)
    settings = handoff_settings(auto_assign=True)
    # four tickets' topics, notes and status edits: more than Telegram's 20 a minute to one group
    sending = settings.sending.model_copy(update={"per_group": "100 per 1 minute"})
    settings = settings.model_copy(update={"sending": sending})
    async with handoff_bot(stores, retriever, small_kb, settings) as running:
        yield running


async def in_group(run: RunningBot, user_id: int, text: str) -> str:
    """An agent writes ``text`` in the agents' chat (not in a topic); the bot's answer there."""
    start = len(run.api.calls)
    run.api.push_update(run.api.text_update(AGENTS_CHAT, text, user_id=user_id))
    reply = await run.api.wait_for(
        "sendMessage", lambda p: p["chat_id"] == AGENTS_CHAT, start=start
    )
    return reply.params["text"]


async def test_new_tickets_go_round_robin_to_available_agents(
    auto_run: RunningBot, stores: Stores
) -> None:
    run, api = auto_run, auto_run.api
    assert await in_group(run, AGENT_ID, "/available on") == TEXTS.get(
        "agent-available-on", agent="dana"
    )
    assert await in_group(run, BOB_ID, "/available on") == TEXTS.get(
        "agent-available-on", agent="bob"
    )
    # not linked to an account, or a word other than on/off: told so, nothing stored
    assert await in_group(run, 6000, "/available on") == TEXTS.get("agent-available-no-account")
    assert await in_group(run, AGENT_ID, "/available maybe") == TEXTS.get("agent-available-usage")

    auto = TEXTS.get("agent-auto-assigner")
    for number, (customer, expected) in enumerate(
        [(7001, "bob"), (7002, "dana"), (7003, "bob")], start=1
    ):
        start = len(api.calls)
        await run.say(customer, "I want to talk to a human", first_name="Zoe")
        note = TEXTS.get("agent-assigned", ticket=str(number), agent=expected, by=auto)
        await api.wait_for("sendMessage", lambda p, n=note: p["text"] == n, start=start)
        await api.wait_for("sendMessage", lambda p, c=customer: p["chat_id"] == c, start=start)
        ticket = await stores.tickets.get(str(number))
        assert (ticket.status, ticket.claimed_by_name) == (TicketStatus.CLAIMED, expected)
        assert ticket.waiting_since == ticket.created_at  # the SLA still counts: nobody answered

    # dana goes away: the next ticket goes to bob, the only one left
    assert await in_group(run, AGENT_ID, "/available off") == TEXTS.get(
        "agent-available-off", agent="dana"
    )
    start = len(api.calls)
    await run.say(7004, "I want to talk to a human", first_name="Zoe")
    note = TEXTS.get("agent-assigned", ticket="4", agent="bob", by=auto)
    await api.wait_for("sendMessage", lambda p: p["text"] == note, start=start)
    await api.wait_for("sendMessage", lambda p: p["chat_id"] == 7004, start=start)
    assert (await stores.tickets.get("4")).claimed_by_name == "bob"
    # the customers were not told a person joined before anyone wrote to them
    joined = {TEXTS.get("handoff-agent-joined", agent=n) for n in ("bob", "dana")}
    assert not [t for c in (7001, 7002, 7003, 7004) for t in api.sent_texts(c) if t in joined]


async def test_nobody_available_leaves_new_tickets_open(
    auto_run: RunningBot, stores: Stores
) -> None:
    await open_ticket(auto_run)
    ticket = await stores.tickets.get("1")
    assert (ticket.status, ticket.claimed_by_name) == (TicketStatus.OPEN, "")


async def test_console_availability_toggle(console: Console) -> None:
    password = "violet-harbour-trombone-42"
    hashed = PasswordHasher().hash(password)
    await console.stores.users.update("carol", lambda a: replace(a, password_hash=hashed))
    url = console.url
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{url}/login", data={"username": "carol", "password": password}):
            pass
        body = await page(http, f"{url}/tickets")
        assert '<span id="available-state">Away</span>' in body
        form = {"available": "1", "csrf": csrf_of(body)}
        body = await page_after_post(http, f"{url}/me/available", form)
        assert TEXTS.get("console-available-on") in body
        assert '<span id="available-state">I\'m available</span>' in body
        assert await console.stores.users.is_available("carol")
        body = await page_after_post(http, f"{url}/me/available", {"csrf": csrf_of(body)})
        assert TEXTS.get("console-available-off") in body
        assert not await console.stores.users.is_available("carol")
        # a forged form changes nothing
        async with http.post(f"{url}/me/available", data={"available": "1"}) as resp:
            assert resp.status in (403, 422)
        assert not await console.stores.users.is_available("carol")
