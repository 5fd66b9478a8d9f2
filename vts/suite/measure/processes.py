"""Process supervision: every measuring subprocess of a run starts and ends here.

Owns `run_python` (one vts module in a subprocess, its interpreter's source first on
PYTHONPATH (`environments.cell_environment`), the hash seed pinned; its stdout, or
`CellError` with its last line) and the set of processes running now, so an interrupted
run kills them instead of waiting for them (cells are measured in worker threads; only
the main thread gets the KeyboardInterrupt).
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from vts.suite.environments import cell_environment, source_of

CELL_TIMEOUT = 300.0  # seconds per measuring process, unless told


class CellError(Exception):
    """A cell's subprocess failed; the message is its last line of output."""


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


class Children:
    """The measuring processes running now. The lock guards the set, which worker threads
    add to and the main thread kills from."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._processes: set[subprocess.Popen[str]] = set()
        self._stopping = False

    def run(self, cmd: list[str], timeout: float, env: dict[str, str]) -> tuple[int, str, str]:
        """Run `cmd` to the end: (return code, stdout, stderr); TimeoutExpired past
        `timeout` seconds (the process is killed first)."""
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   stdin=subprocess.DEVNULL, text=True, env=env,
                                   cwd=source_of(Path(cmd[0])))
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


running = Children()


def run_python(cmd: list[str], timeout: float) -> str:
    """Run a vts module in a subprocess (`cmd[0]` is its python) with that interpreter's
    source first on PYTHONPATH; its stdout, or CellError with its last line of output."""
    env = cell_environment(Path(cmd[0]))
    try:
        returncode, out, err = running.run(cmd, timeout, env)
    except subprocess.TimeoutExpired:
        raise CellError(f"timed out after {timeout:g} s") from None
    if returncode != 0:
        last = _one_line(err or out)
        raise CellError(last if last != "no output" else
                        f"exited with code {returncode} and no output")
    return out


__all__ = ["CELL_TIMEOUT", "CellError", "Children", "run_python", "running"]
