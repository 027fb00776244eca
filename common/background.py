"""Heavy work beside a serving process: a child process at the lowest CPU priority.

Training a model takes every core it is given for minutes. Run in a thread of the bot's own
process it competes with the event loop and the retriever as an equal; in a child process whose
threads run under Linux's ``SCHED_IDLE`` policy (elsewhere: ``nice`` 19) it only gets the CPU the
serving process leaves idle, so answering keeps its latency while training goes on
(``benchmarks/autotrain_responsiveness.py`` measures both). The child is started with ``spawn``:
nothing of the parent's threads, sockets or loaded models is copied into it.

``run_in_background`` awaits the child without blocking the event loop; cancelling it (the bot
stops) terminates the child, so a shutdown does not wait for a training run to end; on Linux the
child also ends when the parent is killed outright.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

LOWEST_NICE = 19
POLL_SECONDS = 0.5
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class BackgroundError(RuntimeError):
    """The work failed in the child process (its error type and message), or the child died."""


def lower_priority(nice: int = LOWEST_NICE) -> None:
    """Give the calling thread (and the threads it starts later) the lowest CPU priority."""
    if nice > 0 and hasattr(os, "nice"):
        os.nice(nice)
    idle = getattr(os, "SCHED_IDLE", None)
    if idle is not None and nice >= LOWEST_NICE:
        with contextlib.suppress(OSError):  # not allowed here (some containers): nice alone
            os.sched_setscheduler(0, idle, os.sched_param(0))


def _die_with_parent() -> None:
    """Linux: end this process when its parent dies, even by SIGKILL (no orphaned training)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _child(conn: Connection, nice: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    _die_with_parent()
    # First, before ``fn`` imports torch and starts its threads: they inherit the priority.
    lower_priority(nice)
    try:
        result = fn(*args)
    except BaseException as exc:  # everything goes back to the parent, which decides
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        conn.send(("error", detail))
    else:
        conn.send(("ok", result))
    finally:
        conn.close()


async def run_in_background(
    fn: Callable[..., Any], *args: Any, nice: int = LOWEST_NICE, name: str = "background"
) -> Any:
    """``fn(*args)`` in a new low-priority process; its result (``fn``, its arguments and result
    must pickle: a module-level function). Raises BackgroundError when it fails there."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(send, nice, fn, args), name=name, daemon=True)
    process.start()
    send.close()  # the child holds the only writing end: its exit ends the pipe
    try:
        while not receive.poll():
            if not process.is_alive() and not receive.poll():
                raise BackgroundError(f"{name} process ended with code {process.exitcode}")
            await asyncio.sleep(POLL_SECONDS)
        try:
            status, value = receive.recv()
        except EOFError:
            raise BackgroundError(f"{name} process ended with code {process.exitcode}") from None
    except BaseException:
        if process.is_alive():
            process.terminate()
        raise
    finally:
        receive.close()
        await asyncio.to_thread(process.join, 10)
    if status == "error":
        raise BackgroundError(value)
    return value
