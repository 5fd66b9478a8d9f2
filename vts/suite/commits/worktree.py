"""A commit checked out in a temporary `git worktree`, and removed again whatever happens.

Rule 1: `checked_out` leaves no worktree behind. The tree is added (`git worktree add
--detach`) in a new temporary directory outside the repository and removed in a `finally`
(`git worktree remove --force`, the directory deleted if git could not, then `git
worktree prune`), with SIGINT and SIGTERM blocked while it is removed, so a second Ctrl-C
cannot cut the clean-up short. While a tree exists, SIGTERM raises KeyboardInterrupt in
the main thread (Python's default for SIGTERM is to die on the spot, skipping every
`finally`); the handler before it is put back when the last tree is gone.
Rule 2: every process started in a tree (`run`) runs in its own session and is killed
with its whole process group when the caller is interrupted: a build's compiler must not
keep writing into a tree that is being removed.

Trades: a worktree per commit costs a checkout (a few hundred milliseconds here) where
`git archive` would do for reading, but it is a real tree in which setup.py, git and the
commit's own code behave as in a clone, and git knows about it, so `git worktree list`
shows whether anything was left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from vts.suite.errors import UsageError

_lock = threading.Lock()  # guards _open and the SIGTERM handler swap
_open: set[Path] = set()
_previous: list[Any] = []  # the SIGTERM handler to put back, while ours is installed


def git(repo: Path, *args: str) -> str:
    """`git -C repo ARGS...`'s stdout; a UsageError with git's last line when it fails."""
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode != 0:
        said = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise UsageError(f"git {args[0]}: {said[-1] if said else 'failed'}")
    return done.stdout


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _register(tree: Path) -> None:
    with _lock:
        if not _open and threading.current_thread() is threading.main_thread():
            _previous.append(signal.signal(signal.SIGTERM, _terminate))
        _open.add(tree)


def _unregister(tree: Path) -> None:
    with _lock:
        _open.discard(tree)
        if not _open and _previous:
            signal.signal(signal.SIGTERM, _previous.pop())


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """SIGINT and SIGTERM held back (delivered on exit) in this thread."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def checked_out(repo: Path, commit: str) -> Iterator[Path]:
    """`commit` of `repo` checked out (detached) in a temporary worktree: its path."""
    parent = Path(tempfile.mkdtemp(prefix="vts-commit-"))
    tree = parent / "tree"
    _register(tree)
    try:
        run(["git", "-C", str(repo), "worktree", "add", "--quiet", "--detach", str(tree),
             commit])
        yield tree
    finally:
        with _signals_blocked():
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force",
                            str(tree)], capture_output=True)
            for _ in range(5):  # a process killed a moment ago may have left a file behind
                shutil.rmtree(parent, ignore_errors=True)
                if not parent.exists():
                    break
                time.sleep(0.1)
            subprocess.run(["git", "-C", str(repo), "worktree", "prune"], capture_output=True)
            _unregister(tree)


def _wait_until_gone(group: int, timeout: float = 10.0) -> None:
    """Wait until no process of `group` is left: a killed child of the leader (git's
    checkout, the compiler setup.py started) may still be dying, and writing, when the
    leader has been reaped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)


class ProcessFailed(Exception):
    """A process run in a tree exited non-zero; the message is its last line of output."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def run(cmd: list[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
        timeout: float | None = None, stdin: str | None = None) -> str:
    """Run `cmd` to the end in its own session: its stdout, or ProcessFailed with the last
    line it printed (or the timeout). Interrupted or timed out, its whole process group is
    killed first."""
    process = subprocess.Popen(cmd, cwd=cwd, env=None if env is None else dict(env),
                               stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        out, err = process.communicate(stdin, timeout=timeout)
    except BaseException as exc:  # KeyboardInterrupt, TimeoutExpired: nothing may outlive us
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        _wait_until_gone(process.pid)
        if isinstance(exc, subprocess.TimeoutExpired):
            raise ProcessFailed(f"timed out after {timeout:g} s", "") from None
        raise
    if process.returncode != 0:
        said = last_line(err or out)
        if said == "no output":
            said = f"exited with code {process.returncode} and no output"
        raise ProcessFailed(said, err + out)
    return out


__all__ = ["ProcessFailed", "checked_out", "git", "last_line", "run"]
