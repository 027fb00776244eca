"""Start headless bot processes (tests/support/kb_process.py) sharing one Redis, and ask them."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self._ids = itertools.count(1)
        self.ready_version = 0

    @classmethod
    async def start(cls, env: dict[str, str], timeout: float = 180.0) -> BotProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.kb_process",
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=None if os.environ.get("KB_PROCESS_STDERR") else asyncio.subprocess.DEVNULL,
        )
        process = cls(proc)
        line = await asyncio.wait_for(process._read(), timeout)
        process.ready_version = line["ready"]
        return process

    async def _read(self) -> dict:
        while True:
            raw = await self.proc.stdout.readline()
            if not raw:
                raise RuntimeError(f"bot process exited with {await self.proc.wait()}")
            if raw.startswith(b"{"):
                return json.loads(raw)

    async def ask(self, question: str, timeout: float = 30.0) -> dict:
        request = {"id": next(self._ids), "q": question}
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        await self.proc.stdin.drain()
        return await asyncio.wait_for(self._read(), timeout)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def until_answered(process: BotProcess, question: str, expected: str, limit: float) -> float:
    """Seconds until ``process`` answers ``question`` with ``expected`` (ask back to back)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        reply = await process.ask(question)
        elapsed = loop.time() - started
        if reply["text"] == expected:
            return elapsed
        if elapsed > limit:
            raise AssertionError(f"still {reply['text']!r} after {elapsed:.1f}s")


@contextlib.asynccontextmanager
async def worker(env: dict[str, str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """A `supportbot run` process; stopped with SIGTERM at the end unless already dead."""
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
