#!/usr/bin/env python3
"""Instructions per op of whole runs as Markdown: one table per interpreter and loop, or
the spread of each cell over repeated runs.

    scripts/instruction_table.py RESULTS...            # the tables (later files win per cell)
    scripts/instruction_table.py --spread RESULTS...   # (max - min) / min of each cell

`vts report` shows the same counts scenario by scenario, beside the times; this puts a
run's counts on one screen (docs/instructions.md is its output). A cell without a count
shows as a dash; a scenario whose counts depend on timing is marked with a dagger.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from vts.suite import results
from vts.suite.errors import UsageError
from vts.suite.formatting import DASH, fmt_instructions
from vts.suite.report.views import env_sort_key, scenario_sort_key, strategy_sort_key

TIMING_DEPENDENT = "\u2020"  # a dagger


def _count(cell: results.Cell) -> float | None:
    figures = cell.get("instructions") if cell["status"] == "ok" else None
    return figures["instructions_per_op"] if figures else None


def tables(run: results.Run) -> str:
    """One table per interpreter and loop: a row per scenario, a column per strategy; the
    socket scenarios, whose variants are receive paths, get a table of their own."""
    by_env: dict[tuple[str, str], dict[tuple[str, str], float | None]] = defaultdict(dict)
    for cell in run["cells"]:
        by_env[cell["python"], cell["loop"]][cell["scenario"], cell["strategy"]] = _count(cell)
    out: list[str] = []
    for python, loop in sorted(by_env, key=lambda key: env_sort_key(*key)):
        counts = by_env[python, loop]
        if all(value is None for value in counts.values()):
            continue
        out += [f"### Python {python}, {loop}", ""]
        groups: dict[bool, set[str]] = defaultdict(set)
        for scenario, _ in counts:
            groups[scenario.startswith("socket")].add(scenario)
        for sockets in sorted(groups):
            scenarios = sorted(groups[sockets], key=scenario_sort_key)
            variants = sorted({strategy for scenario, strategy in counts
                               if scenario in groups[sockets]}, key=strategy_sort_key)
            out.append("| scenario | " + " | ".join(variants) + " |")
            out.append("|---" * (len(variants) + 1) + "|")
            for scenario in scenarios:
                mark = "" if run["scenarios"].get(scenario, {}).get("deterministic", True) \
                    else " " + TIMING_DEPENDENT
                row = [fmt_instructions(counts[scenario, variant])
                       if (scenario, variant) in counts else DASH for variant in variants]
                out.append(f"| {scenario}{mark} | " + " | ".join(row) + " |")
            out.append("")
    return "\n".join(out)


def spread(runs: list[results.Run]) -> str:
    """Each cell counted in two or more of `runs`: how many times, its lowest count, and
    (highest - lowest) / lowest."""
    seen: dict[str, list[float]] = defaultdict(list)
    order: dict[str, results.Cell] = {}
    for run in runs:
        for cell in run["cells"]:
            count = _count(cell)
            if count is not None:
                seen[cell["id"]].append(count)
                order.setdefault(cell["id"], cell)
    rows = ["| python | loop | scenario | strategy | runs | instructions/op (lowest) | spread |",
            "|---|---|---|---|---|---|---|"]
    repeated = [cell_id for cell_id, counts in seen.items() if len(counts) > 1]
    if not repeated:
        raise UsageError("no cell was counted in two or more of the RESULTS")

    def key(cell_id: str) -> tuple[object, ...]:
        cell = order[cell_id]
        return (env_sort_key(cell["python"], cell["loop"]), scenario_sort_key(cell["scenario"]),
                strategy_sort_key(cell["strategy"]))

    for cell_id in sorted(repeated, key=key):
        cell, counts = order[cell_id], seen[cell_id]
        low = min(counts)
        # A timing-dependent cell's difference of two runs can be 0 or below: no spread.
        spread = f"{(max(counts) - low) / low:.2%}" if low > 0 else DASH
        rows.append(f"| {cell['python']} | {cell['loop']} | {cell['scenario']} | "
                    f"{cell['strategy']} | {len(counts)} | {fmt_instructions(low)} | "
                    f"{spread} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, metavar="RESULTS")
    parser.add_argument("--spread", action="store_true",
                        help="the spread of each cell over the RESULTS (repeated runs)")
    args = parser.parse_args(argv)
    try:
        runs = [results.load(path) for path in args.results]
        print(spread(runs) if args.spread else tables(results.merge(runs)))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
