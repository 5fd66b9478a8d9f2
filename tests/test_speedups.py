"""vts._speedups: what only the C accelerator promises, beyond the shared protocol tests.

The protocol itself (states, tokens, flags, contexts, cancellation, threads) is tested on
both implementations by test_core, test_valuetask, test_core_stateful, test_stress and
test_strategies. Here: the targets the accelerator exists for (exact allocations per
operation, pinned against the loop's own floor), its reuse tricks (freelists, the
StopIteration freelist on 3.12+) and its garbage-collector support.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import weakref
from collections.abc import Iterator
from itertools import repeat
from typing import Any

import pytest
from conftest import new_loop

from vts.impl import C_MISSING
from vts.suite.gate import FIXED_COST_JITTER
from vts.suite.measure.allocs import measure_batch
from vts.suite.scenarios import scenario

if C_MISSING:
    pytest.skip(C_MISSING, allow_module_level=True)

from vts import _speedups
from vts.strategies.accelerated import CPooledSource

ValueTask = _speedups.ValueTask
Core = _speedups.ManualResetCore


def allocs_per_op(scenario_name: str, variant: str, loop_kind: str) -> float:
    """The exact allocations per operation of one cell, in this process, rounded to the
    figure's resolution (a run's fixed cost jitters by a few allocations: vts.suite.gate)."""
    definition = scenario(scenario_name)
    loop = new_loop(loop_kind)
    workload = definition.open(variant, loop)
    try:
        short, long = definition.default_ops
        figures = measure_batch(lambda n: loop.run_until_complete(workload.run(n)),
                                short=short, long=long)
    finally:
        workload.close()
        loop.close()
    step = FIXED_COST_JITTER / (long - short)
    return round(figures.allocs_per_op / step) * step


# -- the targets: exact allocations per operation -------------------------------------------


def test_pooled_c_waits_for_fewer_allocations_than_a_future_per_call(
    event_loop_kind: str,
) -> None:
    pooled_c = allocs_per_op("wait", "pooled[c]", event_loop_kind)
    assert pooled_c < allocs_per_op("wait", "future_per_call", event_loop_kind)


def test_pooled_c_waits_at_the_loops_own_floor(event_loop_kind: str) -> None:
    """A suspend/resume through pooled[c] costs what a Future reset in place costs in the
    same driver, or less (the C core posts its wakeup without binding call_soon)."""
    floor = allocs_per_op("wait", "floor", event_loop_kind)
    assert allocs_per_op("wait", "pooled[c]", event_loop_kind) <= floor


@pytest.mark.parametrize("variant", ["pooled[c]", "manual_reset[c]", "handwritten[c]"])
def test_a_fresh_value_through_a_c_value_task_allocates_nothing(
    event_loop_kind: str, variant: str
) -> None:
    # 3.12+ included, where awaiting a done Future costs a StopIteration.
    assert allocs_per_op("fresh", variant, event_loop_kind) == 0


def test_pooled_c_fanout_costs_no_more_per_waiter_than_the_floor(event_loop_kind: str) -> None:
    floor = allocs_per_op("fanout-10", "floor", event_loop_kind)
    assert allocs_per_op("fanout-10", "pooled[c]", event_loop_kind) <= floor


def test_awaiting_a_completed_c_value_task_allocates_nothing() -> None:
    value = object()

    async def batch(n: int) -> None:
        for _ in repeat(None, n):
            await ValueTask(value)

    loop = asyncio.new_event_loop()
    try:
        figures = measure_batch(lambda n: loop.run_until_complete(batch(n)))
    finally:
        loop.close()
    assert figures.allocs_per_op == 0


# -- reuse: freelists (StopIteration's too, on 3.12+) ---------------------------------------


def test_the_value_task_freelist_is_bounded() -> None:
    many = [ValueTask(n) for n in range(10_000)]
    del many
    assert 0 < _speedups._freelist_sizes()["ValueTask"] <= 256


def test_a_reused_value_task_carries_nothing_of_its_previous_life() -> None:
    first = ValueTask("first")
    address = id(first)
    del first
    again = [ValueTask("second") for _ in range(3)]
    assert any(id(vt) == address for vt in again)  # the freelist handed it out again
    assert [vt.result() for vt in again] == ["second"] * 3
    assert all(vt._source is None and vt._awaitable is None for vt in again)


def drain(iterator: Iterator[Any]) -> StopIteration:
    try:
        next(iterator)
    except StopIteration as stop:
        return stop
    raise AssertionError("the iterator yielded")


def test_a_stop_iteration_held_by_the_caller_is_never_reused() -> None:
    held = drain(ValueTask("kept").__await__())  # type: ignore[arg-type]
    assert held.value == "kept"
    later = drain(ValueTask("later").__await__())  # type: ignore[arg-type]
    assert (held.value, held.args) == ("kept", ("kept",))
    assert (later.value, later.args) == ("later", ("later",))
    assert later is not held


def test_a_value_returned_by_await_is_not_kept_alive_by_the_value_task() -> None:
    class Payload:
        pass

    async def main() -> None:
        payload = Payload()
        ref = weakref.ref(payload)
        assert await ValueTask(payload) is payload
        del payload  # 3.12+: the StopIteration that carried it is cleared when let go of
        gc.collect()
        assert ref() is None

    asyncio.run(main())


def test_the_bridges_methods_are_the_awaiters_own(event_loop_kind: str) -> None:
    async def main() -> None:
        core = Core()
        awaiter = _speedups.SourceAwaiter(core, core.version)
        method = awaiter.result
        assert method.__self__ is awaiter
        assert method.__name__ == "result"
        assert method() is None
        assert _speedups.SourceAwaiter.result(awaiter) is None  # through the descriptor
        with pytest.raises(TypeError, match=r"needs a 'vts._speedups.SourceAwaiter' object"):
            _speedups.SourceAwaiter.result(core)  # type: ignore[arg-type]

    asyncio.run(main())


# -- garbage-collector support ----------------------------------------------------------------


def test_a_cycle_through_a_value_task_is_collected() -> None:
    class Box:
        pass

    box = Box()
    box.task = ValueTask(box)  # type: ignore[attr-defined]
    ref = weakref.ref(box)
    assert box in gc.get_referents(box.task)  # type: ignore[attr-defined]
    del box
    gc.collect()
    assert ref() is None


def test_a_cycle_between_a_pooled_core_and_its_bridge_is_collected() -> None:
    class Probe(Core):  # type: ignore[misc]  # a subclass with a __weakref__ slot
        pass

    async def main() -> weakref.ref[Any]:
        probe = Probe()
        probe._pool = object()  # a pooled core keeps its bridge: core -> awaiter -> core
        assert probe.awaiter_for(probe.version) is probe.awaiter_for(probe.version)
        return weakref.ref(probe)

    ref = asyncio.run(main())
    gc.collect()
    assert ref() is None


def test_a_pooled_c_source_gives_itself_back_in_get_result() -> None:
    given: list[Any] = []

    class Pool:
        def give_back(self, source: Any) -> None:
            given.append(source)

    source = CPooledSource.__new__(CPooledSource)
    Core.__init__(source)
    source._pool = Pool()
    source.set_result("v")
    assert source.get_result(0) == "v"
    assert given == [source]
    assert source.version == 1  # reset before it went back


def test_a_subclass_that_overrides_get_result_is_called_by_the_c_value_task() -> None:
    class Doubling(Core):  # type: ignore[misc]
        def get_result(self, token: int) -> Any:
            return 2 * Core.get_result(self, token)

    source = Doubling()
    source.set_result(21)

    async def main() -> Any:
        return await ValueTask.from_source(source, 0)

    assert asyncio.run(main()) == 42


def test_refcounts_of_a_value_are_balanced_over_many_awaits() -> None:
    value = object()

    async def main() -> None:
        core = Core()
        for _ in range(1000):
            core.reset()
            core.set_result(value)
            assert await ValueTask.from_source(core, core.version) is value
        core.reset()

    before = sys.getrefcount(value)
    asyncio.run(main())
    assert sys.getrefcount(value) == before


@pytest.mark.parametrize("name", ["handwritten[c]", "manual_reset[c]", "pooled[c]"])
def test_wait_for_and_gather_drive_a_c_value_task(name: str) -> None:
    """asyncio.ensure_future takes the C ValueTask (send/throw/close/__await__) for a
    coroutine and steps it without __await__(): the first step must be the await. It
    raised "ValueTask iterated before __await__()" in the wait-timeout scenario."""
    from vts.strategies import Freshness, strategy_class

    async def main() -> None:
        loop = asyncio.get_running_loop()
        strategy = strategy_class(name)(Freshness.never())
        loop.call_soon(strategy.publish, 1)
        assert await asyncio.wait_for(strategy.get(), 5.0) == 1
        loop.call_soon(strategy.publish, 2)
        assert await asyncio.gather(strategy.get()) == [2]
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(strategy.get(), 0.01)
        loop.call_soon(strategy.publish, 3)
        assert await strategy.get() == 3

    asyncio.run(main())
