"""What recording a domain event costs, against the real Redis (XADD to the capped stream).

A customer's answered message records two events (message_received, answered); an escalated one
two as well (message_received, escalated). Each is one awaited XADD with approximate trimming.
Figures are µs per record, one after another on one connection (an idle bot). With
``--per-message`` it also times everything recorded for one answered message: the message's
sentiment, its two events (each also counted in the Prometheus metrics) and its entry in the
questions log (personal data masked), wall time and CPU time. Usage:
    python benchmarks/events_cost.py [--n 5000] [--redis redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis

from bot.services.events import DomainEvent, EventKind, RedisEventLog
from bot.store import Keys


async def measure(n: int, redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    keys = Keys(f"bench-events-{uuid.uuid4().hex[:8]}")
    events = RedisEventLog(redis, keys)
    answered = DomainEvent(
        EventKind.ANSWERED,
        chat_id=424242,
        answer_id=uuid.uuid4().hex[:12],
        entry_id="delivery-time",
        confidence=0.8398647864659627,
        source="faq",
    )
    try:
        await redis.ping()
        for _ in range(200):  # warm the connection and the stream
            await events.record(answered)
        took: list[float] = []
        for _ in range(n):
            start = time.perf_counter()
            await events.record(answered)
            took.append((time.perf_counter() - start) * 1e6)
        ping: list[float] = []
        for _ in range(n):
            start = time.perf_counter()
            await redis.ping()
            ping.append((time.perf_counter() - start) * 1e6)
        length = await redis.xlen(keys.events())
    finally:
        await redis.delete(keys.events())
        await redis.aclose()
    took.sort()
    print(
        f"record (XADD, capped): median {statistics.median(took):.0f} µs, "
        f"p90 {took[int(0.9 * (len(took) - 1))]:.0f} µs, mean {statistics.fmean(took):.0f} µs "
        f"(n={n}, stream length {length})"
    )
    print(f"Redis round trip (PING) for comparison: median {statistics.median(ping):.0f} µs")
    print(f"per answered message (2 events): about {2 * statistics.median(took):.0f} µs")


async def per_message(n: int, redis_url: str) -> None:
    """Everything recorded for one answered message, one message after another."""
    from bot.services.sentiment import SentimentAnalyzer
    from bot.services.topics import AskedQuestion, QuestionLog

    redis = Redis.from_url(redis_url, decode_responses=True)
    keys = Keys(f"bench-events-{uuid.uuid4().hex[:8]}")
    events, questions = RedisEventLog(redis, keys), QuestionLog(redis, keys)
    sentiment = SentimentAnalyzer()
    sentiment.warm_up()
    texts = [
        "How long does delivery take to Germany?",
        "My parcel 123456 is late, call me on +44 7911 123456",
        "我的快递什么时候到",
        "this is useless, I want a refund now",
    ]
    try:
        wall: list[float] = []
        cpu_start = time.process_time()
        for i in range(n):
            text = f"{texts[i % len(texts)]} ({i})"  # each message new to the sentiment cache
            start = time.perf_counter()
            mood = sentiment.score(text).compound
            await events.record(
                DomainEvent(
                    EventKind.MESSAGE_RECEIVED, chat_id=i, message_kind="text", sentiment=mood
                )
            )
            await events.record(
                DomainEvent(
                    EventKind.ANSWERED,
                    chat_id=i,
                    answer_id=f"a{i}",
                    entry_id="x",
                    confidence=0.8,
                    source="faq",
                )
            )
            sentiment.score(text)  # the answer path asks again: cached
            await questions.record(
                AskedQuestion(text, i, "answered", time.time(), "x", f"a{i}", sentiment=mood)
            )
            wall.append((time.perf_counter() - start) * 1e6)
        cpu = (time.process_time() - cpu_start) / n * 1e6
    finally:
        await redis.delete(keys.events(), keys.questions())
        await redis.aclose()
    print(
        f"per answered message, all recorded (sentiment, 2 events + metrics, question log): "
        f"median {statistics.median(wall):.0f} µs wall, {cpu:.0f} µs CPU (n={n})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--per-message", action="store_true")
    args = parser.parse_args()
    asyncio.run(measure(args.n, args.redis))
    if args.per_message:
        asyncio.run(per_message(args.n, args.redis))


if __name__ == "__main__":
    main()
