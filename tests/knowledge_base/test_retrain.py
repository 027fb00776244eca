"""Retraining on request: one process trains, the new model is published, and every watcher swaps
it in only when it is ready — the old retriever answers until then."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.services.watcher import KbWatcher
from knowledge_base.registry import ModelKind
from knowledge_base.retrain import Retrainer, request_retrain, retrain_status
from knowledge_base.store import KnowledgeBaseStore
from retrieval import FaqRetriever, SentenceTransformerEmbedder
from tests.conftest import SMALL_KB
from tests.support.live import FakeModels, RecordingLive


def _saved_version(out_root: Path, name: str) -> SimpleNamespace:
    """What a retriever training run reports, for an (empty) version folder ``name``."""
    folder = Path(out_root) / name
    folder.mkdir(parents=True)
    return SimpleNamespace(model_dir=folder)


async def test_requested_retrain_is_swapped_in_when_ready(
    kb_store: KnowledgeBaseStore, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    trained: list[int] = []
    negatives: list[tuple[str, ...]] = []

    def fake_train(kb, out_root, config, out_of_scope=(), progress=False):
        trained.append(len(kb))
        negatives.append(tuple(out_of_scope))
        return _saved_version(out_root, "retriever-test")

    retrainer = Retrainer(
        kb_store, tmp_path / "models", train=fake_train, out_of_scope=lambda: ["who won the match"]
    )
    assert await retrainer.run_once() is None  # nothing requested, no schedule
    await request_retrain(kb_store, "ops-alice")
    assert (await retrain_status(kb_store))["requested"]["by"] == "ops-alice"
    model_dir = await retrainer.run_once()
    assert trained == [len(SMALL_KB)] and model_dir == tmp_path / "models" / "retriever-test"
    assert negatives == [("who won the match",)]
    status = await retrain_status(kb_store)
    assert status["model"]["path"] == str(model_dir) and not status["requested"]

    old = FaqRetriever(embedder)
    old.load(SMALL_KB)
    gate = threading.Event()

    class SlowToLoad(FaqRetriever):
        def warm_up(self) -> None:
            gate.wait(10)

    live = RecordingLive(old, version=1)
    swapped: list[FaqRetriever] = live.retrievers
    models = FakeModels(retriever=lambda path: SlowToLoad(embedder))
    watcher = KbWatcher(kb_store, live, models, executor=None)
    syncing = asyncio.create_task(watcher.sync())
    await asyncio.sleep(0.3)
    # The new model is still loading: the old retriever keeps answering.
    assert not syncing.done() and live.retriever is old and not swapped
    assert old.search("when will my parcel arrive").top.id == "delivery-time"
    gate.set()
    assert await syncing
    assert swapped and live.retriever is swapped[0] and watcher.model == str(model_dir)
    assert swapped[0].search("when will my parcel arrive").top.id == "delivery-time"


async def test_generator_is_retrained_after_the_retriever_and_swapped_in(
    kb_store: KnowledgeBaseStore, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    order: list[str] = []

    def fake_train(kb, out_root, config, out_of_scope=(), progress=False):
        order.append("retriever")
        return _saved_version(out_root, "retriever-v2")

    def fake_train_generator(kb, retriever: Path | None) -> Path:
        order.append("generator")
        assert retriever == tmp_path / "models" / "retriever-v2"  # trained with the new one
        return tmp_path / "generator" / "generator-v2"

    retrainer = Retrainer(
        kb_store, tmp_path / "models", train=fake_train, train_generator=fake_train_generator
    )
    await request_retrain(kb_store, "ops-alice")
    await retrainer.run_once()
    assert order == ["retriever", "generator"]

    retriever = FaqRetriever(embedder)
    retriever.load(SMALL_KB)
    loaded: list[str] = []
    live = RecordingLive(retriever, version=1)
    serving: list[object] = live.generators
    models = FakeModels(generator=lambda path: loaded.append(path) or f"model at {path}")
    watcher = KbWatcher(kb_store, live, models)
    assert await watcher.sync()
    assert loaded == [str(tmp_path / "generator" / "generator-v2")]
    assert serving == [f"model at {loaded[0]}"]
    assert not await watcher.sync()  # the same version is not loaded twice


async def test_a_generator_that_fails_to_load_leaves_the_old_one_replying(
    kb_store: KnowledgeBaseStore, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    await kb_store.models.publish(ModelKind.GENERATOR, str(tmp_path / "broken"), kb_version=1)
    retriever = FaqRetriever(embedder)
    retriever.load(SMALL_KB)
    live = RecordingLive(retriever, version=1)
    serving: list[object] = live.generators

    def broken(path: str):
        raise OSError(f"{path}: no model files")

    watcher = KbWatcher(kb_store, live, FakeModels(generator=broken))
    assert not await watcher.sync()
    assert serving == [] and watcher.generator_model == str(tmp_path / "broken")


async def test_a_published_model_this_host_cannot_see_is_reported_once_and_loaded_when_it_can(
    kb_store: KnowledgeBaseStore,
    embedder: SentenceTransformerEmbedder,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = str(tmp_path / "generator" / "generator-v3")
    await kb_store.models.publish(ModelKind.GENERATOR, path, kb_version=1)
    retriever = FaqRetriever(embedder)
    retriever.load(SMALL_KB)
    live = RecordingLive(retriever, version=1)
    models = FakeModels(generator=lambda p: f"model at {p}")
    models.not_here.add(path)
    watcher = KbWatcher(kb_store, live, models)
    with caplog.at_level(logging.ERROR):
        assert not await watcher.sync()
        assert not await watcher.sync()
    missing = [r for r in caplog.records if "is not on this host" in r.getMessage()]
    assert len(missing) == 1 and "generator-v3" in missing[0].getMessage()
    assert live.generators == []  # the model serving now keeps serving
    models.not_here.clear()  # the shared volume is mounted now
    assert await watcher.sync()
    assert live.generators == [f"model at {path}"]
