"""The watcher follows the live version: woken by the commit's notification, polling as a fallback."""

from __future__ import annotations

import asyncio
import time

from bot.services.watcher import KbWatcher
from knowledge_base import KnowledgeBase
from knowledge_base.store import KnowledgeBaseStore
from tests.conftest import SMALL_KB
from tests.support.live import FakeModels, RecordingLive


class RecordingRetriever:
    def __init__(self) -> None:
        self.loaded: list[KnowledgeBase] = []

    def load(self, kb: KnowledgeBase) -> dict[str, float]:
        self.loaded.append(kb)
        return {"embedded": 0.0}


async def test_commit_notification_wakes_the_watcher(kb_store: KnowledgeBaseStore) -> None:
    retriever = RecordingRetriever()
    live = RecordingLive(retriever)
    seen = live.served
    watcher = KbWatcher(kb_store, live, interval=30.0)
    task = asyncio.create_task(watcher.run())
    try:
        while live.version != 1:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # subscribed
        started = time.perf_counter()
        await kb_store.update_entry("return-item", "alice", answer="Sixty days.")
        while live.version != 2:
            assert time.perf_counter() - started < 2, "not woken by the notification"
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert seen == [1, 2]
    assert retriever.loaded[-1]["return-item"].answer == "Sixty days."


async def test_watcher_on_the_in_process_store_stops_when_cancelled() -> None:
    # The terminal chat's store answers through asyncio.wait_for, which on Python 3.11 can swallow
    # a cancellation; the watcher used to keep running after /quit.
    from bot.store import in_process_redis

    redis = in_process_redis()
    store = KnowledgeBaseStore(redis, "chat")
    await store.seed(SMALL_KB)
    for attempt in range(40):
        watcher = KbWatcher(store, RecordingLive(RecordingRetriever()), interval=0.001)
        task = asyncio.create_task(watcher.run())
        while watcher.live.version != 1:
            await asyncio.sleep(0)
        for _ in range(attempt):  # cancel at a different point of the loop each time
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=3)
        assert task in done and task.cancelled(), f"attempt {attempt}"
    await redis.aclose()


async def test_out_of_scope_file_changes_are_served_and_a_bad_one_keeps_the_old(
    kb_store: KnowledgeBaseStore, tmp_path
) -> None:
    from knowledge_base.loaders import OutOfScopeFile

    class Retriever(RecordingRetriever):
        out_of_scope: tuple[str, ...] = ("who won the match",)
        knowledge_base = SMALL_KB

        def load(self, kb, out_of_scope=None):
            self.loaded.append((kb, out_of_scope))
            return {}

    path = tmp_path / "out-of-scope.txt"
    path.write_text("who won the match\n", encoding="utf-8")
    retriever = Retriever()
    models = FakeModels(out_of_scope=OutOfScopeFile(path))
    watcher = KbWatcher(kb_store, RecordingLive(retriever, version=1), models)
    assert not await watcher.sync() and retriever.loaded == []  # the list it already serves
    path.write_text("who won the match\nwrite me a poem\n", encoding="utf-8")
    assert await watcher.sync()
    assert retriever.loaded == [(SMALL_KB, ["who won the match", "write me a poem"])]
    assert retriever.out_of_scope == ("who won the match", "write me a poem")
    assert not await watcher.sync()  # unchanged file: not read again
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "where is my parcel", "faq_id": "delivery-time"}\n', encoding="utf-8")
    models.out_of_scope = OutOfScopeFile(bad)
    assert not await watcher.sync()
    path.unlink()
    models.out_of_scope = OutOfScopeFile(path)
    assert not await watcher.sync()
    assert retriever.out_of_scope == ("who won the match", "write me a poem")
    assert len(retriever.loaded) == 1
