"""The agents' web console: served by uvicorn, driven by a real headless Chromium (Playwright).

Replies go through a real aiogram Bot to the local fake Bot API server; tickets live in the real
Redis under the test's prefix.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.types import Update

from bot.app import build_escalation
from bot.console import ConsoleServices, create_app
from bot.errors import ConfigurationError
from bot.i18n import Catalog
from bot.services.answering import Escalation, EscalationReason
from bot.services.escalation import EscalationService
from bot.settings import Settings
from bot.store import Stores, TicketStatus, Turn
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.handoff import AGENTS_CHAT, handoff_settings
from tests.support.serving import served

CHROMIUM = Path("/usr/bin/chromium")
USER, PASSWORD = "agent", "s3cret-pass"
texts = Catalog.load().texts()


@dataclass
class Console:
    url: str
    api: FakeBotAPI
    bot: Bot
    escalation: EscalationService
    stores: Stores
    settings: Settings

    async def customer_asks(self, chat_id: int, name: str, text: str) -> str:
        await self.stores.conversations.append(chat_id, Turn("customer", text))
        outcome = await self.escalation.escalate(
            chat_id, name, Escalation(EscalationReason.ASKED_FOR_HUMAN, text)
        )
        return outcome.ticket.id

    async def customer_writes(self, chat_id: int, text: str) -> None:
        update = Update.model_validate(
            self.api.push_update(self.api.text_update(chat_id, text)), context={"bot": self.bot}
        )
        ticket = await self.escalation.current(chat_id)
        await self.escalation.customer_message(ticket, update.message)


@pytest_asyncio.fixture
async def console(stores: Stores) -> AsyncIterator[Console]:
    settings = handoff_settings()
    async with FakeBotAPI() as api:
        bot = api.make_bot()
        escalation = build_escalation(settings, stores, bot)
        app = create_app(ConsoleServices(stores, escalation, texts.catalog), settings)
        try:
            async with served(app) as url:
                yield Console(url, api, bot, escalation, stores, settings)
        finally:
            await bot.session.close()


def test_console_needs_a_password() -> None:
    settings = Settings(_env_file=None, console={"password": None})
    with pytest.raises(ConfigurationError, match="CONSOLE__PASSWORD"):
        create_app(None, settings)  # type: ignore[arg-type]


async def test_api_and_actions_need_login_and_csrf(console: Console) -> None:
    ticket_id = await console.customer_asks(61, "Carol", "I need a human")
    # unsafe=True: keep cookies of an IP address host (127.0.0.1).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{console.url}/api/tickets") as resp:
            assert resp.status == 401
        async with http.get(f"{console.url}/tickets", allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/login"
        form = {"username": USER, "password": "wrong"}
        async with http.post(f"{console.url}/login", data=form) as resp:
            assert resp.status == 401
        form = {"username": USER, "password": PASSWORD}
        async with http.post(f"{console.url}/login", data=form) as resp:
            assert resp.status == 200  # redirected to the queue
        async with http.get(f"{console.url}/api/tickets") as resp:
            queue = await resp.json()
        assert [t["id"] for t in queue] == [ticket_id]
        assert queue[0]["customer"] == "Carol" and queue[0]["waiting_seconds"] >= 0
        # A forged form (no CSRF token) changes nothing.
        reply = {"text": "hello", "csrf": "forged"}
        async with http.post(f"{console.url}/tickets/{ticket_id}/reply", data=reply) as resp:
            assert resp.status == 403
        async with http.post(f"{console.url}/tickets/{ticket_id}/close", data={}) as resp:
            assert resp.status in (403, 422)
    assert (await console.stores.tickets.get(ticket_id)).status == TicketStatus.OPEN
    assert console.api.sent_texts(61)[-1:] != ["hello"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
async def test_console_in_a_headless_browser(console: Console) -> None:
    from playwright.async_api import async_playwright, expect

    api = console.api
    first = await console.customer_asks(71, "Alice", "Where is my parcel? It is two weeks late")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--headless", "--disable-gpu"],
        )
        try:
            page = await browser.new_page()
            page.set_default_timeout(10_000)

            # Login from settings; a wrong password is refused.
            await page.goto(f"{console.url}/tickets")
            await expect(page).to_have_url(re.compile(r"/login$"))
            await page.fill("#username", USER)
            await page.fill("#password", "not-it")
            await page.click("#login")
            await expect(page.locator("#login-error")).to_contain_text("Wrong username")
            await page.fill("#username", USER)
            await page.fill("#password", PASSWORD)
            await page.click("#login")
            await expect(page).to_have_url(re.compile(r"/dashboard$"))  # the first page
            await page.click("#nav-tickets")
            await expect(page).to_have_url(re.compile(r"/tickets$"))

            # The queue shows the ticket with its waiting time, and new tickets appear live.
            row = page.locator(f'#queue tr[data-ticket="{first}"]')
            await expect(row).to_contain_text("Alice")
            await expect(row.locator(".waiting")).to_have_text(re.compile(r"^\d+ (s|min)$"))
            second = await console.customer_asks(72, "Bob", "我要转人工")
            await expect(page.locator(f'#queue tr[data-ticket="{second}"]')).to_contain_text(
                "Bob", timeout=8_000
            )

            # The ticket's transcript; claim.
            await page.click(f'#queue tr[data-ticket="{first}"] a')
            await expect(page.locator("#transcript")).to_contain_text("two weeks late")
            start = len(api.calls)
            await page.click("#claim")
            await expect(page.locator("#flash")).to_contain_text(f"You've got ticket #{first}")
            await expect(page.locator("#status")).to_contain_text(f"claimed ({USER})")
            joined = await api.wait_for("sendMessage", lambda p: p["chat_id"] == 71, start=start)
            assert joined.params["text"] == texts.get("handoff-agent-joined", agent=USER)

            # A reply typed in the console reaches the customer through the bot.
            start = len(api.calls)
            await page.fill("#reply", "Hi Alice, I've found your parcel: it arrives tomorrow.")
            await page.click("#send")
            await expect(page.locator("#flash")).to_contain_text("Sent to the customer.")
            sent = await api.wait_for("sendMessage", lambda p: p["chat_id"] == 71, start=start)
            assert sent.params["text"].startswith("Hi Alice, I've found your parcel")
            await expect(page.locator("#transcript")).to_contain_text("arrives tomorrow")
            mirrored = await api.wait_for(
                "sendMessage", lambda p: p["chat_id"] == AGENTS_CHAT and "web console" in p["text"]
            )
            assert "arrives tomorrow" in mirrored.params["text"]

            # The customer's answer shows up live in the open transcript.
            await console.customer_writes(71, "Great, thank you!")
            await expect(page.locator("#transcript")).to_contain_text(
                "Great, thank you!", timeout=8_000
            )

            # Close: the customer is handed back and asked for a rating; the queue drops it.
            start = len(api.calls)
            await page.click("#close")
            await expect(page.locator("#flash")).to_contain_text(f"Ticket #{first} closed.")
            await expect(page.locator("#status")).to_contain_text("closed")
            closing = await api.wait_for("sendMessage", lambda p: p["chat_id"] == 71, start=start)
            assert closing.params["text"] == texts.get("handoff-closed", ticket=first)
            assert "reply_markup" in closing.params
            await page.goto(f"{console.url}/tickets")
            await expect(page.locator(f'#queue tr[data-ticket="{first}"]')).to_have_count(0)
            await expect(page.locator(f'#queue tr[data-ticket="{second}"]')).to_have_count(1)
        finally:
            await browser.close()
    ticket = await console.stores.tickets.get(first)
    assert ticket.status == TicketStatus.CLOSED and ticket.claimed_by_name == USER
    roles = [t.role for t in await console.stores.tickets.transcript(first)]
    assert roles.count("agent") == 1


async def test_prometheus_scrapes_metrics_without_the_login(console: Console) -> None:
    from prometheus_client.parser import text_string_to_metric_families
    from pydantic import SecretStr

    await console.customer_asks(62, "Dan", "I need a human")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{console.url}/metrics") as resp:
            assert resp.status == 200
            body = await resp.text()
        found = {s.name: s.value for f in text_string_to_metric_families(body) for s in f.samples}
        assert found["supportbot_tickets_open"] == 1
        assert found["supportbot_tickets_unclaimed"] == 1
        # With METRICS__TOKEN set a scrape must bring it.
        console.settings.metrics.token = SecretStr("scrape-token")
        async with http.get(f"{console.url}/metrics") as resp:
            assert resp.status == 401
        headers = {"Authorization": "Bearer scrape-token"}
        async with http.get(f"{console.url}/metrics", headers=headers) as resp:
            assert resp.status == 200
