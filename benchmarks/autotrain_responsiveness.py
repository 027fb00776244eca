"""Answer latency while the reply generator trains beside the bot, against an idle machine.

The real bot (`supportbot run`, the bundled knowledge base, no generator) against the local fake Bot
API; customers ask at a steady rate (open loop, ``--rate`` questions a second, each from its own
chat) and the time from the update being queued to the bot's answer is measured over a window of
``--seconds``. Three arms, each a fresh bot process:

- ``idle``: ``GENERATOR__AUTO_TRAIN=false``, nothing else runs;
- ``auto-train``: the bot trains its first generator itself (``GENERATOR__AUTO_TRAIN=true``,
  ``KB__RETRAIN_BUDGET_SECONDS=--budget``): a child process at the lowest CPU priority
  (``common/background.py``). The window opens once the child has spent 20 CPU seconds
  (models loaded, training under way);
- ``by hand``: as before the automatic first training, `supportbot train-generator` started by an operator on the same
  machine at normal priority, beside an idle-configured bot (window opened the same way).

Printed per arm: questions answered, p50 / p99 / max latency, and how many CPU seconds the training
got during the window (its progress: the lowest priority trades training speed for answers).
Usage:
    python benchmarks/autotrain_responsiveness.py [--rate 4] [--seconds 60] [--budget 240]
        [--arms idle,auto-train,by-hand] [--redis redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load import QUESTIONS, cpu_seconds, final_answer, start_bot  # noqa: E402
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotAPI  # noqa: E402

KB = ROOT / "knowledge_base" / "data" / "brightcart.yaml"
TRAINING_STARTED_CPU_S = 20.0


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == pid:
            found.append(int(entry.name))
    return found


def training_cpu(pid: int, include_self: bool) -> float:
    """CPU seconds of ``pid``'s children (the training process), or of ``pid`` itself."""
    pids = ([pid] if include_self else []) + children(pid)
    total = 0.0
    for p in pids:
        with contextlib.suppress(OSError, IndexError):  # it ended meanwhile
            total += cpu_seconds(p)
    return total


async def wait_for_training(read_cpu, limit: float = 600.0) -> None:
    started = time.monotonic()
    while read_cpu() < TRAINING_STARTED_CPU_S:
        if time.monotonic() - started > limit:
            raise RuntimeError("the training never got going")
        await asyncio.sleep(1.0)


async def paced_load(api: FakeBotAPI, rate: float, seconds: float, timeout: float) -> dict:
    """One question every 1/rate seconds, each from a new chat; latencies of the answers."""
    latencies: list[float] = []
    errors = 0

    async def ask(n: int) -> None:
        nonlocal errors
        chat = 700_000 + n
        start = len(api.calls)
        sent = time.perf_counter()
        api.push_update(api.text_update(chat, QUESTIONS[n % len(QUESTIONS)]))
        try:
            await final_answer(api, chat, timeout, start, True)
        except (TimeoutError, AssertionError):
            errors += 1
            return
        latencies.append(time.perf_counter() - sent)

    tasks = []
    started = time.perf_counter()
    n = 0
    while time.perf_counter() - started < seconds:
        tasks.append(asyncio.create_task(ask(n)))
        n += 1
        await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    return {"latencies": latencies, "errors": errors}


async def run_arm(arm: str, args, env: dict) -> dict:
    with tempfile.TemporaryDirectory() as models:
        bot_env = dict(
            env,
            GENERATOR__MODEL_PATH=str(Path(models) / "generator"),
            GENERATOR__AUTO_TRAIN="true" if arm == "auto-train" else "false",
            KB__RETRAIN_BUDGET_SECONDS=str(args.budget),
            REDIS__PREFIX=f"supportbot-autotrain-{uuid.uuid4().hex[:8]}",
        )
        async with FakeBotAPI(max_poll_wait=0.2) as api:
            bot_env["TELEGRAM__API_BASE"] = api.base_url
            proc = await start_bot([sys.executable, "-m", "bot.cli", "run"], bot_env, ROOT)
            trainer = None
            try:
                await api.wait_for("getUpdates", timeout=300)
                warm = await paced_load(api, 2, 2, 60)  # lazily built pieces load on first use
                if warm["errors"]:
                    raise RuntimeError(f"{arm}: no answer to the warm-up questions")
                if arm == "by-hand":
                    trainer = await asyncio.create_subprocess_exec(
                        *[sys.executable, "-m", "bot.cli", "train-generator", "--kb", str(KB)],
                        *["--out", str(Path(models) / "by-hand")],
                        *["--time-budget", str(args.budget)],
                        env=env,
                        cwd=ROOT,
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=asyncio.subprocess.DEVNULL,
                    )

                    def read_cpu() -> float:
                        return training_cpu(trainer.pid, include_self=True)
                elif arm == "auto-train":

                    def read_cpu() -> float:
                        return training_cpu(proc.pid, include_self=False)
                else:

                    def read_cpu() -> float:
                        return 0.0

                if arm != "idle":
                    await wait_for_training(read_cpu)
                cpu_before = read_cpu()
                result = await paced_load(api, args.rate, args.seconds, args.timeout)
                result["training_cpu"] = read_cpu() - cpu_before
            finally:
                if trainer is not None and trainer.returncode is None:
                    trainer.terminate()
                    await trainer.wait()
                proc.terminate()
                await proc.wait()
    lat = sorted(result["latencies"])
    return {
        "arm": arm,
        "answered": len(lat),
        "errors": result["errors"],
        "p50 ms": 1000 * statistics.median(lat) if lat else float("nan"),
        "p99 ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float("nan"),
        "max ms": 1000 * lat[-1] if lat else float("nan"),
        "training CPU s": result["training_cpu"],
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=4.0, help="questions a second")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window per arm")
    parser.add_argument("--budget", type=float, default=240.0, help="training budget, seconds")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for an answer"
    )
    parser.add_argument("--arms", default="idle,auto-train,by-hand")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM__", "REDIS__"))}
    env.update(
        PYTHONPATH=str(ROOT),
        TELEGRAM__TOKEN=DEFAULT_TOKEN,
        REDIS__URL=args.redis,
        LOG_LEVEL="WARNING",
        METRICS__PORT="0",
        FLOOD__PER_CUSTOMER="100000 per 1 second",
    )
    print(
        f"{os.cpu_count()} CPUs; {args.rate:g} questions/s for {args.seconds:g} s per arm; "
        f"training budget {args.budget:g} s",
        flush=True,
    )
    header = f"{'arm':<11} {'answered':>8} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8} "
    header += f"{'max ms':>8} {'training CPU s':>15}"
    rows = []
    for arm in args.arms.split(","):
        started = time.perf_counter()
        row = await run_arm(arm.strip(), args, env)
        rows.append(row)
        print(f"  {arm}: done in {time.perf_counter() - started:.0f} s", flush=True)
    print(header)
    for r in rows:
        print(
            f"{r['arm']:<11} {r['answered']:>8} {r['errors']:>6} {r['p50 ms']:>8.0f} "
            f"{r['p99 ms']:>8.0f} {r['max ms']:>8.0f} {r['training CPU s']:>15.1f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
