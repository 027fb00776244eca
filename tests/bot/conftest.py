"""A running bot for flow tests: real Dispatcher, real aiohttp session, local fake Bot API, real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiogram import Bot, Dispatcher

from bot.app import App, build_dispatcher, open_app
from bot.services.live import LiveModels
from bot.settings import load_settings
from bot.store import Stores
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotAPI

AGENTS_CHAT_ID = -1001234567890


@dataclass
class RunningBot:
    api: FakeBotAPI
    bot: Bot
    dp: Dispatcher
    app: App


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as api:
        yield api


@pytest.fixture
async def running_bot(
    fake_api: FakeBotAPI, stores: Stores, retriever: FaqRetriever, key_prefix: str
) -> AsyncIterator[RunningBot]:
    settings = load_settings(
        telegram={"token": DEFAULT_TOKEN, "api_base": fake_api.base_url},
        redis={"url": "redis://127.0.0.1:6379/15", "prefix": key_prefix},
        escalation={"agents_chat_id": AGENTS_CHAT_ID, "agent_ids": [777]},
        retrieval={"threshold": 0.5},
    )
    live = LiveModels(retriever, VerbatimGenerator(), kb=retriever.knowledge_base)
    async with open_app(settings, stores=stores, live=live, watch=False) as app:
        bot = fake_api.make_bot()
        dp = build_dispatcher(app, bot)
        polling = asyncio.create_task(
            dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=1)
        )
        try:
            yield RunningBot(fake_api, bot, dp, app)
        finally:
            await dp.stop_polling()
            await asyncio.wait_for(polling, 10)
            await bot.session.close()
