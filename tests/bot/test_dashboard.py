"""The console's dashboard in a real headless Chromium: the rendered figures of scripted
conversations, the plots, the answers to fix and the topics."""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import open_app
from bot.console import ConsoleServices, create_app
from bot.services.events import RedisEventLog
from bot.services.live import LiveModels
from bot.services.topics import AskedQuestion, QuestionLog
from bot.store import Stores
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever
from tests.bot.services.test_analytics import SCRIPT, T0
from tests.bot.services.test_topics import DELIVERY, REFUND
from tests.conftest import SMALL_KB
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.handoff import handoff_settings
from tests.support.serving import served

CHROMIUM = Path("/usr/bin/chromium")
USER, PASSWORD = "agent", "s3cret-pass"


@pytest_asyncio.fixture
async def dashboard(stores: Stores, retriever: FaqRetriever) -> AsyncIterator[str]:
    """A console over the scripted conversations of three days ago and their questions."""
    settings = handoff_settings()
    live = LiveModels(retriever, VerbatimGenerator(), kb=SMALL_KB)
    events = RedisEventLog(stores.redis, stores.keys)
    shift = time.time() - 3 * 24 * 3600 - T0
    for event in SCRIPT:
        await events.record(dataclasses.replace(event, at=event.at + shift))
    questions = QuestionLog(stores.redis, stores.keys)
    asked_at = time.time() - 3 * 24 * 3600
    for text in DELIVERY:
        await questions.record(AskedQuestion(text, 1, "answered", asked_at, "shipping", "a1"))
    for text in REFUND:
        await questions.record(AskedQuestion(text, 3, "escalated", asked_at, sentiment=-0.6))
    async with (
        open_app(settings, stores=stores, live=live, watch=False) as opened,
        FakeBotAPI() as api,
    ):
        bot = api.make_bot()
        app = create_app(
            ConsoleServices(
                stores,
                opened.escalation(bot),
                opened.catalog,
                extra={"knowledge": opened.knowledge},
            ),
            settings,
        )
        try:
            async with served(app) as url:
                yield url
        finally:
            await bot.session.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
async def test_dashboard_shows_the_period_s_figures_plots_and_topics(
    dashboard: str, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 900})
            page.set_default_timeout(20_000)
            await page.goto(f"{dashboard}/login")
            await page.fill("#username", USER)
            await page.fill("#password", PASSWORD)
            await page.click("#login")
            await expect(page).to_have_url(re.compile(r"/dashboard$"))  # the first page

            def kpi(name: str):
                return page.locator(f"#kpi-{name} .value")

            await expect(kpi("conversations")).to_have_text("7")
            await expect(kpi("involvement")).to_have_text("71.4 %")
            await expect(kpi("resolution")).to_have_text("60.0 %")
            await expect(page.locator("#kpi-resolution .detail")).to_contain_text(
                "1 confirmed · 2 assumed · 0 pending"
            )
            await expect(kpi("escalation")).to_have_text("28.6 %")
            await expect(kpi("csat")).to_have_text("50.0 %")
            await expect(kpi("first-response")).to_have_text("2.7 min")
            await expect(kpi("resolution-time")).to_have_text("71.2 min")
            for plot in ("volume", "resolution", "reasons", "csat", "sentiment"):
                await expect(page.locator(f"#plot-{plot} svg")).to_have_count(1)
            await expect(page.locator("#entries tbody tr").first).to_contain_text("refunds")
            topics = page.locator("#topics tbody tr")
            await expect(topics).to_have_count(2)
            refund = topics.filter(has_text="refund")
            await expect(refund).to_contain_text("content gap")
            await expect(refund.locator("td").nth(1)).to_have_text("4")
            shot = Path(os.environ.get("SCREENSHOT_DIR", tmp_path)) / "dashboard.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000

            # Thirty days include the same conversations; an unknown period shows the default.
            await page.click("text=30 days")
            await expect(page).to_have_url(re.compile(r"days=30$"))
            await expect(kpi("conversations")).to_have_text("7")
            await page.goto(f"{dashboard}/dashboard?days=5")
            await expect(page.locator(".periods a.current")).to_have_text("7 days")
            await expect(page.locator(".flash")).to_contain_text("There is no 5-day view")
        finally:
            await browser.close()
