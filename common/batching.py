"""Natural batching: calls that arrive while a batch runs are served together by the next one.

No timer and no waiting of its own: a call made while nothing runs is served at once (a batch of
one); calls made while a batch runs queue up and are served together as soon as it ends. A lone
caller is as fast as before, and a busy process pays a fixed cost (a model's call, a Redis round
trip) once per batch instead of once per call. Used for searching questions
(``retrieval/batching.py``) and for appending to streams: the domain events and the questions
log together (``bot/store/streams.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(slots=True)
class _Call(Generic[T, R]):
    item: T
    future: asyncio.Future[R]


class Batcher(Generic[T, R]):
    """Runs ``run(items) -> results`` (one result per item, in order) over batches of calls.

    Batches run one at a time. ``size`` weighs an item (e.g. the questions it holds); a batch
    holds at most ``max_batch`` of that weight, and always at least one call. If ``run`` raises,
    every call of that batch raises the same error.
    """

    def __init__(
        self,
        run: Callable[[list[T]], Awaitable[list[R]]],
        *,
        max_batch: int = 64,
        size: Callable[[T], int] = lambda _item: 1,
        name: str = "batches",
    ) -> None:
        self._run = run
        self._max_batch = max(1, max_batch)
        self._size = size
        self._name = name
        self._pending: list[_Call[T, R]] = []
        self._draining: asyncio.Task[None] | None = None
        self.batches = 0  # how many batches ran, and how many calls they held
        self.calls = 0

    async def submit(self, item: T) -> R:
        """The result for ``item``, computed in a batch with whoever else is waiting."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append(_Call(item, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain(), name=self._name)
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch = self._take()
            if not batch:  # every waiting caller gave up
                continue
            try:
                results = await self._run([call.item for call in batch])
            except Exception as exc:  # every caller of this batch hears why
                for call in batch:
                    if not call.future.done():
                        call.future.set_exception(exc)
                continue
            self.batches += 1
            self.calls += len(batch)
            for call, result in zip(batch, results, strict=True):
                if not call.future.done():  # a caller that gave up is skipped
                    call.future.set_result(result)

    def _take(self) -> list[_Call[T, R]]:
        """The oldest calls that fit in one batch (at least one)."""
        taken: list[_Call[T, R]] = []
        weight = 0
        while self._pending:
            nxt = self._pending[0]
            if taken and weight + self._size(nxt.item) > self._max_batch:
                break
            self._pending.pop(0)
            if nxt.future.done():  # cancelled while it waited
                continue
            taken.append(nxt)
            weight += self._size(nxt.item)
        return taken
