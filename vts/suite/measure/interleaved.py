"""Fast mode's timing: every timed cell of a run, one value at a time, the cells' values
interleaved over the whole timing phase.

After the run's cells are counted, `time_cells` starts REPLICAS worker processes per group
of cells (one interpreter, scenario and loop: `vts.suite.measure.interleave_worker`), each
with all the group's workloads open. Then it goes round the cells: in each round, every
cell gets one value of about VALUE_SECONDS from one of its workers (the first round of
each worker is a warmup), until each cell has VALUES values per worker. Nothing else runs
meanwhile, and the next value is asked for only when the last one is back. Each cell's
runs go into its pyperf file, as a pyperf worker's would (`pyperf compare_to` and the
report read them the same way).

Why: on a shared VM the host slows one CPU at a time, to about 1.5-2x, for stretches of
1-13 s, a quarter to half of the time (`scripts/host_levels.py`). A cell timed in one go
(pyperf's workers, 2 processes in about 1.5 s) met one or two such states: its median
moved by that much between runs, and it was marked unstable wherever its values straddled
a change (89 of make bench's 312 timed cells). Spread over the whole phase (a cell's
values about 5 s apart over 3.5 minutes), each cell meets the host in many states, and
its median is the usual speed while fewer than half of its values are slow: a fresh-clone
make bench marked 28 of 312, 26 of them in `thread` and the streamed sockets, whose own
time varies. One value at a time: values timed two at a time, one per CPU, slowed each other
(a prototype marked 29% of the cells; docs/timing-noise.md).

Not for a scenario that runs slower after a pause (`Scenario.back_to_back`: the streamed
sockets, `scripts/value_gaps.py`): those are timed back to back with their counting
(`vts.suite.measure.measurement`).

What it trades: the timing phase uses one CPU of the machine (the other idles, or runs a
scenario's producer or sender thread), for about 3.5 minutes of a make bench; a value is
short (10 ms against pyperf's 50 ms) so that 40 of them fit; and
the strategies of one scenario share a worker process (their workloads are open side by
side, each on its own event loop, and only one runs at a time). `--full` still times
each cell with pyperf's own workers.
"""

from __future__ import annotations

import json
import selectors
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from vts.suite.environments import cell_environment, source_of
from vts.suite.measure.planning import CellSpec

VALUE_SECONDS = 0.01  # a value's length, at the cell's mean operation time
VALUES = 20  # per worker, after its warmup
REPLICAS = 2  # worker processes per group


class TimingError(Exception):
    """A timing worker failed; the message is one line."""


class _Worker:
    """One worker process and the cells it has open (by their index in its group)."""

    def __init__(self, specs: list[CellSpec], loops: dict[str, int], directory: Path,
                 name: str) -> None:
        self.specs = specs
        self.out_dir = directory / name
        self.out_dir.mkdir()
        cells = directory / f"{name}.json"
        cells.write_text(json.dumps([
            {"key": spec.stem, "scenario": spec.scenario.name, "variant": spec.variant,
             "loop": spec.loop, "loops": loops[spec.id]} for spec in specs]))
        python = specs[0].environment.python
        self.stderr_path = directory / f"{name}.stderr"
        self._stderr = self.stderr_path.open("w")
        self.process: subprocess.Popen[str] = subprocess.Popen(
            [str(python), "-m", "vts.suite.measure.interleave_worker", "--cells", str(cells),
             "--out-dir", str(self.out_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            env=cell_environment(python), cwd=source_of(python))
        self.failed: str | None = None

    def reply(self, timeout: float) -> str:
        """The worker's next line; TimingError if it exits or says nothing for `timeout`."""
        stdout: TextIO = self.process.stdout  # type: ignore[assignment]
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                raise TimingError(f"no answer after {timeout:g} s")
        line = stdout.readline()
        if not line:
            self.process.wait()
            raise TimingError(self.last_error() or
                              f"timing worker exited with code {self.process.returncode}")
        return line.strip()

    def ask(self, index: int, kind: str, timeout: float) -> str | None:
        """One value of cell `index`: None, or that cell's error (one line)."""
        stdin: TextIO = self.process.stdin  # type: ignore[assignment]
        try:
            stdin.write(f"{index} {kind}\n")
            stdin.flush()
        except OSError:  # it died since its last answer (a broken pipe)
            self.process.wait()
            raise TimingError(self.last_error() or
                              f"timing worker exited with code {self.process.returncode}"
                              ) from None
        answer = self.reply(timeout)
        if answer == "ok":
            return None
        return answer.removeprefix("error ")

    def finish(self, timeout: float) -> None:
        """End its input and wait for it to write its cells' runs."""
        stdin: TextIO = self.process.stdin  # type: ignore[assignment]
        stdin.close()
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimingError(f"did not finish within {timeout:g} s") from None
        if code != 0:
            raise TimingError(self.last_error() or f"timing worker exited with code {code}")

    def last_error(self) -> str:
        self._stderr.flush()
        lines = [line.strip() for line in self.stderr_path.read_text().splitlines()
                 if line.strip()]
        return lines[-1] if lines else ""

    def fail(self, message: str) -> None:
        """It takes no more requests: its group's cells fail with `message`."""
        self.failed = message
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


def time_cells(specs: list[CellSpec], loops: dict[str, int], *, timeout: float,
               values: int = VALUES, replicas: int = REPLICAS,
               on_value: Callable[[int, int], None] = lambda done, total: None,
               ) -> dict[str, tuple[Any, float] | str]:
    """Time `specs` (`loops`: operations per value, by cell id), as the module docstring
    says. Per cell id: (its pyperf benchmark, the seconds its values took), or its error
    in one line. `timeout` bounds each answer of a worker (its start included).

    One interpreter at a time: its workers (two per scenario and loop, about 30 MB each)
    are the only ones alive, and its cells' values are spread over its own phase."""
    by_interpreter: dict[str, list[CellSpec]] = {}
    for spec in specs:
        by_interpreter.setdefault(str(spec.environment.python), []).append(spec)
    per_cell = replicas * (values + 1)
    total, before = len(specs) * per_cell, 0
    outcome: dict[str, tuple[Any, float] | str] = {}
    for members in by_interpreter.values():
        def advanced(done: int, before: int = before) -> None:
            on_value(before + done, total)

        outcome.update(_time_interpreter(members, loops, timeout, values, replicas, advanced))
        before += len(members) * per_cell
    return outcome


def _time_interpreter(specs: list[CellSpec], loops: dict[str, int], timeout: float,
                      values: int, replicas: int,
                      on_value: Callable[[int], None]) -> dict[str, tuple[Any, float] | str]:
    """`time_cells` for the cells of one interpreter."""
    groups: dict[tuple[str, str], list[CellSpec]] = {}
    for spec in specs:
        groups.setdefault((spec.scenario.name, spec.loop), []).append(spec)
    outcome: dict[str, tuple[Any, float] | str] = {}
    seconds = dict.fromkeys((spec.id for spec in specs), 0.0)
    workers: list[list[_Worker]] = []
    with tempfile.TemporaryDirectory(prefix="vts-timing-") as temporary:
        directory = Path(temporary)
        try:
            for number, members in enumerate(groups.values()):
                workers.append([_Worker(members, loops, directory, f"g{number}r{replica}")
                                for replica in range(replicas)])
            for group in workers:
                for worker in group:
                    _started(worker, timeout)
            done = 0
            for round_ in range(replicas * (values + 1)):
                kind = "warmup" if round_ < replicas else "value"
                for group in workers:
                    worker = group[round_ % replicas]
                    for index, spec in enumerate(worker.specs):
                        done += 1
                        if worker.failed or spec.id in outcome:
                            continue
                        started = time.perf_counter()
                        try:
                            error = worker.ask(index, kind, timeout)
                        except TimingError as exc:
                            worker.fail(str(exc))
                            continue
                        seconds[spec.id] += time.perf_counter() - started
                        if error is not None:
                            outcome[spec.id] = error
                    on_value(done)
            for group in workers:
                for worker in group:
                    if not worker.failed:
                        try:
                            worker.finish(timeout)
                        except TimingError as exc:
                            worker.fail(str(exc))
            for group in workers:
                for spec in group[0].specs:
                    if spec.id not in outcome:
                        outcome[spec.id] = _collected(spec, group, seconds[spec.id])
        finally:
            for group in workers:
                for worker in group:
                    worker.stop()
    return outcome


def _started(worker: _Worker, timeout: float) -> None:
    try:
        ready = worker.reply(timeout)
    except TimingError as exc:
        worker.fail(str(exc))
        return
    if ready != "ready":
        worker.fail(f"timing worker said {ready!r} instead of ready")


def _collected(spec: CellSpec, group: list[_Worker], seconds: float) -> tuple[Any, float] | str:
    """The cell's runs from every worker of its group as one pyperf benchmark, or why not."""
    import pyperf  # the CLI's environment has it

    failed = [worker.failed for worker in group if worker.failed]
    if failed:
        return f"timing worker: {failed[0]}"
    bench = None
    for worker in group:
        path = worker.out_dir / f"{spec.stem}.json"
        if not path.exists():
            return "timing worker wrote no values"
        loaded = pyperf.Benchmark.load(str(path))
        if bench is None:
            bench = loaded
        else:
            bench.add_runs(loaded)
    return bench, seconds


__all__ = ["REPLICAS", "VALUES", "VALUE_SECONDS", "TimingError", "time_cells"]
