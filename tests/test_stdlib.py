"""vts.suite.scenarios.stdlib: every standard-library await runs on both loops, suspends
exactly as its scenario says, and counts what the `allocations` fixture counts for the
same operation written as a user would."""

from __future__ import annotations

import asyncio
from itertools import repeat
from typing import Any

import pytest
from scenario_driver import suspensions

from vts.suite.gate import FIXED_COST_JITTER
from vts.suite.loops import new_event_loop
from vts.suite.measure.allocs import measure_batch
from vts.suite.measure.operation import measure_operation, prepare
from vts.suite.scenarios import FLOOR, VALUE, scenario
from vts.suite.scenarios.stdlib import READY, READY_OPERATIONS, SUSPEND, SUSPEND_OPERATIONS

CELLS = [(READY, name) for name, _ in READY_OPERATIONS] + [
    (SUSPEND, name) for name, _ in SUSPEND_OPERATIONS]
SHORT, LONG = 5_000, 10_000
RESOLUTION = 2 * FIXED_COST_JITTER / (LONG - SHORT)


def test_the_scenarios_record_what_each_variant_does() -> None:
    for name, operations in ((READY, READY_OPERATIONS), (SUSPEND, SUSPEND_OPERATIONS)):
        definition = scenario(name)
        assert definition.variants == tuple(variant for variant, _ in operations)
        assert definition.variant_operations == operations
        assert (definition.reference, definition.deterministic) == (FLOOR, True)
    assert "sleep" in scenario(SUSPEND).variants and "sleep" not in scenario(READY).variants


@pytest.mark.parametrize(("name", "variant"), CELLS)
def test_each_await_runs_and_suspends_as_its_scenario_says(event_loop_kind: str, name: str,
                                                           variant: str) -> None:
    loop = new_event_loop(event_loop_kind)
    workload = scenario(name).open(variant, loop)
    try:
        loop.run_until_complete(workload.run(20))
        samples = loop.run_until_complete(workload.run_timed(20))
    finally:
        workload.close()
        loop.close()
    assert len(samples) == 20 and all(sample > 0 for sample in samples)
    # Ten more operations, ten more suspensions (stdlib-suspend) or none (stdlib-ready).
    more = (suspensions(name, variant, event_loop_kind, 20)
            - suspensions(name, variant, event_loop_kind, 10))
    assert more == (10 if name == SUSPEND else 0)


def _scenario_count(loop: asyncio.AbstractEventLoop, name: str, variant: str) -> float:
    workload = scenario(name).open(variant, loop)
    try:
        return measure_batch(lambda n: loop.run_until_complete(workload.run(n)), short=SHORT,
                             long=LONG, warmup=1_000).allocs_per_op
    finally:
        workload.close()


def _fixture_count(loop: asyncio.AbstractEventLoop, op: Any) -> float:
    return measure_operation(prepare(op, loop), ops=(SHORT, LONG)).allocs_per_op


def test_a_figure_is_the_fixtures_for_the_same_await_less_its_coroutine(
        event_loop_kind: str) -> None:
    """The fixture awaits a user's async function once per op (its coroutine: exactly 1);
    the scenario runs the same body in its loop."""
    loop = new_event_loop(event_loop_kind)
    try:
        event = asyncio.Event()
        event.set()

        async def wait_for_a_set_event() -> None:
            await event.wait()

        lock = asyncio.Lock()
        loop.run_until_complete(lock.acquire())
        release, call_soon = lock.release, loop.call_soon

        def let_go(value: object) -> None:
            release()

        async def acquire_a_held_lock() -> None:
            call_soon(let_go, VALUE)
            await lock.acquire()

        pairs = [((READY, "Event.wait"), wait_for_a_set_event),
                 ((SUSPEND, "Lock"), acquire_a_held_lock)]
        for (name, variant), op in pairs:
            ours, theirs = _scenario_count(loop, name, variant), _fixture_count(loop, op)
            assert abs(theirs - 1 - ours) <= RESOLUTION, (variant, ours, theirs)
    finally:
        loop.close()


def test_the_suspending_queue_get_is_the_wait_driver_over_a_queue(event_loop_kind: str) -> None:
    """stdlib-suspend's Queue.get counts what the same loop written out by hand counts."""
    loop = new_event_loop(event_loop_kind)
    try:
        queue: asyncio.Queue[Any] = asyncio.Queue()

        async def by_hand(n: int) -> None:
            get, put_nowait, call_soon = queue.get, queue.put_nowait, loop.call_soon
            for _ in repeat(None, n):
                call_soon(put_nowait, VALUE)
                await get()

        reference = measure_batch(lambda n: loop.run_until_complete(by_hand(n)), short=SHORT,
                                  long=LONG, warmup=1_000).allocs_per_op
        ours = _scenario_count(loop, SUSPEND, "Queue.get")
    finally:
        loop.close()
    assert abs(ours - reference) <= RESOLUTION, (ours, reference)
