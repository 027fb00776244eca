"""Work in a low-priority child process: its result, its error, its priority, and its end when the
waiting task is cancelled; and a real (tiny) generator training run through it."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from common.background import LOWEST_NICE, BackgroundError, run_in_background
from tests.conftest import SMALL_KB

ROOT = Path(__file__).resolve().parents[2]


async def test_the_child_runs_at_the_lowest_priority_and_returns_its_result() -> None:
    before = os.nice(0)
    assert await run_in_background(os.nice, 0) == LOWEST_NICE  # ``nice(0)``: its niceness
    if hasattr(os, "SCHED_IDLE"):
        assert await run_in_background(os.sched_getscheduler, 0) == os.SCHED_IDLE
    assert os.nice(0) == before  # this process keeps its own


async def test_an_error_in_the_child_comes_back_with_its_type_and_message() -> None:
    with pytest.raises(BackgroundError, match="ValueError: invalid literal for int"):
        await run_in_background(int, "not a number")


async def test_cancelling_the_wait_ends_the_child() -> None:
    waiting = asyncio.create_task(run_in_background(time.sleep, 60, name="sleeper"))
    deadline = time.monotonic() + 30
    while not any(p.name == "sleeper" for p in multiprocessing.active_children()):
        assert time.monotonic() < deadline, "the child never started"
        await asyncio.sleep(0.05)
    started = time.monotonic()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert time.monotonic() - started < 10
    assert not [p for p in multiprocessing.active_children() if p.name == "sleeper"]


@pytest.mark.slow
async def test_a_generator_trains_in_the_background_with_a_tiny_budget(tmp_path: Path) -> None:
    from models.smollm import read_metadata, resolve_generator_dir
    from models.training import GeneratorTrainingConfig, train_generator_for_retriever

    config = GeneratorTrainingConfig(
        max_examples=4,
        grad_accumulation=2,
        heldout_loss_examples=2,
        time_budget_s=60,
        export_gguf=False,
    )
    report = await run_in_background(
        train_generator_for_retriever,
        SMALL_KB,
        tmp_path / "gen",
        None,  # the base MiniLM
        config,
        ROOT / ".cache" / "supportbot",
        name="generator-training",
    )
    # At the lowest priority on a busy machine the budget may end it after a step or none.
    assert report.planned_steps == 2 and report.steps <= 2
    assert resolve_generator_dir(tmp_path / "gen") == report.model_dir
    assert read_metadata(report.model_dir)["knowledge_base"] == SMALL_KB.content_hash()
