"""Answers under load: the real bot process (`supportbot run`) against a local fake Bot API.

N customers ask at once, each sending its next question when the previous answer arrives (closed
loop); every question is one the bundled knowledge base answers. Without ``--generator`` the bot
answers with the entries' own text (retrieval answers); with ``--generator DIR`` (a folder from
`supportbot train-generator`) it composes replies, and the table also shows how many were
generated and how many fell back to the entry's text (the generation queue full, or the reply past
GENERATOR__TIMEOUT_S). Printed per system: answers/s, latency p50 / p99 from the update being
queued to the final answer (the message, or the last edit of a streamed one, that carries the
answer's buttons), errors (questions with no answer in time) and the bot process's CPU time per
answer. The same run measures a bare aiogram echo bot on the same fake server: the ceiling of
polling + dispatch + HTTP on this machine.

The bot runs with Telegram's sending limits raised (the fake server has none) so that the figure
is the bot's own capacity; pass --telegram-limits to keep the defaults. Flood control is raised
too: a simulated customer asks again the moment it is answered. ``--repo`` runs another
checkout's code (e.g. an older commit) with this script. Usage:
    python benchmarks/load.py [--customers 50] [--questions 20] [--generator var/generator]
        [--redis redis://127.0.0.1:6379/15]
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
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redis.asyncio import Redis  # noqa: E402

from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotAPI  # noqa: E402

QUESTIONS = [
    "how long does delivery take?",
    "can I pay with paypal?",
    "how do I return an item?",
    "I forgot my password",
    "do you ship to Norway?",
    "where is my order?",
    "can I change my delivery address?",
    "how do I cancel my order?",
]

ECHO_BOT = """
import asyncio, os
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

dp = Dispatcher()

@dp.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text)

async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["API_BASE"]))
    bot = Bot(os.environ["TOKEN"], session=session)
    await dp.start_polling(bot, polling_timeout=1, handle_signals=True)

asyncio.run(main())
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its finished children) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


async def final_answer(
    api: FakeBotAPI, chat: int, timeout: float, start: int, buttons: bool
) -> None:
    """The answer is complete: its message to ``chat`` (the echo bot's: any message) carries the
    answer's buttons, at once or (a streamed reply) in the edit that finishes it."""
    first = await api.wait_for(
        "sendMessage", lambda p: p["chat_id"] == chat, timeout=timeout, start=start
    )
    if not buttons or first.params.get("reply_markup"):
        return
    await api.wait_for(
        "editMessageText",
        lambda p: p["chat_id"] == chat and bool(p.get("reply_markup")),
        timeout=timeout,
        start=start,
    )


async def run_load(
    api: FakeBotAPI, customers: int, questions: int, timeout: float, buttons: bool = True
) -> dict:
    latencies: list[float] = []
    errors = 0

    async def customer(n: int) -> None:
        nonlocal errors
        chat = 900_000 + n
        for i in range(questions):
            start = len(api.calls)
            sent = time.perf_counter()
            api.push_update(api.text_update(chat, QUESTIONS[(n + i) % len(QUESTIONS)]))
            try:
                await final_answer(api, chat, timeout, start, buttons)
            except (TimeoutError, AssertionError):
                errors += 1
                continue
            latencies.append(time.perf_counter() - sent)

    started = time.perf_counter()
    await asyncio.gather(*(customer(n) for n in range(customers)))
    wall = time.perf_counter() - started
    return {"wall": wall, "latencies": latencies, "errors": errors}


async def start_bot(cmd: list[str], env: dict, cwd: Path) -> asyncio.subprocess.Process:
    """A bot process (its output discarded); the caller terminates it."""
    return await asyncio.create_subprocess_exec(
        *cmd,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def measure(
    name: str, cmd: list[str], env: dict, cwd: Path, args, buttons: bool = True
) -> dict:
    async with FakeBotAPI(max_poll_wait=0.2) as api:
        env = dict(env, API_BASE=api.base_url, TELEGRAM__API_BASE=api.base_url)
        proc = await start_bot(cmd, env, cwd)
        try:
            await api.wait_for("getUpdates", timeout=300)
            warm = await run_load(api, 1, 3, 60, buttons)  # first answers load lazily-built pieces
            if warm["errors"]:
                raise RuntimeError(f"{name}: no answer to the warm-up questions")
            cpu_before = cpu_seconds(proc.pid)
            result = await run_load(api, args.customers, args.questions, args.timeout, buttons)
            result["cpu"] = cpu_seconds(proc.pid) - cpu_before
        finally:
            proc.terminate()
            await proc.wait()
    lat = sorted(result["latencies"])
    answered = len(lat)
    return {
        "system": name,
        "answers/s": answered / result["wall"],
        "p50 ms": 1000 * statistics.median(lat) if lat else float("nan"),
        "p99 ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float("nan"),
        "errors": result["errors"],
        "CPU ms/answer": 1000 * result["cpu"] / answered if answered else float("nan"),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--questions", type=int, default=20, help="per customer")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for an answer"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose bot runs")
    parser.add_argument("--telegram-limits", action="store_true")
    parser.add_argument(
        "--generator", type=Path, help="a generator folder: replies are composed by the model"
    )
    parser.add_argument("--skip-echo", action="store_true")
    args = parser.parse_args()

    prefix = f"supportbot-load-{uuid.uuid4().hex[:8]}"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM__", "REDIS__"))}
    base.update(TOKEN=DEFAULT_TOKEN, TELEGRAM__TOKEN=DEFAULT_TOKEN, PYTHONPATH=str(args.repo))
    bot_env = dict(base, REDIS__URL=args.redis, REDIS__PREFIX=prefix, LOG_LEVEL="WARNING")
    if not args.telegram_limits:
        bot_env.update(
            SENDING__PER_CHAT="1000 per 1 second", SENDING__OVERALL="100000 per 1 second"
        )
    # Each simulated customer asks again the moment it is answered — far faster than a person —
    # so flood control (bot/middlewares/flood.py, measured by benchmarks/flood.py) is raised too.
    bot_env["FLOOD__PER_CUSTOMER"] = "100000 per 1 second"
    no_model = tempfile.TemporaryDirectory()  # a folder without a model: verbatim answers
    bot_env["GENERATOR__MODEL_PATH"] = str(
        args.generator.resolve() if args.generator else no_model.name
    )
    bot_env["GENERATOR__AUTO_TRAIN"] = "false"  # measured as configured, no training beside it
    rows = [
        await measure(
            "supportbot", [sys.executable, "-m", "bot.cli", "run"], bot_env, args.repo, args
        )
    ]
    if not args.skip_echo:
        rows.append(
            await measure(
                "aiogram echo bot",
                [sys.executable, "-c", ECHO_BOT],
                base,
                ROOT,
                args,
                buttons=False,
            )
        )
    redis = Redis.from_url(args.redis, decode_responses=True)
    kinds = [fields for _id, fields in await redis.xrange(f"{prefix}:events")]
    sources = Counter(f.get("source", "?") for f in kinds if f.get("kind") == "answered")
    escalated = sum(1 for f in kinds if f.get("kind") == "escalated")
    async for key in redis.scan_iter(match=f"{prefix}*", count=500):
        await redis.delete(key)
    await redis.aclose()

    total = args.customers * args.questions
    print(
        f"{args.customers} customers × {args.questions} questions = {total} questions "
        f"(bot code: {args.repo})"
    )
    header = ["system", "answers/s", "p50 ms", "p99 ms", "errors", "CPU ms/answer"]
    if args.generator:
        print(
            f"supportbot replies (warm-up included): {sources.get('generated', 0)} generated, "
            f"{sources.get('faq', 0)} the entry's own text (queue full or past the timeout), "
            f"{escalated} handed to a person"
        )
    print(" | ".join(header))
    for row in rows:
        print(
            " | ".join(
                f"{row[h]:.1f}" if isinstance(row[h], float) else str(row[h]) for h in header
            )
        )


if __name__ == "__main__":
    asyncio.run(main())
