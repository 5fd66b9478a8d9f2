"""`vts profile`: memray for one cell: an offline flamegraph, peak memory, top sites."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vts.suite.environments import ensure, select
from vts.suite.errors import UsageError
from vts.suite.loops import LOOPS
from vts.suite.measure.memray_cell import MEMRAY_NOTE
from vts.suite.measure.processes import CELL_TIMEOUT, CellError, run_python
from vts.suite.scenarios import scenario

help = "profile one cell with memray (flamegraph that opens offline, top allocation sites)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("strategy", help="a strategy, or 'floor'")
    parser.add_argument("scenario")
    parser.add_argument("-l", "--loop", default="asyncio", choices=LOOPS)
    parser.add_argument("-p", "--python", metavar="X.Y", help="interpreter (default: this one)")
    parser.add_argument("--ops", type=int, default=2_000, help="operations captured")
    parser.add_argument("-o", "--out", type=Path, default=Path("reports") / "profiles",
                        help="directory for the flamegraph and stats")


def run(args: argparse.Namespace) -> int:
    definition = scenario(args.scenario)
    if args.strategy not in definition.variants:
        raise UsageError(f"unknown strategy {args.strategy!r} for scenario {args.scenario}; "
                         f"choose from: {', '.join(definition.variants)}")
    interpreter = select([args.python] if args.python else None)[0]
    python = ensure(interpreter)
    out_dir = (args.out / "memray").absolute()  # the process runs in its interpreter's source
    try:
        stdout = run_python(
            [str(python), "-m", "vts.suite.measure.memray_cell", "--scenario", args.scenario,
             "--variant", args.strategy, "--loop", args.loop, "--out-dir", str(out_dir),
             "--ops", str(args.ops)], CELL_TIMEOUT)
    except CellError as exc:
        raise UsageError(f"profiling failed: {exc}") from None
    summary = json.loads(stdout)
    console = Console()
    # escape(): a name like pooled[c] is not rich markup
    table = Table("allocations", "bytes", "site", title=escape(
        f"top sites: {args.strategy}/{args.scenario}/{interpreter.version}/{args.loop} "
        f"({args.ops} ops)"))
    for site in summary["top_sites"]:
        table.add_row(str(site["allocations"]), str(site["bytes"] or ""), site["location"])
    console.print(table)
    console.print(f"memray: {summary['allocations_per_op']:.1f} allocations/op, peak "
                  f"{summary['peak_bytes']} B. {MEMRAY_NOTE}")
    console.print(escape(f"flamegraph: {args.out / summary['flamegraph']}"))
    return 0
