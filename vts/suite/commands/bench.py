"""`vts bench`: measure a slice of the matrix into reports/runs/<id>/, then report it.

Default: this interpreter x both loops x every strategy and scenario, allocations,
latency distribution and pyperf in its light mode, one cell per CPU at a time. Ends with
the summary table, the HTML report and where both are.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vts.impl import C_MISSING
from vts.suite import results
from vts.suite.commands._select import (
    Slice,
    add_slice_arguments,
    installed_in,
    selected_loops,
    selected_pythons,
    selected_scenarios,
    selected_variants,
)
from vts.suite.commands.report import write_report
from vts.suite.environments import ROOT, current_version, select
from vts.suite.errors import UsageError
from vts.suite.measure import valgrind
from vts.suite.measure.runner import CELL_TIMEOUT, CellSpec, default_jobs, plan, run_matrix
from vts.suite.scenarios import all_scenarios

help = "measure strategies x scenarios x interpreters x loops (allocations, latency, memray)"

RUNS = ROOT / "reports" / "runs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_slice_arguments(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--fast", dest="mode", action="store_const", const="fast",
                      help="pyperf with 3 worker processes (the default)")
    mode.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="pyperf's own defaults (20 worker processes; slow, steadier)")
    mode.add_argument("--allocs-only", dest="mode", action="store_const", const="allocs-only",
                      help="exact allocations and latency distribution only, no pyperf")
    parser.add_argument("--memray", action="store_true",
                        help="also capture every cell with memray (flamegraph, top sites)")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per op under valgrind's callgrind "
                        "(about 3 s per cell)")
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
                        help="cells measured at a time (default: one per CPU, 1 with "
                        "--full); counts are the same at any N, times of cells measured "
                        "side by side share the CPUs: -j 1 for the steadiest times")
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


@dataclass(frozen=True)
class BenchOptions:
    """What `vts bench` measures and how; `vts gate --measure` builds one of its own."""

    chosen: Slice = field(default_factory=Slice)
    mode: str = "fast"  # fast | full | allocs-only
    memray: bool = False
    out: Path | None = None  # the run directory; default reports/runs/<id>
    append: bool = False  # add to the run already in `out` instead of refusing it
    cell_timeout: float = CELL_TIMEOUT  # seconds per cell's measuring process
    instructions: bool = False  # instructions per op under callgrind
    jobs: int | None = None  # cells at a time; None: `default_jobs(mode)`

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchOptions:
        return cls(Slice.from_args(args), args.mode, args.memray, args.out, args.append,
                   args.cell_timeout, args.instructions, args.jobs)


def bench(options: BenchOptions, console: Console) -> Path:
    """Run the slice; returns the path of results.json."""
    existing = _existing_run(options)
    scenarios = selected_scenarios(options.chosen)
    variants = selected_variants(options.chosen, scenarios)
    loops = selected_loops(options.chosen)
    interpreters = select(selected_pythons(options.chosen))
    specs: list[CellSpec] = list(plan(scenarios, variants, interpreters, loops))
    if not specs:
        raise UsageError("the selection is empty: no strategy runs in the chosen scenarios")
    if options.instructions and valgrind.unavailable():
        raise UsageError(f"--instructions: {valgrind.unavailable()}")
    described = {s.name: {"operation": s.operation, "reference": s.reference,
                          "deterministic": s.deterministic} for s in scenarios}
    if existing is None:
        run = results.new_run(options.mode, results.machine_metadata(), described)
    else:
        run = existing
        run["scenarios"].update(described)
    if options.instructions:
        run["instruction_counter"] = valgrind.describe()
    run_dir: Path = options.out or RUNS / str(run["run_id"])
    run_dir.mkdir(parents=True, exist_ok=True)
    jobs = options.jobs or default_jobs(options.mode)
    console.print(f"measuring {len(specs)} cells into {run_dir} (mode {options.mode}, "
                  f"{jobs} at a time)")
    installed = installed_in(scenarios, variants)
    if installed and any(not interpreter.is_current for interpreter in interpreters):
        console.print(f"note: {', '.join(installed)} (installed here, not in .venvs/) "
                      f"measured on Python {current_version()} only")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("starting", total=len(specs))

        def advance(spec: CellSpec, cell: dict[str, object]) -> None:
            if cell["status"] != "ok":
                console.print(f"[red]failed[/red] {escape(spec.id)}: {escape(str(cell['error']))}")
            progress.update(task, advance=1, description=spec.id)

        try:
            run_matrix(specs, run, run_dir, mode=options.mode, memray=options.memray,
                       timeout=options.cell_timeout, on_cell=advance,
                       instructions=options.instructions, jobs=jobs)
        except KeyboardInterrupt:
            # results.json was rewritten after every cell: say where, then stop as usual.
            console.print(f"interrupted: the cells measured so far are in "
                          f"{run_dir / 'results.json'}")
            raise
    return run_dir / "results.json"


def _existing_run(options: BenchOptions) -> results.Run | None:
    """The run already in `options.out` when appending to it; refuses to replace one.

    Checked before anything is measured: a run directory is never silently rewritten."""
    if options.out is None:
        return None
    path = options.out / "results.json"
    if not path.exists():
        return None
    if not options.append:
        count = len(results.load(path)["cells"])
        raise UsageError(f"{options.out} already holds a run ({count} cell"
                         f"{'s' if count != 1 else ''}); measure into a new directory, or "
                         "add --append to add these cells to it")
    existing = results.load(path)
    if existing["mode"] != options.mode:
        raise UsageError(f"{options.out} holds a run measured with --{existing['mode']}; "
                         f"append to it with --{existing['mode']}")
    return existing


def run(args: argparse.Namespace) -> int:
    # Not a terminal (make's log, CI): wide enough that the table's names are not cut.
    console = Console() if Console().is_terminal else Console(width=160)
    path = bench(BenchOptions.from_args(args), console)
    from vts.suite.report.terminal import print_summary

    saved = results.load(path)
    print_summary(saved, console)
    for key, environment in saved["environments"].items():
        check = environment.get("counter_calibration") or {}
        if check and not check.get("calibrated"):
            console.print(f"[yellow]warning[/yellow]: the allocation counter is not calibrated "
                          f"on {key} ({check.get('reason') or check.get('mismatches')}); "
                          "do not trust its allocation counts there")
    if not args.instructions:
        console.print("instructions per op: not counted; add --instructions (make bench "
                      "ARGS=--instructions) to count them under valgrind, about 3 s per cell")
    missing = {key: environment["c_accelerator_missing"]
               for key, environment in saved["environments"].items()
               if environment.get("c_accelerator_missing")}
    if C_MISSING:
        missing.setdefault("this interpreter", C_MISSING)
    for key, reason in missing.items():
        console.print("[yellow]warning[/yellow]: " + escape(
            f"no C accelerator on {key}, so no [c] strategies there: {reason}"))
    console.print(f"results: {path}")
    if not args.no_report:
        print(write_report([path]))
    failed = sum(cell["status"] != "ok" for cell in results.load(path)["cells"])
    return 1 if failed else 0


def gated_scenarios() -> list[str]:
    """The scenarios whose counts are deterministic: the only ones the gate gates (the
    socket-ready ones included; thread, monitor and the streamed socket ones are not)."""
    return [name for name, definition in all_scenarios().items() if definition.deterministic]


def measure_for_gate(instructions: bool = False, chosen: Slice | None = None) -> Path:
    """The gate's quick measurement: allocations (and instructions per op when asked), of
    this interpreter, both loops, the gated scenarios (`gated_scenarios`); `chosen` narrows
    it (its scenarios must be gated ones; its interpreters are ignored: this one only).

    Instructions are opt-in: under callgrind the gated cells take 5-25 s each on this
    2-core VM (about 10 minutes per loop under load), too long for CI's 15 minutes."""
    gated = gated_scenarios()
    scenarios = gated
    if chosen is not None and chosen.scenarios:
        ungated = [name for name in chosen.scenarios if name not in gated]
        if ungated:
            raise UsageError(f"the gate measures gated scenarios only, not {', '.join(ungated)}; "
                             f"choose from: {', '.join(gated)}")
        scenarios = chosen.scenarios
    narrowed = Slice(strategies=chosen.strategies if chosen else None, scenarios=scenarios,
                     loops=chosen.loops if chosen else None)
    quick = BenchOptions(narrowed, mode="allocs-only", instructions=instructions)
    return bench(quick, Console(stderr=True))
