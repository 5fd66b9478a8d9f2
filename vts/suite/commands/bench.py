"""`vts bench`: measure a slice of the matrix into reports/runs/<id>/, then report it.

Default: this interpreter x both loops x every strategy and scenario, allocations,
latency distribution and instructions per op of the fresh and wait cells where valgrind is
installed (one cell per CPU at a time), then every cell timed one value at a time
(`vts.suite.measure.interleaved`). Ends with
the summary table, the HTML report and where both are.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from vts.impl import C_MISSING
from vts.suite.measure import valgrind
from vts.suite.measure.processes import CELL_TIMEOUT
from vts.suite.measure.session import DEFAULT_COUNTED, BenchOptions, measure_slice
from vts.suite.report.write import write_report
from vts.suite.results import Run
from vts.suite.selection import Slice, add_slice_arguments

help = "measure strategies x scenarios x interpreters x loops (allocations, latency, memray)"

def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_slice_arguments(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--fast", dest="mode", action="store_const", const="fast",
                      help="the default: every cell timed after all are counted, one value "
                           "at a time, the cells' values interleaved (40 each)")
    mode.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="pyperf's own defaults (20 worker processes; slow, steadier)")
    mode.add_argument("--allocs-only", dest="mode", action="store_const", const="allocs-only",
                      help="exact allocations and latency distribution only, no pyperf")
    parser.add_argument("--memray", action="store_true",
                        help="also capture every cell with memray (flamegraph, top sites)")
    parser.add_argument("--instructions", action=argparse.BooleanOptionalAction,
                        help="count instructions per op under valgrind's callgrind in every "
                        "cell (about 3 s per cell); by default the timed modes count the "
                        f"{', '.join(DEFAULT_COUNTED)} cells where valgrind is installed, "
                        "--allocs-only none")
    parser.add_argument("-o", "--out", type=Path, help="run directory (default reports/runs/<id>)")
    parser.add_argument("--append", action="store_true",
                        help="add the cells to the run already in --out (a cell measured "
                        "again replaces its old figures); without it, bench refuses a "
                        "directory that holds a run")
    parser.add_argument("--cell-timeout", type=_positive, default=CELL_TIMEOUT,
                        metavar="SECONDS", help="the time limit of each cell's measuring "
                        "process; a cell that takes longer is recorded as failed "
                        "(default %(default)g)")
    parser.add_argument("-j", "--jobs", type=_jobs, metavar="N",
                        help="cells counted at a time (default: one per CPU, 1 with "
                        "--full); counts are the same at any N; fast mode then times one "
                        "value at a time, --full times N cells at a time")
    parser.add_argument("--no-report", action="store_true", help="do not write report.html")
    parser.set_defaults(mode="fast")


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text}")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, not {text}")
    return value


def time_split(run: Run, seconds: float) -> str:
    """How long the measuring took, and where its cells' time went: each phase's wall time
    summed over the cells (counted `jobs` at a time, so the sums exceed the wall time; in
    fast mode the timing is one value at a time, after the counting)."""
    phases: dict[str, float] = {}
    for cell in run["cells"]:
        for phase, value in (cell.get("extra", {}).get("seconds") or {}).items():
            phases[phase] = phases.get(phase, 0.0) + value
    split = ", ".join(f"{phase} {_duration(value)}" for phase, value in phases.items())
    return (f"measured {len(run['cells'])} cells in {_duration(seconds)}"
            + (f" ({run.get('jobs', 1)} at a time"
               + (", then timed one value at a time" if run.get("mode") == "fast" else "")
               + f"; summed over the cells: {split})"
               if split else ""))


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{seconds:.1f} s"


def options_from(args: argparse.Namespace) -> BenchOptions:
    return BenchOptions(Slice.from_args(args), args.mode, args.memray, args.out, args.append,
                        args.cell_timeout, args.instructions, args.jobs)


def run(args: argparse.Namespace) -> int:
    # Not a terminal (make's log, CI): wide enough that the table's names are not cut.
    console = Console() if Console().is_terminal else Console(width=160)
    started = time.perf_counter()
    measured = measure_slice(options_from(args), console)
    measuring = time.perf_counter() - started
    path, saved = measured.path, measured.run
    from vts.suite.report.terminal import print_summary, print_verdict

    print_summary(saved, console, link_base=path.parent, with_verdict=False)
    for key, environment in saved["environments"].items():
        check = environment.get("counter_calibration") or {}
        if check and not check.get("calibrated"):
            console.print(f"[yellow]warning[/yellow]: the allocation counter is not calibrated "
                          f"on {key} ({check.get('reason') or check.get('mismatches')}); "
                          "do not trust its allocation counts there")
    counted = sum(cell.get("instructions") is not None for cell in saved["cells"])
    if counted < len(saved["cells"]):
        why = valgrind.unavailable() if args.instructions is None else None
        console.print(escape(
            f"instructions per op: counted in {counted} of {len(saved['cells'])} cells"
            + (f" ({why})" if why and args.mode != "allocs-only" else "")
            + "; --instructions counts every cell under valgrind, about 3 s each"))
    missing = {key: environment["c_accelerator_missing"]
               for key, environment in saved["environments"].items()
               if environment.get("c_accelerator_missing")}
    if C_MISSING:
        missing.setdefault("this interpreter", C_MISSING)
    for key, reason in missing.items():
        console.print("[yellow]warning[/yellow]: " + escape(
            f"no C accelerator on {key}, so no [c] strategies there: {reason}"))
    console.print(escape(time_split(saved, measuring)))
    console.print(escape(f"results: {path}"))
    if not args.no_report:
        started = time.perf_counter()
        written = write_report([(path, saved)])
        console.print(f"report written in {time.perf_counter() - started:.1f} s")
        print(written)
    print_verdict(saved, console)  # the answer closes the output
    failed = sum(cell["status"] != "ok" for cell in saved["cells"])
    return 1 if failed else 0
