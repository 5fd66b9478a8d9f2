"""One cell measured in its own process: exact allocations and the latency distribution.

    python -m vts.suite.measure.cell --scenario wait --variant pooled --loop asyncio

Prints one JSON object on stdout: `allocs` (per op, from two run lengths, GC paused),
`latency` (p50/p99/max and a histogram) and `environment` (interpreter, loop, package
versions). Run by `vts bench` under each interpreter of the matrix; a crash or a hang
here costs one cell, never the run.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from importlib import metadata
from typing import Any

from vts.impl import C_MISSING
from vts.suite.loops import loop_version, new_event_loop
from vts.suite.measure.allocs import measure_batch
from vts.suite.measure.latency import summarise
from vts.suite.scenarios import scenario

# The per-op samples span at least this long (or LATENCY_MAX_SAMPLES): their mean sets fast
# mode's loops per pyperf value (`measurement.fast_loops`), and 5,000 operations of 110 ns
# span 0.55 ms, which one 4 ms preemption multiplied by 8 (loops 8x too few, pyperf values
# of 4 ms instead of 50). At 20 ms, one preemption moves the mean by a fifth.
LATENCY_MIN_SECONDS = 0.02
LATENCY_MAX_SAMPLES = 200_000
PACKAGES = ("vts", "pyperf", "memray", "psutil", "uvloop", "rich")


def environment(loop: str) -> dict[str, Any]:
    """What this interpreter and loop are, recorded with every cell."""
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    version = platform.python_version()
    return {
        "python": "{}.{}".format(*sys.version_info[:2]),
        "python_full": version,
        "implementation": platform.python_implementation(),
        "build": sys.version.replace("\n", " "),
        "executable": sys.executable,
        "loop": loop,
        "loop_version": loop_version(loop),
        "packages": packages,
        # None where vts._speedups is built; else why not (its [c] strategies are absent).
        "c_accelerator_missing": C_MISSING,
    }


def measure_cell(
    scenario_name: str, variant: str, loop_kind: str, *, ops: tuple[int, int] | None = None,
    latency_ops: int | None = None, with_latency: bool = True,
) -> dict[str, Any]:
    """Measure one cell in this process."""
    definition = scenario(scenario_name)
    short, long = ops or definition.default_ops
    loop = new_event_loop(loop_kind)
    workload = definition.open(variant, loop)
    try:
        figures = measure_batch(
            lambda n: loop.run_until_complete(workload.run(n)),
            short=short, long=long, warmup=min(1_000, short),
        )
        latency = None
        if with_latency:
            # As many operations as the counter's long run (fan-out to 1000 is slow), again
            # until they span LATENCY_MIN_SECONDS unless told how many.
            count = latency_ops or min(5_000, long)
            samples = loop.run_until_complete(workload.run_timed(count))
            spanned = sum(samples)
            while (latency_ops is None and len(samples) < LATENCY_MAX_SAMPLES
                   and spanned < LATENCY_MIN_SECONDS * 1e9):
                more = loop.run_until_complete(workload.run_timed(count))
                samples += more
                spanned += sum(more)
            latency = summarise(samples)
    finally:
        workload.close()
        loop.close()
    return {"allocs": figures.to_json(), "latency": latency, "environment": environment(loop_kind)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vts.suite.measure.cell")
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--variant", required=True)
    parser.add_argument("--loop", required=True)
    parser.add_argument("--ops", type=int, nargs=2, metavar=("SHORT", "LONG"))
    parser.add_argument("--latency-ops", type=int, default=None)
    parser.add_argument("--no-latency", action="store_true")
    args = parser.parse_args(argv)
    result = measure_cell(
        args.scenario, args.variant, args.loop, ops=tuple(args.ops) if args.ops else None,
        latency_ops=args.latency_ops, with_latency=not args.no_latency,
    )
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
