"""The suite's scenarios under pytest-benchmark, one test per scenario x variant.

pytest-benchmark has no async support, so each round drives the event loop itself over a
batch of OPS operations (the loop's start-up is then a small fixed share of the round);
the table groups by scenario, so it reads strategy against strategy. Times are per
batch: divide by OPS for a time per operation (`vts bench` reports that directly).

Each test also takes vts's `allocations` fixture over the same workload and run lengths
as `vts bench`: the exact allocations, bytes and GC runs per operation land in the
benchmark's `extra_info` (so in `--benchmark-json`) and in a table after the timings.
"""

from __future__ import annotations

from typing import Any

import pytest

from vts.suite.loops import available_loops, new_event_loop
from vts.suite.scenarios import all_scenarios

OPS = 200
SCENARIOS = ("fresh", "wait", "thread", "fanout-10", "fanout-100")
CELLS = [
    pytest.param(name, variant, loop, id=f"{name}-{variant}-{loop}")
    for name in SCENARIOS
    for variant in all_scenarios()[name].variants
    for loop in available_loops()
]


@pytest.mark.parametrize(("scenario", "variant", "loop_kind"), CELLS)
def test_scenario(benchmark: Any, allocations: Any, scenario: str, variant: str,
                  loop_kind: str) -> None:
    definition = all_scenarios()[scenario]
    loop = new_event_loop(loop_kind)
    opened = definition.open(variant, loop)
    try:
        benchmark.extra_info.update(scenario=scenario, variant=variant, loop=loop_kind,
                                    ops_per_round=OPS)
        benchmark.pedantic(lambda: loop.run_until_complete(opened.run(OPS)),
                           rounds=20, iterations=1, warmup_rounds=2)
        allocations.batch(opened.run, loop=loop, ops=definition.default_ops)
    finally:
        opened.close()
        loop.close()
