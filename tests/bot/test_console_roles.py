"""Team accounts in the console, driven by a real headless Chromium: each role sees and may open
only its pages, an admin manages accounts on the admin page, a disabled account's open session
ends, guessing passwords is throttled, and a ticket's history says who did what."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.app import open_app
from bot.console import ConsoleServices, create_app
from bot.errors import ConfigurationError
from bot.i18n import Catalog
from bot.services.accounts import AccountService
from bot.services.answering import Escalation, EscalationReason
from bot.services.escalation import EscalationService
from bot.services.live import LiveModels
from bot.settings import Settings
from bot.store import Role, Stores, Turn
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever
from tests.conftest import SMALL_KB
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.handoff import handoff_settings
from tests.support.serving import served

CHROMIUM = Path("/usr/bin/chromium")
ADMIN, ADMIN_PASSWORD = "agent", "s3cret-pass"  # the login from settings
STRONG = "violet-harbour-trombone-42"
texts = Catalog.load().texts()
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
)


@dataclass
class Console:
    url: str
    stores: Stores
    escalation: EscalationService
    accounts: AccountService

    async def customer_asks(self, chat_id: int, name: str, text: str) -> str:
        await self.stores.conversations.append(chat_id, Turn("customer", text))
        outcome = await self.escalation.escalate(
            chat_id, name, Escalation(EscalationReason.ASKED_FOR_HUMAN, text)
        )
        return outcome.ticket.id


@pytest_asyncio.fixture
async def console(stores: Stores, retriever: FaqRetriever) -> AsyncIterator[Console]:
    settings = handoff_settings()
    live = LiveModels(retriever, VerbatimGenerator(), kb=SMALL_KB)
    async with (
        open_app(settings, stores=stores, live=live, watch=False) as opened,
        FakeBotAPI() as api,
    ):
        bot = api.make_bot()
        escalation = opened.escalation(bot)
        services = ConsoleServices(
            stores, escalation, opened.catalog, extra={"knowledge": opened.knowledge}
        )
        app = create_app(services, settings)
        try:
            async with served(app) as url:
                accounts = AccountService(stores.users, texts)
                yield Console(url, stores, escalation, accounts)
        finally:
            await bot.session.close()


def test_accounts_stand_in_for_the_settings_login() -> None:
    settings = Settings(_env_file=None, console={"password": None})
    with pytest.raises(ConfigurationError, match="supportbot users add"):
        create_app(None, settings)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def chromium():
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--headless", "--disable-gpu"],
        )
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in(browser, url: str, name: str, password: str):
    from playwright.async_api import expect

    page = await (await browser.new_context()).new_page()
    page.set_default_timeout(10_000)
    await page.goto(f"{url}/login")
    await page.fill("#username", name)
    await page.fill("#password", password)
    await page.click("#login")
    await expect(page).to_have_url(re.compile(r"/dashboard$"))
    return page


@needs_chromium
async def test_each_role_opens_only_its_pages(console: Console) -> None:
    from playwright.async_api import expect

    await console.accounts.add("andy", "agent", STRONG, telegram_id=4242)
    await console.accounts.add("olga", "operator", STRONG)
    ticket_id = await console.customer_asks(81, "Alice", "Where is my parcel?")
    async with chromium() as browser:
        agent = await sign_in(browser, console.url, "andy", STRONG)
        await expect(agent.locator("header")).to_contain_text("andy")
        await expect(agent.locator("#nav-tickets")).to_be_visible()
        await expect(agent.locator("#nav-kb")).to_have_count(0)
        await expect(agent.locator("#nav-users")).to_have_count(0)
        for page in ("/kb", "/kb/history", "/admin/users"):
            response = await agent.goto(console.url + page)
            assert response.status == 403, page
            await expect(agent.locator("#forbidden")).to_contain_text(
                "Your role (agent) may not open this page."
            )
        # What an agent does is recorded with their account's name.
        await agent.goto(f"{console.url}/tickets/{ticket_id}")
        await expect(agent.locator("#add-to-kb")).to_have_count(0)
        await agent.click("#claim")
        await expect(agent.locator("#status")).to_contain_text("claimed (andy)")
        await agent.fill("#reply", "Hello Alice, it arrives tomorrow.")
        await agent.click("#send")
        await agent.click("#close")
        history = agent.locator("#history")
        await expect(history.locator(".event-escalated")).to_contain_text("opened")
        await expect(history.locator(".event-ticket_claimed")).to_contain_text("andy")
        await expect(history.locator(".event-ticket_replied")).to_contain_text("andy")
        await expect(history.locator(".event-ticket_closed")).to_contain_text("andy")
        ticket = await console.stores.tickets.get(ticket_id)
        assert ticket.claimed_by_name == "andy" and ticket.closed_by_name == "andy"

        operator = await sign_in(browser, console.url, "olga", STRONG)
        await operator.click("#nav-kb")
        await expect(operator).to_have_url(re.compile(r"/kb$"))
        await expect(operator.locator("main")).to_contain_text("delivery-time")
        await expect(operator.locator("#nav-users")).to_have_count(0)
        assert (await operator.goto(f"{console.url}/admin/users")).status == 403

        # A form post to an admin route from an agent is refused too, and changes nothing.
        csrf = await agent.locator('input[name="csrf"]').first.get_attribute("value")
        forged = await agent.request.post(
            f"{console.url}/admin/users/olga/disable", form={"csrf": csrf}
        )
        assert forged.status == 403
        assert not (await console.stores.users.get("olga")).disabled


@needs_chromium
async def test_admin_manages_accounts_and_a_disabled_session_ends(console: Console) -> None:
    from playwright.async_api import expect

    await console.accounts.add("andy", "agent", STRONG)
    async with chromium() as browser:
        admin = await sign_in(browser, console.url, ADMIN, ADMIN_PASSWORD)
        agent = await sign_in(browser, console.url, "andy", STRONG)

        await admin.click("#nav-users")
        await expect(admin.locator("#account-andy")).to_contain_text("active")
        # Refused: a weak password, a role that does not exist; nothing is stored.
        await admin.fill("#new-name", "zoe")
        await admin.fill("#new-password", "zoe12345678")
        await admin.click("#add")
        await expect(admin.locator("#flash")).to_contain_text(
            "Not changed: the password is too easy to guess"
        )
        assert await console.stores.users.get("zoe") is None
        csrf = await admin.locator('input[name="csrf"]').first.get_attribute("value")
        bad_role = await admin.request.post(
            f"{console.url}/admin/users",
            form={"csrf": csrf, "name": "zoe", "role": "boss", "password": STRONG},
        )
        assert "no role boss" in await bad_role.text()
        assert await console.stores.users.get("zoe") is None
        # Added with a strong one.
        await admin.fill("#new-name", "zoe")
        await admin.select_option("#new-role", "operator")
        await admin.fill("#new-password", STRONG)
        await admin.fill("#new-telegram-id", "5151")
        await admin.click("#add")
        await expect(admin.locator("#flash")).to_contain_text("Account zoe (operator) added.")
        await expect(admin.locator("#account-zoe")).to_contain_text("5151")
        assert (await console.stores.users.by_telegram(5151)).role is Role.OPERATOR

        # Disabling andy ends the session andy has open.
        await admin.click("#account-andy .toggle")
        await expect(admin.locator("#flash")).to_contain_text("andy is disabled")
        await expect(admin.locator("#account-andy .state")).to_have_text("disabled")
        await agent.goto(f"{console.url}/tickets")
        await expect(agent).to_have_url(re.compile(r"/login$"))
        await expect(agent.locator("#flash")).to_contain_text("Your session ended")
        await agent.fill("#username", "andy")
        await agent.fill("#password", STRONG)
        await agent.click("#login")
        await expect(agent.locator("#login-error")).to_contain_text("Wrong username or password")

        # Changing a role ends that person's session as well; they sign in with the new role.
        zoe = await sign_in(browser, console.url, "zoe", STRONG)
        await expect(zoe.locator("#nav-kb")).to_be_visible()
        await admin.select_option('#account-zoe select[name="role"]', "agent")
        await admin.click("#account-zoe .set-role")
        await expect(admin.locator("#flash")).to_contain_text("zoe is now agent")
        await zoe.goto(f"{console.url}/dashboard")
        await expect(zoe).to_have_url(re.compile(r"/login$"))

        # An admin cannot lock themselves out from the page.
        await console.accounts.add("root", "admin", STRONG)
        root = await sign_in(browser, console.url, "root", STRONG)
        await root.goto(f"{console.url}/admin/users")
        await root.click("#account-root .toggle")
        await expect(root.locator("#flash")).to_contain_text(
            "Not changed: you cannot disable your own account"
        )
        assert not (await console.stores.users.get("root")).disabled


async def test_sessions_expire_on_the_server_too(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.console import auth

    await console.accounts.add("olga", "operator", STRONG)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        form = {"username": "olga", "password": STRONG}
        async with http.post(f"{console.url}/login", data=form) as resp:
            assert resp.status == 200
        async with http.get(f"{console.url}/api/tickets") as resp:
            assert resp.status == 200
        monkeypatch.setattr(auth, "SESSION_HOURS", 0)  # the session is now older than allowed
        async with http.get(f"{console.url}/api/tickets") as resp:
            assert resp.status == 401
        monkeypatch.setattr(auth, "SESSION_HOURS", 12)
        async with http.get(f"{console.url}/api/tickets") as resp:
            assert resp.status == 401  # it stays ended


async def test_failed_logins_are_throttled(console: Console) -> None:
    await console.accounts.add("olga", "operator", STRONG)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        for _ in range(5):
            form = {"username": "olga", "password": "guess-" + str(_)}
            async with http.post(f"{console.url}/login", data=form) as resp:
                assert resp.status == 401
        # The sixth try is refused before the password is looked at, even the right one.
        form = {"username": "olga", "password": STRONG}
        async with http.post(f"{console.url}/login", data=form) as resp:
            assert resp.status == 429
            body = await resp.text()
        assert "Too many failed logins; try again in 15 minute(s)." in body
        async with http.get(f"{console.url}/api/tickets") as resp:
            assert resp.status == 401  # not signed in
        # The same address is throttled for any name it tries.
        form = {"username": ADMIN, "password": ADMIN_PASSWORD}
        async with http.post(f"{console.url}/login", data=form) as resp:
            assert resp.status == 429
