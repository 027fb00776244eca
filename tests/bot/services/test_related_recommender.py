"""The "People also ask" recommender: its ranking, what it learns from answered events (in the real
Redis), the rebuild from the event stream, the customer's data, and the nearest-entry fallback."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bot.services.events import DomainEvent, EventKind, RedisEventLog
from bot.services.live import LiveModels
from bot.services.related import (
    RELATED_SOURCE,
    LearningRecorder,
    RelatedQuestions,
    rank_related,
    related_store,
)
from bot.settings import Settings
from bot.store import Stores
from common.privacy import Customer
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever
from tests.conftest import SMALL_KB

CHAT, OTHER = 101, 202
T0 = 1_700_000_000.0


# ---------------------------------------------------------------------- ranking


def test_what_was_asked_next_most_often_comes_first() -> None:
    ranked = rank_related(
        {"b": 5, "c": 3, "d": 1},
        {},
        ["x", "y"],
        exclude={"a"},
        k=3,
        personal_weight=0.5,
    )
    assert ranked == ["b", "c", "d"]


def test_the_answered_entry_and_the_conversation_are_never_offered() -> None:
    ranked = rank_related(
        {"a": 9, "b": 5, "c": 3},
        {"b": 4},
        ["a", "b", "d", "e"],
        exclude={"a", "b"},
        k=3,
        personal_weight=0.5,
    )
    assert ranked == ["c", "d", "e"]


def test_nearest_entries_fill_what_co_occurrence_leaves() -> None:
    assert rank_related(
        {}, {}, ["n1", "n2", "n3", "n4"], exclude=set(), k=3, personal_weight=0.5
    ) == [
        "n1",
        "n2",
        "n3",
    ]
    ranked = rank_related({"b": 1}, {}, ["b", "n1", "n2"], exclude=set(), k=3, personal_weight=0)
    assert ranked == ["b", "n1", "n2"]  # no entry twice


def test_deleted_entries_are_skipped() -> None:
    ranked = rank_related(
        {"gone": 9, "b": 1},
        {},
        ["gone2", "n1"],
        exclude=set(),
        k=3,
        personal_weight=0.5,
        allowed=lambda e: not e.startswith("gone"),
    )
    assert ranked == ["b", "n1"]


def test_the_customers_own_earlier_questions_are_boosted() -> None:
    following = {"b": 6, "c": 4}  # b 0.6, c 0.4
    # This customer asked about c twice before (and about a, answered now, which does not count):
    # 0.4 + 0.5 · 2 / (2 + 2) = 0.65 > 0.6.
    mine = {"c": 2, "a": 7}
    assert rank_related(following, mine, [], exclude={"a"}, k=2, personal_weight=0.5) == [
        "c",
        "b",
    ]
    # Weight 0: the customer's history is ignored.
    assert rank_related(following, mine, [], exclude={"a"}, k=2, personal_weight=0) == ["b", "c"]
    # One earlier question is not enough to outrank what most customers ask next.
    assert rank_related(following, {"c": 1}, [], exclude={"a"}, k=1, personal_weight=0.5) == ["b"]
    # An entry nobody asked next but the customer often asks is offered before the fallback.
    assert rank_related({}, {"z": 3}, ["n1"], exclude=set(), k=2, personal_weight=0.5) == [
        "z",
        "n1",
    ]


def test_no_buttons_asked_for() -> None:
    assert rank_related({"b": 1}, {}, ["n"], exclude=set(), k=0, personal_weight=0.5) == []


# ---------------------------------------------------------------------- learning


@pytest.fixture
def related(stores: Stores, retriever: FaqRetriever) -> RelatedQuestions:
    live = LiveModels(retriever, VerbatimGenerator(), kb=SMALL_KB)
    settings = Settings(_env_file=None)
    return RelatedQuestions.build(live, stores, settings)


def answered(chat: int, entry: str, at: float, source: str = "faq") -> DomainEvent:
    return DomainEvent(
        EventKind.ANSWERED, chat_id=chat, answer_id=f"a{at}", entry_id=entry, source=source, at=at
    )


async def test_the_next_answer_within_the_window_is_counted(related: RelatedQuestions) -> None:
    repo = related.repository
    await related.learn(answered(CHAT, "delivery-time", T0))
    await related.learn(answered(CHAT, "delivery-time", T0 + 10))  # the same again: nothing
    await related.learn(answered(CHAT, "payment-methods", T0 + 60))
    await related.learn(answered(OTHER, "return-item", T0 + 61))  # another chat: nothing
    await related.learn(answered(CHAT, "return-item", T0 + 60 + 31 * 60))  # too late: nothing
    assert await repo.following("delivery-time") == {"payment-methods": 1.0}
    assert await repo.following("payment-methods") == {}
    assert await repo.following("return-item") == {}
    assert await repo.conversation(CHAT) == {"return-item"}  # the late one began a new one
    # The customer's own history counts every answer.
    signals = await repo.signals(CHAT, "delivery-time")
    assert signals.asked == {"delivery-time": 2.0, "payment-methods": 1.0, "return-item": 1.0}
    # The conversation's key lives one window after its last answer.
    ttl = await repo.redis.ttl(repo.keys.related_recent(CHAT))
    assert 29 * 60 < ttl <= 30 * 60


async def test_a_pressed_button_moves_the_conversation_on_but_is_not_counted(
    related: RelatedQuestions,
) -> None:
    repo = related.repository
    await related.learn(answered(CHAT, "delivery-time", T0))
    await related.learn(answered(CHAT, "payment-methods", T0 + 5, RELATED_SOURCE))
    await related.learn(answered(CHAT, "return-item", T0 + 9))
    assert await repo.following("delivery-time") == {}
    assert await repo.following("payment-methods") == {"return-item": 1.0}
    assert await repo.conversation(CHAT) == {"delivery-time", "payment-methods", "return-item"}


async def test_answers_recorded_through_the_learning_recorder_teach_and_are_logged(
    related: RelatedQuestions, stores: Stores
) -> None:
    log = RedisEventLog(stores.redis, stores.keys)
    recorder = LearningRecorder(log, related)
    await recorder.record(answered(CHAT, "delivery-time", T0))
    await recorder.record(DomainEvent(EventKind.FEEDBACK, chat_id=CHAT, entry_id="x", at=T0 + 1))
    await recorder.record(answered(CHAT, "return-item", T0 + 2))
    assert [e.kind for e in await log.read()] == [
        EventKind.ANSWERED,
        EventKind.FEEDBACK,
        EventKind.ANSWERED,
    ]
    assert await related.repository.following("delivery-time") == {"return-item": 1.0}


async def test_a_rebuild_from_the_stream_gives_the_same_counts(
    related: RelatedQuestions, stores: Stores
) -> None:
    log = RedisEventLog(stores.redis, stores.keys)
    recorder = LearningRecorder(log, related)
    script = [
        (CHAT, "delivery-time", 0, "faq"),
        (OTHER, "delivery-time", 1, "faq"),
        (CHAT, "payment-methods", 2, "generated"),
        (OTHER, "payment-methods", 3, "faq"),
        (OTHER, "return-item", 4, RELATED_SOURCE),
        (OTHER, "reset-password", 5, "faq"),
        (CHAT, "return-item", 4000, "faq"),  # a new conversation
        (CHAT, "delivery-time", 4001, "clarified"),
    ]
    for chat, entry, after, source in script:
        await recorder.record(answered(chat, entry, T0 + after, source))
    ids = [e.id for e in SMALL_KB.entries]
    incremental = {e: await related.repository.following(e) for e in ids}
    assert incremental["delivery-time"] == {"payment-methods": 2.0}
    assert incremental["return-item"] == {"reset-password": 1.0, "delivery-time": 1.0}

    await related.repository.add_counts([("payment-methods", "delivery-time", 40)])  # drift
    assert await related.rebuild(log) == 4
    assert {e: await related.repository.following(e) for e in ids} == incremental


# ---------------------------------------------------------------------- the customer's data


async def test_the_customers_data_is_exported_and_forgotten(
    related: RelatedQuestions,
) -> None:
    repo = related.repository
    await related.learn(answered(CHAT, "delivery-time", T0))
    await related.learn(answered(CHAT, "payment-methods", T0 + 5))
    offered = await related.suggest(CHAT, "ans1", "payment-methods")
    assert offered
    customer = Customer(CHAT)
    export = await repo.export(customer)
    assert export["answered_entries"] == {"delivery-time": 1, "payment-methods": 1}
    assert [o["answer_id"] for o in export["offered"]] == ["ans1"]
    assert await repo.export(Customer(OTHER)) is None

    assert await repo.forget(customer) == 2 + 2 + 1
    assert await repo.export(customer) is None
    # What all customers asked next keeps no chat id and stays.
    assert await repo.following("delivery-time") == {"payment-methods": 1.0}


# ---------------------------------------------------------------------- suggesting, pressing


def test_nearest_entries_by_embedding(retriever: FaqRetriever) -> None:
    nearest = retriever.nearest_entries("delivery-time", 5)
    assert sorted(nearest) == sorted(e.id for e in SMALL_KB.entries if e.id != "delivery-time")
    assert retriever.nearest_entries("delivery-time", 1) == nearest[:1]
    assert retriever.nearest_entries("no-such-entry", 3) == []


def test_nearest_entries_are_remembered_until_the_index_changes(retriever: FaqRetriever) -> None:
    """The answer path reads a computed list on the event loop (``nearest_known``); a new load
    of the index forgets it, so a changed knowledge base is never answered from the old one."""
    assert retriever.nearest_known("delivery-time", 3) is None  # not computed yet
    nearest = retriever.nearest_entries("delivery-time", 3)
    assert retriever.nearest_known("delivery-time", 3) == nearest
    assert retriever.nearest_known("delivery-time", 2) is None  # another k: not computed
    retriever.load(SMALL_KB)
    assert retriever.nearest_known("delivery-time", 3) is None
    assert retriever.nearest_entries("delivery-time", 3) == nearest


async def test_a_suggestion_is_recorded_and_a_press_names_it_by_number(
    related: RelatedQuestions,
) -> None:
    await related.learn(answered(OTHER, "delivery-time", T0))
    await related.learn(answered(OTHER, "reset-password", T0 + 1))
    await related.learn(answered(CHAT, "delivery-time", T0 + 2))
    offered = await related.suggest(CHAT, "ans1", "delivery-time")
    assert offered[0].id == "reset-password"
    assert len(offered) == 3 and "delivery-time" not in {e.id for e in offered}
    pick = await related.pressed(CHAT, "ans1", 0)
    assert pick is not None and pick.entry.id == "reset-password" and not pick.gone
    assert await related.pressed(CHAT, "ans1", 3) is None
    assert await related.pressed(OTHER, "ans1", 0) is None  # not offered to that chat
    assert await related.pressed(CHAT, "nope", 0) is None


async def test_turned_off_nothing_is_offered_or_learned(
    stores: Stores, retriever: FaqRetriever
) -> None:
    live = LiveModels(retriever, VerbatimGenerator(), kb=SMALL_KB)
    settings = Settings(_env_file=None, related={"enabled": False})
    related = RelatedQuestions.build(live, stores, settings)
    log = RedisEventLog(stores.redis, stores.keys)
    assert related.learning(log) is log
    assert await related.suggest(CHAT, "ans1", "delivery-time") == []


async def test_a_store_failure_costs_the_buttons_not_the_answer(retriever: FaqRetriever) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", decode_responses=True, socket_connect_timeout=1)
    stores = Stores.build(dead, "unreachable", history_ttl_hours=1, history_max_turns=5)
    live = LiveModels(retriever, VerbatimGenerator(), kb=SMALL_KB)
    related = RelatedQuestions.build(live, stores, Settings(_env_file=None))
    try:
        assert await related.suggest(CHAT, "ans1", "delivery-time") == []
        # and an answer recorded through the learning recorder does not fail its caller
        await LearningRecorder(RedisEventLog(dead, stores.keys), related).record(
            answered(CHAT, "delivery-time", T0)
        )
    finally:
        await dead.aclose()


async def test_supportbot_related_rebuild_recounts_from_the_events(
    stores: Stores, key_prefix: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from bot.cli import main
    from tests.conftest import REDIS_URL

    log = RedisEventLog(stores.redis, stores.keys)
    for at, entry in ((T0, "delivery-time"), (T0 + 60, "return-item")):
        await log.record(answered(CHAT, entry, at))
    monkeypatch.setenv("REDIS__URL", REDIS_URL)
    monkeypatch.setenv("REDIS__PREFIX", key_prefix)
    assert await asyncio.to_thread(main, ["related", "rebuild"]) == 0
    assert "counted 1 questions asked next" in capsys.readouterr().out
    repo = related_store(stores, Settings(_env_file=None))
    assert await repo.following("delivery-time") == {"return-item": 1.0}
