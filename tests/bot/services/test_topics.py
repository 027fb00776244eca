"""Topics of what customers asked: clustered with the real embedder, named by c-TF-IDF words."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from bot.services.topics import AskedQuestion, QuestionLog, find_topics, words
from bot.store import Keys
from common.privacy import Customer

NOW = 1_800_000_000.0

DELIVERY = [
    "when will my parcel arrive",
    "how long does delivery take",
    "my parcel delivery is late",
    "parcel still not delivered",
    "delivery time to Germany",
]
REFUND = [
    "how do I get a refund",
    "refund for a broken item",
    "I want my money back refund",
    "refund still not received",
]
PASSWORD = ["I forgot my password", "reset my password please", "password reset email never came"]


def asked(texts: list[str], outcome: str, at: float, **extra) -> list[AskedQuestion]:
    return [AskedQuestion(t, 7, outcome, at, **extra) for t in texts]


def test_topics_are_named_by_their_words_with_volume_trend_and_outcomes(embedder) -> None:
    def vectors(texts: list[str]):
        return embedder.encode(texts, kind="passage")

    current = (
        [
            AskedQuestion(t, 7, "answered", NOW, "delivery-time", f"a{i}", sentiment=0.2)
            for i, t in enumerate(DELIVERY)
        ]
        + asked(REFUND, "escalated", NOW, reason="low_confidence", sentiment=-0.5)
        + asked(PASSWORD, "answered", NOW, entry_id="password", answer_id="p")
    )
    previous = asked(DELIVERY[:2], "answered", NOW - 10) + asked(REFUND, "answered", NOW - 10)
    resolved = {"a0": True, "a1": True, "a2": False}
    topics = find_topics(current, previous, vectors, resolved=resolved)
    assert len(topics) == 3, [t.name for t in topics]
    delivery = next(t for t in topics if {"parcel", "delivery"} & set(t.words))
    refund = next(t for t in topics if "refund" in t.words)
    password = next(t for t in topics if "password" in t.words)
    assert topics[0] is delivery  # the largest first
    assert (delivery.volume, delivery.previous, delivery.trend) == (5, 2, 1.5)
    assert delivery.answered_share == 1.0 and delivery.resolution_rate == round(2 / 3, 4)
    assert delivery.entries == ("delivery-time",)
    assert delivery.sentiment_mean == 0.2
    assert refund.escalated_share == 1.0 and refund.is_gap and refund.sentiment_mean == -0.5
    assert (refund.volume, refund.previous, refund.trend) == (4, 4, 0.0)
    assert password.previous == 0 and password.trend is None  # new this period
    assert len(delivery.examples) == 3 and all(e in DELIVERY for e in delivery.examples)


def test_chinese_questions_are_cut_into_words() -> None:
    assert "退款" in words("我想申请退款")
    assert "password" in words("I forgot my password!") and "my" not in words("my password")


async def test_the_log_masks_personal_data_and_forgets_a_customer(
    redis_client: Redis, key_prefix: str
) -> None:
    log = QuestionLog(redis_client, Keys(key_prefix))
    now = time.time()
    await log.record(
        AskedQuestion("call me on +44 7911 123456 about order 123456", 1, "escalated", now)
    )
    await log.record(AskedQuestion("where is my parcel", 2, "answered", now))
    got = await log.between(now - 60, now + 60)
    assert [q.text for q in got] == ["call me on [phone] about order 123456", "where is my parcel"]
    assert await log.forget(Customer(1)) == 1
    assert [q.chat_id for q in await log.between(now - 60, now + 60)] == [2]


async def test_each_question_to_the_bot_is_logged_with_its_outcome(running_bot) -> None:
    await running_bot.ask(5401, "when will my parcel arrive?")
    await running_bot.ask(5402, "I want to talk to a human")
    log = QuestionLog(running_bot.app.stores.redis, running_bot.app.stores.keys)
    got = {q.chat_id: q for q in await log.between(time.time() - 60, time.time() + 60)}
    assert got[5401].outcome == "answered" and got[5401].entry_id == "delivery-time"
    assert got[5401].answer_id and got[5401].sentiment is not None
    assert got[5402].outcome == "escalated" and got[5402].reason == "asked_for_human"
