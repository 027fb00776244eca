"""Natural batching: calls made while a batch runs are served together, nothing waits for a timer."""

from __future__ import annotations

import asyncio

import pytest

from common.batching import Batcher


class Recorder:
    """A batch function that keeps the batches it saw and can be held open."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def run(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        await self.release.wait()
        return [item * 10 for item in items]


async def test_a_lone_call_runs_at_once_as_a_batch_of_one() -> None:
    rec = Recorder()
    batcher = Batcher(rec.run)
    assert await asyncio.wait_for(batcher.submit(4), 1) == 40
    assert rec.batches == [[4]]


async def test_calls_made_while_a_batch_runs_form_the_next_batch() -> None:
    rec = Recorder()
    rec.release.clear()
    batcher = Batcher(rec.run)
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0)  # the first batch is running (held open)
    others = [asyncio.create_task(batcher.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    rec.release.set()
    assert await first == 10
    assert [await task for task in others] == [20, 30, 40]  # each caller gets its own result
    assert rec.batches == [[1], [2, 3, 4]]
    assert (batcher.batches, batcher.calls) == (2, 4)


async def test_a_batch_holds_at_most_max_batch_by_weight() -> None:
    rec = Recorder()
    rec.release.clear()
    batcher = Batcher(rec.run, max_batch=3, size=lambda item: item)
    tasks = [asyncio.create_task(batcher.submit(n)) for n in (1, 2, 1, 5)]
    await asyncio.sleep(0)
    rec.release.set()
    await asyncio.gather(*tasks)
    # 1+2 fit in 3; then 1 alone (1+5 is over); 5 is over the limit but a batch holds at least one.
    assert rec.batches == [[1, 2], [1], [5]]


async def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_runs() -> None:
    calls: list[list[int]] = []

    async def run(items: list[int]) -> list[int]:
        calls.append(items)
        await asyncio.sleep(0)
        if 2 in items:
            raise RuntimeError("model failed")
        return items

    batcher = Batcher(run)
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0)
    bad = [asyncio.create_task(batcher.submit(n)) for n in (2, 3)]
    assert await first == 1
    for task in bad:
        with pytest.raises(RuntimeError, match="model failed"):
            await task
    assert await batcher.submit(5) == 5  # the batcher goes on after a failure


async def test_a_caller_that_gave_up_is_skipped() -> None:
    rec = Recorder()
    rec.release.clear()
    batcher = Batcher(rec.run)
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0)
    gone = asyncio.create_task(batcher.submit(2))
    kept = asyncio.create_task(batcher.submit(3))
    await asyncio.sleep(0)
    gone.cancel()
    rec.release.set()
    assert await first == 10 and await kept == 30
    assert rec.batches == [[1], [3]]
