"""Retraining on request: one process trains, the new model is published, and every watcher swaps
it in only when it is ready — the old retriever answers until then."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import SimpleNamespace

from redis.asyncio import Redis

from knowledge_base.retrain import Retrainer, request_retrain, retrain_status
from knowledge_base.store import KnowledgeBaseStore
from knowledge_base.watcher import KbWatcher
from retrieval import FaqRetriever, SentenceTransformerEmbedder
from tests.conftest import SMALL_KB


async def test_requested_retrain_is_swapped_in_when_ready(
    redis_client: Redis, key_prefix: str, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    store = KnowledgeBaseStore(redis_client, key_prefix)
    await store.seed(SMALL_KB)
    trained: list[int] = []

    def fake_train(kb, out_root, config, progress=False):
        trained.append(len(kb))
        folder = Path(out_root) / "retriever-test"
        folder.mkdir(parents=True)
        return SimpleNamespace(model_dir=folder)

    retrainer = Retrainer(store, tmp_path / "models", train=fake_train)
    assert await retrainer.run_once() is None  # nothing requested, no schedule
    await request_retrain(store, "ops-alice")
    assert (await retrain_status(store))["requested"]["by"] == "ops-alice"
    model_dir = await retrainer.run_once()
    assert trained == [len(SMALL_KB)] and model_dir == tmp_path / "models" / "retriever-test"
    status = await retrain_status(store)
    assert status["model"]["path"] == str(model_dir) and not status["requested"]

    old = FaqRetriever(embedder)
    old.load(SMALL_KB)
    gate = threading.Event()

    class SlowToLoad(FaqRetriever):
        def warm_up(self) -> None:
            gate.wait(10)

    swapped: list[FaqRetriever] = []
    watcher = KbWatcher(
        store,
        old,
        executor=None,
        retriever_for_model=lambda path: SlowToLoad(embedder),
        on_swap=swapped.append,
        loaded_version=1,
    )
    syncing = asyncio.create_task(watcher.sync())
    await asyncio.sleep(0.3)
    # The new model is still loading: the old retriever keeps answering.
    assert not syncing.done() and watcher.retriever is old and not swapped
    assert old.search("when will my parcel arrive").top.id == "delivery-time"
    gate.set()
    assert await syncing
    assert swapped and watcher.retriever is swapped[0] and watcher.model == str(model_dir)
    assert swapped[0].search("when will my parcel arrive").top.id == "delivery-time"
