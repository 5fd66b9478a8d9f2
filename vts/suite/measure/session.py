"""A measuring session: one slice of the matrix measured into one run directory.

`measure_slice` is the suite's one measuring function: `vts bench` calls it with the
user's options, `vts gate --measure` with the gate's quick slice (`gate_options`). It
selects the cells, resolves each interpreter once (`planning.prepare`), plans, shows
progress while `scheduling.run_matrix` measures, and returns the run it measured with the
path of its results.json, so nobody reads the file back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from vts.suite import results
from vts.suite.environments import current_version, select
from vts.suite.errors import UsageError
from vts.suite.measure import valgrind
from vts.suite.measure.planning import CellSpec, plan, prepare
from vts.suite.measure.processes import CELL_TIMEOUT
from vts.suite.measure.scheduling import default_jobs, run_matrix
from vts.suite.records import Cell
from vts.suite.scenarios import all_scenarios
from vts.suite.selection import (
    Slice,
    installed_in,
    selected_loops,
    selected_pythons,
    selected_scenarios,
    selected_variants,
)

RUNS = Path("reports") / "runs"  # under the current directory, as a project keeps it
# The scenarios whose cells the default (timed) modes count instructions for, where valgrind
# is installed: every strategy's synchronous path and one suspension, on both loops. Under
# callgrind a cell of these costs about 2-3 s on this 2-core VM (a fan-out cell up to 25 s),
# so `make bench` stays within 10 minutes; --instructions counts every cell.
DEFAULT_COUNTED = ("fresh", "wait")


def counts_instructions(options: BenchOptions) -> Callable[[CellSpec], bool] | bool:
    """Which cells a session counts instructions for: every one (`--instructions`), none
    (`--no-instructions`, --allocs-only unless asked, or no valgrind in a default mode), else
    the cells of DEFAULT_COUNTED."""
    if options.instructions is not None:
        return options.instructions
    if options.mode == "allocs-only" or valgrind.unavailable():
        return False
    return lambda spec: spec.scenario.name in DEFAULT_COUNTED


@dataclass(frozen=True)
class BenchOptions:
    """What a session measures and how: `vts bench` builds one from its arguments,
    `vts gate --measure` takes `gate_options`."""

    chosen: Slice = field(default_factory=Slice)
    mode: str = "fast"  # fast | full | allocs-only
    memray: bool = False
    out: Path | None = None  # the run directory; default reports/runs/<id>
    append: bool = False  # add to the run already in `out` instead of refusing it
    cell_timeout: float = CELL_TIMEOUT  # seconds per cell's measuring process
    # Instructions per op under callgrind: True every cell, False none, None the mode's
    # default (`counts_instructions`).
    instructions: bool | None = False
    jobs: int | None = None  # cells at a time; None: `default_jobs(mode)`


@dataclass(frozen=True)
class Measured:
    """A session's run, as written to `path` (its results.json)."""

    path: Path
    run: results.Run


def measure_slice(options: BenchOptions, console: Console) -> Measured:
    """Measure the slice of `options`, saying progress and failed cells on `console`."""
    existing = _existing_run(options)
    scenarios = selected_scenarios(options.chosen)
    variants = selected_variants(options.chosen, scenarios)
    loops = selected_loops(options.chosen)
    interpreters = select(selected_pythons(options.chosen))
    environments = prepare(interpreters, loops)
    specs: list[CellSpec] = list(plan(scenarios, variants, environments))
    if not specs:
        raise UsageError("the selection is empty: no strategy runs in the chosen scenarios")
    if options.instructions and valgrind.unavailable():
        raise UsageError(f"--instructions: {valgrind.unavailable()}")
    counted = counts_instructions(options)
    described = {s.name: {"operation": s.operation, "reference": s.reference,
                          "deterministic": s.deterministic,
                          **({"untimed": s.untimed_fast}
                             if s.untimed_fast and options.mode == "fast" else {}),
                          **({"variants": dict(s.variant_operations)}
                             if s.variant_operations else {}),
                          **({"samples_exclude": s.samples_exclude}
                             if s.samples_exclude else {}),
                          **({"back_to_back": s.back_to_back}
                             if s.back_to_back and options.mode == "fast" else {})}
                 for s in scenarios}
    if existing is None:
        run = results.new_run(options.mode, results.machine_metadata(), described)
    else:
        run = existing
        run["scenarios"].update(described)
    if counted is True or (counted and any(counted(spec) for spec in specs)):
        run["instruction_counter"] = valgrind.describe()
    # Absolute: the measuring processes run elsewhere (in their interpreter's source).
    run_dir: Path = (options.out or RUNS / str(run["run_id"])).absolute()
    run_dir.mkdir(parents=True, exist_ok=True)
    jobs = options.jobs or default_jobs(options.mode)
    console.print(escape(f"measuring {len(specs)} cells into {run_dir} (mode {options.mode}, "
                         f"{jobs} at a time)"))
    installed = installed_in(scenarios, variants)
    if installed and any(not interpreter.is_current for interpreter in interpreters):
        console.print(escape(f"note: {', '.join(installed)} (installed here, not in the "
                             f"other interpreters' environments) measured on Python "
                             f"{current_version()} only"))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("starting", total=len(specs))

        def advance(spec: CellSpec, cell: Cell) -> None:
            if cell["status"] != "ok":
                console.print(f"[red]failed[/red] {escape(spec.id)}: {escape(str(cell['error']))}")
            progress.update(task, advance=1, description=spec.id)

        timing: list[TaskID] = []  # the timing phase's task, added when it starts

        def timed(done: int, total: int) -> None:
            if not timing:
                timing.append(progress.add_task("timing, one value at a time", total=total))
            progress.update(timing[0], completed=done)

        try:
            run_matrix(specs, run, run_dir, mode=options.mode, memray=options.memray,
                       timeout=options.cell_timeout, on_cell=advance,
                       instructions=counted, jobs=jobs, on_value=timed)
        except KeyboardInterrupt:
            # results.json was rewritten after every cell: say where, then stop as usual.
            console.print(escape(f"interrupted: the cells measured so far are in "
                                 f"{run_dir / 'results.json'}"))
            raise
    return Measured(run_dir / "results.json", run)


def _existing_run(options: BenchOptions) -> results.Run | None:
    """The run already in `options.out` when appending to it; refuses to replace one.

    Checked before anything is measured: a run directory is never silently rewritten."""
    if options.out is None:
        return None
    path = options.out / "results.json"
    if not path.exists():
        return None
    existing = results.load(path)
    if not options.append:
        count = len(existing["cells"])
        raise UsageError(f"{options.out} already holds a run ({count} cell"
                         f"{'s' if count != 1 else ''}); measure into a new directory, or "
                         "add --append to add these cells to it")
    if existing["mode"] != options.mode:
        raise UsageError(f"{options.out} holds a run measured with --{existing['mode']}; "
                         f"append to it with --{existing['mode']}")
    return existing


def gated_scenarios() -> list[str]:
    """The scenarios whose counts are deterministic: the only ones the gate gates (the
    socket-ready ones included; thread, monitor and the streamed socket ones are not)."""
    return [name for name, definition in all_scenarios().items() if definition.deterministic]


def gate_options(instructions: bool = False, chosen: Slice | None = None) -> BenchOptions:
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
    return BenchOptions(narrowed, mode="allocs-only", instructions=instructions)


__all__ = ["DEFAULT_COUNTED", "RUNS", "BenchOptions", "Measured", "counts_instructions",
           "gate_options", "gated_scenarios", "measure_slice"]
