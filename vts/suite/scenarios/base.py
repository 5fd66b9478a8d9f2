"""What every scenario is made of: the `Scenario` record, the `Workload` a runner drives,
and the rules of a measured loop.

A *variant* is a strategy from the registry or `floor`, the barest code that performs
the same wake-up, so each strategy's cost above the floor can be reported beside its
total. Each workload exposes `run(n)` (n operations, for pyperf and the allocation counter)
and `run_timed(n)` (the same loop with a clock read around each operation, for the latency
distribution). The two loops are written out separately on purpose: the untimed one must
carry no clock reads and no branches that the timed one needs.

Rules for measured loops: iterate over `itertools.repeat(None, n)` (a `range` allocates
an int per step above 256), publish a preallocated value, and bind methods before the
loop. Everything that is not part of "one operation" happens once per `run` (its fixed
cost cancels in the allocation counter's difference of two run lengths).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

FLOOR = "floor"
VALUE = 7  # a small int: publishing it allocates nothing

perf_ns = time.perf_counter_ns


class Workload(Protocol):
    # n operations; may return the ns they took when the run has a fixed cost of its own
    # (starting tasks) that pyperf, which times whole runs, must not count per operation.
    def run(self, n: int) -> Coroutine[Any, Any, int | None]: ...

    def run_timed(self, n: int) -> Coroutine[Any, Any, list[int]]: ...

    def close(self) -> None: ...


def run_seconds(workload: Workload, loop: asyncio.AbstractEventLoop, ops: int) -> float:
    """The seconds `ops` operations of `workload` take on `loop`: the whole run, or the time
    the run reports of its operations where it has a fixed cost of its own (`Workload.run`).
    The coroutine is made before the clock starts."""
    coroutine = workload.run(ops)
    start = time.perf_counter()
    elapsed_ns = loop.run_until_complete(coroutine)
    whole = time.perf_counter() - start
    return whole if elapsed_ns is None else elapsed_ns / 1e9


class GetPublish(Protocol):
    """What a workload drives: a strategy, or a floor with the same two methods."""

    def get(self) -> Any: ...

    def publish(self, value: Any) -> object: ...


@dataclass(frozen=True)
class Scenario:
    name: str
    operation: str  # what one operation is, as the report says it
    variants: tuple[str, ...]
    open: Callable[[str, asyncio.AbstractEventLoop], Workload]
    reference: str = "future_per_call"
    deterministic: bool = True  # exact allocation counts repeat; the gate checks only these
    default_ops: tuple[int, int] = (10_000, 20_000)  # run lengths for the allocation counter
    message_bytes: int | None = None  # set where an operation moves a message (throughput)
    # CPUs its timed loop keeps busy: 2 where a producer or sender thread runs beside the
    # loop. A timed run gives the cell that many (`vts.suite.measure.cpus`).
    cpus: int = 1
    # Why fast mode (the default) does not time it, where its time follows the machine more
    # than the code under test; "" where it is timed. --full times it all the same.
    untimed_fast: str = ""
    # What the per-op samples (the latency distribution) leave out of the timed run, where
    # they leave something out: "" where they time the same operation. Where they do, the
    # report does not read a median above their p99 as a sign of descheduling.
    samples_exclude: str = ""
    # Why fast mode times it back to back (pyperf's workers, `measurement.FAST_BACK_TO_BACK`)
    # rather than interleaved with the other cells (`vts.suite.measure.interleaved`), where
    # its operation runs slower after a pause; "" where it does not.
    back_to_back: str = ""
    # True: every registered strategy (built-in or installed) is a variant, after `variants`;
    # `strategy_filter`, where given, says which ones (a strategy may not fit the workload).
    every_strategy: bool = False
    strategy_filter: Callable[[str], bool] | None = None
    # (variant, what one operation is) where variants do different things (the standard
    # library's awaits); recorded with the run, shown in the report's "How to read this".
    variant_operations: tuple[tuple[str, str], ...] = ()
