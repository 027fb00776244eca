"""Canned replies: operators save them, agents send them with /reply in a ticket's topic (through
the real dispatcher, the fake Bot API and Redis) or from the console, where they also send files."""

from __future__ import annotations

import asyncio
import html
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.cli import main
from bot.services.accounts import AccountService
from bot.services.canned import CannedReplies, CannedReplyError
from bot.services.escalation import FILE_LIMIT_BYTES, FILE_LIMIT_MB
from bot.services.events import EventKind, RedisEventLog
from bot.store import Stores
from bot.terminal import TerminalDelivery
from knowledge_base import KnowledgeBase
from retrieval import FaqRetriever
from tests.bot.test_console import CHROMIUM, PASSWORD, USER, Console, console  # noqa: F401
from tests.support.handoff import (
    AGENT_ID,
    AGENT_NAME,
    AGENTS_CHAT,
    CUSTOMER,
    RunningBot,
    handoff_bot,
)
from tests.support.texts import TEXTS

STRONG = "violet-harbour-trombone-42"
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


# ------------------------------------------------------------------ console


async def logged_in(
    web: Console, name: str = USER, password: str = PASSWORD, page: str = "/kb/canned"
) -> tuple[aiohttp.ClientSession, str]:
    """An HTTP session signed in to the console, and its CSRF token (from ``page``)."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(f"{web.url}/login", data={"username": name, "password": password}):
        pass
    async with http.get(f"{web.url}{page}") as resp:
        assert resp.status == 200, "not signed in"
        csrf = re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)
    return http, csrf


async def test_operators_manage_canned_replies_in_the_console_and_agents_cannot(
    console: Console,  # noqa: F811
) -> None:
    stores, url = console.stores, console.url
    http, csrf = await logged_in(console)  # the login from settings is an admin
    async with http:
        form = {"csrf": csrf, "name": "greeting", "text": GREETING}
        async with http.post(f"{url}/kb/canned", data=form) as resp:
            page = await resp.text()
            assert resp.status == 200 and str(resp.url).endswith("/kb/canned")
        assert TEXTS.get("console-canned-saved", name="greeting") in html.unescape(page)
        assert 'id="canned-greeting"' in page

        # An unknown placeholder: the form again with what was typed and why; nothing stored.
        bad = "Your order {order} ships today"
        form = {"csrf": csrf, "name": "greeting", "text": bad}
        async with http.post(f"{url}/kb/canned", data=form) as resp:
            page = html.unescape(await resp.text())
            assert resp.status == 422
        assert "Unknown placeholder {order}" in page and "{name}, {agent}, {ticket}" in page
        assert bad in page
        assert (await stores.canned.get("greeting")).text == GREETING

        # Edit, then delete; deleting an unknown one is refused with a clear message.
        form = {"csrf": csrf, "name": "greeting", "text": "Hello {name}!"}
        async with http.post(f"{url}/kb/canned", data=form) as resp:
            assert resp.status == 200
        assert (await stores.canned.get("greeting")).text == "Hello {name}!"
        assert (await stores.canned.get("greeting")).updated_by == USER
        async with http.post(f"{url}/kb/canned/nope/delete", data={"csrf": csrf}) as resp:
            assert "no canned reply “nope”" in html.unescape(await resp.text())
        async with http.post(f"{url}/kb/canned/greeting/delete", data={"csrf": csrf}) as resp:
            page = html.unescape(await resp.text())
        assert TEXTS.get("console-canned-deleted", name="greeting") in page
        assert await stores.canned.list_all() == []
        # A forged form changes nothing.
        form = {"csrf": "forged", "name": "greeting", "text": GREETING}
        async with http.post(f"{url}/kb/canned", data=form) as resp:
            assert resp.status == 403
        assert await stores.canned.list_all() == []

    await AccountService(stores.users, TEXTS).add("bob", "agent", STRONG)
    ticket_id = await console.customer_asks(60, "Bea", "I need a human")
    http, csrf = await logged_in(console, "bob", STRONG, page=f"/tickets/{ticket_id}")
    async with http:
        async with http.get(f"{url}/kb/canned") as resp:
            assert resp.status == 403
        form = {"csrf": csrf, "name": "greeting", "text": GREETING}
        async with http.post(f"{url}/kb/canned", data=form) as resp:
            assert resp.status == 403
    assert await stores.canned.list_all() == []


async def test_the_ticket_page_offers_canned_replies_rendered_for_its_ticket(
    console: Console,  # noqa: F811
) -> None:
    await canned(console.stores).save("greeting", GREETING, "olga")
    ticket_id = await console.customer_asks(61, "Carol Smith", "I need a human")
    http, _ = await logged_in(console)
    async with http, http.get(f"{console.url}/tickets/{ticket_id}") as resp:
        page = html.unescape(await resp.text())
    rendered = f"Hi Carol, I'm {USER} and I'm looking at ticket #{ticket_id} now."
    assert f'<option value="greeting" data-text="{rendered}">greeting</option>' in page


async def send_file(
    web: Console, ticket_id: str, name: str, data: bytes, caption: str = ""
) -> str:
    http, csrf = await logged_in(web)
    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("text", caption)
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    async with http, http.post(f"{web.url}/tickets/{ticket_id}/reply", data=form) as resp:
        assert resp.status == 200
        return html.unescape(await resp.text())


async def test_agents_send_photos_and_files_from_the_console(console: Console) -> None:  # noqa: F811
    api, stores = console.api, console.stores
    ticket_id = await console.customer_asks(62, "Dan", "I need a human")
    picture = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

    page = await send_file(console, ticket_id, "parcel.png", picture, "Your parcel")
    assert TEXTS.get("console-file-sent", name="parcel.png") in page
    (photo,) = [c for c in api.calls_of("sendPhoto") if str(c.params["chat_id"]) == "62"]
    assert (
        photo.files["photo"].content == picture and photo.files["photo"].filename == "parcel.png"
    )
    assert photo.params["caption"] == "Your parcel"

    invoice = b"%PDF-1.4 invoice"
    await send_file(console, ticket_id, "invoice.pdf", invoice)
    (document,) = [c for c in api.calls_of("sendDocument") if str(c.params["chat_id"]) == "62"]
    assert document.files["document"].content == invoice

    transcript = [t.text for t in await stores.tickets.transcript(ticket_id)]
    assert transcript[-2:] == ["[file: parcel.png] Your parcel", "[file: invoice.pdf]"]
    events = await RedisEventLog(stores.redis, stores.keys).read()
    assert [e.actor for e in events if e.kind == EventKind.TICKET_REPLIED] == [USER, USER]


async def test_a_file_over_the_limit_is_refused_and_nothing_sent(console: Console) -> None:  # noqa: F811
    api, stores = console.api, console.stores
    ticket_id = await console.customer_asks(63, "Eve", "I need a human")
    turns = len(await stores.tickets.transcript(ticket_id))

    page = await send_file(console, ticket_id, "big.pdf", b"x" * (FILE_LIMIT_BYTES + 1))
    refusal = TEXTS.get("agent-file-too-big", limit=str(FILE_LIMIT_MB))
    assert TEXTS.get("console-file-not-sent", problems=refusal) in page
    assert not api.calls_of("sendDocument") and not api.calls_of("sendPhoto")
    assert len(await stores.tickets.transcript(ticket_id)) == turns


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
async def test_an_agent_picks_a_canned_reply_edits_it_and_sends_it_in_a_browser(
    console: Console,  # noqa: F811
) -> None:
    from playwright.async_api import async_playwright, expect

    await canned(console.stores).save("greeting", GREETING, "olga")
    ticket_id = await console.customer_asks(64, "Fay Wong", "I need a human")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = await browser.new_page()
            page.set_default_timeout(10_000)
            await page.goto(f"{console.url}/login")
            await page.fill("#username", USER)
            await page.fill("#password", PASSWORD)
            await page.click("#login")
            await page.goto(f"{console.url}/tickets/{ticket_id}")
            await page.select_option("#canned", "greeting")
            rendered = f"Hi Fay, I'm {USER} and I'm looking at ticket #{ticket_id} now."
            await expect(page.locator("#reply")).to_have_value(rendered)
            await page.fill("#reply", rendered + " One moment please.")
            start = len(console.api.calls)
            await page.click("#send")
            await expect(page.locator("#flash")).to_contain_text("Sent to the customer.")
        finally:
            await browser.close()
    edited = rendered + " One moment please."
    sent = await console.api.wait_for(
        "sendMessage", lambda p: p["chat_id"] == 64 and p["text"] == edited, start=start
    )
    assert (await console.stores.tickets.transcript(ticket_id))[-1].text == sent.params["text"]


# ------------------------------------------------------------------ command line, terminal chat


def test_cli_adds_lists_and_deletes_and_refuses_an_unknown_placeholder(
    cli_env: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["canned", "list"]) == 0
    assert TEXTS.get("cli-canned-none") in capsys.readouterr().out
    assert main(["canned", "add", "greeting", "--text", GREETING]) == 0
    assert "greeting" in capsys.readouterr().out
    assert main(["canned", "add", "greeting", "--text", "Order {order}"]) == 2
    assert "Unknown placeholder {order}" in capsys.readouterr().err
    assert main(["canned", "list"]) == 0
    assert capsys.readouterr().out == f"greeting\t{GREETING}\n"
    assert main(["canned", "delete", "nope"]) == 2
    assert "no canned reply “nope”" in capsys.readouterr().err
    assert main(["canned", "delete", "greeting"]) == 0
    assert main(["canned", "list"]) == 0
    assert TEXTS.get("cli-canned-none") in capsys.readouterr().out


async def test_the_terminal_chat_says_a_file_was_sent() -> None:
    out = io.StringIO()
    delivery = await TerminalDelivery(TEXTS, "> ", out).send_file(
        1, "invoice.pdf", b"%PDF", "Here"
    )
    assert delivery.delivered
    shown = out.getvalue()
    assert TEXTS.get("terminal-agent-file", name="invoice.pdf") in shown and "Here" in shown
