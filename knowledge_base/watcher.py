"""Hot reload in every bot process: follow the live knowledge-base version (and retrained model).

Each process is woken by the commit's notification (Redis pub/sub) and in any case polls the live
version number (one GET) every ``interval`` seconds. A new version is loaded with
``FaqRetriever.load`` in a worker thread: only phrasings it has not embedded before are embedded
(an answer-only change keeps the index), and the new index replaces the old one in one assignment, so questions keep being answered
from the previous version until the new one is complete. A retrained model named in Redis is loaded
into a second retriever in the background and swapped in when ready. The operator's out-of-scope
questions file (when configured) is checked on the same polls; a changed list is loaded into the
served retriever, which refits its confidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from knowledge_base.model import KnowledgeBase
from knowledge_base.store import KnowledgeBaseStore

log = logging.getLogger(__name__)


class KbWatcher:
    """Keeps a retriever on the live version; ``run`` is the background task of a bot process."""

    def __init__(
        self,
        store: KnowledgeBaseStore,
        retriever: Any,
        *,
        interval: float = 0.25,
        executor: Executor | None = None,
        on_loaded: Callable[[int, KnowledgeBase], None] | None = None,
        retriever_for_model: Callable[[str], Any] | None = None,
        on_swap: Callable[[Any], None] | None = None,
        loaded_version: int = 0,
        generator_for_model: Callable[[str], Any] | None = None,
        on_generator_swap: Callable[[Any], None] | None = None,
        out_of_scope: Callable[[], list[str] | None] | None = None,
    ) -> None:
        self.store = store
        self.retriever = retriever
        self.interval = interval
        self.executor = executor
        self.on_loaded = on_loaded
        self.retriever_for_model = retriever_for_model
        self.on_swap = on_swap
        self.loaded_version = loaded_version
        self.model: str | None = None
        self.generator_for_model = generator_for_model
        self.on_generator_swap = on_generator_swap
        self.generator_model: str | None = None
        self.last_reload: dict[str, float] = {}
        # Returns the operator's out-of-scope questions when they changed (else None).
        self.out_of_scope = out_of_scope

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def sync(self) -> bool:
        """Load the live version (and model) if it is not the one served; True if anything changed."""
        number, published, published_generator = await self.store.models.snapshot()
        changed = False
        if number and number != self.loaded_version:
            started = time.perf_counter()
            kb = await self.store.at_version(number)
            stats = await self._run(self.retriever.load, kb)
            self.loaded_version = number
            self.last_reload = {"version": number, "seconds": time.perf_counter() - started}
            self.last_reload.update(stats or {})
            log.info(
                "knowledge base v%d served (%d phrasings embedded, %.2fs)",
                number,
                int((stats or {}).get("embedded", 0)),
                self.last_reload["seconds"],
            )
            if self.on_loaded is not None:
                self.on_loaded(number, kb)
            changed = True
        questions = self.out_of_scope() if self.out_of_scope is not None else None
        if questions is not None and tuple(questions) != tuple(self.retriever.out_of_scope):
            started = time.perf_counter()
            await self._run(self.retriever.load, self.retriever.knowledge_base, questions)
            self.retriever.out_of_scope = tuple(questions)  # later loads keep them
            log.info(
                "%d out-of-scope questions served (%.2fs)",
                len(questions),
                time.perf_counter() - started,
            )
            changed = True
        model = published.path if published else None
        if model and model != self.model and self.retriever_for_model is not None:
            try:
                await self._swap_model(model)
                changed = True
            except Exception as exc:
                # Not retried every poll: the next published model gets its own chance.
                self.model = model
                log.error(
                    "retrained model %s not loaded (%s); the current one keeps serving", model, exc
                )
        generator = published_generator.path if published_generator else None
        if (
            generator
            and generator != self.generator_model
            and self.generator_for_model is not None
        ):
            # Recorded first: a model that fails to load is not retried on every poll.
            self.generator_model = generator
            try:
                started = time.perf_counter()
                fresh = await self._run(self.generator_for_model, generator)
                if self.on_generator_swap is not None:
                    self.on_generator_swap(fresh)
                log.info("generator %s serving (%.1fs)", generator, time.perf_counter() - started)
                changed = True
            except Exception as exc:
                log.error(
                    "retrained generator %s not loaded (%s); the current one keeps replying",
                    generator,
                    exc,
                )
        return changed

    async def _swap_model(self, model: str) -> None:
        """Build a retriever on the new model while the old one keeps answering, then swap."""
        started = time.perf_counter()
        fresh = self.retriever_for_model(model)
        await self._run(fresh.warm_up)
        number = self.loaded_version
        await self._run(fresh.load, await self.store.at_version(number))
        self.retriever, self.model = fresh, model
        if self.on_swap is not None:
            self.on_swap(fresh)
        log.info("retriever model %s served (%.1fs)", model, time.perf_counter() - started)

    async def run(self) -> None:
        """Sync on every change notification, and at least every ``interval`` seconds."""
        wake = asyncio.Event()
        listener = asyncio.create_task(self._listen(wake), name="kb-events")
        try:
            while True:
                wake.clear()
                try:
                    await self.sync()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception(
                        "knowledge base reload failed; still serving v%d", self.loaded_version
                    )
                _stop_if_cancelled()
                # asyncio.timeout, not wait_for (see _stop_if_cancelled).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.interval):
                        await wake.wait()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self, wake: asyncio.Event) -> None:
        """Wake the loop when a commit is announced (polling covers a lost notification)."""
        while True:
            try:
                async with self.store.redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.store.keys.events())
                    while True:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=1.0
                        )
                        _stop_if_cancelled()
                        if message is not None:
                            wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "knowledge base notifications interrupted (%s); polling meanwhile", exc
                )
                await asyncio.sleep(self.interval * 4)


def _stop_if_cancelled() -> None:
    """Raise the cancellation of this task if an awaited library call swallowed it.

    On Python 3.11, ``asyncio.wait_for`` returns normally when a cancellation arrives just as the
    awaited result does, and the in-process store of the terminal chat (fakeredis) answers through
    it: the cancelled task then kept running and never stopped.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
