"""Knowledge-base pages of the console over HTTP: edit, import, history / rollback, suggestions."""

from __future__ import annotations

import html as html_module
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio

from bot.app import open_app
from bot.console import ConsoleServices, create_app
from bot.services.answering import Escalation, EscalationReason
from bot.services.escalation import Actor
from bot.services.knowledge import KnowledgeService
from bot.services.live import LiveModels
from bot.store import Stores, Turn
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever
from tests.conftest import SMALL_KB
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.handoff import handoff_settings
from tests.support.serving import served

USER, PASSWORD = "agent", "s3cret-pass"


@pytest_asyncio.fixture
async def console(
    stores: Stores, retriever: FaqRetriever, key_prefix: str
) -> AsyncIterator[tuple[str, KnowledgeService, object]]:
    settings = handoff_settings()
    live = LiveModels(retriever, VerbatimGenerator(), kb=SMALL_KB)
    async with (
        open_app(settings, stores=stores, live=live, watch=False) as opened,
        FakeBotAPI() as api,
    ):
        bot = api.make_bot()
        knowledge, escalation = opened.knowledge, opened.escalation(bot)
        app = create_app(
            ConsoleServices(stores, escalation, opened.catalog, extra={"knowledge": knowledge}),
            settings,
        )
        try:
            async with served(app) as url:
                yield url, knowledge, escalation
        finally:
            await bot.session.close()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def form_again(http: aiohttp.ClientSession, url: str, data: object) -> str:
    """Post a change the console refuses; the page it answers with: the form again (422)."""
    async with http.post(url, data=data) as resp:
        assert resp.status == 422
        return await resp.text()


def members_of(html: str) -> list[str]:
    """The questions of the first content-gap cluster in a form (one JSON field)."""
    raw = re.search(r"name=\"members\" value='([^']+)'", html).group(1)
    return json.loads(html_module.unescape(raw))


async def test_kb_pages_edit_import_history_rollback(console) -> None:
    url, knowledge, _ = console
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{url}/kb", allow_redirects=False) as resp:
            assert resp.status == 303  # login first
        await http.post(f"{url}/login", data={"username": USER, "password": PASSWORD})
        async with http.get(f"{url}/kb") as resp:
            page = await resp.text()
        assert "v1 · 4 entries" in page and 'data-entry="return-item"' in page
        csrf = csrf_of(page)

        form = {
            "csrf": csrf,
            "question": "How do I return an item?",
            "answer": "60 days, free.",
            "alternatives": "return policy\nsend it back",
            "tags": "returns",
        }
        async with http.post(f"{url}/kb/entries/return-item", data=form) as resp:
            assert "v2: changed 1: return-item" in await resp.text()
        # An invalid edit is refused with the form still holding what was typed.
        typed = {**form, "answer": " ", "alternatives": "a new way to ask\nsend it back"}
        text = await form_again(http, f"{url}/kb/entries/return-item", typed)
        assert "answer: missing or empty" in text
        assert "a new way to ask\nsend it back</textarea>" in text and "v2" in text
        form = {"csrf": csrf, "entry_id": "bad id", "question": "Q?", "answer": ""}
        text = await form_again(http, f"{url}/kb/entries", form)
        assert "answer: missing or empty" in text and "not a valid id" in text

        broken = aiohttp.FormData()
        broken.add_field("csrf", csrf)
        broken.add_field("file", b'{"id": "x", "question": "Q?"}\nnot json\n', filename="kb.jsonl")
        text = await form_again(http, f"{url}/kb/import", broken)
        assert "kb.jsonl:1: answer: missing or empty" in text and "kb.jsonl:2: json:" in text
        good = aiohttp.FormData()
        good.add_field("csrf", csrf)
        good.add_field(
            "file", b"## Do you sell gift cards? {#gift-cards}\n\nYes.\n", filename="more.md"
        )
        async with http.post(f"{url}/kb/import", data=good) as resp:
            assert "v3: added 1: gift-cards" in await resp.text()

        async with http.get(f"{url}/kb/history?a=1&b=3") as resp:
            text = await resp.text()
        assert "+ gift-cards: Do you sell gift cards?" in text and "agent (console)" in text
        async with http.post(f"{url}/kb/rollback", data={"csrf": csrf, "version": "1"}) as resp:
            assert "v4: changed 1: return-item; removed 1: gift-cards" in await resp.text()
        async with http.get(f"{url}/kb/export/csv") as resp:
            assert (await resp.text()).startswith("id,question,answer,alternatives,tags")
        async with http.post(
            f"{url}/kb/rollback", data={"csrf": "forged", "version": "3"}
        ) as resp:
            assert resp.status == 403
    _, live = await knowledge.live()
    assert live.entries == SMALL_KB.entries


async def test_add_to_kb_prefilled_from_ticket_and_approved(console, stores: Stores) -> None:
    url, knowledge, escalation = console
    chat = 77
    await stores.conversations.append(chat, Turn("customer", "Do you ship to Norway?"))
    outcome = await escalation.escalate(
        chat, "Ola", Escalation(EscalationReason.LOW_CONFIDENCE, "Do you ship to Norway?")
    )
    ticket = outcome.ticket.id
    await escalation.console_reply(ticket, Actor(None, USER), "Yes, Norway takes 5–7 days.")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await http.post(f"{url}/login", data={"username": USER, "password": PASSWORD})
        async with http.get(f"{url}/tickets/{ticket}") as resp:
            assert f"/kb/suggestions/new?ticket={ticket}" in await resp.text()
        async with http.get(f"{url}/kb/suggestions/new?ticket={ticket}") as resp:
            page = await resp.text()
        assert 'value="Do you ship to Norway?"' in page and "Norway takes 5–7 days." in page
        form = {
            "csrf": csrf_of(page),
            "ticket": ticket,
            "question": "Do you ship to Norway?",
            "answer": "Yes, Norway takes 5–7 days.",
        }
        async with http.post(f"{url}/kb/suggestions", data=form) as resp:
            page = await resp.text()
        assert "Suggestion #1 is pending." in page and 'data-suggestion="1"' in page
        form = {
            "csrf": csrf_of(page),
            "question": "Do you ship to Norway?",
            "answer": "",
            "entry_id": "",
        }
        async with http.post(f"{url}/kb/suggestions/1/approve", data=form) as resp:
            assert "→ do-you-ship-to-norway: v2: added 1" in await resp.text()
        async with http.get(f"{url}/kb/gaps") as resp:
            gaps = await resp.text()
        assert "Do you ship to Norway?" in gaps and "unanswered 1" in gaps
    _, live = await knowledge.live()
    assert live["do-you-ship-to-norway"].answer == "Yes, Norway takes 5–7 days."


async def test_out_of_scope_questions_from_the_console(console) -> None:
    url, knowledge, _ = console
    for text in ("where can I eat near your store?", "any restaurants near the store?"):
        await knowledge.record_gap(text, "low_confidence")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await http.post(f"{url}/login", data={"username": USER, "password": PASSWORD})
        async with http.get(f"{url}/kb/gaps") as resp:
            page = await resp.text()
        assert "mark out of scope" in page
        label = re.search(r'name="question" value="([^"]+)"', page).group(1)
        members = members_of(page)
        asked = ["any restaurants near the store?", "where can I eat near your store?"]
        assert sorted(members) == asked and label in asked
        form = {"csrf": csrf_of(page), "question": label, "members": json.dumps(members)}
        async with http.post(f"{url}/kb/out-of-scope", data=form) as resp:
            assert str(resp.url).endswith("/kb/gaps")  # back where the operator was
            text = await resp.text()
        # The cluster is handled: it leaves the report.
        assert "v2: out of scope +1" in text and "No unanswered or escalated questions" in text
        async with http.get(f"{url}/kb/out-of-scope") as resp:
            page = await resp.text()
        assert f"<td>{label}</td>" in page and "(v2)" in page
        csrf = csrf_of(page)
        # Bad input is refused with the reason; nothing changes.
        for question, problem in (
            ("  ", "expected a non-empty question"),
            ("return policy", "is also a phrasing of &#39;return-item&#39;"),
            (label.upper(), "is already listed"),
        ):
            data = {"csrf": csrf, "question": question}
            async with http.post(f"{url}/kb/out-of-scope", data=data) as resp:
                text = await resp.text()
            assert "Not added: " in text and problem in text
        async with http.post(
            f"{url}/kb/out-of-scope", data={"csrf": "forged", "question": "Do you sell cars?"}
        ) as resp:
            assert resp.status == 403
        assert await knowledge.store.live_version() == 2
        data = {"csrf": csrf, "question": label}
        async with http.post(f"{url}/kb/out-of-scope/remove", data=data) as resp:
            text = await resp.text()
        assert "v3: out of scope -1" in text and "No out-of-scope questions yet." in text
        # Dismissing a cluster takes it out of the report without changing the knowledge base.
        await knowledge.record_gap("do you sell cars?", "low_confidence")
        await knowledge.record_gap("Do you sell  cars?", "human_requested")
        async with http.get(f"{url}/kb/gaps") as resp:
            page = await resp.text()
        dismiss = re.findall(r'action="/kb/gaps/dismiss".*?</form>', page, re.S)[0]
        form = {"csrf": csrf, "members": json.dumps(members_of(dismiss))}
        async with http.post(f"{url}/kb/gaps/dismiss", data={**form, "members": "[1"}) as resp:
            assert resp.status == 400  # a forged list is refused
        many = {"csrf": csrf, "members": json.dumps([f"question {i}" for i in range(1500)])}
        async with http.post(f"{url}/kb/gaps/dismiss", data=many) as resp:
            assert resp.status == 200  # more questions than a form has fields
            assert "Dismissed 0 logged question(s)." in await resp.text()
        async with http.post(f"{url}/kb/gaps/dismiss", data=form) as resp:
            text = await resp.text()
        assert "Dismissed 2 logged question(s)." in text and "cars" not in text.split("</h1>")[1]
        assert await knowledge.store.live_version() == 3


async def test_entry_written_from_a_content_gap_takes_the_customers_words(console) -> None:
    url, knowledge, _ = console
    asked = ("Do you deliver to Norway?", "can you ship to norway", "delivery to Norway possible?")
    for text in asked:
        await knowledge.record_gap(text, "low_confidence")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await http.post(f"{url}/login", data={"username": USER, "password": PASSWORD})
        async with http.get(f"{url}/kb/gaps") as resp:
            page = await resp.text()
        write = re.search(r'action="/kb/entries/draft".*?</form>', page, re.S).group(0)
        label = re.search(r'name="question" value="([^"]+)"', write).group(1)
        members = members_of(write)
        assert sorted(members) == sorted(asked)
        draft = {"csrf": csrf_of(page), "question": label, "members": json.dumps(members)}
        async with http.post(f"{url}/kb/entries/draft", data=draft) as resp:
            form_page = await resp.text()
        prefilled = re.search(r'id="alternatives">([^<]*)</textarea>', form_page).group(1)
        assert sorted(prefilled.split("\n")) == sorted(m for m in asked if m != label)
        form = [
            ("csrf", csrf_of(form_page)),
            ("entry_id", ""),  # forgotten: refused, the cluster stays
            ("question", label),
            ("answer", "Yes, in 4–6 days for €15."),
            ("alternatives", prefilled),
            ("members", json.dumps(members)),
        ]
        again = await form_again(http, f"{url}/kb/entries", form)
        assert members_of(again) == members
        assert len(await knowledge.gaps.recent()) == 3
        form[1] = ("entry_id", "norway")
        async with http.post(f"{url}/kb/entries", data=form) as resp:
            assert "v2: added 1: norway" in await resp.text()
    _, live = await knowledge.live()
    assert set(live["norway"].phrasings) == set(asked)
    assert await knowledge.gaps.recent() == []


async def test_refused_changes_come_back_with_the_reason(console) -> None:
    url, knowledge, _ = console
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        # Not logged in: the login page, before any CSRF check.
        async with http.post(f"{url}/kb/entries/nope/delete", allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/login"
        await http.post(f"{url}/login", data={"username": USER, "password": PASSWORD})
        async with http.get(f"{url}/kb") as resp:
            csrf = csrf_of(await resp.text())
        async with http.post(f"{url}/kb/entries/nope/delete", data={"csrf": csrf}) as resp:
            assert str(resp.url).endswith("/kb")
            assert "Not deleted: id: no entry &#39;nope&#39;" in await resp.text()
        # An edit of an entry that is gone: back to the list, as there is no form to show.
        form = {"csrf": csrf, "question": "Q?", "answer": "A."}
        async with http.post(f"{url}/kb/entries/nope", data=form) as resp:
            assert str(resp.url).endswith("/kb")
            assert "Not saved: id: no entry &#39;nope&#39;" in await resp.text()
        async with http.post(f"{url}/kb/rollback", data={"csrf": csrf, "version": "9"}) as resp:
            assert str(resp.url).endswith("/kb/history")
            assert "Not rolled back: no version 9 (the live version is 1)" in await resp.text()
        suggestion = await knowledge.suggest("Do you sell cars?", "No.", "ops")
        reject = f"{url}/kb/suggestions/{suggestion.id}/reject"
        async with http.post(reject, data={"csrf": csrf}) as resp:
            assert f"Suggestion #{suggestion.id} rejected." in await resp.text()
        async with http.post(reject, data={"csrf": csrf}) as resp:
            assert str(resp.url).endswith("/kb/suggestions")
            assert f"suggestion #{suggestion.id} is already rejected" in await resp.text()
        assert await knowledge.store.live_version() == 1
        # A refusal on a page that declared none: 400 with the reason.
        await knowledge.add_phrasing("return-item", "send back | refund", "ops")
        async with http.get(f"{url}/kb/export/csv") as resp:
            assert resp.status == 400
            assert "a phrasing contains '|'" in (await resp.json())["detail"]


def test_every_refusal_wording_a_route_declares_is_in_the_catalog() -> None:
    """A route names its refusal's wording by key (``back_on_refusal(page, "console-not-…")``),
    which the catalog test's scan of ``texts.get("…")`` calls does not see."""
    from bot.console import kb as kb_routes
    from bot.i18n import Catalog

    source = Path(kb_routes.__file__).read_text(encoding="utf-8")
    keys = set(re.findall(r"""["'](console-not-[a-z-]+)["']""", source))
    catalog = Catalog.load()
    assert keys and sorted(k for k in keys if not catalog.has(k)) == []
    assert catalog.get("console-not-deleted", problems="why") == "Not deleted: why"
