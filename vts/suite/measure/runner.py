"""Runs a slice of the matrix, one subprocess per cell and measurement, into one run.

For each (interpreter, loop, scenario, variant): the exact counter and the latency
distribution (`vts.suite.measure.cell`), then pyperf (`vts.suite.measure.pyperf_cell`), then
instructions per op if asked (one callgrind server per interpreter and loop and worker,
`vts.suite.measure.valgrind`), then memray if asked (`vts.suite.measure.memray_cell`). A
cell that crashes or times out is recorded as failed with its one-line error and the run
goes on. `results.json` is rewritten atomically after every cell, so an interrupted run
keeps everything measured so far.

What it trades: cells run `jobs` at a time. Counts do not depend on it; times do (cells
side by side share the CPUs), so the run records `jobs`, and `--full` measures one at a
time unless told otherwise.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vts.entry_points import BUILT_IN
from vts.strategies import strategy_registry
from vts.suite import atomic, results
from vts.suite.environments import ROOT, Interpreter, ensure
from vts.suite.measure.valgrind import InstructionError, InstructionServer
from vts.suite.scenarios import Scenario, scenario_registry

# pyperf settings per mode: "fast" is the default of `make bench` (3 worker processes);
# "full" is pyperf's own default (20 processes); "allocs-only" skips pyperf.
FAST_MIN_TIME = 0.05  # seconds per pyperf value in fast mode
PYPERF_ARGS = {
    "fast": ["--processes", "3", "--values", "3", "--warmups", "1",
             "--min-time", str(FAST_MIN_TIME)],
    "full": [],
}
CELL_TIMEOUT = 300.0


@dataclass(frozen=True)
class CellSpec:
    scenario: Scenario
    variant: str
    interpreter: Interpreter
    loop: str

    @property
    def id(self) -> str:
        return results.cell_id(self.variant, self.scenario.name, self.interpreter.version,
                               self.loop)

    @property
    def stem(self) -> str:
        return f"{self.variant}__{self.scenario.name}__{self.interpreter.version}__{self.loop}"


def loops_in(python: Path, loops: list[str]) -> list[str]:
    """The loops of `loops` that import under `python` (uvloop may not install)."""
    available = []
    for loop in loops:
        ok = subprocess.run([str(python), "-c", f"import {loop}"], capture_output=True)
        if ok.returncode == 0:
            available.append(loop)
    return available


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


class _Children:
    """The measuring processes running now, so an interrupted run can stop them: cells are
    measured in worker threads, and only the main thread gets the KeyboardInterrupt. The
    lock guards the set, which worker threads add to and the main thread kills from."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._processes: set[subprocess.Popen[str]] = set()
        self._stopping = False

    def run(self, cmd: list[str], timeout: float, env: dict[str, str]) -> tuple[int, str, str]:
        """Run `cmd` to the end: (return code, stdout, stderr); TimeoutExpired past
        `timeout` seconds (the process is killed first)."""
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   stdin=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
        with self._lock:
            self._processes.add(process)
            stopping = self._stopping
        if stopping:  # started after kill_all: it would outlive the run
            process.kill()
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
        finally:
            with self._lock:
                self._processes.discard(process)
        return process.returncode, out, err

    def kill_all(self) -> None:
        """Kill every process running now and any started until `allow` is called again."""
        with self._lock:
            self._stopping = True
            processes = list(self._processes)
        for process in processes:
            process.kill()

    def allow(self) -> None:
        """Let processes run again (a new run after an interrupted one, in one process)."""
        with self._lock:
            self._stopping = False


_running = _Children()


def run_python(cmd: list[str], timeout: float) -> str:
    """Run a vts module in a subprocess with the repository on PYTHONPATH; its stdout, or
    CellError with its last line of output."""
    # The repository first, so every interpreter measures this source; a PYTHONPATH the
    # caller set (the tests' plugins) stays after it.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env = {**os.environ, "PYTHONPATH": path, "PYTHONHASHSEED": "0"}
    try:
        returncode, out, err = _running.run(cmd, timeout, env)
    except subprocess.TimeoutExpired:
        raise CellError(f"timed out after {timeout:g} s") from None
    if returncode != 0:
        last = _one_line(err or out)
        raise CellError(last if last != "no output" else
                        f"exited with code {returncode} and no output")
    return out


class CellError(Exception):
    """A cell's subprocess failed; the message is its last line of output."""


def measure(spec: CellSpec, python: Path, run_dir: Path, mode: str,
            memray: bool, timeout: float = CELL_TIMEOUT,
            instructions: Callable[[], InstructionServer] | None = None) -> dict[str, Any]:
    """Measure one cell; returns the cell dict (status ok or failed) and its environment.

    `instructions`, when given, returns the callgrind server of this cell's interpreter
    and loop (started on first use)."""
    cell: dict[str, Any] = {
        "id": spec.id, "strategy": spec.variant, "scenario": spec.scenario.name,
        "python": spec.interpreter.version, "loop": spec.loop, "status": "ok", "error": None,
        "allocs": None, "instructions": None, "timing": None, "latency": None,
        "memray": None, "extra": {}, "deterministic": spec.scenario.deterministic,
    }
    own = ["--scenario", spec.scenario.name, "--variant", spec.variant, "--loop", spec.loop]
    environment = None
    try:
        # The gate's quick mode needs no latency distribution.
        quick = ["--no-latency"] if mode == "allocs-only" else []
        measured = json.loads(run_python(
            [str(python), "-m", "vts.suite.measure.cell", *own, *quick], timeout))
        cell["allocs"], cell["latency"] = measured["allocs"], measured["latency"]
        environment = measured["environment"]
        if mode in PYPERF_ARGS:
            loops = fast_loops(cell["latency"]) if mode == "fast" else None
            cell["timing"] = _pyperf(spec, python, run_dir, mode, own, timeout, loops)
            _throughput(cell, spec.scenario)
        if instructions is not None:
            try:
                cell["instructions"] = instructions().measure(
                    spec.scenario.name, spec.variant, spec.loop, timeout)
            except InstructionError as exc:
                raise CellError(f"instruction count: {exc}") from None
        if memray:
            out = run_dir / "memray"
            cell["memray"] = json.loads(run_python(
                [str(python), "-m", "vts.suite.measure.memray_cell", *own, "--out-dir", str(out)],
                timeout))
    except CellError as exc:
        cell["status"], cell["error"] = "failed", str(exc)
    cell["environment"] = environment
    return cell


def fast_loops(latency: dict[str, Any] | None) -> int | None:
    """The loops per pyperf value in fast mode, from the cell's own latency distribution:
    the smallest power of two (as pyperf's calibration picks) whose value lasts at least
    FAST_MIN_TIME at the median operation's time. None (pyperf calibrates) without one.

    Why: pyperf's calibration is a worker process of its own, one of six processes per
    cell (about 0.6 s on this VM); the cell has just timed 5,000 operations. The median
    includes two clock reads (about 80 ns), so values may run a little under
    FAST_MIN_TIME for the fastest operations; pyperf records the loops used."""
    if not latency or not latency.get("p50_ns"):
        return None
    per_op = latency["p50_ns"] / 1e9
    return 1 << max(0, math.ceil(math.log2(FAST_MIN_TIME / per_op)))


def _pyperf(spec: CellSpec, python: Path, run_dir: Path, mode: str, own: list[str],
            timeout: float, loops: int | None = None) -> dict[str, Any]:
    relative = f"pyperf/{spec.stem}.json"
    path = run_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    given = ["--loops", str(loops)] if loops else []
    run_python([str(python), "-m", "vts.suite.measure.pyperf_cell", *own, *PYPERF_ARGS[mode],
                *given, "--quiet", "-o", str(path)], timeout)
    import pyperf  # the CLI's environment has it; the figures come from pyperf's own stats

    bench = pyperf.Benchmark.load(str(path))
    values = bench.get_values()
    suite = _add_to_suite(run_dir, spec, bench)
    from pyperf._cli import format_checks  # pyperf's own checks, as `pyperf check` prints

    checks = [line[2:] for line in format_checks(bench) if line.startswith("* ")]
    return {
        "mean_ns": bench.mean() * 1e9,
        "stdev_ns": (bench.stdev() if len(values) > 1 else 0.0) * 1e9,
        "median_ns": bench.median() * 1e9,
        "values": len(values),
        "pyperf_json": relative,
        "pyperf_suite": suite,
        "checks": checks,  # pyperf's reasons to call the result unstable; [] when none
    }


def _add_to_suite(run_dir: Path, spec: CellSpec, bench: Any) -> str:
    """Put the cell's benchmark into its strategy's pyperf suite for this interpreter and
    loop, `pyperf/<strategy>__<python>__<loop>.json` (replacing a benchmark of the same
    name), so `python -m pyperf compare_to floor.json future_per_call.json pooled.json
    --table` compares strategies scenario by scenario. Returns its path in the run."""
    import io

    import pyperf

    relative = f"pyperf/{spec.variant}__{spec.interpreter.version}__{spec.loop}.json"
    path = run_dir / relative
    kept = []
    if path.exists():
        kept = [b for b in pyperf.BenchmarkSuite.load(str(path))
                if b.get_name() != bench.get_name()]
    text = io.StringIO()
    pyperf.BenchmarkSuite([*kept, bench]).dump(text)
    atomic.write_text(path, text.getvalue())  # a reader never sees half a suite
    return relative


def _throughput(cell: dict[str, Any], scenario: Scenario) -> None:
    size = scenario.message_bytes
    mean_ns = cell["timing"]["mean_ns"] if cell["timing"] else None
    if size and mean_ns:
        per_second = 1e9 / mean_ns
        cell["extra"].update(message_bytes=size, msgs_per_s=per_second,
                             mb_per_s=per_second * size / 1e6)


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
    on_cell: Callable[[CellSpec, dict[str, Any]], None] = lambda spec, cell: None,
    instructions: bool = False, jobs: int = 1,
) -> results.Run:
    """Measure every cell, `jobs` at a time, writing results.json after each one; `timeout`
    is each measuring process's limit in seconds (a cell past it is recorded as failed).

    Cells are measured in worker threads, each waiting on its cell's subprocesses; this
    thread alone adds them to `run`, writes results.json and calls `on_cell`, in the order
    they finish, keeping `run["cells"]` in the plan's order. Interrupted, it stops the
    cells under way (their processes are killed) and keeps every cell that finished.

    With `instructions`, each cell also gets its instructions per op under callgrind (the
    caller checks `valgrind.unavailable()` first): one server per worker thread,
    interpreter and loop."""
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, not {jobs}")
    _running.allow()
    path = run_dir / "results.json"
    pythons: dict[str, Path] = {}
    calibrated: dict[str, Any] = {}
    for spec in specs:  # environments and the counter's check first, one at a time
        version = spec.interpreter.version
        if version not in pythons:
            pythons[version] = ensure(spec.interpreter)
            calibrated[version] = calibration(pythons[version])
    servers = _Servers(pythons) if instructions else None
    position = {spec.id: index for index, spec in enumerate(specs)}
    run["jobs"] = jobs

    def measure_one(spec: CellSpec) -> dict[str, Any]:
        counter = servers.getter(spec.interpreter.version, spec.loop) if servers else None
        return measure(spec, pythons[spec.interpreter.version], run_dir, mode, memray,
                       timeout, instructions=counter)

    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="vts-cell")
    try:
        pending = {pool.submit(measure_one, spec): spec for spec in specs}
        for future in as_completed(pending):
            spec = pending[future]
            cell = future.result()
            environment = cell.pop("environment")
            if environment is not None:
                environment["counter_calibration"] = calibrated[spec.interpreter.version]
                run["environments"][results.env_key(spec.interpreter.version,
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
        _running.kill_all()
        if servers is not None:
            servers.kill_all()
        raise
    finally:
        pool.shutdown(wait=True)  # the threads end: their processes are done or killed
        if servers is not None:
            servers.close()
    return run


class _Servers:
    """The callgrind servers, one per worker thread, interpreter and loop.

    A thread keeps one server alive at a time (its previous one is closed when it moves to
    another interpreter or loop), so `jobs` threads hold at most `jobs` valgrind processes.
    The lock guards `_all`, which `close` walks from the main thread."""

    def __init__(self, pythons: dict[str, Path]) -> None:
        self._pythons = pythons
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[InstructionServer] = []

    def getter(self, version: str, loop: str) -> Callable[[], InstructionServer]:
        """The server of this thread for `version` and `loop`, started on first use."""
        def get() -> InstructionServer:
            key = (version, loop)
            mine: dict[tuple[str, str], InstructionServer] = self._local.__dict__.setdefault(
                "servers", {})
            for other in [k for k in mine if k != key]:
                done = mine.pop(other)
                with self._lock:
                    self._all.remove(done)
                done.close()
            if key not in mine or not mine[key].alive:
                try:
                    mine[key] = InstructionServer(self._pythons[version])
                except InstructionError as exc:
                    raise CellError(f"instruction server: {exc}") from None
                with self._lock:
                    self._all.append(mine[key])
            return mine[key]
        return get

    def kill_all(self) -> None:
        with self._lock:
            servers = list(self._all)
        for server in servers:
            server.kill()

    def close(self) -> None:
        with self._lock:
            servers, self._all = self._all, []
        for server in servers:
            server.close()


def calibration(python: Path) -> dict[str, Any]:
    """The counter's calibration check under `python` (recorded with its environments:
    counts are trusted only where it says calibrated)."""
    try:
        result: dict[str, Any] = json.loads(
            run_python([str(python), "-m", "vts.suite.measure.calibration"], CELL_TIMEOUT))
    except CellError as exc:
        return {"calibrated": False, "mismatches": {}, "reason": str(exc)}
    return result


def plan(scenarios: list[Scenario], variants: list[str] | None,
         interpreters: list[Interpreter], loops: list[str]) -> Iterator[CellSpec]:
    """Every cell of the slice, interpreter by interpreter (loops checked per interpreter).

    A strategy or scenario from an installed distribution is measured on this interpreter
    only: the other interpreters' environments (`.venvs/X.Y`) hold the cell dependencies,
    not the distributions installed here.
    """
    for interpreter in interpreters:
        python = ensure(interpreter)
        for loop in loops_in(python, loops):
            for scenario in scenarios:
                for variant in scenario.variants:
                    if variants is not None and variant not in variants:
                        continue
                    if measured_on(interpreter, scenario, variant):
                        yield CellSpec(scenario, variant, interpreter, loop)


def measured_on(interpreter: Interpreter, scenario: Scenario, variant: str) -> bool:
    """False for a cell of an installed strategy or scenario on another interpreter."""
    if interpreter.is_current:
        return True
    installed = [entry.origin != BUILT_IN for entry in (
        scenario_registry().entries.get(scenario.name),
        strategy_registry().entries.get(variant)) if entry is not None]
    return not any(installed)


__all__ = ["FAST_MIN_TIME", "PYPERF_ARGS", "CellError", "CellSpec", "default_jobs", "fast_loops",
           "measure", "measured_on", "plan", "run_matrix", "run_python"]
