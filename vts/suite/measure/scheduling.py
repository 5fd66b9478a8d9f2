"""Scheduling: the cells of a plan measured `jobs` at a time, into one run.

Owns `run_matrix` (worker threads each wait on one cell's subprocesses; the calling thread
alone adds finished cells to the run, in the plan's order, rewrites `results.json`
atomically after every cell, so an interrupted run keeps everything measured so far, and
reports progress) and `default_jobs`.

In fast mode (the default) the cells are timed after all of them are counted, one value
at a time, interleaved (`vts.suite.measure.interleaved`); results.json is written again
when that is done.

What it trades: counts do not depend on `jobs`; times do (cells side by side share the
CPUs), so fast mode times nothing beside anything, `--full` measures one cell at a time
unless told (and a cell whose scenario keeps two CPUs busy is timed alone: `cpus`), and
the run records `jobs`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from vts.suite import results
from vts.suite.measure import interleaved
from vts.suite.measure.cpus import CpuSlots
from vts.suite.measure.measurement import fast_loops, measure, throughput, timing_from
from vts.suite.measure.planning import CellSpec
from vts.suite.measure.processes import CELL_TIMEOUT, running
from vts.suite.measure.valgrind import ServerPool
from vts.suite.records import Cell


def default_jobs(mode: str) -> int:
    """How many cells `vts bench` measures at a time unless told: one per CPU this process
    may run on, except in --full mode, whose point is the steadiest timing (one at a time).

    Counts (allocations, instructions) are the same at any number; times are not: a cell
    shares the machine with the others being measured, which the report says."""
    if mode == "full":
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_matrix(
    specs: list[CellSpec], run: results.Run, run_dir: Path, *, mode: str, memray: bool,
    timeout: float = CELL_TIMEOUT,
    on_cell: Callable[[CellSpec, Cell], None] = lambda spec, cell: None,
    instructions: bool | Callable[[CellSpec], bool] = False, jobs: int = 1,
    on_value: Callable[[int, int], None] = lambda done, total: None,
) -> results.Run:
    """Measure every cell, `jobs` at a time, writing results.json after each one; `timeout`
    is each measuring process's limit in seconds (a cell past it is recorded as failed).

    Cells are measured in worker threads, each waiting on its cell's subprocesses; this
    thread alone adds them to `run`, writes results.json and calls `on_cell`, in the order
    they finish, keeping `run["cells"]` in the plan's order. Interrupted, it stops the
    cells under way (their processes are killed) and keeps every cell that finished.

    With `instructions` (True, or true of a cell), each cell (that cell) also gets its
    instructions per op under callgrind (the caller checks `valgrind.unavailable()` first):
    one server per worker thread, interpreter and loop. In fast mode the counted cells are
    then timed (`_time_fast`); `on_value(done, total)` follows its values."""
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, not {jobs}")
    running.allow()
    path = run_dir / "results.json"
    def counted(spec: CellSpec) -> bool:
        return instructions(spec) if callable(instructions) else instructions

    servers = ServerPool() if any(counted(spec) for spec in specs) else None
    position = {spec.id: index for index, spec in enumerate(specs)}
    run["jobs"] = jobs
    cpus = CpuSlots(jobs)

    def measure_one(spec: CellSpec) -> tuple[Cell, dict[str, Any] | None]:
        counter = (servers.getter(spec.environment.python, spec.loop)
                   if servers and counted(spec) else None)
        # Counts do not depend on what runs beside them; times do (vts.suite.measure.cpus):
        # a cell whose scenario keeps two CPUs busy is timed alone.
        with cpus.held(1) as holding:
            return measure(spec, run_dir, mode, memray, timeout, instructions=counter,
                           timed_alone=lambda: cpus.widened(holding, spec.scenario.cpus))

    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="vts-cell")
    try:
        pending = {pool.submit(measure_one, spec): spec for spec in specs}
        for future in as_completed(pending):
            spec = pending[future]
            cell, environment = future.result()
            if environment is not None:
                environment["counter_calibration"] = spec.environment.calibration
                if spec.environment.build:
                    environment["build_key"] = spec.environment.build["key"]
                    run.setdefault("builds", {})[spec.environment.build["key"]] = {
                        k: v for k, v in spec.environment.build.items() if k != "key"}
                run["environments"][results.env_key(spec.environment.version,
                                                    spec.loop)] = environment
            results.add_cell(run, cell)
            # Cells finish out of order; cells of an earlier run (appended to) stay first.
            run["cells"].sort(key=lambda other: position.get(other["id"], -1))
            results.write_atomic(path, run)
            on_cell(spec, cell)
    except BaseException:
        # Interrupted (or this thread failed): nothing more starts, and the cells under way
        # are stopped rather than waited for; what finished is already in results.json.
        pool.shutdown(wait=False, cancel_futures=True)
        running.kill_all()
        if servers is not None:
            servers.kill_all()
        raise
    finally:
        pool.shutdown(wait=True)  # the threads end: their processes are done or killed
        if servers is not None:
            servers.close()
    if mode == "fast":
        _time_fast(specs, run, run_dir, timeout, on_value)
    return run


def _time_fast(specs: list[CellSpec], run: results.Run, run_dir: Path, timeout: float,
               on_value: Callable[[int, int], None]) -> None:
    """Time the run's counted cells the fast way (`vts.suite.measure.interleaved`), put
    their timings into `run` and write results.json again. A cell whose timing fails is
    recorded as failed, with the error."""
    cells = {cell["id"]: cell for cell in run["cells"]}
    timed, loops = [], {}
    for spec in specs:
        cell = cells.get(spec.id)
        count = fast_loops(cell.get("latency"), interleaved.VALUE_SECONDS) if cell else None
        if (cell and cell["status"] == "ok" and count and not spec.scenario.untimed_fast
                and not spec.scenario.back_to_back):  # those were timed with their counts
            timed.append(spec)
            loops[spec.id] = count
    if not timed:
        return
    outcome = interleaved.time_cells(timed, loops, timeout=timeout, on_value=on_value)
    for spec in timed:
        cell, result = cells[spec.id], outcome[spec.id]
        if isinstance(result, str):
            cell["status"], cell["error"] = "failed", f"timing: {result}"
            continue
        bench, seconds = result
        cell["timing"] = timing_from(spec, run_dir, bench)
        cell["extra"].setdefault("seconds", {})["timing"] = round(seconds, 3)
        throughput(cell, spec.scenario)
    results.write_atomic(run_dir / "results.json", run)


__all__ = ["default_jobs", "run_matrix"]
