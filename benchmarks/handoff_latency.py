"""Handoff latency through the real dispatcher, real Redis and the local fake Bot API server.

Two figures, each over ``--n`` customers handled one after another (an idle bot):
  * escalation → topic: the customer's "talk to a human" update is queued → the topic exists
    (``createForumTopic`` answered) and → its opening message with the transcript is posted;
  * agent reply → customer: the agent's message in the topic is queued → ``copyMessage`` to the
    customer answered (the first reply also claims the ticket; a later one is measured apart).
The fake server answers at loopback speed, so these are the bot's own overheads (polling,
dispatch, Redis, aiogram HTTP), not Telegram's network time. Usage:
    python benchmarks/handoff_latency.py [--n 50] [--redis redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis

from bot.store import Stores
from knowledge_base import bundled_path, load_knowledge_base
from retrieval import FaqRetriever, SentenceTransformerEmbedder
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.handoff import AGENT_ID, AGENTS_CHAT, handoff_bot


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(name: str, values_ms: list[float]) -> str:
    return (
        f"{name}: p50 {statistics.median(values_ms):.1f} ms, p90 {percentile(values_ms, 0.9):.1f} ms, "
        f"max {max(values_ms):.1f} ms (n={len(values_ms)})"
    )


async def agent_reply_ms(api: FakeBotAPI, customer: int, thread: int, text: str) -> float:
    """Milliseconds from an agent's ``text`` in the topic to its copy reaching the customer."""
    loop = asyncio.get_running_loop()
    start = len(api.calls)
    sent = loop.time()
    update = api.text_update(AGENTS_CHAT, text, user_id=AGENT_ID, message_thread_id=thread)
    api.push_update(update)
    await api.wait_for("copyMessage", lambda p: p["chat_id"] == customer, start=start, timeout=10)
    elapsed_ms = (loop.time() - sent) * 1000
    await asyncio.sleep(0.05)  # let the handler finish before the next message
    return elapsed_ms


async def measure(n: int, redis_url: str) -> None:
    prefix = f"bench-handoff-{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(redis_url, decode_responses=True)
    stores = Stores.build(redis, prefix, history_ttl_hours=1, history_max_turns=20)
    kb = load_knowledge_base(bundled_path())
    with tempfile.TemporaryDirectory() as cache:
        retriever = FaqRetriever(SentenceTransformerEmbedder(), cache_dir=Path(cache))
        retriever.warm_up()
        retriever.load(kb)
        topic_ms: list[float] = []
        opening_ms: list[float] = []
        reply_ms: list[float] = []
        later_ms: list[float] = []
        try:
            async with handoff_bot(stores, retriever, kb) as run:
                api = run.api
                loop = asyncio.get_running_loop()
                for i in range(n + 1):  # the first round warms up connections and is dropped
                    customer = 700_000 + i
                    start = len(api.calls)
                    t0 = loop.time()
                    api.push_update(api.text_update(customer, "I want to talk to a human"))
                    topic = await api.wait_for("createForumTopic", start=start, timeout=10)
                    t1 = loop.time()
                    thread = topic.result["message_thread_id"]
                    await api.wait_for(
                        "sendMessage",
                        lambda p, th=thread: (
                            p.get("message_thread_id") == th and "reply_markup" in p
                        ),
                        start=start,
                        timeout=10,
                    )
                    t2 = loop.time()
                    await api.wait_for(
                        "sendMessage", lambda p, c=customer: p["chat_id"] == c, start=start
                    )
                    await asyncio.sleep(0.05)  # let the handler finish before the agent writes

                    first = await agent_reply_ms(api, customer, thread, "Hello, I'm here")
                    later = await agent_reply_ms(api, customer, thread, "Checking now")
                    if i:
                        topic_ms.append((t1 - t0) * 1000)
                        opening_ms.append((t2 - t0) * 1000)
                        reply_ms.append(first)
                        later_ms.append(later)
        finally:
            async for key in redis.scan_iter(match=f"{prefix}*", count=500):
                await redis.delete(key)
            await redis.aclose()
    print(summary("escalating message -> topic created", topic_ms))
    print(summary("escalating message -> topic opening with transcript posted", opening_ms))
    print(summary("agent's first reply (auto-claims) -> copied to customer", reply_ms))
    print(summary("agent's later reply -> copied to customer", later_ms))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument(
        "--redis",
        default=os.environ.get("SUPPORTBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
    )
    args = parser.parse_args()
    asyncio.run(measure(args.n, args.redis))


if __name__ == "__main__":
    main()
