"""`vts baseline update RESULTS...`: record a run's allocations as the committed baseline.

Merges the ok cells of RESULTS into the baseline by interpreter build and id (other cells,
and other builds, stay), writes it atomically and prints every cell whose allocations per
op moved.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vts.suite import results
from vts.suite.baseline import update_baseline
from vts.suite.errors import UsageError
from vts.suite.formatting import fmt_count
from vts.suite.gate import DEFAULT_BASELINE

help = "update the baseline the gate compares with (vts baseline update RESULTS)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    update = actions.add_parser("update", help="merge the ok cells of RESULTS into the "
                                "baseline", description=__doc__.splitlines()[0])
    update.add_argument("results", nargs="+", type=Path, metavar="RESULTS")
    update.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE, metavar="FILE",
                        help="the baseline results file (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    path: Path = args.baseline
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent}: no such directory for the baseline")
    old = None
    if path.exists():
        old = results.load(path, kind="baseline",
                           hint="move it away to start a new baseline")
    runs = [results.rebase(results.load(p), p.parent, path.parent) for p in args.results]
    new, moves, skipped = update_baseline(old, results.merge(runs))
    results.write_atomic(path, new)

    for move in moves:
        before = "new" if move.old is None else fmt_count(move.old)
        build = f" ({move.build})" if move.build else ""
        print(f"  {move.cell_id}{build}: {before} -> {fmt_count(move.new)}")
    for cell_id in skipped:
        print(f"  {cell_id}: failed in this run, not updated")
    unchanged = len(new["cells"]) - len(moves)
    print(f"{path}: {len(moves)} cell(s) moved, {unchanged} unchanged"
          + (f", {len(skipped)} failed and not updated" if skipped else ""))
    return 0
