"""Hot reload across two running bot processes sharing one Redis: an edit is answered within 5 s."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from redis.asyncio import Redis

from knowledge_base.store import KnowledgeBaseStore
from tests.conftest import REDIS_URL, SMALL_KB
from tests.support.bot_processes import BotProcess, until_answered

QUESTION = "how do I return an item?"


@pytest.mark.timeout(400)
async def test_edit_reaches_two_processes_within_5_seconds(
    redis_client: Redis, key_prefix: str, tmp_path: Path
) -> None:
    kb_file = tmp_path / "small.jsonl"
    kb_file.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in SMALL_KB), encoding="utf-8")
    env = {
        "REDIS__URL": REDIS_URL,
        "REDIS__PREFIX": key_prefix,
        "KB__PATH": str(kb_file),
        "RETRIEVAL__CACHE_DIR": str(tmp_path / "cache"),
        "RETRIEVAL__THRESHOLD": "0.3",
        "RETRIEVAL__WORKERS": "1",
        "LOG_LEVEL": "WARNING",
        "OMP_NUM_THREADS": "1",  # two processes on a small box: no oversubscribed torch threads
    }
    first, second = await asyncio.gather(BotProcess.start(env), BotProcess.start(env))
    try:
        assert first.ready_version == second.ready_version == 1  # seeded once, shared
        for process in (first, second):
            reply = await process.ask(QUESTION)
            assert reply["text"] == SMALL_KB["return-item"].answer
        store = KnowledgeBaseStore(redis_client, key_prefix)
        new_answer = "Returns are free for 60 days — start at https://shop.example/returns."
        await store.update_entry("return-item", "ops-alice", answer=new_answer)
        waits = await asyncio.gather(
            until_answered(first, QUESTION, new_answer, 5.0),
            until_answered(second, QUESTION, new_answer, 5.0),
        )
        assert max(waits) < 5.0
        # A rollback travels the same way.
        await store.rollback(1, "ops-bob")
        await asyncio.gather(
            until_answered(first, QUESTION, SMALL_KB["return-item"].answer, 5.0),
            until_answered(second, QUESTION, SMALL_KB["return-item"].answer, 5.0),
        )
        assert (await first.ask(QUESTION))["version"] == 3
    finally:
        await asyncio.gather(first.stop(), second.stop())
