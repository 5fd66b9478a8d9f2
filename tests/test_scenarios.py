"""vts.suite.scenarios: the registry, and every loop scenario opening and running."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from vts.strategies import all_strategies
from vts.suite.errors import UsageError
from vts.suite.scenarios import BUILT_IN, FLOOR, all_scenarios, scenario
from vts.suite.scenarios.receive_paths import RECEIVE_PATHS

LOOP_SCENARIOS = ["fresh", "wait", "thread", "fanout-1", "fanout-10", "fanout-100",
                  "fanout-1000", "monitor"]


def test_the_registry_names_every_scenario_in_order() -> None:
    built_in = [*LOOP_SCENARIOS, "socket-64", "socket-4k", "socket-64k", "socket-ready-64",
                "socket-ready-4k", "channel-pingpong", "channel-burst", "channel-fanin",
                "stdlib-ready", "stdlib-suspend"]
    assert list(BUILT_IN) == built_in
    assert list(all_scenarios())[:len(built_in)] == built_in  # installed ones follow


def test_an_unknown_scenario_names_the_choices() -> None:
    with pytest.raises(UsageError) as caught:
        scenario("nope")
    assert str(caught.value) == (
        "unknown scenario 'nope'; choose from: " + ", ".join(all_scenarios()))


def test_variants_and_what_the_gate_may_check() -> None:
    for name, definition in all_scenarios().items():
        if name not in BUILT_IN:
            continue
        if name.startswith("socket-"):
            assert definition.variants == tuple(RECEIVE_PATHS)
            assert definition.reference == "sock_recv_into"
        elif name == "monitor":
            assert definition.variants == tuple(all_strategies())
        elif name.startswith("channel-"):  # tests/test_channel_scenarios.py
            assert definition.reference == "asyncio_queue"
        elif name.startswith("stdlib-"):  # the awaits (tests/test_stdlib.py)
            assert definition.variants[0] == FLOOR and definition.reference == FLOOR
        else:
            assert definition.variants == (FLOOR, *all_strategies())
        short, long = definition.default_ops
        assert 0 < short < long
    timing_bound = {n for n, d in BUILT_IN.items() if not d.deterministic}
    assert timing_bound == {"thread", "monitor", "socket-64", "socket-4k", "socket-64k"}


@pytest.mark.parametrize("name", ["fresh", "wait", "thread", "fanout-10"])
@pytest.mark.parametrize("variant", [FLOOR, *all_strategies()])
def test_every_loop_scenario_runs_every_variant(name: str, variant: str) -> None:
    loop = asyncio.new_event_loop()
    workload = scenario(name).open(variant, loop)
    try:
        loop.run_until_complete(workload.run(20))
        samples = loop.run_until_complete(workload.run_timed(20))
    finally:
        workload.close()
        loop.close()
    assert len(samples) == 20 and all(sample > 0 for sample in samples)


def test_fanout_times_its_publishes_not_its_consumers(monkeypatch: pytest.MonkeyPatch) -> None:
    # A clock that reads how many tasks were created: it moves only if the timed section
    # includes starting the K consumers (pyperf once counted that as per-op time).
    loop = asyncio.new_event_loop()
    created = [0]

    def counting_factory(loop: asyncio.AbstractEventLoop, coro: Any,
                         **kwargs: Any) -> asyncio.Task[Any]:
        created[0] += 1
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting_factory)
    monkeypatch.setattr("vts.suite.scenarios.workloads.perf_ns", lambda: created[0])
    workload = scenario("fanout-10").open("pooled", loop)
    try:
        assert loop.run_until_complete(workload.run(3)) == 0
        assert created[0] == 11  # the driver and its 10 consumers
    finally:
        workload.close()
        loop.close()
