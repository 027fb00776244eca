"""Reply generation off the event loop: one worker thread, a bounded queue, a timeout.

The model runs on a single dedicated thread (two generations at once would only halve each one's
speed on a small CPU). At most ``max_waiting`` requests wait for it; beyond that, and whenever a
reply takes longer than ``timeout_s``, the customer gets the verbatim FAQ answer at once, so a
busy generator never stalls the chats behind it.

A generated reply with abusive language (``common/moderation.py``) is never sent: the text being
streamed stops being shown the moment it turns abusive, and the customer gets the entry's own
answer instead; the log says so without the words.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from bot.services.live import LiveModels
from common.moderation import AbuseDetector
from models.generator import (
    GeneratedReply,
    Generator,
    HistoryTurn,
    ReplySource,
    TextCallback,
    VerbatimGenerator,
    generates_in,
    verbatim_reply,
)
from retrieval.retriever import RetrievedFaq

log = logging.getLogger(__name__)


class GenerationService:
    """Runs the live generator on its own thread behind a bounded queue."""

    def __init__(
        self,
        live: LiveModels,
        *,
        timeout_s: float = 20.0,
        max_waiting: int = 8,
        abuse: AbuseDetector | None = None,
    ):
        self.live = live
        self.abuse = abuse
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
        if isinstance(generator, VerbatimGenerator):
            # Ready at once (the entry's own text): no thread, no queue, nothing to time out.
            return generator.generate(question, candidates, history)
        if not generates_in(question, candidates):
            return verbatim_reply(candidates, "language")
        if self._pending > self.max_waiting:
            log.warning("generator busy (%d waiting): verbatim answer", self._pending)
            return verbatim_reply(candidates, "busy")
        stop = threading.Event()
        abusive = threading.Event()
        if on_text is not None and self.abuse is not None:
            on_text = self._shown_while_clean(on_text, abusive, stop)
        # Bound now: a generator swapped in meanwhile serves the next reply, not this one.
        call = functools.partial(
            self._generate,
            generator,
            question,
            candidates,
            history,
            on_text=on_text,
            stop=stop,
            abusive=abusive,
        )
        self._pending += 1
        future = asyncio.get_running_loop().run_in_executor(self._executor, call)
        future.add_done_callback(self._release)
        try:
            reply = await asyncio.wait_for(asyncio.shield(future), self.timeout_s)
        except TimeoutError:
            stop.set()
            log.warning("generation took over %.1fs: verbatim answer", self.timeout_s)
            return verbatim_reply(candidates, "timeout")
        except Exception:
            log.exception("generation failed: verbatim answer")
            return verbatim_reply(candidates, "error")
        if abusive.is_set():
            # No draft kept: the words are not stored or shown anywhere.
            log.warning(
                "generated reply for entry %s was abusive: verbatim answer", reply.entry_id
            )
            return verbatim_reply(candidates, "abusive")
        return reply

    def _generate(
        self,
        generator: Generator,
        question: str,
        candidates: Sequence[RetrievedFaq],
        history: Sequence[HistoryTurn],
        *,
        on_text: TextCallback | None,
        stop: threading.Event,
        abusive: threading.Event,
    ) -> GeneratedReply:
        """The generator's reply, checked for abuse on the generating thread (not the loop)."""
        reply = generator.generate(question, candidates, history, on_text=on_text, stop=stop)
        if (
            self.abuse is not None
            and reply.source == ReplySource.GENERATED
            and self.abuse.is_abusive(reply.text)
        ):
            abusive.set()
        return reply

    def _shown_while_clean(
        self, on_text: TextCallback, abusive: threading.Event, stop: threading.Event
    ) -> TextCallback:
        """``on_text`` that shows the reply so far until it turns abusive, then stops the model."""
        assert self.abuse is not None
        detector = self.abuse

        def show(text: str) -> None:
            if abusive.is_set():
                return
            if detector.is_abusive(text):
                abusive.set()
                stop.set()
                return
            on_text(text)

        return show

    def _release(self, future: asyncio.Future) -> None:
        self._pending -= 1
        if not future.cancelled():
            future.exception()  # retrieved here too, so a timed-out failure is not reported twice

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
