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
from vts.suite.timing import PRECISION_LIMIT, median_precision, unstable_checks

# pyperf settings per mode: "fast" is the default of `make bench`; "full" is pyperf's own
# default (20 processes); "allocs-only" skips pyperf.
# Fast mode: FAST_PROCESSES worker processes of FAST_VALUES values (after 1 warmup) of
# FAST_MIN_TIME seconds each, then one more process at a time while the median is known to
# worse than +-PRECISION_LIMIT (`vts.suite.timing.median_precision`) and FAST_MAX_PROCESSES
# could bring it within (`_worth_another_process`). Why few processes with many values: on
# this kind of shared VM the spread comes mostly from the host, whose speed moves between
# levels up to 1.3-1.7x apart, each lasting from a fraction of a second to seconds, within
# a process as often as between processes (one cell, 8 processes pinned to one CPU, nothing
# else running); and a process start costs about 0.25 s. Measured on 8 noisy cells,
# interleaved, 3.11 asyncio: 2 x 6 took 1.6 s per cell and left 17 of 37 runs worse than
# +-5%; 4 x 2 took 1.9 s and left 19 of 24.
FAST_PROCESSES = 2
FAST_VALUES = 5
FAST_MAX_PROCESSES = 4
FAST_MIN_TIME = 0.05
# Counting processes a cell whose counts depend on timing gets before a figure out of bounds
# (negative allocations per op) fails it: recycled_future/monitor/3.11/uvloop counted
# -0.365 once in a make bench of 332 cells.
COUNT_ATTEMPTS = 3
_FAST_PROCESS = ["--values", str(FAST_VALUES), "--warmups", "1", "--min-time", str(FAST_MIN_TIME)]
PYPERF_ARGS = {
    "fast": ["--processes", str(FAST_PROCESSES), *_FAST_PROCESS],
    "full": [],
}


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
        if mode in PYPERF_ARGS and not (mode == "fast" and spec.scenario.untimed_fast):
            loops = fast_loops(cell["latency"]) if mode == "fast" else None
            # The CPUs pyperf's run needs (vts.suite.measure.cpus), then its time alone.
            with timed_alone(), _phase(seconds, "timing"):
                cell["timing"] = _pyperf(spec, run_dir, mode, own, timeout, loops)
            _throughput(cell, spec.scenario)
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


def fast_loops(latency: Latency | None) -> int | None:
    """The loops per pyperf value in fast mode, from the cell's own latency distribution:
    the smallest power of two (as pyperf's calibration picks) whose value lasts at least
    FAST_MIN_TIME at the mean operation's time. None (pyperf calibrates) without one.

    Why: pyperf's calibration is a worker process of its own, one of six processes per
    cell (about 0.6 s on this VM); the cell has just timed 5,000 operations. The mean, not
    the median: where most operations find their data ready and a few wait for it (the
    stream feeds' buffered receive paths), the median was 1/200 of the mean, and a value
    of socket-64k lasted 17 s instead of 0.1 s. The samples include two clock reads (about
    80 ns), so values may run a little under FAST_MIN_TIME for the fastest operations;
    pyperf records the loops used."""
    per_op_ns = latency.get("mean_ns") if latency else None
    if not per_op_ns:
        return None
    return 1 << max(0, math.ceil(math.log2(FAST_MIN_TIME / (per_op_ns / 1e9))))


def _pyperf(spec: CellSpec, run_dir: Path, mode: str, own: list[str],
            timeout: float, loops: int | None = None) -> Timing:
    relative = f"pyperf/{spec.stem}.json"
    path = run_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    given = ["--loops", str(loops)] if loops else []
    command = [str(spec.environment.python), "-m", "vts.suite.measure.pyperf_cell", *own]
    run_python([*command, *PYPERF_ARGS[mode], *given, "--quiet", "-o", str(path)], timeout)
    import pyperf  # the CLI's environment has it; the figures come from pyperf's own stats

    bench = pyperf.Benchmark.load(str(path))
    processes = FAST_PROCESSES
    while mode == "fast" and _worth_another_process(bench, processes):
        # One more worker's values, added to the same file (pyperf's --append).
        run_python([*command, "--processes", "1", *_FAST_PROCESS, *given, "--quiet",
                    "--append", str(path)], timeout)
        bench, processes = pyperf.Benchmark.load(str(path)), processes + 1
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
        "checks": unstable_checks(bench),  # why the mean is not to be trusted; [] when fine
    }


def _worth_another_process(bench: Any, processes: int) -> bool:
    """Whether the median is known to worse than PRECISION_LIMIT, and the values of
    FAST_MAX_PROCESSES could bring it within: the width shrinks as 1/sqrt(values), so a
    width over the limit x sqrt(max / processes) is left as it is, and marked. Processes
    added for any width did not pay: in a make bench that added them up to 4 (99 cells got
    4), 29% of the cells stayed marked against 32% without, and the run took 11 min 28 s
    against 9 min 7 s (the host's speed levels, see above, are not narrowed by values)."""
    precision = median_precision(bench)
    return (processes < FAST_MAX_PROCESSES and precision is not None
            and PRECISION_LIMIT < precision <= PRECISION_LIMIT * math.sqrt(
                FAST_MAX_PROCESSES / processes))


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


def _throughput(cell: Cell, scenario: Scenario) -> None:
    size = scenario.message_bytes
    mean_ns = figure(cell, "timing", "mean_ns")
    if size and mean_ns:
        per_second = 1e9 / mean_ns
        cell["extra"].update(message_bytes=size, msgs_per_s=per_second,
                             mb_per_s=per_second * size / 1e6)


__all__ = ["FAST_MAX_PROCESSES", "FAST_MIN_TIME", "FAST_PROCESSES", "FAST_VALUES", "PYPERF_ARGS",
           "fast_loops", "measure"]
