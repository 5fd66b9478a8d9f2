"""Instructions per operation, counted by valgrind's callgrind with the allocation counter's
two-length difference.

What it measures: every machine instruction the process executes in user space while a
run of ``n`` operations goes on (all threads), as callgrind counts them (its ``Ir``
event). Instructions per op = (count of a long run - count of a short run) /
(long - short): interpreter start-up, the harness and each run's fixed cost cancel.

Theory of operation: ``vts`` starts one *server* per interpreter and loop
(``python -m vts.suite.measure.instructions --serve``) under
``setarch -R valgrind --tool=callgrind --instr-atstart=no``. The server starts and imports
the suite uninstrumented (valgrind still translates every block: about 3 s), then, for
each cell name it reads on stdin, forks a child. The child switches instrumentation on
(``_instrcount.start_instrumentation``), opens the workload, and runs the allocation
counter's plan: GC collected then paused, a warm-up run, then ``ROUNDS`` pairs of counted
runs (short, long). Each counted run is bracketed by ``zero()`` and ``dump(label)``;
callgrind writes each dump to ``<out-dir>/cg.<pid>.<n>``, whose ``totals:`` line is that
run's count. Each length keeps its lowest count (as the allocation counter does). The
child prints one JSON line and exits; the server stays uninstrumented, so each cell costs
only its own counted work, never the start-up again, and every cell starts from the same
state whatever ran before it.

Run lengths are chosen per cell from the cost of one operation: after one instrumented
run(1), a probe counts run(k) and run(2k) for k = 1, 8, 64, ... until the difference is
over BUDGET / 16, and ``short`` is the largest 1-2-5 step at most ``BUDGET`` instructions
(within 1..the scenario's own short length); long = 2 x short.
Counted work per cell is then about 10 x BUDGET instructions (1-3 s under callgrind
here). Where the probe's own run is already over budget (fan-out to 100 or 1000 waiters), its
pair is the measurement.

What it trades: a count that repeats to the instruction for one interpreter build, hash
seed and address layout, at the cost of time (callgrind runs code 50-100x slower) and of
scope: an instruction count says nothing about cache misses, branch mispredictions,
memory bandwidth or the kernel (system calls count only their user-space side), all of
which time includes. Standard library only (it runs under every interpreter of the matrix).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from vts.suite.records import Instructions

BUDGET = 3_000_000  # instructions per short run (the long run is twice as long)
ROUNDS = 3  # as the allocation counter: each length keeps its lowest of three


class _Requests(Protocol):
    """The interface of the ``_instrcount`` extension."""

    def on_valgrind(self) -> int: ...
    def start_instrumentation(self) -> None: ...
    def stop_instrumentation(self) -> None: ...
    def zero(self) -> None: ...
    def dump(self, label: str) -> None: ...


def _requests() -> _Requests:
    try:
        from vts.suite.measure import _instrcount  # type: ignore[attr-defined]
    except ImportError as exc:
        raise ImportError(
            "the instruction counter vts.suite.measure._instrcount is not built (it needs "
            "valgrind/callgrind.h: install valgrind, then reinstall vts; in a checkout, "
            "'pip install -e .')"
        ) from exc
    return cast(_Requests, _instrcount)


@dataclass(frozen=True)
class InstructionFigures:
    """Instructions per operation of one cell; ``ops`` is the (short, long) run lengths."""

    instructions_per_op: float
    ops: tuple[int, int]

    def to_json(self) -> Instructions:
        return {"instructions_per_op": self.instructions_per_op, "ops": list(self.ops)}


def nice_length(limit: float, most: int) -> int:
    """The largest 1-2-5 step (1, 2, 5, 10, 20, ...) at most `limit`, within 1..`most`."""
    best = 1
    step = 1
    while step <= most:
        for factor in (1, 2, 5):
            if step * factor <= min(limit, most):
                best = step * factor
        step *= 10
    return best


def _totals(path: Path) -> int:
    """The instruction count of one callgrind dump (its ``totals:`` or ``summary:`` line)."""
    with path.open(encoding="utf-8", errors="replace") as dump:
        for line in dump:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    raise ValueError(f"{path}: no totals line (not a callgrind dump?)")


class _Dumps:
    """Counts runs between zero() and dump(); callgrind numbers each dump from 1 per process."""

    def __init__(self, requests: _Requests, out_dir: Path) -> None:
        self._requests = requests
        self._base = out_dir / f"cg.{os.getpid()}"
        self._dumps = 0

    def count(self, run: Callable[[int], object], n: int) -> int:
        self._requests.zero()
        run(n)
        self._requests.dump(f"run of {n}")
        self._dumps += 1
        path = Path(f"{self._base}.{self._dumps}")
        count = _totals(path)
        path.unlink()
        return count

    def probe(self, run: Callable[[int], object], k: int) -> tuple[int, int]:
        """The counts of run(k) and run(2k)."""
        return self.count(run, k), self.count(run, 2 * k)


def measure_batch(
    run: Callable[[int], object], out_dir: Path, *, most: int, budget: int = BUDGET,
    rounds: int = ROUNDS,
) -> InstructionFigures:
    """Instructions per operation of ``run(n)``, which performs ``n`` operations itself.

    Must run under callgrind with ``--callgrind-out-file=<out_dir>/cg.%p``.
    """
    requests = _requests()
    if not requests.on_valgrind():
        raise RuntimeError("not running under valgrind: start the server through "
                           "vts.suite.measure.valgrind")
    dumps = _Dumps(requests, out_dir)
    gc_was_enabled = gc.isenabled()
    requests.start_instrumentation()
    try:
        gc.collect()  # before the warm-up, as the allocation counter does (freelists refill)
        gc.disable()
        dumps.count(run, 1)  # the first instrumented run translates and specialises
        k, probe = 1, dumps.probe(run, 1)
        while probe[1] - probe[0] < budget // 16 and 2 * k < most:
            k *= 8  # a run's fixed cost jitters by some 10^4 instructions: probe longer
            probe = dumps.probe(run, k)
        short = nice_length(budget * k / max(1, probe[1] - probe[0]), most)
        if short <= k:  # one probe run is already over budget: it is the measurement
            short, shorts, longs = k, [probe[0]], [probe[1]]
        else:
            counts = [dumps.count(run, n) for n in (short,) + (short, 2 * short) * rounds]
            shorts, longs = counts[1::2], counts[2::2]
        long = 2 * short
    finally:
        requests.stop_instrumentation()
        if gc_was_enabled:
            gc.enable()
    return InstructionFigures((min(longs) - min(shorts)) / (long - short), (short, long))


def measure_cell(scenario_name: str, variant: str, loop_kind: str,
                 out_dir: Path) -> Instructions:
    """One cell's instructions per op, in this (forked) process."""
    from vts.suite.loops import new_event_loop
    from vts.suite.scenarios import scenario

    definition = scenario(scenario_name)
    loop = new_event_loop(loop_kind)
    workload = definition.open(variant, loop)
    try:
        figures = measure_batch(lambda n: loop.run_until_complete(workload.run(n)), out_dir,
                                most=definition.default_ops[0])
    finally:
        workload.close()
        loop.close()
    return figures.to_json()


def _child(request: dict[str, str], out_dir: Path, write_fd: int) -> None:
    """Measure one cell and write its JSON line to `write_fd`; never returns."""
    status = 0
    try:
        reply: dict[str, Any] = {"instructions": measure_cell(
            request["scenario"], request["variant"], request["loop"], out_dir)}
    except BaseException as exc:  # the cell fails, never the server
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        reply, status = {"error": last}, 1
    try:
        os.write(write_fd, (json.dumps(reply) + "\n").encode())
    finally:
        os._exit(status)


def serve(out_dir: Path) -> int:
    """Read one JSON request per line on stdin, answer one JSON line per request."""
    from vts.suite.loops import new_event_loop
    from vts.suite.scenarios import all_scenarios

    all_scenarios()  # import every scenario module and plugin once, before forking
    new_event_loop("asyncio").close()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(request, out_dir, write_fd)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            answer = pipe.read().decode()
        _, wait_status = os.waitpid(pid, 0)
        if not answer:
            code = os.waitstatus_to_exitcode(wait_status)
            how = f"signal {-code}" if code < 0 else f"code {code}"
            answer = json.dumps({"error": f"exited with {how} and no output"}) + "\n"
        sys.stdout.write(answer)
        sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vts.suite.measure.instructions")
    parser.add_argument("--serve", action="store_true", required=True)
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    return serve(args.out_dir)


if __name__ == "__main__":
    sys.exit(main())
