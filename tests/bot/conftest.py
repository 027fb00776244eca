"""A running bot for flow tests: real Dispatcher, real aiohttp session, local fake Bot API, real Redis."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from bot.app import open_app
from bot.services.live import LiveModels
from bot.settings import load_settings
from bot.store import Stores
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever
from tests.conftest import REDIS_URL, SMALL_KB
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


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, key_prefix: str, tmp_path: Path) -> Iterator[Path]:
    """``supportbot`` commands run in ``tmp_path`` against the test's Redis prefix (removed after)."""
    monkeypatch.setenv("REDIS__URL", REDIS_URL)
    monkeypatch.setenv("REDIS__PREFIX", key_prefix)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{key_prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def kb_env(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``cli_env`` with the small test knowledge base as ``KB__PATH`` (seeded on first use)."""
    small = cli_env / "small.jsonl"
    small.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in SMALL_KB), encoding="utf-8")
    monkeypatch.setenv("KB__PATH", str(small))
    return cli_env
