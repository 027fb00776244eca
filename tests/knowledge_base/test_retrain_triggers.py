"""When retraining is due besides a request: after enough new phrasings, on schedule, and the first
generator of a bot that has none; and what a failed generator training leaves behind."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.runner import _generator_trainer
from bot.services.watcher import KbWatcher
from bot.settings import Settings
from knowledge_base.registry import ModelKind
from knowledge_base.retrain import GENERATOR_MISSING, Retrainer, request_retrain
from knowledge_base.store import KnowledgeBaseStore
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever, SentenceTransformerEmbedder
from tests.conftest import SMALL_KB
from tests.support.live import FakeModels, RecordingLive
from tests.support.out_of_scope import UNANSWERABLE

LEARNED = [
    ("delivery-time", "where is my package"),
    ("return-item", "can I get my money back for a jacket"),
    ("reset-password", "locked out of my account"),
    ("payment-methods", "do you take amex"),
]


async def _learn(store: KnowledgeBaseStore, n: int, start: int = 0) -> None:
    for entry_id, text in LEARNED[start : start + n]:
        await store.add_phrasing(entry_id, text, "learned")


def _fake_retriever_training(out_root: Path, calls: list[int]):
    def train(kb, out_root_, config, out_of_scope=(), progress=False):
        calls.append(kb.phrasing_count())
        folder = Path(out_root_) / f"retriever-{len(calls)}"
        folder.mkdir(parents=True)
        return SimpleNamespace(model_dir=folder)

    return train


async def test_enough_new_phrasings_make_retraining_due_and_the_retrained_model_resets_the_count(
    kb_store: KnowledgeBaseStore, tmp_path: Path
) -> None:
    trained: list[int] = []
    retrainer = Retrainer(
        kb_store,
        tmp_path / "models",
        train=_fake_retriever_training(tmp_path, trained),
        after_phrasings=3,
    )
    assert await retrainer.due() is None
    await _learn(kb_store, 2)
    assert await retrainer.due() is None  # two of three
    # An answer edited and a phrasing replaced by another: one more new phrasing, not zero.
    await kb_store.update_entry("payment-methods", "admin", answer="Visa, Mastercard and PayPal.")
    await kb_store.remove_phrasing("payment-methods", "payment options", "admin")
    await kb_store.add_phrasing("payment-methods", "ways to pay", "learned")
    assert await retrainer.due() == "3 new phrasings since v1 (KB__RETRAIN_AFTER_PHRASINGS=3)"
    model_dir = await retrainer.run_once()
    assert model_dir == tmp_path / "models" / "retriever-1"
    assert trained == [SMALL_KB.phrasing_count() + 2]  # 3 added, 1 removed
    published = await kb_store.models.current(ModelKind.RETRIEVER)
    assert published.kb_version == await kb_store.live_version()
    assert await retrainer.due() is None  # counted from the version it was trained on now
    await _learn(kb_store, 2, start=2)
    assert await retrainer.due() is None


async def test_no_retraining_after_new_phrasings_when_switched_off(
    kb_store: KnowledgeBaseStore, tmp_path: Path
) -> None:
    retrainer = Retrainer(kb_store, tmp_path / "models", after_phrasings=0)
    await _learn(kb_store, 4)
    assert await retrainer.due() is None
    assert await retrainer.run_once() is None


async def test_the_schedule_and_the_phrasing_count_each_make_retraining_due(
    kb_store: KnowledgeBaseStore, tmp_path: Path
) -> None:
    retrainer = Retrainer(kb_store, tmp_path / "models", schedule_hours=1, after_phrasings=2)
    await kb_store.models.publish(ModelKind.RETRIEVER, str(tmp_path / "r1"), kb_version=1)
    await _learn(kb_store, 1)
    assert await retrainer.due() is None  # changed, but within the hour and below the count
    await _learn(kb_store, 1, start=1)
    assert (await retrainer.due()).startswith("2 new phrasings since v1")  # before the hour
    # The hour has passed (trained two hours ago) and the knowledge base changed: the schedule.
    live = await kb_store.live_version()
    model = {"path": str(tmp_path / "r1"), "name": "r1", "kb_version": live - 1}
    model["at"] = time.time() - 7200
    await kb_store.redis.set(kb_store.keys.model(), json.dumps(model))
    assert await retrainer.due() == "schedule"
    model["kb_version"] = live  # nothing changed since: the schedule does not retrain
    await kb_store.redis.set(kb_store.keys.model(), json.dumps(model))
    assert await retrainer.due() is None


async def test_a_training_version_no_longer_kept_counts_from_the_oldest_kept_one(
    redis_client, key_prefix: str, tmp_path: Path
) -> None:
    store = KnowledgeBaseStore(redis_client, key_prefix, keep_versions=3)
    await store.seed(SMALL_KB)
    await store.models.publish(ModelKind.RETRIEVER, str(tmp_path / "r1"), kb_version=1)
    await _learn(store, 1)  # v2
    for n in range(3):  # v3..v5: answers only; v1 and v2 are gone
        await store.update_entry("return-item", "admin", answer=f"Within {30 + n} days.")
    retrainer = Retrainer(store, tmp_path / "models", after_phrasings=1)
    assert await retrainer.due() is None  # v3..v5 added no phrasing; v2's is not counted twice
    await _learn(store, 1, start=1)
    assert (await retrainer.due()).startswith("1 new phrasings since v4")


async def test_a_bot_without_a_generator_trains_the_first_one_and_every_worker_swaps_it_in(
    kb_store: KnowledgeBaseStore,
    embedder: SentenceTransformerEmbedder,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    retriever_trained: list[int] = []
    generators: list[Path | None] = []

    async def train_generator(kb, retriever: Path | None) -> Path:
        generators.append(retriever)
        folder = tmp_path / "generator" / f"generator-{len(generators)}"
        folder.mkdir(parents=True)
        return folder

    retrainer = Retrainer(
        kb_store,
        tmp_path / "models",
        train=_fake_retriever_training(tmp_path, retriever_trained),
        train_generator=train_generator,
        generator_missing=True,
        after_phrasings=100,
    )
    assert await retrainer.due() == GENERATOR_MISSING  # due at start
    with caplog.at_level(logging.INFO):
        generator_dir = await retrainer.run_once()
    assert generator_dir == tmp_path / "generator" / "generator-1"
    assert retriever_trained == [] and generators == [None]  # the generator only, base retriever
    assert "training the first reply generator" in caplog.text
    published = await kb_store.models.current(ModelKind.GENERATOR)
    assert published.path == str(generator_dir)
    assert await retrainer.due() is None  # one is published now

    # Two workers that started with verbatim answers both swap it in.
    for _ in range(2):
        retriever = FaqRetriever(embedder)
        retriever.load(SMALL_KB)
        live = RecordingLive(retriever, VerbatimGenerator(), version=1)
        watcher = KbWatcher(kb_store, live, FakeModels(generator=lambda p: f"model at {p}"))
        assert await watcher.sync()
        assert live.generator == f"model at {generator_dir}"

    # A later retraining retrains the generator after the retriever, with the new retriever.
    await request_retrain(kb_store, "ops-alice")
    await retrainer.run_once()
    assert retriever_trained and generators[-1] == tmp_path / "models" / "retriever-1"


async def test_the_first_generator_is_not_due_when_there_is_one_or_auto_training_is_off(
    kb_store: KnowledgeBaseStore, tmp_path: Path
) -> None:
    def train_generator(kb, retriever):
        raise AssertionError("not expected to train")

    off = Retrainer(kb_store, tmp_path, train_generator=train_generator, generator_missing=False)
    assert await off.due() is None
    no_trainer = Retrainer(kb_store, tmp_path, generator_missing=True)
    assert await no_trainer.due() is None
    on = Retrainer(kb_store, tmp_path, train_generator=train_generator, generator_missing=True)
    assert await on.due() == GENERATOR_MISSING
    await kb_store.models.publish(ModelKind.GENERATOR, str(tmp_path / "g1"), kb_version=1)
    assert await on.due() is None


def test_the_bot_trains_a_first_generator_unless_auto_training_is_off(
    embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    retriever = FaqRetriever(embedder)
    verbatim = RecordingLive(retriever, VerbatimGenerator())
    settings = Settings(_env_file=None, generator={"model_path": tmp_path / "gen"})
    assert settings.generator.auto_train and settings.kb.retrain_after_phrasings == 1000
    assert _generator_trainer(verbatim, settings) is not None
    off = Settings(_env_file=None, generator={"model_path": tmp_path / "gen", "auto_train": False})
    assert _generator_trainer(verbatim, off) is None
    nowhere = Settings(_env_file=None, generator={"model_path": None})
    assert _generator_trainer(verbatim, nowhere) is None
    # A fine-tuned generator is retrained whatever the setting (it is not the first one).
    fine_tuned = RecordingLive(retriever, generator=object())
    assert _generator_trainer(fine_tuned, off) is not None


async def test_a_failed_first_generator_keeps_verbatim_replies_and_is_not_retried_every_poll(
    kb_store: KnowledgeBaseStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    def broken(kb, retriever) -> Path:
        attempts.append(1)
        raise OSError("the base model is missing")

    retrainer = Retrainer(
        kb_store,
        tmp_path,
        train_generator=broken,
        generator_missing=True,
        retrain_retriever=False,
    )
    with caplog.at_level(logging.ERROR):
        assert await retrainer.run_once() is None
    assert "reply generator training failed (the base model is missing)" in caplog.text
    assert "the verbatim FAQ answer keeps replying" in caplog.text
    assert await kb_store.models.current(ModelKind.GENERATOR) is None
    assert await retrainer.due() is None  # not again on the next poll
    assert await retrainer.run_once() is None and attempts == [1]
    assert not await kb_store.redis.exists(kb_store.keys.retrain_lock())

    # A retraining due for another reason tries again; a success clears the failure.
    def working(kb, retriever) -> Path:
        return tmp_path / "generator-2"

    retrainer.train_generator = working
    await request_retrain(kb_store, "ops-alice")
    assert await retrainer.run_once() == tmp_path / "generator-2"
    assert not await kb_store.redis.exists(kb_store.keys.generator_training_failed())


async def test_a_swapped_in_retriever_refits_its_confidence_on_the_learned_phrasings(
    kb_store: KnowledgeBaseStore,
    embedder: SentenceTransformerEmbedder,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _learn(kb_store, 4)
    await kb_store.models.publish(ModelKind.RETRIEVER, str(tmp_path / "r2"), kb_version=5)
    old = FaqRetriever(embedder)
    old.load(SMALL_KB)
    live = RecordingLive(old, version=1)
    fresh: list[FaqRetriever] = []
    # With 16 known out-of-scope questions (as from a settings file), the new model's four
    # held-out phrasings are enough to fit on (fewer would borrow the bundled calibration).
    unanswerable = UNANSWERABLE[:16]
    models = FakeModels(
        retriever=lambda path: (
            fresh.append(FaqRetriever(embedder, out_of_scope=unanswerable)) or fresh[-1]
        )
    )
    watcher = KbWatcher(kb_store, live, models)
    with caplog.at_level(logging.INFO, logger="retrieval.retriever"):
        assert await watcher.sync()
    assert live.retriever is fresh[0]
    served = live.retriever.knowledge_base
    assert served.phrasing_count() == SMALL_KB.phrasing_count() + 4
    # Held out: one of each entry's five phrasings (the learned ones are among them).
    assert "confidence calibrated on 4 held-out phrasings and 16 out-of-scope" in caplog.text
    # Refitted by the new model itself, on its own knowledge base.
    assert fresh[0]._snapshot.calibration is not None
    assert fresh[0]._snapshot.calibrator.samples == 4 + 16
    assert live.retriever.search("do you take amex").top.id == "payment-methods"


async def test_a_version_missing_from_redis_is_reported_once_and_retrains_nothing(
    kb_store: KnowledgeBaseStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await _learn(kb_store, 2)
    await kb_store.redis.delete(kb_store.keys.snapshot(1))  # lost (e.g. a restored backup)
    retrainer = Retrainer(kb_store, tmp_path / "models", after_phrasings=1)
    with caplog.at_level(logging.WARNING):
        assert await retrainer.due() is None
        assert await retrainer.due() is None
    warned = [r for r in caplog.records if "new phrasings not counted" in r.getMessage()]
    assert len(warned) == 1 and "version 1 is no longer kept" in warned[0].getMessage()


@pytest.mark.slow
async def test_the_retriever_is_retrained_in_a_background_process_and_published(
    kb_store: KnowledgeBaseStore, tmp_path: Path
) -> None:
    from retrieval.training import TrainingConfig

    await _learn(kb_store, 4)
    retrainer = Retrainer(
        kb_store, tmp_path / "models", config=TrainingConfig(time_budget_s=20), after_phrasings=4
    )
    model_dir = await retrainer.run_once()
    assert model_dir is not None and model_dir.parent == tmp_path / "models"
    published = await kb_store.models.current(ModelKind.RETRIEVER)
    assert published.path == str(model_dir)
    assert published.kb_version == await kb_store.live_version()
    retrained = FaqRetriever(SentenceTransformerEmbedder(model_dir))
    retrained.load(await kb_store.at_version(published.kb_version))
    assert retrained.search("where is my package").top.id == "delivery-time"


async def test_the_bots_generator_training_is_announced_and_its_failure_leaves_verbatim_replies(
    kb_store: KnowledgeBaseStore,
    embedder: SentenceTransformerEmbedder,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The real path: the bot's trainer runs in a child process; a retriever model that is not
    there fails it there, and the bot keeps its verbatim replies."""
    retriever = FaqRetriever(embedder)
    retriever.load(SMALL_KB)
    live = RecordingLive(retriever, VerbatimGenerator(), version=1)
    settings = Settings(
        _env_file=None,
        generator={"model_path": tmp_path / "gen"},
        retrieval={"model_path": tmp_path / "no-such-model", "cache_dir": tmp_path / "cache"},
        kb={"retrain_budget_seconds": 600},
    )
    retrainer = Retrainer(
        kb_store,
        tmp_path / "models",
        train_generator=_generator_trainer(live, settings),
        generator_missing=True,
        retrain_retriever=False,
    )
    with caplog.at_level(logging.INFO):
        assert await retrainer.run_once() is None
    assert "training the first reply generator on v1 (no reply generator yet)" in caplog.text
    assert "about 12 minutes (600 s of training" in caplog.text
    assert "replies are the verbatim FAQ answers meanwhile" in caplog.text
    assert "reply generator training failed" in caplog.text and "no-such-model" in caplog.text
    assert isinstance(live.generator, VerbatimGenerator)
    assert await kb_store.models.current(ModelKind.GENERATOR) is None
    assert not list((tmp_path / "gen").glob("generator-*"))  # no half-written version
