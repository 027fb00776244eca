"""SIGKILL of a `supportbot run` worker while it handles a question: the update was already
confirmed to Telegram, so only the inbox still has it; a second worker answers it, once.

Prints what was sent, answered and lost (``pytest -s`` shows it).
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from redis.asyncio import Redis

from tests.support.bot_processes import worker
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]
CHAT = 9101
QUESTION = "How long does delivery take?"


async def test_a_killed_worker_s_update_is_answered_once_by_another(
    tmp_path: Path, key_prefix: str, redis_url: str, redis_client: Redis
) -> None:
    async with FakeBotAPI() as api:
        env = {
            **os.environ,
            "TELEGRAM__TOKEN": DEFAULT_TOKEN,
            "TELEGRAM__API_BASE": api.base_url,
            "TELEGRAM__MODE": "polling",
            "REDIS__URL": redis_url,
            "REDIS__PREFIX": key_prefix,
            "RETRIEVAL__CACHE_DIR": str(tmp_path / "cache"),
            "GENERATOR__MODEL_PATH": str(tmp_path / "no-generator"),  # verbatim FAQ answers
            "GENERATOR__AUTO_TRAIN": "false",  # and no generator trained beside the test
            "INBOX__CLAIM_AFTER_S": "1.5",
            # Telegram answers 500 while the first worker sends: it keeps retrying, so the kill
            # lands while the update is in hand and before any answer went out.
            "SENDING__ATTEMPTS": "20",
            "SENDING__BACKOFF_S": "0.3",
            "SENDING__MAX_BACKOFF_S": "0.5",
        }
        log = tmp_path / "workers.log"
        outage = api.fail(
            "sendMessage", 500, "Internal Server Error", times=None, when=lambda p: True
        )
        try:
            async with worker(env, log) as first:
                await api.wait_for("getUpdates", timeout=240)
                api.push_update(api.text_update(CHAT, QUESTION))
                await api.wait_for("sendMessage", lambda p: p["chat_id"] == CHAT, timeout=60)
                first.send_signal(signal.SIGKILL)
                assert await first.wait() == -signal.SIGKILL
            # The first worker asked for the next offset: Telegram will not send it again.
            assert api.pending_updates == []
            assert api.sent_texts(CHAT) == []
            outage.times = outage.hits  # Telegram is fine again

            async with worker(env, log) as second:
                await api.wait_for(
                    "sendMessage",
                    lambda p: p["chat_id"] == CHAT,
                    timeout=240,
                    start=len(api.calls),
                )
                await asyncio.sleep(3)  # two more claim timeouts: nothing handles it again
        except (AssertionError, TimeoutError):
            print(log.read_text(errors="replace")[-6000:])
            raise
    assert second.returncode == 0  # SIGTERM: a graceful stop
    answers = [t for t in api.sent_texts(CHAT) if t.startswith("Standard delivery")]
    assert len(answers) == 1, api.sent_texts(CHAT)
    assert len(api.sent_texts(CHAT)) == 1
    print(f"\nSIGKILL mid-update: sent 1, answered {len(answers)}, lost {1 - len(answers)}")
