"""Reply generation off the event loop: one worker thread, a bounded queue, a timeout.

The model runs on a single dedicated thread (two generations at once would only halve each one's
speed on a small CPU). At most ``max_waiting`` requests wait for it; beyond that, and whenever a
reply takes longer than ``timeout_s``, the customer gets the verbatim FAQ answer at once, so a
busy generator never stalls the chats behind it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from bot.services.live import LiveModels
from models.generator import (
    GeneratedReply,
    HistoryTurn,
    TextCallback,
    VerbatimGenerator,
    generates_in,
    verbatim_reply,
)
from retrieval.retriever import RetrievedFaq

log = logging.getLogger(__name__)


class GenerationService:
    """Runs the live generator on its own thread behind a bounded queue."""

    def __init__(self, live: LiveModels, *, timeout_s: float = 20.0, max_waiting: int = 8):
        self.live = live
        self.timeout_s = timeout_s
        self.max_waiting = max_waiting
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="generate")
        self._pending = 0

    @property
    def pending(self) -> int:
        """Requests running or waiting (timed-out ones count until their thread lets go)."""
        return self._pending

    async def reply(
        self,
        question: str,
        candidates: Sequence[RetrievedFaq],
        history: Sequence[HistoryTurn] = (),
        on_text: TextCallback | None = None,
    ) -> GeneratedReply:
        generator = self.live.generator
        if not isinstance(generator, VerbatimGenerator) and not generates_in(question, candidates):
            return verbatim_reply(candidates, "language")
        if self._pending > self.max_waiting:
            log.warning("generator busy (%d waiting): verbatim answer", self._pending)
            return verbatim_reply(candidates, "busy")
        stop = threading.Event()
        # Bound now: a generator swapped in meanwhile serves the next reply, not this one.
        call = functools.partial(
            generator.generate, question, candidates, history, on_text=on_text, stop=stop
        )
        self._pending += 1
        future = asyncio.get_running_loop().run_in_executor(self._executor, call)
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout_s)
        except TimeoutError:
            stop.set()
            log.warning("generation took over %.1fs: verbatim answer", self.timeout_s)
            return verbatim_reply(candidates, "timeout")
        except Exception:
            log.exception("generation failed: verbatim answer")
            return verbatim_reply(candidates, "error")

    def _release(self, future: asyncio.Future) -> None:
        self._pending -= 1
        if not future.cancelled():
            future.exception()  # retrieved here too, so a timed-out failure is not reported twice

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
