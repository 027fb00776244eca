"""Redis restarted mid-conversation: the bot reconnects, and the conversation and tickets are kept.

The test starts its own ``redis-server`` (append-only file in a temporary folder) on a free port,
so restarting it touches nothing else.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import InboxSettings
from bot.store import Stores, TurnRole, connect_redis
from knowledge_base import KnowledgeBase
from retrieval import FaqRetriever
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.handoff import handoff_app, handoff_settings, running_bot

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")

CHAT = 7301


class RedisServer:
    """A redis-server of the test's own, restartable on the same port with its data kept."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_the_bot_reconnects_and_keeps_the_conversation(
    redis_server: RedisServer, retriever: FaqRetriever, small_kb: KnowledgeBase
) -> None:
    # The chat lock held while the first answer is finished is in the append-only file too, so
    # after the restart it lasts until its lease runs out: a short lease keeps the test short.
    settings = handoff_settings().model_copy(update={"inbox": InboxSettings(claim_after_s=2)})
    redis = await connect_redis(redis_server.url)
    stores = Stores.build(redis, "restart", history_ttl_hours=1, history_max_turns=20)
    asked = answered = 0
    try:
        async with (
            FakeBotAPI() as api,
            handoff_app(settings, stores, retriever, small_kb) as app,
            running_bot(api, app) as run,
        ):
            asked += 1
            first = await run.ask(CHAT, "when will my parcel arrive?")
            answered += first.params["text"].startswith("Standard delivery")

            redis_server.stop()  # Redis goes away between two messages and comes back
            await asyncio.sleep(0.5)
            redis_server.start()

            asked += 1
            second = await run.ask(CHAT, "can I pay with paypal?", timeout=20)
            answered += second.params["text"].startswith("We accept")
            history = await stores.conversations.history(CHAT)
            sent = api.sent_texts(CHAT)
    finally:
        await redis.aclose()
    print(
        f"\nRedis restarted mid-conversation: sent {asked}, answered {answered}, lost {asked - answered}"
    )
    assert answered == asked == 2
    assert len(sent) == 2  # the two answers, and no apology for the restart
    # What was said before the restart is still there (append-only file), after it too.
    assert [t.role for t in history] == [TurnRole.CUSTOMER, TurnRole.BOT] * 2
    assert history[0].text == "when will my parcel arrive?"
