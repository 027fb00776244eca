"""The model registry in the real Redis: what is published, read back typed, in one snapshot."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis

from knowledge_base.registry import ModelKind, ModelRegistry, PublishedModel
from knowledge_base.store import KnowledgeBaseStore
from tests.conftest import SMALL_KB


@pytest.fixture
def store(redis_client: Redis, key_prefix: str) -> KnowledgeBaseStore:
    return KnowledgeBaseStore(redis_client, key_prefix)


async def test_nothing_published_yet(store: KnowledgeBaseStore) -> None:
    assert await store.models.current(ModelKind.RETRIEVER) is None
    assert await store.models.current(ModelKind.GENERATOR) is None
    assert await store.models.snapshot() == (0, None, None)


async def test_each_kind_has_its_latest_model(store: KnowledgeBaseStore) -> None:
    before = time.time()
    first = await store.models.publish(ModelKind.RETRIEVER, "/models/retriever-1", kb_version=3)
    await store.models.publish(ModelKind.RETRIEVER, "/models/retriever-2", kb_version=4)
    generator = await store.models.publish(ModelKind.GENERATOR, "/models/gen-1", kb_version=4)
    assert first.kind is ModelKind.RETRIEVER and first.at >= before
    retriever = await store.models.current(ModelKind.RETRIEVER)
    assert retriever is not None
    assert (retriever.kind, retriever.path, retriever.kb_version) == (
        ModelKind.RETRIEVER,
        "/models/retriever-2",
        4,
    )
    assert await store.models.current(ModelKind.GENERATOR) == generator


async def test_snapshot_reads_the_live_version_and_both_models(store: KnowledgeBaseStore) -> None:
    await store.seed(SMALL_KB)
    retriever = await store.models.publish(ModelKind.RETRIEVER, "/r", kb_version=1)
    snapshot = await store.models.snapshot()
    assert snapshot.kb_version == 1
    assert snapshot.retriever == retriever and snapshot.generator is None
    generator = await store.models.publish(ModelKind.GENERATOR, "/g", kb_version=1)
    assert await store.models.snapshot() == (1, retriever, generator)


async def test_stored_layout_is_unchanged(
    store: KnowledgeBaseStore, redis_client: Redis, key_prefix: str
) -> None:
    """Models published before the registry existed are read (their name is the folder's), and
    new ones are written alike, with their name."""
    old = {"path": "/models/retriever-old", "kb_version": 7, "at": 1700000000.5}
    await redis_client.set(f"{key_prefix}:kb:model", json.dumps(old))
    assert await store.models.current(ModelKind.RETRIEVER) == PublishedModel(
        ModelKind.RETRIEVER, "/models/retriever-old", 7, 1700000000.5, "retriever-old"
    )
    published = await ModelRegistry(redis_client, store.keys).publish(
        ModelKind.GENERATOR, "/models/gen", kb_version=8
    )
    stored = json.loads(await redis_client.get(f"{key_prefix}:kb:generator-model"))
    assert stored == {"path": "/models/gen", "name": "gen", "kb_version": 8, "at": published.at}


async def test_another_host_finds_a_published_model_under_its_own_models_folder(
    store: KnowledgeBaseStore, tmp_path: Path
) -> None:
    """The shared volume is mounted at /data/models on the publisher and elsewhere on another
    machine: each host looks the version up by name under its own models folder."""
    publisher, other = tmp_path / "publisher" / "models", tmp_path / "other" / "mnt" / "models"
    (publisher / "retriever-20261205").mkdir(parents=True)
    await store.models.publish(
        ModelKind.RETRIEVER, str(publisher / "retriever-20261205"), kb_version=2
    )
    published = await store.models.current(ModelKind.RETRIEVER)
    assert published.on_this_host([publisher]) == str(publisher / "retriever-20261205")
    assert published.on_this_host([other]) == str(publisher / "retriever-20261205")  # same box
    (publisher / "retriever-20261205").rmdir()  # a machine that cannot see the publisher's path
    assert published.on_this_host([other]) is None  # the volume is not mounted here
    (other / "retriever-20261205").mkdir(parents=True)  # … and now it is, elsewhere
    assert published.on_this_host([None, other]) == str(other / "retriever-20261205")
