"""Whether a cell's values depend on the pause before them: one cell timed in values back to
back, then after an idle gap each, then back to back again.

    python scripts/value_gaps.py streams/socket-64k/asyncio
    python scripts/value_gaps.py handwritten/thread/asyncio --gap 0.5 --values 15

Why: fast mode (`vts.suite.measure.interleaved`) takes a cell's values seconds apart, with
the machine busy with other cells in between, where pyperf takes them back to back. For
most cells that makes no difference; a cell whose operation is a pipeline kept going by a
thread (the streamed sockets' sender) may run slower after a pause. This prints each
block's median and its values over the fastest value of the three blocks, so the two can
be compared within one run of the same process.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

VALUE_SECONDS = 0.01  # fast mode's value length


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cell", metavar="STRATEGY/SCENARIO/LOOP")
    parser.add_argument("--gap", type=float, default=0.5, help="idle seconds before a value")
    parser.add_argument("--values", type=int, default=15, help="values per block")
    parser.add_argument("--prime", type=int, default=0, metavar="N",
                        help="untimed values after each gap, before the value (fast mode "
                             "gives a scenario with a thread beside the loop 1)")
    args = parser.parse_args(argv)
    from vts.suite.errors import UsageError
    from vts.suite.loops import new_event_loop
    from vts.suite.scenarios import run_seconds, scenario

    if args.cell.count("/") != 2 or args.gap < 0 or args.values < 1 or args.prime < 0:
        print("error: give STRATEGY/SCENARIO/LOOP, --gap >= 0, --values >= 1 and --prime >= 0",
              file=sys.stderr)
        return 2
    strategy, name, kind = args.cell.split("/")
    try:
        definition = scenario(name)
        if strategy not in definition.variants:
            raise LookupError(f"unknown strategy {strategy!r} in {name}; choose from: "
                              f"{', '.join(definition.variants)}")
        loop = new_event_loop(kind)
    except (LookupError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    workload = definition.open(strategy, loop)

    def per_op(ops: int) -> float:
        return run_seconds(workload, loop, ops) / ops

    try:
        ops = 1
        while per_op(ops) * ops < VALUE_SECONDS:
            ops *= 2
        blocks = []
        idle = f"after {args.gap:g} s idle" + (f", {args.prime} primed" if args.prime else "")
        for label, gap in (("back to back", 0.0), (idle, args.gap),
                           ("back to back", 0.0)):
            values = []
            for _value in range(args.values):
                if gap:
                    time.sleep(gap)
                    for _primed in range(args.prime):
                        per_op(ops)
                values.append(per_op(ops))
            blocks.append((label, values))
    finally:
        workload.close()
        loop.close()
    fastest = min(value for _label, values in blocks for value in values)
    print(f"{args.cell}: {ops} operations a value")
    for label, values in blocks:
        print(f"{label:>28}: median {statistics.median(values) * 1e9:,.0f} ns; "
              + " ".join(f"{value / fastest:.2f}" for value in values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
