"""The content-gap report groups unanswered and escalated questions with counts and examples."""

from __future__ import annotations

from redis.asyncio import Redis

from knowledge_base.gaps import GapLog, cluster_questions
from retrieval import SentenceTransformerEmbedder


async def test_gap_report_clusters_questions(
    redis_client: Redis, key_prefix: str, embedder: SentenceTransformerEmbedder
) -> None:
    log = GapLog(redis_client, key_prefix)
    asked = [
        ("Do you sell gift cards?", "unanswered"),
        ("can I buy a gift card", "unanswered"),
        ("gift cards available?", "repeated_question"),
        ("Do you have a gift card for birthdays", "unanswered"),
        ("Is there a store in Berlin?", "unanswered"),
        ("where is your shop in berlin", "negative_sentiment"),
        ("What is the meaning of life", "unanswered"),
    ]
    for text, reason in asked:
        await log.record(text, reason)
    questions = await log.recent()
    assert len(questions) == 7 and questions[0].text == "What is the meaning of life"
    clusters = cluster_questions(questions, lambda t: embedder.encode(t, kind="query"))
    top, second = clusters[0], clusters[1]
    assert top.count == 4 and all("gift" in e.lower() for e in top.examples)
    assert len(top.examples) == 3 and top.reasons == {"unanswered": 3, "repeated_question": 1}
    assert second.count == 2 and all("berlin" in e.lower() for e in second.examples)
    assert sum(c.count for c in clusters) == 7
    assert sorted(top.members) == sorted(t for t, _ in asked if "gift" in t.lower())


async def test_dismissed_questions_leave_the_log(redis_client: Redis, key_prefix: str) -> None:
    log = GapLog(redis_client, key_prefix)
    for text in ("Do you sell cars?", "do you sell  CARS?", "Is there a store in Berlin?"):
        await log.record(text, "unanswered")
    assert await log.dismiss(["do you sell cars?"]) == 2
    assert [q.text for q in await log.recent()] == ["Is there a store in Berlin?"]
    assert await log.dismiss(["never asked"]) == 0


async def test_personal_data_is_masked_in_the_gap_log(
    redis_client: Redis, key_prefix: str
) -> None:
    log = GapLog(redis_client, key_prefix)
    await log.record(
        "card 4111 1111 1111 1111 charged twice for order BC-2024-000123, call +44 20 7946 0958",
        "low_confidence",
    )
    [question] = await log.recent()
    assert question.text == "card [card] charged twice for order BC-2024-000123, call [phone]"
    raw = " ".join(await redis_client.lrange(log.key, 0, -1))
    assert "4111" not in raw and "7946" not in raw
