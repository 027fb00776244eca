"""Learned phrasings are committed in batches (``LEARNING__COMMIT_EVERY_S``): one knowledge-base
version per batch, so a busy bot neither floods the kept versions nor reloads every worker once
per phrasing. The queue lives in Redis: a worker that dies between queueing and committing loses
nothing, two flushers at once commit once, and each phrasing keeps its own record and undo."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.app import App, build_learning, open_app
from bot.services.events import EventKind, RedisEventLog
from bot.services.learning import LEARNED_AUTHOR, LearningService
from bot.services.live import LiveModels
from bot.services.watcher import KbWatcher
from bot.settings import load_settings
from bot.store import Stores
from bot.store.learning import LearnedStatus
from knowledge_base.learning import Evidence
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever
from tests.conftest import SMALL_KB
from tests.support.fake_bot_api import ApiCall
from tests.support.handoff import RunningBot, handoff_bot, handoff_settings

ALICE, BOB, CAROL, DAVE = 6101, 6102, 6103, 6104
# One new phrasing for each of three entries, each confirmed by two customers.
LEARNED = {
    "return-item": "i want my money back",
    "delivery-time": "where is my parcel, it is late",
    "reset-password": "i lost my password and cannot sign in",
}
RETURN_ANSWER = "You can return any item within 30 days at https://shop.example/returns."


def batching(**learning) -> object:
    settings = handoff_settings()
    settings.learning = settings.learning.model_copy(
        update={"min_customers": 2, "min_confidence": 0.5, "commit_every_s": 60} | learning
    )
    return settings


@pytest_asyncio.fixture
async def app(stores: Stores, retriever: FaqRetriever) -> AsyncIterator[App]:
    live = LiveModels(retriever, VerbatimGenerator(), kb=SMALL_KB)
    async with open_app(batching(), stores=stores, live=live, watch=False) as opened:
        yield opened


def another_worker(app: App) -> LearningService:
    """The learning service of a second bot worker over the same Redis."""
    worker = build_learning(app.settings, app.stores, app.knowledge, app.events, app.executor)
    worker.live, worker.abusive = app.learning.live, app.learning.abusive
    return worker


async def confirm_all(app: App) -> None:
    for entry_id, text in LEARNED.items():
        for chat_id in (ALICE, BOB):
            await app.learning.confirmed(chat_id, text, entry_id, Evidence.THUMBS_UP, 0.8)


async def test_a_batch_is_one_version_with_a_record_and_an_event_per_phrasing(
    app: App, stores: Stores
) -> None:
    await confirm_all(app)
    learning = app.learning
    assert await app.knowledge.store.live_version() == 1  # decided, not yet committed
    assert await learning.learned() == [] and await learning.repository.queued() == 3
    assert (await learning.stats())["add:queued"] == 3  # as `kb learned` and the console show
    # A third customer's same question while it waits is not queued twice (the claim holds).
    await learning.confirmed(CAROL, LEARNED["return-item"], "return-item", Evidence.THUMBS_UP, 0.8)
    assert await learning.repository.queued() == 3

    learned = await learning.flush_once()
    assert len(learned) == 3
    version, kb = await app.knowledge.live()
    assert version == 2  # one version for the three
    info = await app.knowledge.store.version_info(2)
    assert info.author == LEARNED_AUTHOR and info.summary.startswith(
        "add 3 phrasings to 3 entries"
    )
    for entry_id, text in LEARNED.items():
        assert text in kb[entry_id].alternatives
    records = await learning.learned()
    assert sorted((r.entry_id, r.text, r.version) for r in records) == sorted(
        (entry_id, text, 2) for entry_id, text in LEARNED.items()
    )
    assert len({r.id for r in records}) == 3
    assert await learning.repository.queued() == 0
    events = await RedisEventLog(stores.redis, stores.keys).read()
    assert sorted(e.entry_id for e in events if e.kind is EventKind.PHRASING_LEARNED) == sorted(
        LEARNED
    )
    assert [e.version for e in events if e.kind is EventKind.KB_CHANGED] == [2]
    stats = await learning.stats()
    assert stats["add:confirmed"] == 3 and "add:queued" not in stats
    # Nothing queued: a flush commits nothing (and within the interval, another worker waits).
    assert await learning.flush() == []
    assert await another_worker(app).flush_once() is None
    assert await app.knowledge.store.live_version() == 2


async def test_a_worker_dying_between_queue_and_commit_loses_nothing(app: App) -> None:
    await confirm_all(app)
    # A flusher took the queue as its batch, then died before committing it.
    (taken,) = await app.learning.repository.batches()
    assert len(taken[1]) == 3
    assert await app.knowledge.store.live_version() == 1
    # Meanwhile another phrasing is queued (by two more customers: each gives 3 a day).
    for chat_id in (CAROL, DAVE):
        await app.learning.confirmed(
            chat_id, "how to change my password", "reset-password", Evidence.THUMBS_UP, 0.8
        )
    assert await app.learning.repository.queued() == 4
    # The next flusher (another worker, after a restart) commits both: the leftover batch first.
    learned = await another_worker(app).flush()
    assert len(learned) == 4 and await app.learning.repository.queued() == 0
    assert [r.version for r in learned] == [2, 2, 2, 3]
    _, kb = await app.knowledge.live()
    assert "how to change my password" in kb["reset-password"].alternatives
    assert len(await app.learning.learned()) == 4


async def test_two_flushers_at_once_commit_once(app: App) -> None:
    await confirm_all(app)
    other = another_worker(app)
    # Two workers' timers fire together: one takes the turn.
    results = await asyncio.gather(app.learning.flush_once(), other.flush_once())
    assert sorted(len(r) if r is not None else -1 for r in results) == [-1, 3]
    assert await app.knowledge.store.live_version() == 2
    # Even without the turn (it expired), two flushes of the same batch add it once.
    for chat_id in (CAROL, DAVE):
        await app.learning.confirmed(
            chat_id, "how to change my password", "reset-password", Evidence.THUMBS_UP, 0.8
        )
    first, second = await asyncio.gather(app.learning.flush(), other.flush())
    assert len(first) + len(second) == 1
    assert await app.knowledge.store.live_version() == 3
    assert len(await app.learning.learned()) == 4
    assert await app.learning.repository.queued() == 0


async def test_undo_of_one_phrasing_of_a_batch_leaves_the_others(app: App) -> None:
    await confirm_all(app)
    await app.learning.flush()
    records = {r.entry_id: r for r in await app.learning.learned()}
    undone, result = await app.learning.undo(records["delivery-time"].id, "ops-bob")
    assert undone.status == LearnedStatus.UNDONE and result.version.number == 3
    _, kb = await app.knowledge.live()
    assert LEARNED["delivery-time"] not in kb["delivery-time"].alternatives
    assert LEARNED["return-item"] in kb["return-item"].alternatives
    assert LEARNED["reset-password"] in kb["reset-password"].alternatives
    statuses = {r.entry_id: r.status for r in await app.learning.learned()}
    assert statuses == {
        "delivery-time": LearnedStatus.UNDONE,
        "return-item": LearnedStatus.LIVE,
        "reset-password": LearnedStatus.LIVE,
    }


async def test_a_queued_phrasing_whose_entry_went_is_skipped_alone(app: App) -> None:
    await confirm_all(app)
    await app.knowledge.delete_entry("delivery-time", "ops-alice")  # v2, while they wait
    learned = await app.learning.flush()
    assert sorted(r.entry_id for r in learned) == ["reset-password", "return-item"]
    assert await app.knowledge.store.live_version() == 3
    assert (await app.learning.stats())["skip:kb_refused"] == 1
    assert await app.learning.repository.queued() == 0


def test_commit_every_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(_env_file=None).learning.commit_every_s == 60
    monkeypatch.setenv("LEARNING__COMMIT_EVERY_S", "0")
    assert load_settings(_env_file=None).learning.commit_every_s == 0
    monkeypatch.setenv("LEARNING__COMMIT_EVERY_S", "-5")
    with pytest.raises(Exception, match="LEARNING__COMMIT_EVERY_S"):
        load_settings(_env_file=None)


# ------------------------------------------------------------------ end to end


@pytest_asyncio.fixture
async def run(stores: Stores, retriever, small_kb) -> AsyncIterator[RunningBot]:
    async with handoff_bot(stores, retriever, small_kb, batching(commit_every_s=0.3)) as running:
        running.app.spawn(running.app.learning.run(), "learning-commit")  # as bot/runner.py does
        yield running


def buttons(call: ApiCall) -> list[str]:
    rows = call.params["reply_markup"]["inline_keyboard"]
    return [b["callback_data"] for row in rows for b in row]


async def test_thumbs_up_is_learned_by_the_next_batch_through_the_dispatcher(
    run: RunningBot,
) -> None:
    for chat_id in (ALICE, BOB):
        reply = await run.ask(chat_id, LEARNED["return-item"])
        assert reply.params["text"] == RETURN_ANSWER
        start = len(run.api.calls)
        run.api.push_update(
            run.api.callback_update(
                chat_id, chat_id, buttons(reply)[0], reply.result["message_id"]
            )
        )
        await run.api.wait_for("answerCallbackQuery", start=start)
    learning = run.app.learning
    for _ in range(100):  # the next batch commits it (every 0.3 s here)
        if await learning.learned():
            break
        await asyncio.sleep(0.05)
    (learned,) = await learning.learned()
    version, kb = await run.app.knowledge.live()
    assert learned.version == version == 2 and learned.text in kb["return-item"].alternatives
    assert (await run.app.knowledge.history(1))[0].author == LEARNED_AUTHOR
    await KbWatcher(run.app.knowledge.store, run.app.live).sync()
    answered = await run.ask(CAROL, "give me my money back")
    assert answered.params["text"] == RETURN_ANSWER
