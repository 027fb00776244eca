"""A running bot for flow tests: real Dispatcher, real aiohttp session, local fake Bot API, real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import open_app
from bot.services.live import LiveModels
from bot.settings import load_settings
from bot.store import Stores
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever
from tests.support import handoff
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotAPI
from tests.support.handoff import RunningBot

AGENTS_CHAT_ID = -1001234567890


@pytest.fixture
async def running_bot(
    stores: Stores, retriever: FaqRetriever, key_prefix: str
) -> AsyncIterator[RunningBot]:
    live = LiveModels(retriever, VerbatimGenerator(), kb=retriever.knowledge_base)
    async with FakeBotAPI() as fake_api:
        settings = load_settings(
            telegram={"token": DEFAULT_TOKEN, "api_base": fake_api.base_url},
            redis={"url": "redis://127.0.0.1:6379/15", "prefix": key_prefix},
            escalation={"agents_chat_id": AGENTS_CHAT_ID, "agent_ids": [777]},
            retrieval={"threshold": 0.5},
        )
        async with (
            open_app(settings, stores=stores, live=live, watch=False) as app,
            handoff.running_bot(fake_api, app) as running,
        ):
            yield running
