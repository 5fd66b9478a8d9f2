"""The measurement of one cell: its subprocesses in order, into one cell of the run.

For one (environment, loop, scenario, variant): the exact counter and the latency
distribution (`vts.suite.measure.cell`), then pyperf (`vts.suite.measure.pyperf_cell`),
then instructions per op if asked (a callgrind server, `vts.suite.measure.valgrind`),
then memray if asked (`vts.suite.measure.memray_cell`). Owns the post-processing of
pyperf's file into the cell's timing (and into its strategy's pyperf suite). A cell whose
subprocess crashes or times out comes back failed, with its one-line error.
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from vts.suite import atomic, schema
from vts.suite.measure.planning import CellSpec
from vts.suite.measure.processes import CELL_TIMEOUT, CellError, run_python
from vts.suite.measure.valgrind import InstructionError, InstructionServer
from vts.suite.records import Cell, Latency, Timing, figure
from vts.suite.scenarios import Scenario
from vts.suite.timing import unstable_checks

# pyperf settings per mode: "full" is pyperf's own default (20 processes); "fast" (the
# default of `make bench`) is timed after every cell is counted, by
# `vts.suite.measure.interleaved`, not here, except a scenario timed back to back
# (`Scenario.back_to_back`): 2 pyperf workers of 5 values of FAST_MIN_TIME after a warmup,
# here; "allocs-only" is not timed.
FAST_MIN_TIME = 0.05
# Counting processes a cell whose counts depend on timing gets before a figure out of bounds
# (negative allocations per op) fails it: recycled_future/monitor/3.11/uvloop counted
# -0.365 once in a make bench of 332 cells.
COUNT_ATTEMPTS = 3
FAST_BACK_TO_BACK = ["--processes", "2", "--values", "5", "--warmups", "1",
                     "--min-time", str(FAST_MIN_TIME)]
PYPERF_ARGS: dict[str, list[str]] = {"full": [], "fast": FAST_BACK_TO_BACK}


def measure(spec: CellSpec, run_dir: Path, mode: str, memray: bool,
            timeout: float = CELL_TIMEOUT,
            instructions: Callable[[], InstructionServer] | None = None,
            timed_alone: Callable[[], AbstractContextManager[object]] = nullcontext,
            ) -> tuple[Cell, dict[str, Any] | None]:
    """Measure one cell: the cell (status ok or failed) and what its interpreter and loop
    are (None when its first process failed).

    `instructions`, when given, returns the callgrind server of this cell's interpreter
    and loop (started on first use); `timed_alone` is entered around pyperf's run (the
    scheduler's: it waits for the CPUs the scenario keeps busy)."""
    python = spec.environment.python
    cell: Cell = {
        "id": spec.id, "strategy": spec.variant, "scenario": spec.scenario.name,
        "python": spec.environment.version, "loop": spec.loop, "status": "ok", "error": None,
        "allocs": None, "instructions": None, "timing": None, "latency": None,
        "memray": None, "extra": {}, "deterministic": spec.scenario.deterministic,
        "build": spec.environment.build.get("key"),
    }
    own = ["--scenario", spec.scenario.name, "--variant", spec.variant, "--loop", spec.loop]
    environment: dict[str, Any] | None = None
    seconds: dict[str, float] = {}  # each phase's wall time, for bench's closing line
    try:
        with _phase(seconds, "counting"):
            # The gate's quick mode needs no latency distribution.
            quick = ["--no-latency"] if mode == "allocs-only" else []
            for _attempt in range(1 if spec.scenario.deterministic else COUNT_ATTEMPTS):
                measured = json.loads(run_python(
                    [str(python), "-m", "vts.suite.measure.cell", *own, *quick], timeout))
                cell["allocs"], cell["latency"] = measured["allocs"], measured["latency"]
                # Where counts depend on timing (a sampler or producer thread allocating
                # while both run lengths are counted), the difference can fall below zero:
                # the error below says to measure again, so the run does that first.
                if schema.check_cell(0, cell) is None:
                    break
        environment = measured["environment"]
        if mode == "full" or (mode == "fast" and spec.scenario.back_to_back):
            loops = fast_loops(cell["latency"]) if mode == "fast" else None
            # The CPUs pyperf's run needs (vts.suite.measure.cpus), then its time alone.
            with timed_alone(), _phase(seconds, "timing"):
                cell["timing"] = _pyperf(spec, run_dir, mode, own, timeout, loops)
            throughput(cell, spec.scenario)
        if instructions is not None:
            try:
                server = instructions()
            except InstructionError as exc:
                raise CellError(f"instruction server: {exc}") from None
            try:
                with _phase(seconds, "instructions"):
                    cell["instructions"] = server.measure(
                        spec.scenario.name, spec.variant, spec.loop, timeout)
            except InstructionError as exc:
                raise CellError(f"instruction count: {exc}") from None
        if memray:
            out = run_dir / "memray"
            with _phase(seconds, "memray"):
                cell["memray"] = json.loads(run_python(
                    [str(python), "-m", "vts.suite.measure.memray_cell", *own,
                     "--out-dir", str(out)], timeout))
    except CellError as exc:
        cell["status"], cell["error"] = "failed", str(exc)
    cell["extra"]["seconds"] = {phase: round(value, 3) for phase, value in seconds.items()}
    if cell["status"] == "ok" and (problem := schema.check_cell(0, cell)):
        # A figure out of the bounds every valid run holds (negative allocations beyond
        # the figure's resolution): the cell is not measured, and the file stays loadable.
        cell["status"], cell["error"], cell["allocs"] = "failed", problem, None
    return cell, environment


@contextmanager
def _phase(seconds: dict[str, float], name: str) -> Iterator[None]:
    """Record the block's wall time as `seconds[name]`, where it finishes."""
    started = time.perf_counter()
    yield
    seconds[name] = time.perf_counter() - started


def fast_loops(latency: Latency | None, seconds: float = FAST_MIN_TIME) -> int | None:
    """The operations per value in fast mode, from the cell's own latency distribution:
    the smallest power of two (as pyperf's calibration picks) whose value lasts at least
    `seconds` at the mean operation's time. None without one.

    Why: calibrating is a run of its own (in pyperf, a worker process of its own); the
    cell has just timed its operations for 20 ms. The mean, not
    the median: where most operations find their data ready and a few wait for it (the
    stream feeds' buffered receive paths), the median was 1/200 of the mean, and a value
    of socket-64k lasted 17 s instead of 0.1 s. The samples include two clock reads (about
    80 ns), so values may run a little under `seconds` for the fastest operations; the
    pyperf file records the loops used."""
    per_op_ns = latency.get("mean_ns") if latency else None
    if not per_op_ns:
        return None
    return 1 << max(0, math.ceil(math.log2(seconds / (per_op_ns / 1e9))))


def _pyperf(spec: CellSpec, run_dir: Path, mode: str, own: list[str],
            timeout: float, loops: int | None = None) -> Timing:
    relative = f"pyperf/{spec.stem}.json"
    path = run_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    command = [str(spec.environment.python), "-m", "vts.suite.measure.pyperf_cell", *own]
    given = ["--loops", str(loops)] if loops else []
    run_python([*command, *PYPERF_ARGS[mode], *given, "--quiet", "-o", str(path)], timeout)
    import pyperf  # the CLI's environment has it; the figures come from pyperf's own stats

    return timing_from(spec, run_dir, pyperf.Benchmark.load(str(path)))


def timing_from(spec: CellSpec, run_dir: Path, bench: Any) -> Timing:
    """The cell's timing from its pyperf benchmark, which is written to the run's
    `pyperf/<stem>.json` (replacing what is there: pyperf's own file, or a cell measured
    again with --append) and into its strategy's suite."""
    relative = f"pyperf/{spec.stem}.json"
    path = run_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    bench.dump(text)
    atomic.write_text(path, text.getvalue())
    values = bench.get_values()
    suite = _add_to_suite(run_dir, spec, bench)
    return {
        "mean_ns": bench.mean() * 1e9,
        "stdev_ns": (bench.stdev() if len(values) > 1 else 0.0) * 1e9,
        "median_ns": bench.median() * 1e9,
        "mad_ns": (bench.median_abs_dev() if len(values) > 1 else 0.0) * 1e9,
        "values": len(values),
        "pyperf_json": relative,
        "pyperf_suite": suite,
        "checks": unstable_checks(bench),  # why the median is not to be trusted; [] when fine
    }


def _add_to_suite(run_dir: Path, spec: CellSpec, bench: Any) -> str:
    """Put the cell's benchmark into its strategy's pyperf suite for this interpreter and
    loop, `pyperf/<strategy>__<python>__<loop>.json` (replacing a benchmark of the same
    name), so `python -m pyperf compare_to floor.json future_per_call.json pooled.json
    --table` compares strategies scenario by scenario. Returns its path in the run."""
    import pyperf

    relative = f"pyperf/{spec.variant}__{spec.environment.version}__{spec.loop}.json"
    path = run_dir / relative
    kept = []
    if path.exists():
        kept = [b for b in pyperf.BenchmarkSuite.load(str(path))
                if b.get_name() != bench.get_name()]
    text = io.StringIO()
    pyperf.BenchmarkSuite([*kept, bench]).dump(text)
    atomic.write_text(path, text.getvalue())  # a reader never sees half a suite
    return relative


def throughput(cell: Cell, scenario: Scenario) -> None:
    """Messages and megabytes per second, for a scenario that moves messages."""
    size = scenario.message_bytes
    mean_ns = figure(cell, "timing", "mean_ns")
    if size and mean_ns:
        per_second = 1e9 / mean_ns
        cell["extra"].update(message_bytes=size, msgs_per_s=per_second,
                             mb_per_s=per_second * size / 1e6)


__all__ = ["FAST_BACK_TO_BACK", "FAST_MIN_TIME", "PYPERF_ARGS", "fast_loops", "measure",
           "throughput", "timing_from"]
