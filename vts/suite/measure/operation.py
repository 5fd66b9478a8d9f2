"""One operation a user hands over, made measurable by the suite's counter harness.

An *operation* is one of:
- a plain function: called once per operation, its result dropped;
- an async function (or a function returning a coroutine): awaited once per operation;
- an awaitable that can be awaited again and again (a done Future): awaited per operation.
Async operations run `n` at a time inside one `run_until_complete` of a loop that the
caller names ("asyncio", "uvloop") or passes in. Anything else is a TypeError naming what
was passed; a function returning some other awaitable is a TypeError too (it would never
be awaited, so a pending one would leak a waiter).

`measure_operation` then uses `measure_batch` unchanged (two run lengths, GC paused,
warm-up, lowest of three rounds), so a figure here equals the suite's figure for the
same loop body; an async function adds its own coroutine, exactly 1 allocation per op.

Trades: the classification calls a plain function once before measuring (to tell a
coroutine function in disguise from a plain one); a function with side effects sees one
extra call.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from vts.suite.loops import LOOPS, loop_available, new_event_loop
from vts.suite.measure.allocs import AllocationFigures, measure_batch

DEFAULT_OPS = (10_000, 20_000)
DEFAULT_WARMUP = 1_000

Batch = Callable[[int], Coroutine[Any, Any, object]]


class LoopUnavailable(Exception):
    """The loop asked for does not import here (uvloop is an optional extra)."""


def active_tracer() -> str | None:
    """What would change exact counts here (a tracer, profiler or monitoring tool), or None.

    Tracers materialise frame objects and call back into Python: counts under coverage or
    a debugger are not the program's.
    """
    trace = sys.gettrace()
    if trace is not None:
        return f"a tracer is active (sys.gettrace() is {trace!r}: coverage or a debugger?)"
    profile = sys.getprofile()
    if profile is not None:
        return f"a profiler is active (sys.getprofile() is {profile!r})"
    if sys.version_info >= (3, 12):
        for tool_id in range(6):  # sys.monitoring's tool ids are 0-5
            tool = sys.monitoring.get_tool(tool_id)
            if tool is not None:
                return f"a sys.monitoring tool is in use ({tool!r}, id {tool_id})"
    return None


@dataclass
class Operation:
    """`run(n)` performs n operations; `loop` names the loop they run on (None: none).
    `close()` cancels what they left running and closes a loop made here."""

    run: Callable[[int], object]
    loop: str | None
    close: Callable[[], None]


def prepare(op: object, loop: str | asyncio.AbstractEventLoop = "asyncio") -> Operation:
    """Classify `op` and build the runner of n operations."""
    if inspect.iscoroutinefunction(op):
        return _on_loop(_call_and_await(op), loop)
    if not callable(op):
        if inspect.iscoroutine(op):
            op.close()  # never started: closing it silences "was never awaited"
            raise TypeError(
                f"allocations(op): got a coroutine object {op!r}, which can be awaited only "
                "once; pass the async function itself: allocations(f), not allocations(f())")
        if inspect.isawaitable(op):
            return _on_loop(_await_again(op), loop)
        raise TypeError("allocations(op): op must be a function, an async function or an "
                        f"awaitable; got {op!r} ({type(op).__name__})")
    probe = op()
    if inspect.iscoroutine(probe):
        probe.close()  # never started: none of it ran
        return _on_loop(_call_and_await(op), loop)
    if inspect.isawaitable(probe):
        raise TypeError(
            f"allocations(op): op returned {probe!r} ({type(probe).__name__}), an awaitable "
            "it would never await; pass an async function that awaits it: "
            "async def op(): await ...")

    def run(n: int) -> None:
        for _ in repeat(None, n):
            op()

    return Operation(run, None, lambda: None)


def prepare_batch(run: Batch, loop: str | asyncio.AbstractEventLoop = "asyncio") -> Operation:
    """A runner from `run(n)`, an async function that performs n operations itself (the
    suite's own shape: a driver whose fixed cost cancels between the two run lengths)."""
    if not callable(run):
        raise TypeError(f"allocations.batch(run): run must be an async function of n; "
                        f"got {run!r} ({type(run).__name__})")
    return _on_loop(run, loop)


def _call_and_await(op: Callable[[], Awaitable[object]]) -> Batch:
    async def batch(n: int) -> None:
        for _ in repeat(None, n):
            await op()

    return batch


def _await_again(awaitable: Awaitable[object]) -> Batch:
    async def batch(n: int) -> None:
        for _ in repeat(None, n):
            await awaitable

    return batch


def _on_loop(batch: Batch, loop: str | asyncio.AbstractEventLoop) -> Operation:
    if not isinstance(loop, str):
        return Operation(lambda n: loop.run_until_complete(batch(n)), _kind(loop),
                         lambda: None)
    if loop not in LOOPS:
        raise ValueError(f"allocations(op, loop={loop!r}): unknown event loop; "
                         f"choose from: {', '.join(LOOPS)}")
    if not loop_available(loop):
        raise LoopUnavailable(f"{loop} is not installed here; install the 'uvloop' extra")
    made = new_event_loop(loop)
    return Operation(lambda n: made.run_until_complete(batch(n)), loop,
                     lambda: _shut_down(made))


def _kind(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def _shut_down(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what the operations left running, then close the loop."""
    if loop.is_closed():
        return
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def measure_operation(operation: Operation, ops: tuple[int, int] = DEFAULT_OPS,
                      warmup: int = DEFAULT_WARMUP) -> AllocationFigures:
    """The suite's figures for `operation` (its run lengths, warm-up at most `short`)."""
    short, long = ops
    return measure_batch(operation.run, short=short, long=long, warmup=min(warmup, short))


__all__ = ["DEFAULT_OPS", "DEFAULT_WARMUP", "LoopUnavailable", "Operation", "active_tracer",
           "measure_operation", "prepare", "prepare_batch"]
