"""What /mydata, /forget and the retention sweep cost on a busy deployment, against the real Redis.

Seeds one deployment (a fresh key prefix) with ``--tickets`` closed tickets of 10 turns each,
``--events`` domain events (the stream's cap is 100000) and ``--updates`` received updates in the
inbox, then times: /mydata's export for one customer, /forget for them, a sweep that masks every
transcript (all closed long enough ago), and a second sweep with nothing left to do. Usage:
    python benchmarks/privacy.py [--tickets 20000] [--events 100000] [--updates 50000]
                                 [--redis redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis

from bot.app import personal_data
from bot.services.events import DomainEvent, EventKind, RedisEventLog
from bot.services.knowledge import KnowledgeService
from bot.services.privacy import DAY_S, PrivacyService
from bot.settings import Settings
from bot.store import Stores, Turn, TurnRole

CUSTOMER = 8_765_432_109


async def seed(stores: Stores, events: RedisEventLog, args: argparse.Namespace) -> None:
    redis, keys = stores.redis, stores.keys
    now = time.time()
    for start in range(0, args.tickets, 500):
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(start + 1, min(start + 501, args.tickets + 1)):
                chat = CUSTOMER if n % 1000 == 0 else 1_000_000_000 + n
                pipe.hset(
                    keys.ticket(str(n)),
                    mapping={
                        "id": str(n),
                        "chat_id": str(chat),
                        "customer_name": "Alice",
                        "status": "closed",
                        "reason": "low_confidence",
                        "question": "my card 4111 1111 1111 1111 was charged twice",
                        "created_at": str(now - 40 * DAY_S),
                        "closed_at": str(now - 35 * DAY_S),
                    },
                )
                pipe.sadd(keys.chat_tickets(chat), str(n))
                for i in range(10):
                    text = f"turn {i}: write to alice{n}@example.org or call +44 20 7946 0958"
                    pipe.rpush(
                        keys.ticket_transcript(str(n)), Turn(TurnRole.CUSTOMER, text).to_json()
                    )
            await pipe.execute()
    await redis.set(keys.ticket_seq(), str(args.tickets))
    for start in range(0, args.events, 1000):
        batch = [
            DomainEvent(
                EventKind.ANSWERED, chat_id=CUSTOMER if n % 500 == 0 else 2_000_000_000 + n
            )
            for n in range(start, min(start + 1000, args.events))
        ]
        await events._write(batch)
    for start in range(0, args.updates, 1000):
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(start, min(start + 1000, args.updates)):
                user = CUSTOMER if n % 500 == 0 else 3_000_000_000 + n
                who = {"id": user, "is_bot": False, "first_name": "A"}
                message = {"message_id": n, "date": 0, "chat": {"id": user, "type": "private"}}
                update = {"update_id": n, "message": {**message, "from": who, "text": "hello"}}
                pipe.xadd(keys.inbox(), {"update": json.dumps(update)})
            await pipe.execute()


async def timed(what: str, work) -> object:
    """Run ``work``, printing its time and the event loop's longest stall meanwhile (what another
    customer's answer would have waited)."""
    stall = 0.0

    async def watch() -> None:
        nonlocal stall
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            stall = max(stall, time.perf_counter() - before - 0.01)

    watcher = asyncio.create_task(watch())
    started = time.perf_counter()
    result = await work
    elapsed = time.perf_counter() - started
    watcher.cancel()
    print(f"{what}: {elapsed:.2f} s (event loop's longest stall {stall * 1000:.0f} ms)")
    return result


async def main(args: argparse.Namespace) -> None:
    redis = Redis.from_url(args.redis, decode_responses=True)
    prefix = f"bench-privacy-{uuid.uuid4().hex[:8]}"
    stores = Stores.build(redis, prefix, history_ttl_hours=72, history_max_turns=20)
    events = RedisEventLog(redis, stores.keys)
    knowledge = KnowledgeService.build(redis, prefix, events=events)
    settings = Settings(_env_file=None)
    privacy = PrivacyService(
        stores, personal_data(settings, stores, knowledge, events), settings.privacy
    )
    try:
        await timed(
            f"seed {args.tickets} tickets, {args.events} events, {args.updates} updates",
            seed(stores, events, args),
        )
        export = await timed("/mydata export of one customer", privacy.export(CUSTOMER))
        print(
            f"  {len(privacy.to_json(export)) // 1024} KiB: "
            + ", ".join(f"{kind} {len(found)}" for kind, found in export["data"].items())
        )
        forgotten = await timed("/forget of that customer", privacy.forget(CUSTOMER))
        print(f"  removed {forgotten.removed}")
        first = await timed("sweep: mask every closed transcript", privacy.sweep())
        print(f"  changed {first}")
        await timed("sweep again: nothing to do", privacy.sweep())
    finally:
        async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
            await redis.delete(key)
        await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=50_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    asyncio.run(main(parser.parse_args()))
