"""Hot reload in every bot process: follow the live knowledge-base version (and retrained models).

Each process is woken by the commit's notification (Redis pub/sub) and in any case polls the live
version number (one GET) every ``interval`` seconds. A new version is served with
``LiveModels.serve`` in a worker thread: only phrasings the retriever has not embedded before are
embedded (an answer-only change keeps the index), and the new index replaces the old one in one
assignment, so questions keep being answered from the previous version until the new one is
complete. A retrained retriever or generator published in Redis is built by the ``ModelFactory``
next to the one serving and swapped into ``LiveModels`` when ready. The operator's out-of-scope
questions file (when configured) is checked on the same polls; a changed list is loaded into the
served retriever, which refits its confidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.services.live import LiveModels
    from knowledge_base.loaders import OutOfScopeFile
    from knowledge_base.registry import PublishedModel
    from knowledge_base.store import KnowledgeBaseStore
    from models.generator import Generator
    from retrieval.embedder import Embedder
    from retrieval.retriever import FaqRetriever

log = logging.getLogger(__name__)


class ModelFactory(Protocol):
    """How the watcher builds what it swaps in: from settings in production, fakes in tests."""

    out_of_scope: OutOfScopeFile | None  # the operator's questions file, followed on every poll

    def retriever(self, model_path: str, out_of_scope: Sequence[str]) -> FaqRetriever:
        """A retriever on ``model_path`` serving ``out_of_scope`` (not warmed up or loaded yet)."""
        ...

    def generator(self, model_path: str, embedder: Embedder) -> Generator:
        """The generator in ``model_path``, loaded and warmed up (called in a worker thread)."""
        ...

    def locate(self, model: PublishedModel) -> str | None:
        """Where a published model's folder is on this host; None if this host cannot see it."""
        ...


class KbWatcher:
    """Keeps ``live`` on the live version; ``run`` is the background task of a bot process."""

    def __init__(
        self,
        store: KnowledgeBaseStore,
        live: LiveModels,
        factory: ModelFactory | None = None,
        *,
        interval: float = 0.25,
        executor: Executor | None = None,
        model: str | None = None,
    ) -> None:
        self.store = store
        self.live = live
        self.factory = factory  # None: follow the knowledge base only
        self.interval = interval
        self.executor = executor
        self.model = model  # the published retriever model served (or last tried)
        self.generator_model: str | None = None  # the same for the generator
        self._missing: set[str] = set()  # published models this host cannot see (reported once)
        self.last_reload: dict[str, float] = {}

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def sync(self) -> bool:
        """Serve the live version (and models) if they are not the ones served; True if any changed."""
        number, published, published_generator = await self.store.models.snapshot()
        changed = False
        if number and number != self.live.version:
            started = time.perf_counter()
            kb = await self.store.at_version(number)
            stats = await self._run(self.live.serve, number, kb)
            self.last_reload = {"version": number, "seconds": time.perf_counter() - started}
            self.last_reload.update(stats)
            log.info(
                "knowledge base v%d served (%d phrasings embedded, %.2fs)",
                number,
                int(stats.get("embedded", 0)),
                self.last_reload["seconds"],
            )
            changed = True
        source = self.factory.out_of_scope if self.factory is not None else None
        questions = source.changed() if source is not None else None
        if questions is not None and tuple(questions) != self.live.out_of_scope():
            started = time.perf_counter()
            await self._run(self.live.serve_out_of_scope, questions)
            log.info(
                "%d out-of-scope questions served (%.2fs)",
                len(questions),
                time.perf_counter() - started,
            )
            changed = True
        if self.factory is None:
            return changed
        model = self._here(published, self.model)
        if model and model != self.model:
            try:
                await self._swap_retriever(model)
                changed = True
            except Exception as exc:
                # Not retried every poll: the next published model gets its own chance.
                self.model = model
                log.error(
                    "retrained model %s not loaded (%s); the current one keeps serving", model, exc
                )
        generator = self._here(published_generator, self.generator_model)
        if generator and generator != self.generator_model:
            # Recorded first: a model that fails to load is not retried on every poll.
            self.generator_model = generator
            try:
                await self._swap_generator(generator)
                changed = True
            except Exception as exc:
                log.error(
                    "retrained generator %s not loaded (%s); the current one keeps replying",
                    generator,
                    exc,
                )
        return changed

    def _here(self, published: PublishedModel | None, served: str | None) -> str | None:
        """The published model's folder on this host. One this host cannot see is reported once
        per published version, and the model serving now keeps serving."""
        if published is None:
            return None
        path = self.factory.locate(published)
        if path is None and published.path not in self._missing:
            self._missing.add(published.path)
            log.error(
                "published %s %s is not on this host: mount the shared models volume where "
                "this worker's settings look for it; %s keeps serving",
                published.kind,
                published.name,
                served or "the configured model",
            )
        return path

    async def _swap_retriever(self, model: str) -> None:
        """Build a retriever on the new model while the old one keeps answering, then swap."""
        started = time.perf_counter()
        # A retrained model serves the out-of-scope questions served now (the watcher follows the
        # file; re-reading it here could refuse the model over a half-edited file).
        fresh = self.factory.retriever(model, self.live.out_of_scope())
        await self._run(fresh.warm_up)
        await self._run(fresh.load, await self.store.at_version(self.live.version))
        self.live.swap_retriever(fresh)
        self.model = model
        log.info("retriever model %s served (%.1fs)", model, time.perf_counter() - started)

    async def _swap_generator(self, model: str) -> None:
        """Load the new generator while the old one keeps replying, then swap."""
        started = time.perf_counter()
        fresh = await self._run(self.factory.generator, model, self.live.retriever.embedder)
        self.live.swap_generator(fresh)
        log.info("generator %s serving (%.1fs)", model, time.perf_counter() - started)

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
                        "knowledge base reload failed; still serving v%d", self.live.version
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
