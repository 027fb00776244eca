"""Retraining the retriever on the live knowledge base, on request or on a schedule.

Requests are a key in Redis (from the CLI, Telegram or the console). One bot process at a time (a
Redis lock) trains in a worker thread with ``retrieval.training.train_retriever``; when the new model
is saved its folder is published in the model registry (registry.py) and every process's watcher
swaps it in, the old model answering until then. When the bot replies with a fine-tuned generator,
it is retrained after the retriever the same way: its new version is published and every process
loads it next to the old one, which keeps replying until the swap.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from knowledge_base.registry import ModelKind
from knowledge_base.store import KnowledgeBaseStore

log = logging.getLogger(__name__)

LOCK_SECONDS = 6 * 3600


async def request_retrain(store: KnowledgeBaseStore, author: str) -> None:
    request = json.dumps({"by": author, "at": time.time()})
    await store.redis.set(store.keys.retrain_request(), request)


async def retrain_status(store: KnowledgeBaseStore) -> dict[str, Any]:
    """The model being served (if retrained), a pending request, and whether training runs now."""
    model = await store.models.current(ModelKind.RETRIEVER)
    request, lock = await store.redis.mget(store.keys.retrain_request(), store.keys.retrain_lock())
    return {
        "model": model.to_dict() if model else None,
        "requested": json.loads(request) if request else None,
        "training": bool(lock),
    }


class Retrainer:
    """Background task: trains when asked (or when the schedule says so and the KB changed)."""

    def __init__(
        self,
        store: KnowledgeBaseStore,
        out_root: Path,
        *,
        schedule_hours: float = 0.0,
        train: Callable[..., Any] | None = None,
        config: Any = None,
        poll_seconds: float = 5.0,
        train_generator: Callable[[Any], Any] | None = None,
        out_of_scope: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        self.store = store
        # The operator's out-of-scope questions as they are when training starts (negatives).
        self.out_of_scope = out_of_scope
        self.out_root = Path(out_root)
        self.schedule_hours = schedule_hours
        self.train = train
        self.config = config
        self.poll_seconds = poll_seconds
        # Called with the live KnowledgeBase; returns the new generator version's folder.
        self.train_generator = train_generator

    async def due(self) -> str | None:
        """Why training should start now, or None."""
        status = await retrain_status(self.store)
        if status["requested"]:
            return f"requested by {status['requested']['by']}"
        if self.schedule_hours <= 0:
            return None
        model = await self.store.models.current(ModelKind.RETRIEVER)
        live = await self.store.live_version()
        if model is None or (
            time.time() - model.at >= self.schedule_hours * 3600 and model.kb_version != live
        ):
            return "schedule"
        return None

    async def run_once(self) -> Path | None:
        """Train if due and no other process is training; returns the new model folder."""
        why = await self.due()
        if why is None:
            return None
        lock = self.store.keys.retrain_lock()
        if not await self.store.redis.set(lock, "1", nx=True, ex=LOCK_SECONDS):
            return None
        try:
            await self.store.redis.delete(self.store.keys.retrain_request())
            version, kb = await self.store.current()
            if kb is None or len(kb) < 2:
                log.warning("retraining skipped: the knowledge base needs at least two entries")
                return None
            log.info("retraining the retriever on v%d (%s)", version, why)
            train = self.train
            if train is None:
                from retrieval.training import train_retriever as train
            report = await asyncio.to_thread(
                train,
                kb,
                self.out_root,
                self.config,
                out_of_scope=tuple(self.out_of_scope()) if self.out_of_scope else (),
                progress=False,
            )
            await self.store.models.publish(
                ModelKind.RETRIEVER, str(report.model_dir), kb_version=version
            )
            log.info("retrained retriever %s published", report.model_dir)
            if self.train_generator is not None:
                log.info("retraining the reply generator on v%d", version)
                generator_dir = await asyncio.to_thread(self.train_generator, kb)
                await self.store.models.publish(
                    ModelKind.GENERATOR, str(generator_dir), kb_version=version
                )
                log.info("retrained generator %s published", generator_dir)
            return Path(report.model_dir)
        finally:
            await self.store.redis.delete(lock)

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("retraining failed; the current model keeps serving")
            await asyncio.sleep(self.poll_seconds)
