"""vts.suite.scenarios.channels: the channel scenarios on every strategy and asyncio.Queue,
both loops; what each item does (suspensions); and pooled[c]'s allocations per item in
channel-pingpong, pinned and held against the wait floor and asyncio.Queue."""

from __future__ import annotations

import asyncio
import sys

import pytest
from scenario_driver import suspensions

from vts.entry_points import BUILT_IN
from vts.strategies import all_strategies, strategy_registry
from vts.suite.gate import FIXED_COST_JITTER
from vts.suite.loops import new_event_loop
from vts.suite.measure.allocs import measure_batch
from vts.suite.scenarios import FLOOR, Scenario, all_scenarios, scenario
from vts.suite.scenarios.channels import (
    ASYNCIO_QUEUE,
    BURST,
    CHANNEL_SCENARIOS,
    serves_a_channel,
)

NAMES = [s.name for s in CHANNEL_SCENARIOS]
# The built-in strategies, in the registry's order (each [c] after its Python form).
STRATEGIES = [name for name, entry in strategy_registry().entries.items()
              if entry.origin == BUILT_IN]
POOLED_C = "pooled[c]"
SHORT, LONG = 10_000, 20_000  # channel-pingpong's run lengths
RESOLUTION = FIXED_COST_JITTER / (LONG - SHORT)
# Allocations per item in channel-pingpong, (floor, pooled[c], asyncio_queue), by interpreter
# and loop (`vts bench --allocs-only -p 3.11,3.12 -c channel-pingpong -s 'pooled[c]'`).
# pooled[c] is the floor exactly: each wake empties the waiter list, so the strategy's
# sweep (Strategy.register) never runs (it cost 3 allocations per 64 items, 0.0468).
_PINGPONG = {"asyncio": (22.2, 22.2, 25.2), "uvloop": (4.2, 4.2, 7.2)}
PINNED: dict[tuple[int, int], dict[str, tuple[float, float, float]]] = {
    (3, 11): _PINGPONG, (3, 12): _PINGPONG}
# The done criterion: pooled[c] at most the wait floor + this per item, and below
# asyncio.Queue.
ABOVE_FLOOR_AT_MOST = 0.1


def test_asyncio_queue_is_the_reference_and_every_channel_strategy_follows() -> None:
    for definition in CHANNEL_SCENARIOS:
        resolved = all_scenarios()[definition.name]
        own = (FLOOR, ASYNCIO_QUEUE) if definition.name == "channel-pingpong" else (
            ASYNCIO_QUEUE,)
        assert resolved.variants[:len(own)] == own
        assert resolved.reference == ASYNCIO_QUEUE
        assert resolved.deterministic  # the gate compares each one's counts
        assert list(resolved.variants[len(own):len(own) + len(STRATEGIES)]) == STRATEGIES
        assert all(serves_a_channel(name) for name in resolved.variants[len(own):])


def test_a_strategy_that_cannot_serve_a_channel_is_left_out() -> None:
    from vts.suite.scenarios import _resolved

    declared = Scenario("x", "x", (ASYNCIO_QUEUE,), CHANNEL_SCENARIOS[0].open,
                        every_strategy=True, strategy_filter=lambda name: name != "pooled")
    assert _resolved(declared, ("future_per_call", "pooled")).variants == (
        ASYNCIO_QUEUE, "future_per_call")


@pytest.mark.parametrize(("name", "variant"), [
    (name, variant) for name in NAMES for variant in (FLOOR, ASYNCIO_QUEUE, *STRATEGIES)
    if variant in all_scenarios()[name].variants])
def test_every_channel_scenario_runs_every_variant(event_loop_kind: str, name: str,
                                                   variant: str) -> None:
    loop = new_event_loop(event_loop_kind)
    workload = scenario(name).open(variant, loop)
    try:
        loop.run_until_complete(asyncio.wait_for(workload.run(BURST + 5), 10))
        samples = loop.run_until_complete(asyncio.wait_for(workload.run_timed(BURST + 5), 10))
    finally:
        workload.close()
        loop.close()
    assert len(samples) == BURST + 5 and all(sample > 0 for sample in samples)


@pytest.mark.parametrize("variant", [ASYNCIO_QUEUE, POOLED_C, "pooled"])
def test_each_scenario_suspends_its_consumer_as_it_says(event_loop_kind: str,
                                                        variant: str) -> None:
    if variant not in all_strategies() and variant != ASYNCIO_QUEUE:
        pytest.skip(f"{variant} is not built here")

    def more(name: str, items: int) -> int:  # suspensions of `items` more items
        return (suspensions(name, variant, event_loop_kind, 2 * items)
                - suspensions(name, variant, event_loop_kind, items))

    assert more("channel-pingpong", 10) == 10  # every receive waits once
    assert more("channel-burst", 4 * BURST) == 4  # the first receive of each burst
    assert 0 < more("channel-fanin", 100) <= 100  # when the producers fall behind


def _per_item(loop: asyncio.AbstractEventLoop, variant: str) -> float:
    workload = scenario("channel-pingpong").open(variant, loop)
    try:
        return measure_batch(lambda n: loop.run_until_complete(workload.run(n)), short=SHORT,
                             long=LONG, warmup=1_000).allocs_per_op
    finally:
        workload.close()


@pytest.mark.skipif(POOLED_C not in all_strategies(), reason="the C accelerator is not built")
def test_pooled_c_pingpong_per_item_is_pinned_at_the_wait_floor_below_asyncio_queue(
        event_loop_kind: str) -> None:
    loop = new_event_loop(event_loop_kind)
    try:
        figures = tuple(_per_item(loop, variant) for variant in (FLOOR, POOLED_C, ASYNCIO_QUEUE))
    finally:
        loop.close()
    print(f"channel-pingpong {event_loop_kind}: floor, pooled[c], asyncio_queue = {figures}")
    floor, pooled_c, asyncio_queue = figures
    assert pooled_c <= floor + ABOVE_FLOOR_AT_MOST and pooled_c < asyncio_queue, figures
    pinned = PINNED.get(sys.version_info[:2], {}).get(event_loop_kind)
    if pinned is None:
        pytest.skip(f"no pin for Python {sys.version_info[0]}.{sys.version_info[1]}")
    assert all(abs(a - b) <= RESOLUTION for a, b in zip(figures, pinned, strict=True)), (
        figures, pinned)


def test_vts_list_says_the_channel_scenarios_run_the_strategies_that_fit() -> None:
    from vts.suite.commands.list_ import describe_variants

    assert [describe_variants(s) for s in CHANNEL_SCENARIOS] == [
        "floor, asyncio_queue + every strategy that fits",
        "asyncio_queue + every strategy that fits", "asyncio_queue + every strategy that fits"]


# Futures allocated before the channel: they move where its own objects of that size
# land, and so their addresses (what a set of waiters would hash).
LAYOUT_SHIFTS = (0, 1, 2, 3, 5, 8)


def _fanin_per_item(kind: str, variant: str, shift: int) -> float:
    loop = new_event_loop(kind)
    ballast = [loop.create_future() for _ in range(shift)]
    workload = scenario("channel-fanin").open(variant, loop)
    try:
        return measure_batch(lambda n: loop.run_until_complete(workload.run(n)),
                             short=2_000, long=4_000, warmup=500).allocs_per_op
    finally:
        workload.close()
        loop.close()
        del ballast


def test_channel_fanin_counts_the_same_wherever_its_objects_lie(event_loop_kind: str) -> None:
    """Several waiters woken at once: what the channel's bookkeeping of woken waiters
    allocates depends on how many there are, never on their addresses."""
    _fanin_per_item(event_loop_kind, "recycled_future", 0)  # the process's one-time costs
    figures = {shift: _fanin_per_item(event_loop_kind, "recycled_future", shift)
               for shift in LAYOUT_SHIFTS}
    assert len(set(figures.values())) == 1, figures
