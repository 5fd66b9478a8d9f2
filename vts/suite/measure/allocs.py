"""Exact gross allocations per operation, bytes requested per operation, GC runs per 1k ops.

What it measures: every call of the object and mem allocators (``PyObject_Malloc``/``Calloc``/
``Realloc`` and ``PyMem_*``), counted by the hook in ``_alloccount`` -- gross, not net: an
object freed in the same operation still counts. Raw-domain allocations (``PyMem_Raw*``,
arenas, ``malloc`` from C libraries) are not seen.

Theory of operation: run the operation ``short`` times and ``long`` times with the GC paused,
count the allocations of each run, and divide the difference by ``long - short``. Whatever a
run costs once (creating the batch coroutine, ``run_until_complete``, the loop iterator, the
counter's own calls) is in both counts and cancels; what is left is the cost of one
operation, amortised (0.2 means one allocation every five operations, e.g. a dict resize).
GC runs per 1,000 operations come from a separate run of ``long`` operations with the GC on.

What it trades: exactness for scope. Counts are exact and repeatable for one interpreter
build, so a gate can use zero tolerance; but they are process-wide (another Python thread
allocating during a run is counted), they say nothing about time, and a tracer or profiler
(coverage, memray) changes them. Trust a count only where ``calibrate()`` matches
``EXPECTED_CALIBRATION`` for that interpreter.

Rules:
- Measured loops iterate over ``itertools.repeat(None, n)``, never ``range`` (a ``range``
  loop allocates an int per iteration above 256).
- Standard library only: this module is imported by the calibration probe under bare
  interpreters (3.10-3.13) that have none of the suite's dependencies.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import cache
from itertools import repeat
from typing import Any, Protocol, cast

from vts.suite.records import Allocs

__all__ = [
    "AllocationFigures",
    "counter",
    "measure_async",
    "measure_batch",
    "measure_sync",
]


@dataclass(frozen=True)
class AllocationFigures:
    """Per-operation figures of one measurement; ``ops`` is the (short, long) run lengths."""

    allocs_per_op: float
    bytes_per_op: float
    gc_per_1k_ops: float
    ops: tuple[int, int]

    def to_json(self) -> Allocs:
        return {
            "allocs_per_op": self.allocs_per_op,
            "bytes_per_op": self.bytes_per_op,
            "gc_per_1k_ops": self.gc_per_1k_ops,
            "ops": list(self.ops),
        }


class _Counter(Protocol):
    """The interface of the ``_alloccount`` extension."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def reset(self) -> None: ...
    def read(self) -> tuple[int, int]: ...


@cache
def _counter() -> _Counter:
    try:
        module = importlib.import_module("vts.suite.measure._alloccount")
    except ImportError as exc:
        raise ImportError(
            "the allocation counter vts.suite.measure._alloccount is not built; "
            "reinstall vts where a C compiler is available (in a checkout: 'pip install -e .')"
        ) from exc
    return cast(_Counter, module)


def counter() -> _Counter:
    """The counter extension itself (for attribution tools that pause it mid-run)."""
    return _counter()


def measure_batch(
    run: Callable[[int], object],
    *,
    short: int = 10_000,
    long: int = 20_000,
    warmup: int = 1_000,
    rounds: int = 3,
) -> AllocationFigures:
    """Measure ``run(n)``, which must perform exactly ``n`` operations itself.

    Pick this when the operation needs a driver around it (an event loop, a thread): the
    driver's fixed cost is paid once per ``run`` call and cancels in the difference.
    ``run(warmup)`` fills caches and freelists first; then ``rounds`` pairs of counted runs
    (short, long) follow, and each length keeps its lowest count. The GC is paused during
    the warm-up and the counted runs, and its previous state restored afterwards.
    """
    if not 0 <= short < long:
        raise ValueError(f"need 0 <= short < long, got short={short}, long={long}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    counter = _counter()
    plan = (warmup,) + (short, long) * rounds
    counts = [(0, 0)] * len(plan)  # filled in place: the harness allocates alike between runs
    gc_was_enabled = gc.isenabled()
    try:
        # Collect before the warm-up, not after: a full collection empties the freelists,
        # and refilling them would count in the first counted run only.
        gc.collect()
        gc.disable()
        # The warm-up goes through the same steps as the counted runs, so whatever the
        # harness takes from the freelists between runs it takes before every run alike.
        for slot, n in enumerate(plan):
            counter.reset()
            counter.start()  # hooks installed only around a run
            try:
                run(n)
            finally:
                counter.stop()
            counts[slot] = counter.read()
        gc_runs = _gc_runs(run, long)
    finally:
        if gc_was_enabled:
            gc.enable()
        else:
            gc.disable()
    # A fixed cost can itself be amortised (asyncio's current-task dict is rebuilt every
    # fifth task step), so it lands in some runs and not in others; each length's lowest
    # count is its cheapest phase, and the fixed costs cancel again.
    count_short, bytes_short = min(counts[1::2])
    count_long, bytes_long = min(counts[2::2])
    return AllocationFigures(
        allocs_per_op=(count_long - count_short) / (long - short),
        bytes_per_op=(bytes_long - bytes_short) / (long - short),
        gc_per_1k_ops=gc_runs * 1000 / long,
        ops=(short, long),
    )


def _gc_runs(run: Callable[[int], object], n: int) -> int:
    """Collections started during ``run(n)`` with the GC on (from a clean slate)."""
    started = 0

    def on_gc(phase: str, info: dict[str, int]) -> None:
        nonlocal started
        if phase == "start":
            started += 1

    gc.collect()
    gc.callbacks.append(on_gc)
    gc.enable()
    try:
        run(n)
    finally:
        gc.disable()
        gc.callbacks.remove(on_gc)
    return started


def measure_sync(
    op: Callable[[], object],
    *,
    short: int = 10_000,
    long: int = 20_000,
    warmup: int = 1_000,
    rounds: int = 3,
) -> AllocationFigures:
    """Measure one call of ``op()``, a synchronous operation."""

    def run(n: int) -> None:
        for _ in repeat(None, n):
            op()

    return measure_batch(run, short=short, long=long, warmup=warmup, rounds=rounds)


def measure_async(
    batch: Callable[[int], Coroutine[Any, Any, object]],
    *,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop,
    short: int = 10_000,
    long: int = 20_000,
    warmup: int = 1_000,
    rounds: int = 3,
) -> AllocationFigures:
    """Measure ``await batch(n)`` per operation on a fresh loop from ``loop_factory``.

    ``batch(n)`` must perform ``n`` operations (loop over ``repeat(None, n)`` inside it).
    The loop is closed afterwards.
    """
    loop = loop_factory()
    try:
        return measure_batch(
            lambda n: loop.run_until_complete(batch(n)),
            short=short,
            long=long,
            warmup=warmup,
            rounds=rounds,
        )
    finally:
        loop.close()
