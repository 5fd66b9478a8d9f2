"""The latency of one cell with pyperf: worker processes, calibration, warmups.

    python -m vts.suite.measure.pyperf_cell --scenario wait --variant pooled --loop asyncio \
        -o pooled__wait.json [--fast] [pyperf options]

pyperf's Runner parses sys.argv and re-executes this module as `--worker` processes, and
only one Runner may exist per process, so every cell is its own invocation. The value
pyperf records is seconds per operation (`bench_time_func` divides by `loops`); the
scenario, variant and loop are kept in the benchmark's metadata.
"""

from __future__ import annotations

import argparse
from typing import Any

import pyperf

from vts.suite.loops import new_event_loop
from vts.suite.scenarios import Workload, run_seconds, scenario


def _add_own_args(cmd: list[str], args: argparse.Namespace) -> None:
    cmd.extend(["--scenario", args.scenario, "--variant", args.variant, "--loop", args.loop])


def main() -> None:
    runner = pyperf.Runner(add_cmdline_args=_add_own_args)
    runner.argparser.add_argument("--scenario", required=True)
    runner.argparser.add_argument("--variant", required=True)
    runner.argparser.add_argument("--loop", required=True)
    args = runner.parse_args()
    definition = scenario(args.scenario)
    # Named by what is measured, not by who: the same scenario on the same loop has the same
    # name in every strategy's file, so `pyperf compare_to` can pair them.
    name = f"{args.scenario}/{args.loop}"
    metadata: dict[str, Any] = {
        "vts_scenario": args.scenario, "vts_variant": args.variant, "vts_loop": args.loop,
        "description": definition.operation,
    }
    if not args.worker:
        # The master only starts workers and collects their values: it opens no workload,
        # whose threads (monitor's sampler, thread's producer) would share the CPUs with the
        # worker being timed.
        runner.bench_time_func(name, _not_in_master, metadata=metadata)
        return
    loop = new_event_loop(args.loop)
    workload: Workload = definition.open(args.variant, loop)

    def time_ops(loops: int) -> float:
        return run_seconds(workload, loop, loops)

    try:
        runner.bench_time_func(name, time_ops, metadata=metadata)
    finally:
        workload.close()
        loop.close()


def _not_in_master(loops: int) -> float:
    raise AssertionError("pyperf times in its worker processes only")


if __name__ == "__main__":
    main()
