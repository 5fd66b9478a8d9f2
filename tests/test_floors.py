"""The floors hold against hand-written reference operations counted in the same process.

A floor is the barest code performing a scenario's wake-up; each test below writes that
wake-up out by hand (no floor class, no workload class) and counts both with the same
counter, loop and run lengths. The floor may cost no allocation more than the reference
(issue: the thread-id check in `publish` cost 1 per publish, so every "above floor" figure
in `wait` came out 1 too low).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from itertools import repeat
from typing import Any

import pytest

from vts.suite.gate import FIXED_COST_JITTER
from vts.suite.loops import new_event_loop
from vts.suite.measure.allocs import measure_batch
from vts.suite.scenarios import scenario
from vts.suite.scenarios.base import FLOOR, VALUE
from vts.suite.scenarios.floors import ThreadFloor
from vts.suite.scenarios.workloads import WaitWorkload

SHORT, LONG = 5_000, 10_000
# Both figures carry their own resolution (vts.suite.gate, Rule 1).
RESOLUTION = 2 * FIXED_COST_JITTER / (LONG - SHORT)

Batch = Callable[[int], Coroutine[Any, Any, None]]


def _count(loop: asyncio.AbstractEventLoop, batch: Batch) -> float:
    return measure_batch(lambda n: loop.run_until_complete(batch(n)), short=SHORT, long=LONG,
                         warmup=1_000).allocs_per_op


def _reference_fresh(loop: asyncio.AbstractEventLoop) -> Batch:
    done = loop.create_future()
    done.set_result(VALUE)

    async def run(n: int) -> None:
        for _ in repeat(None, n):
            await done
    return run


def _reference_wait(loop: asyncio.AbstractEventLoop) -> Batch:
    future = loop.create_future()
    reset, call_soon = asyncio.Future.__init__, loop.call_soon

    def publish(value: object) -> None:
        future.set_result(value)

    async def run(n: int) -> None:
        for _ in repeat(None, n):
            call_soon(publish, VALUE)
            await future
            reset(future, loop=loop)
    return run


def _reference_thread_publish(loop: asyncio.AbstractEventLoop) -> Batch:
    """The thread scenario's wake-up (call_soon_threadsafe of set_result), driven by the
    wait driver so that its count is deterministic."""
    future = loop.create_future()
    reset, call_soon = asyncio.Future.__init__, loop.call_soon
    set_result, threadsafe = future.set_result, loop.call_soon_threadsafe

    def publish(value: object) -> None:
        threadsafe(set_result, value)

    async def run(n: int) -> None:
        for _ in repeat(None, n):
            call_soon(publish, VALUE)
            await future
            reset(future, loop=loop)
    return run


def _reference_fanout(loop: asyncio.AbstractEventLoop, k: int) -> Batch:
    shared = [loop.create_future()]

    async def consume(n: int) -> None:
        for _ in repeat(None, n):
            await shared[0]

    async def run(n: int) -> None:
        consumers = [loop.create_task(consume(n)) for _ in repeat(None, k)]
        await asyncio.sleep(0)
        sleep, new = asyncio.sleep, loop.create_future
        for _ in repeat(None, n):
            future, shared[0] = shared[0], new()
            future.set_result(VALUE)
            await sleep(0)
        await asyncio.gather(*consumers)
    return run


REFERENCES: dict[str, Callable[[asyncio.AbstractEventLoop], Batch]] = {
    "fresh": _reference_fresh,
    "wait": _reference_wait,
    "fanout-10": lambda loop: _reference_fanout(loop, 10),
}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_each_floor_costs_what_its_hand_written_wake_up_costs(event_loop_kind: str,
                                                               name: str) -> None:
    loop = new_event_loop(event_loop_kind)
    workload = scenario(name).open(FLOOR, loop)
    try:
        floor = _count(loop, workload.run)
        reference = _count(loop, REFERENCES[name](loop))
    finally:
        workload.close()
        loop.close()
    assert abs(floor - reference) <= RESOLUTION, (floor, reference)


def test_the_thread_floors_publish_costs_what_call_soon_threadsafe_costs(
        event_loop_kind: str) -> None:
    loop = new_event_loop(event_loop_kind)
    try:
        floor = _count(loop, WaitWorkload(ThreadFloor(loop), loop).run)
        reference = _count(loop, _reference_thread_publish(loop))
    finally:
        loop.close()
    assert abs(floor - reference) <= RESOLUTION, (floor, reference)


def test_the_thread_scenario_uses_the_thread_floor() -> None:
    loop = new_event_loop("asyncio")
    workload = scenario("thread").open(FLOOR, loop)
    try:
        assert isinstance(workload.target, ThreadFloor)  # type: ignore[attr-defined]
    finally:
        workload.close()
        loop.close()
