"""The CLI's side of the instruction counter: is valgrind here, and one server per
interpreter and loop that measures cells on request (`vts.suite.measure.instructions`).

Pinned for repeatability: the hash seed (``PYTHONHASHSEED=0``, as every cell), the
address layout (``setarch -R``, where the kernel allows it: recorded in `describe()`), and
the run plan (the allocation counter's warm-up and lowest-of-three). A server is a
long-lived process: `InstructionServer.measure` writes one request line and reads one
answer line, so cells keep their order and progress; a cell that hangs kills its server,
and the next cell starts a new one. `ServerPool` keeps the servers of a run: one per
worker thread, interpreter and loop.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from vts.suite.environments import CALLGRIND_HEADER, ROOT, cell_environment, source_of
from vts.suite.records import Instructions

# The counter switches instrumentation on itself; everything before (start-up, imports)
# runs uninstrumented and fast.
CALLGRIND = ["--tool=callgrind", "--instr-atstart=no", "--quiet"]
START_TIMEOUT = 120.0


class InstructionError(Exception):
    """The instruction counter could not measure a cell; the message says why, in one line."""


@functools.cache
def unavailable() -> str | None:
    """Why instruction counts cannot be taken here, or None when they can."""
    if shutil.which("valgrind") is None:
        return "valgrind not found (install valgrind to count instructions per op)"
    if (not any((ROOT / "vts/suite/measure").glob("_instrcount*.so"))
            and not Path(CALLGRIND_HEADER).exists()):
        return ("valgrind/callgrind.h not found (install valgrind's headers, then reinstall "
                "vts; in a checkout, pip install -e .)")
    return None


@functools.cache
def _setarch() -> list[str]:
    """`setarch -R` (no address randomisation) where the kernel lets us; else nothing."""
    tool = shutil.which("setarch")
    if tool is None:
        return []
    probe = subprocess.run([tool, "-R", "true"], capture_output=True)
    return [tool, "-R"] if probe.returncode == 0 else []


@functools.cache
def describe() -> dict[str, Any]:
    """What the counts were taken with, recorded in results.json."""
    version = subprocess.run(["valgrind", "--version"], capture_output=True, text=True)
    return {
        "tool": "callgrind",
        "valgrind": version.stdout.strip().removeprefix("valgrind-"),
        "aslr_disabled": bool(_setarch()),
        "hash_seed": "0",
    }


class InstructionServer:
    """One `--serve` process under callgrind for one interpreter and loop; its code is
    `python`'s source, or `source` (another commit's tree, `vts.suite.commits`)."""

    def __init__(self, python: Path, source: Path | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="vts-callgrind-")
        out = Path(self._dir.name)
        cmd = [*_setarch(), "valgrind", *CALLGRIND, f"--callgrind-out-file={out}/cg.%p",
               str(python), "-m", "vts.suite.measure.instructions", "--serve",
               "--out-dir", str(out)]
        self._process = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=cell_environment(python, source), cwd=source or source_of(python), text=True,
            start_new_session=True)
        self._read(START_TIMEOUT)  # {"ready": true}

    def _read(self, timeout: float) -> dict[str, Any]:
        stdout: IO[str] = self._process.stdout  # type: ignore[assignment]
        ready, _, _ = select.select([stdout], [], [], timeout)
        line = stdout.readline() if ready else ""
        if not line:
            reason = (f"timed out after {timeout:g} s" if not ready
                      else self._last_error() or "the instruction server exited")
            self.close()
            raise InstructionError(reason)
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _last_error(self) -> str:
        self._process.kill()
        _, err = self._process.communicate()
        lines = [line.strip() for line in err.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def measure(self, scenario: str, variant: str, loop: str,
                timeout: float) -> Instructions:
        """Instructions per op of one cell (InstructionError with its one-line reason)."""
        stdin: IO[str] = self._process.stdin  # type: ignore[assignment]
        request = {"scenario": scenario, "variant": variant, "loop": loop}
        try:
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
        except BrokenPipeError:
            raise InstructionError(self._last_error() or "the instruction server exited") from None
        answer = self._read(timeout)
        if "error" in answer:
            raise InstructionError(answer["error"])
        figures: Instructions = answer["instructions"]
        return figures

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def kill(self) -> None:
        """Stop the server and the cell it is measuring now (an interrupted run); `close`
        still releases it. Safe from another thread than the one waiting on `measure`:
        that one reads end of file and raises InstructionError."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, 9)

    def close(self) -> None:
        """End the server: at end of input it exits; if it does not, kill its group."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # Its process group: the server and a child measuring a cell.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, 9)
            self._process.wait()
        for stream in (self._process.stdin, self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()
        self._dir.cleanup()


class ServerPool:
    """The callgrind servers of a run, one per worker thread, interpreter and loop.

    A thread keeps one server alive at a time (its previous one is closed when it moves to
    another interpreter or loop), so `jobs` threads hold at most `jobs` valgrind processes.
    The lock guards `_all`, which `close` and `kill_all` walk from the main thread."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[InstructionServer] = []

    def getter(self, python: Path, loop: str) -> Callable[[], InstructionServer]:
        """The server of the calling thread for `python` and `loop`, started on first use
        (InstructionError when it cannot start)."""
        def get() -> InstructionServer:
            key = (python, loop)
            mine: dict[tuple[Path, str], InstructionServer] = self._local.__dict__.setdefault(
                "servers", {})
            for other in [k for k in mine if k != key]:
                done = mine.pop(other)
                with self._lock:
                    self._all.remove(done)
                done.close()
            if key not in mine or not mine[key].alive:
                mine[key] = InstructionServer(python)
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


__all__ = ["InstructionError", "InstructionServer", "ServerPool", "describe", "unavailable"]
