"""Flood control under the real bot process (`supportbot run`) against a local fake Bot API.

One customer sends 50 messages within one second; meanwhile 20 other customers each ask one
question, spread over the flood's first two seconds. Printed: how many answers and notices the
flooder got, and the other customers' latency (p50 / p99) — they should not notice the flood.
Usage:
    python benchmarks/flood.py [--messages 50] [--redis redis://127.0.0.1:6379/15]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redis.asyncio import Redis  # noqa: E402

from benchmarks.load import QUESTIONS, final_answer, start_bot  # noqa: E402
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotAPI  # noqa: E402

FLOODER, OTHER = 910_001, 920_000
NOTICE = "sending messages very quickly"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=50, help="the flood, within one second")
    parser.add_argument(
        "--others", type=int, default=20, help="other customers, one question each"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    prefix = f"supportbot-flood-{uuid.uuid4().hex[:8]}"
    no_model = tempfile.TemporaryDirectory()
    async with FakeBotAPI(max_poll_wait=0.2) as api:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM__", "REDIS__"))}
        env.update(
            PYTHONPATH=str(ROOT),
            TELEGRAM__TOKEN=DEFAULT_TOKEN,
            TELEGRAM__API_BASE=api.base_url,
            REDIS__URL=args.redis,
            REDIS__PREFIX=prefix,
            GENERATOR__MODEL_PATH=no_model.name,
            GENERATOR__AUTO_TRAIN="false",
            LOG_LEVEL="WARNING",
            METRICS__PORT="0",
        )
        proc = await start_bot([sys.executable, "-m", "bot.cli", "run"], env, ROOT)
        try:
            await api.wait_for("getUpdates", timeout=300)
            start = len(api.calls)
            api.push_update(api.text_update(OTHER, "hello, where is my order?"))  # warm-up
            await final_answer(api, OTHER, 60, start, True)

            async def flood() -> None:
                for n in range(args.messages):
                    api.push_update(api.text_update(FLOODER, QUESTIONS[n % len(QUESTIONS)]))
                    await asyncio.sleep(1.0 / args.messages)

            async def other(n: int) -> float:
                await asyncio.sleep(2.0 * n / args.others)
                chat = OTHER + n
                start = len(api.calls)
                sent = time.perf_counter()
                api.push_update(api.text_update(chat, QUESTIONS[n % len(QUESTIONS)]))
                await final_answer(api, chat, 30, start, True)
                return time.perf_counter() - sent

            async def others() -> list[float]:
                return list(await asyncio.gather(*(other(n) for n in range(args.others))))

            _, latencies = await asyncio.gather(flood(), others())
            # The flooder's answers leave at Telegram's pace for one chat (about one a second).
            await asyncio.sleep(12.0)
            texts = api.sent_texts(FLOODER)
        finally:
            proc.terminate()
            await proc.wait()
    redis = Redis.from_url(args.redis)
    async for key in redis.scan_iter(match=f"{prefix}*", count=500):
        await redis.delete(key)
    await redis.aclose()
    notices = [t for t in texts if NOTICE in t]
    lat = sorted(latencies)
    print(
        f"flooder: {args.messages} messages in 1 s → {len(texts) - len(notices)} answers, "
        f"{len(notices)} notice(s)"
    )
    print(
        f"other customers: {len(lat)} questions, p50 {1000 * statistics.median(lat):.1f} ms, "
        f"p99 {1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))]:.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
