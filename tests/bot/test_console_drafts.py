"""The console's drafts page (``/kb/drafts``) over HTTP: write, side by side, approve / discard, and
every refusal (unknown entry or style, no facts, a forged id) changing nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from bot.app import open_app
from bot.console import ConsoleServices, create_app
from bot.services.answering import Escalation, EscalationReason
from bot.services.drafts import DraftService
from bot.services.escalation import Actor
from bot.services.live import LiveModels
from bot.store import Stores, Turn
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever
from tests.bot.test_console_kb import PASSWORD, USER, csrf_of
from tests.conftest import SMALL_KB
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.handoff import handoff_settings
from tests.support.serving import served


@pytest_asyncio.fixture
async def console(
    stores: Stores, retriever: FaqRetriever
) -> AsyncIterator[tuple[str, DraftService, object]]:
    settings = handoff_settings()
    live = LiveModels(retriever, VerbatimGenerator(), kb=SMALL_KB)
    async with (
        open_app(settings, stores=stores, live=live, watch=False) as opened,
        FakeBotAPI() as api,
    ):
        bot = api.make_bot()
        drafts, escalation = opened.drafts(), opened.escalation(bot)
        extra = {"knowledge": opened.knowledge, "drafts": drafts}
        app = create_app(
            ConsoleServices(stores, escalation, opened.catalog, extra=extra), settings
        )
        try:
            async with served(app) as url:
                yield url, drafts, escalation
        finally:
            await bot.session.close()


async def logged_in(url: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    await http.post(f"{url}/login", data={"username": USER, "password": PASSWORD})
    return http


async def test_rewrite_side_by_side_edited_and_approved(console) -> None:
    url, drafts, _ = console
    knowledge = drafts.knowledge
    async with await logged_in(url) as http:
        async with http.get(f"{url}/kb") as resp:
            assert 'href="/kb/drafts"' in await resp.text()
        async with http.get(f"{url}/kb/drafts") as resp:
            page = await resp.text()
        assert '<option value="return-item">' in page and "No drafts yet." in page
        csrf = csrf_of(page)
        form = {"csrf": csrf, "entry_id": "return-item", "style": "friendlier"}
        async with http.post(f"{url}/kb/drafts/rewrite", data=form) as resp:
            page = await resp.text()
            draft_id = str(resp.url).rsplit("/", 1)[1]
        assert f"Draft {draft_id} written" in page
        assert "DRAFT · pending · never sent to customers" in page
        original = SMALL_KB["return-item"].answer
        assert f'id="original">{original}</td>' in page  # side by side with the original
        assert "written by rules" in page and "Happy to help! You can return any item" in page
        edited = {"csrf": csrf, "text": "Happy to help! Returns: https://shop.example/returns."}
        async with http.post(f"{url}/kb/drafts/{draft_id}/approve", data=edited) as resp:
            page = await resp.text()
        assert f"Draft {draft_id} approved → return-item: v2: changed 1: return-item" in page
        assert "Approved by agent (console) (v2)." in page
        _, live = await knowledge.live()
        assert live["return-item"].answer == edited["text"]
        # Approving twice is refused: nothing changes.
        async with http.post(f"{url}/kb/drafts/{draft_id}/approve", data=edited) as resp:
            assert (
                "Not done: draft " in await resp.text() and "already approved" in await resp.text()
            )
        assert await knowledge.store.live_version() == 2


async def test_copy_and_entry_drafts_and_discard(console, stores: Stores) -> None:
    url, drafts, escalation = console
    async with await logged_in(url) as http:
        async with http.get(f"{url}/kb/drafts") as resp:
            csrf = csrf_of(await resp.text())
        facts = {
            "csrf": csrf,
            "name": "Brightcart Mug",
            "features": "holds 350 ml\ndishwasher-safe",
            "price": "€12",
            "offer": "",
        }
        async with http.post(f"{url}/kb/drafts/copy", data=facts) as resp:
            page = await resp.text()
            copy_id = str(resp.url).rsplit("/", 1)[1]
        assert "Brightcart Mug: holds 350 ml and dishwasher-safe. Price: €12." in page
        assert "✨ Brightcart Mug" in page and "written by template" in page
        async with http.post(f"{url}/kb/drafts/{copy_id}/discard", data={"csrf": csrf}) as resp:
            assert f"Draft {copy_id} discarded." in await resp.text()

        chat, question = 81, "Do you ship to Norway?"
        await stores.conversations.append(chat, Turn("customer", question))
        outcome = await escalation.escalate(
            chat, "Ola", Escalation(EscalationReason.LOW_CONFIDENCE, question)
        )
        reply = "Hello! Yes, we ship to Norway. It takes 5–7 days. Anything else?"
        await escalation.console_reply(outcome.ticket.id, Actor(None, USER), reply)
        async with http.post(f"{url}/kb/drafts/entry", data={"csrf": csrf}) as resp:
            page = await resp.text()
            entry_id = str(resp.url).rsplit("/", 1)[1]
        assert f'href="/tickets/{outcome.ticket.id}"' in page
        assert "Yes, we ship to Norway. It takes 5–7 days.</textarea>" in page
        form = {
            "csrf": csrf,
            "entry_id": "ship-norway",
            "question": question,
            "phrasings": "shipping to norway?",
            "text": "Yes, we ship to Norway. It takes 5–7 days.",
        }
        async with http.post(f"{url}/kb/drafts/{entry_id}/approve", data=form) as resp:
            assert "→ ship-norway: v2: added 1: ship-norway" in await resp.text()
    _, live = await drafts.knowledge.live()
    assert live["ship-norway"].alternatives == ("shipping to norway?",)
    assert await drafts.knowledge.gap_report() == []


async def test_bad_draft_input_is_refused_and_changes_nothing(console) -> None:
    url, drafts, _ = console
    async with await logged_in(url) as http:
        async with http.get(f"{url}/kb/drafts") as resp:
            csrf = csrf_of(await resp.text())
        cases = [
            (
                "/kb/drafts/rewrite",
                {"entry_id": "nope", "style": "shorter"},
                "no entry &#39;nope&#39;",
            ),
            ("/kb/drafts/rewrite", {"entry_id": "return-item", "style": "poem"}, "unknown style"),
            ("/kb/drafts/copy", {"name": "", "features": ""}, "no facts given"),
            ("/kb/drafts/copy", {"name": "", "price": "€5"}, "a product name is needed"),
            ("/kb/drafts/entry", {}, "no content gaps"),
            ("/kb/drafts/0123456789/approve", {}, "no draft &#39;0123456789&#39;"),
            ("/kb/drafts/x%27%3E/discard", {}, "no draft"),
        ]
        for path, data, problem in cases:
            async with http.post(f"{url}{path}", data={"csrf": csrf, **data}) as resp:
                text = await resp.text()
            assert str(resp.url).endswith("/kb/drafts") and problem in text, (path, text[-600:])
            assert re.search(r"Not (written|done): ", text)
        # A rewrite that fails the checks: shown as REFUSED with why (422), not stored.
        form = {"csrf": csrf, "entry_id": "payment-methods", "style": "steps"}
        async with http.post(f"{url}/kb/drafts/rewrite", data=form) as resp:
            assert resp.status == 422
            text = await resp.text()
        assert "REFUSED: every text of this rewrite draft failed" in text
        assert "REFUSED: a single step" in text
        async with http.get(f"{url}/kb/drafts/0123456789") as resp:
            assert resp.status == 404 and "No draft" in await resp.text()
        form = {"csrf": "forged", "entry_id": "return-item", "style": "steps"}
        async with http.post(f"{url}/kb/drafts/rewrite", data=form) as resp:
            assert resp.status == 403
    assert await drafts.recent() == [] and await drafts.knowledge.store.live_version() == 1
