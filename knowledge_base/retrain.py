"""Retraining the retriever on the live knowledge base: on request, on a schedule, or when enough
new phrasings have arrived; and training the first reply generator of a bot that has none.

Requests are a key in Redis (from the CLI, Telegram or the console). One bot process at a time (a
Redis lock) trains, in a child process at the lowest CPU priority (``common/background.py``), with
``retrieval.training.train_retriever``; when the new model is saved its folder is published in the
model registry (registry.py) and every process's watcher swaps it in, the old model answering until
then (the swapped-in retriever refits its confidence calibration on held-out phrasings of the live
knowledge base, learned ones included). When the bot replies with a fine-tuned generator, it is
retrained after the retriever the same way (its own child process): its new version is published
and every process loads it next to the old one, which keeps replying until the swap.

When retraining is due (``Retrainer.due``), first match wins:

- requested (``kb retrain``, ``/kb_retrain``, the console);
- the schedule (``KB__RETRAIN_HOURS``): that long since the last retraining and the knowledge base
  changed since;
- new phrasings (``KB__RETRAIN_AFTER_PHRASINGS``): the live knowledge base holds that many
  phrasings (entry and text) that the version the served retriever was trained on did not — the
  customers' questions learned from confirmed answers, or an operator's additions. With no retrained
  retriever yet the baseline is the first stored version. Only the oldest kept version is compared
  when the trained one is no longer kept, so the count is never over-estimated;
- no reply generator yet (``GENERATOR__AUTO_TRAIN``): a bot that serves verbatim answers because
  ``GENERATOR__MODEL_PATH`` has no version trains its first generator right after it starts. That
  first retraining trains the generator only (the retriever has nothing new to learn); once one is
  published, every later retraining retrains it after the retriever. A failed training is logged,
  replies stay verbatim, and no process starts another on its own until a retraining is due for one
  of the other reasons.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from knowledge_base.model import KnowledgeBase, text_key
from knowledge_base.registry import ModelKind, PublishedModel
from knowledge_base.store import KbEditError, KnowledgeBaseStore

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


GENERATOR_MISSING = "no reply generator yet"


@dataclass(frozen=True, slots=True)
class Plan:
    """Why a retraining is due and what it trains."""

    reason: str
    retriever: bool = True  # False: the first generator only


class Retrainer:
    """Background task: trains when asked, on schedule, after enough new phrasings, and the first
    generator of a bot that has none (see the module's description)."""

    def __init__(
        self,
        store: KnowledgeBaseStore,
        out_root: Path,
        *,
        schedule_hours: float = 0.0,
        train: Callable[..., Any] | None = None,
        config: Any = None,
        poll_seconds: float = 5.0,
        train_generator: Callable[[KnowledgeBase, Path | None], Any] | None = None,
        out_of_scope: Callable[[], Sequence[str]] | None = None,
        after_phrasings: int = 0,
        generator_missing: bool = False,
        retrain_retriever: bool = True,
    ) -> None:
        self.store = store
        # The operator's out-of-scope questions as they are when training starts (negatives).
        self.out_of_scope = out_of_scope
        self.out_root = Path(out_root)
        self.schedule_hours = schedule_hours
        self.train = train
        self.config = config
        self.poll_seconds = poll_seconds
        # Called with the live KnowledgeBase and the retriever model folder to train with (None:
        # the base model); returns the new generator version's folder, or an awaitable of it.
        self.train_generator = train_generator
        # New phrasings since the served retriever's training that make retraining due (0: off).
        self.after_phrasings = after_phrasings
        # This process started with no generator and may train the first one (GENERATOR__AUTO_TRAIN).
        self.generator_missing = generator_missing and train_generator is not None
        # False where the served embedder is not the fine-tunable MiniLM: the generator only.
        self.retrain_retriever = retrain_retriever
        # (baseline version, live version) → new phrasings, and the baseline's phrasings.
        self._counted: tuple[tuple[int, int], int] | None = None
        self._baseline: tuple[int, frozenset[tuple[str, str]]] | None = None

    async def due(self) -> str | None:
        """Why training should start now, or None."""
        plan = await self.plan()
        return plan.reason if plan is not None else None

    async def plan(self) -> Plan | None:
        """Why training should start now and what it trains, or None (first match wins)."""
        status = await retrain_status(self.store)
        if status["requested"]:
            return Plan(f"requested by {status['requested']['by']}")
        if self.retrain_retriever:
            model = await self.store.models.current(ModelKind.RETRIEVER)
            live = await self.store.live_version()
            if self.schedule_hours > 0 and (
                model is None
                or (
                    time.time() - model.at >= self.schedule_hours * 3600
                    and model.kb_version != live
                )
            ):
                return Plan("schedule")
            if self.after_phrasings > 0 and live:
                baseline = await self._baseline_version(model, live)
                new = await self.new_phrasings(baseline, live)
                if new >= self.after_phrasings:
                    return Plan(
                        f"{new} new phrasings since v{baseline} "
                        f"(KB__RETRAIN_AFTER_PHRASINGS={self.after_phrasings})"
                    )
        if self.generator_missing and await self._no_generator():
            return Plan(GENERATOR_MISSING, retriever=False)
        return None

    async def _baseline_version(self, model: PublishedModel | None, live: int) -> int:
        """The version the served retriever was trained on (the first stored one when none was
        retrained), or the oldest version still kept if that one is not."""
        trained = model.kb_version if model is not None else 1
        return max(trained, live - self.store.keep_versions + 1, 1)

    async def new_phrasings(self, baseline: int, live: int) -> int:
        """Phrasings (entry and text) in version ``live`` that version ``baseline`` lacks.

        Counted once per pair of versions: a poll that finds the same live version costs one GET.
        """
        if live <= baseline:
            return 0
        if self._counted is not None and self._counted[0] == (baseline, live):
            return self._counted[1]
        try:
            if self._baseline is None or self._baseline[0] != baseline:
                self._baseline = (baseline, _phrasing_keys(await self.store.at_version(baseline)))
            new = len(_phrasing_keys(await self.store.at_version(live)) - self._baseline[1])
        except KbEditError as exc:  # a version missing from Redis: said once, not every poll
            log.warning("new phrasings not counted (%s); no retraining for them", exc)
            new = 0
        self._counted = ((baseline, live), new)
        return new

    async def _no_generator(self) -> bool:
        """None published, and no failed training waits for a retraining to try again."""
        published, failed = await self.store.redis.mget(
            self.store.keys.generator_model(), self.store.keys.generator_training_failed()
        )
        return published is None and failed is None

    async def run_once(self) -> Path | None:
        """Train if due and no other process is training; returns the new model folder (the
        retriever's; the generator's when only a first generator was trained)."""
        plan = await self.plan()
        if plan is None:
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
            retriever_dir = None
            if plan.retriever and self.retrain_retriever:
                retriever_dir = await self._train_retriever(version, kb, plan.reason)
            elif plan.retriever:
                log.info(
                    "the retriever is not retrained (%s): retraining fine-tunes MiniLM, "
                    "RETRIEVAL__EMBEDDER=minilm",
                    plan.reason,
                )
            generator_dir = None
            if self.train_generator is not None:
                served = retriever_dir or await self._served_retriever()
                generator_dir = await self._train_generator(version, kb, served, plan.reason)
            return retriever_dir or generator_dir
        finally:
            await self.store.redis.delete(lock)

    async def _train_retriever(self, version: int, kb: KnowledgeBase, why: str) -> Path:
        log.info("retraining the retriever on v%d (%s)", version, why)
        negatives = tuple(self.out_of_scope()) if self.out_of_scope else ()
        if self.train is None:
            # A child process at the lowest CPU priority: answering keeps the CPU it needs, and
            # torch's thread settings stay the serving process's own.
            from common.background import run_in_background
            from retrieval.training import train_retriever

            train = partial(train_retriever, out_of_scope=negatives, progress=False)
            report = await run_in_background(
                train, kb, self.out_root, self.config, name="retriever-training"
            )
        else:
            report = await asyncio.to_thread(
                self.train, kb, self.out_root, self.config, out_of_scope=negatives, progress=False
            )
        await self.store.models.publish(
            ModelKind.RETRIEVER, str(report.model_dir), kb_version=version
        )
        log.info("retrained retriever %s published", report.model_dir)
        return Path(report.model_dir)

    async def _served_retriever(self) -> Path | None:
        """The published retriever's folder on this host (None: the configured/base model)."""
        model = await self.store.models.current(ModelKind.RETRIEVER)
        found = model.on_this_host([self.out_root]) if model is not None else None
        return Path(found) if found else None

    async def _train_generator(
        self, version: int, kb: KnowledgeBase, retriever: Path | None, why: str
    ) -> Path | None:
        """Train and publish a generator version; a failure is logged and recorded, and the
        generator serving now (or verbatim answers) keeps replying."""
        first = why == GENERATOR_MISSING
        log.info(
            "%s on v%d (%s)",
            "training the first reply generator" if first else "retraining the reply generator",
            version,
            why,
        )
        failed_key = self.store.keys.generator_training_failed()
        try:
            if inspect.iscoroutinefunction(self.train_generator):
                generator_dir = await self.train_generator(kb, retriever)
            else:
                generator_dir = await asyncio.to_thread(self.train_generator, kb, retriever)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self.store.redis.set(
                failed_key, json.dumps({"at": time.time(), "error": str(exc)[:500]})
            )
            log.error(
                "reply generator training failed (%s); %s keeps replying", exc,
                "the verbatim FAQ answer" if first else "the current generator",
            )  # fmt: skip
            return None
        await self.store.models.publish(
            ModelKind.GENERATOR, str(generator_dir), kb_version=version
        )
        await self.store.redis.delete(failed_key)
        log.info("generator %s published: every bot process swaps it in", generator_dir)
        return Path(generator_dir)

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("retraining failed; the current model keeps serving")
            await asyncio.sleep(self.poll_seconds)


def _phrasing_keys(kb: KnowledgeBase) -> frozenset[tuple[str, str]]:
    return frozenset((e.id, text_key(p)) for e in kb.entries for p in e.phrasings)
