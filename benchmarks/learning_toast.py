"""How long a customer waits for the 👍 toast while the bot learns from it, through the real
dispatcher, real Redis and the local fake Bot API server (bundled knowledge base, MiniLM).

Each round a new customer asks a reworded question of one of a few entries and presses 👍; two
figures over ``--n`` rounds (an idle bot, one round at a time):
  * 👍 → toast: the callback update is queued → ``answerCallbackQuery`` answered;
  * 👍 → handler done: until the handler (learning included) has finished.
With the learning before the toast (before the batching) the two are about the same; the
decision counts show what learning did (few customers / added / suggested…).
``--commit-every`` sets ``LEARNING__COMMIT_EVERY_S`` (0: each add is its own version, as before).
Usage:
    python benchmarks/learning_toast.py [--n 40] [--commit-every 60] [--redis redis://…/15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis

from bot.store import Stores
from knowledge_base import bundled_path, load_knowledge_base
from retrieval import FaqRetriever, SentenceTransformerEmbedder
from tests.support.handoff import handoff_bot, handoff_settings

TEMPLATES = (
    "hello, quick question: {q}?",
    "{q}? thanks in advance",
    "sorry to bother you, {q}?",
    "hi there. {q}??",
    "{q}, can you help me",
    "good morning! {q}?",
    "please tell me: {q}",
    "i need help. {q}?",
    "{q}? i could not find it on the site",
    "hey, {q}? cheers",
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(name: str, values_ms: list[float]) -> str:
    return (
        f"{name}: p50 {statistics.median(values_ms):.1f} ms, p90 {percentile(values_ms, 0.9):.1f} "
        f"ms, max {max(values_ms):.1f} ms (n={len(values_ms)})"
    )


async def measure(n: int, commit_every: float, redis_url: str) -> None:
    prefix = f"bench-toast-{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(redis_url, decode_responses=True)
    stores = Stores.build(redis, prefix, history_ttl_hours=1, history_max_turns=20)
    kb = load_knowledge_base(bundled_path())
    entries = list(kb.entries)[:4]
    settings = handoff_settings()
    # (An older checkout without the setting ignores it: model_copy does not validate.)
    # A low confidence floor, so most 👍 are added (the costly path) rather than suggested.
    settings.learning = settings.learning.model_copy(
        update={"commit_every_s": commit_every, "min_confidence": 0.3}
    )
    started = time.perf_counter()
    toast_ms: list[float] = []
    asked_back = 0
    done_ms: list[float] = []
    with tempfile.TemporaryDirectory() as cache:
        retriever = FaqRetriever(SentenceTransformerEmbedder(), cache_dir=Path(cache))
        retriever.warm_up()
        retriever.load(kb)
        try:
            async with handoff_bot(stores, retriever, kb, settings) as run:
                api, loop = run.api, asyncio.get_running_loop()
                for i in range(n + 1):  # the first round warms up and is dropped
                    customer = 800_000 + i
                    entry = entries[i % len(entries)]
                    template = TEMPLATES[(i // len(entries)) % len(TEMPLATES)]
                    question = template.format(q=entry.question.rstrip("?").lower())
                    start = len(api.calls)
                    api.push_update(api.text_update(customer, question))
                    reply = await api.wait_for(
                        "sendMessage",
                        lambda p, c=customer: p["chat_id"] == c and "reply_markup" in p,
                        start=start,
                        timeout=20,
                    )
                    await asyncio.sleep(0.05)
                    rows = reply.params["reply_markup"]["inline_keyboard"]
                    up = rows[0][0]["callback_data"]
                    if not up.startswith("fb:"):  # asked back ("Did you mean …?"): no 👍
                        asked_back += 1
                        continue
                    start = len(api.calls)
                    t0 = loop.time()
                    api.push_update(
                        api.callback_update(customer, customer, up, reply.result["message_id"])
                    )
                    await api.wait_for("answerCallbackQuery", start=start, timeout=20)
                    t1 = loop.time()
                    await asyncio.sleep(0)
                    handlers = set(run.dp._handle_update_tasks)
                    if handlers:
                        await asyncio.wait(handlers, timeout=20)
                    t2 = loop.time()
                    if i:
                        toast_ms.append((t1 - t0) * 1000)
                        done_ms.append((t2 - t0) * 1000)
                stats = await run.app.learning.stats()
                versions = await run.app.knowledge.store.live_version()
                batch = ""
                if hasattr(run.app.learning, "flush"):  # the next batch commit, as one version
                    flushed = len(await run.app.learning.flush())
                    after = await run.app.knowledge.store.live_version()
                    batch = f"the next batch commit: {flushed} phrasings, live version {after}"
        finally:
            async for key in redis.scan_iter(match=f"{prefix}*", count=500):
                await redis.delete(key)
            await redis.aclose()
    print(
        f"LEARNING__COMMIT_EVERY_S={commit_every}, {n} rounds, {len(entries)} entries, "
        f"{asked_back} questions asked back (no 👍)"
    )
    print(summary("thumbs up -> toast", toast_ms))
    print(summary("thumbs up -> handler done (learning included)", done_ms))
    print(f"learning decisions: {stats}; live knowledge-base version: {versions}")
    if batch:
        print(batch)
    print(f"took {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--commit-every", type=float, default=60.0)
    parser.add_argument(
        "--redis",
        default=os.environ.get("SUPPORTBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
    )
    args = parser.parse_args()
    asyncio.run(measure(args.n, args.commit_every, args.redis))


if __name__ == "__main__":
    main()
