"""A running bot for handoff tests and benchmarks: the product's App + dispatcher polling a FakeBotAPI."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher

from bot.app import App, build_dispatcher, open_app
from bot.services.escalation import EscalationService
from bot.services.live import LiveModels
from bot.settings import Settings
from bot.store import Stores
from knowledge_base import KnowledgeBase
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever

from .fake_bot_api import DEFAULT_TOKEN, ApiCall, FakeBotAPI

AGENTS_CHAT = -1001555000111
AGENT_ID = 5001
AGENT_NAME = "Dana"
CUSTOMER = 4242


def handoff_settings(**escalation: Any) -> Settings:
    values: dict[str, Any] = {
        "agents_chat_id": AGENTS_CHAT,
        "agent_ids": [AGENT_ID],
        "sla_minutes": 15,
        "sla_check_seconds": 0.2,
    }
    values.update(escalation)
    return Settings(
        _env_file=None,
        telegram={"token": DEFAULT_TOKEN},
        escalation=values,
        console={"password": "s3cret-pass"},
    )


@contextlib.asynccontextmanager
async def handoff_app(
    settings: Settings, stores: Stores, retriever: FaqRetriever, kb: KnowledgeBase
) -> AsyncIterator[App]:
    """The product's App over the test's Redis prefix and a small, already loaded retriever."""
    live = LiveModels(retriever, VerbatimGenerator(), kb=kb)
    async with open_app(settings, stores=stores, live=live, watch=False) as app:
        yield app


@dataclass
class RunningBot:
    api: FakeBotAPI
    bot: Bot
    dp: Dispatcher
    app: App

    @property
    def escalation(self) -> EscalationService:
        return self.dp["escalation"]

    async def say(self, chat_id: int, text: str, **kwargs: Any) -> dict[str, Any]:
        return self.api.push_update(self.api.text_update(chat_id, text, **kwargs))

    async def ask(self, chat_id: int, text: str, timeout: float = 5.0) -> ApiCall:
        """``chat_id`` says ``text``; the bot's next message to that chat."""
        start = len(self.api.calls)
        await self.say(chat_id, text)
        return await self.api.wait_for(
            "sendMessage", lambda p: p["chat_id"] == chat_id, timeout, start=start
        )

    async def reply_to_customer(self, chat_id: int = CUSTOMER, timeout: float = 5.0) -> ApiCall:
        return await self.api.wait_for(
            "sendMessage", lambda p: p["chat_id"] == chat_id, timeout, start=len(self.api.calls)
        )


@contextlib.asynccontextmanager
async def running_bot(api: FakeBotAPI, app: App) -> AsyncIterator[RunningBot]:
    """Poll the fake server with the product's dispatcher until the block ends."""
    bot = api.make_bot()
    dp = build_dispatcher(app, bot)
    polling = asyncio.create_task(
        dp.start_polling(
            bot,
            handle_signals=False,
            close_bot_session=False,
            polling_timeout=1,
            allowed_updates=dp.resolve_used_update_types(),
        )
    )
    try:
        yield RunningBot(api, bot, dp, app)
    finally:
        with contextlib.suppress(RuntimeError):
            await asyncio.wait_for(dp.stop_polling(), timeout=5)
        await asyncio.wait_for(polling, timeout=5)
        await bot.session.close()


@contextlib.asynccontextmanager
async def handoff_bot(
    stores: Stores, retriever: FaqRetriever, kb: KnowledgeBase, settings: Settings | None = None
) -> AsyncIterator[RunningBot]:
    """The whole handoff set-up in one: the App (``handoff_settings()`` unless given), a fresh
    fake Bot API server and the dispatcher polling it."""
    async with (
        handoff_app(settings or handoff_settings(), stores, retriever, kb) as app,
        FakeBotAPI() as api,
        running_bot(api, app) as running,
    ):
        yield running
