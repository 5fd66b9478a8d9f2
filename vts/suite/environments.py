"""The interpreters of the matrix, each in an environment the suite builds itself.

Every installed CPython 3.10+ is found (pyenv's versions, then `python3.X` on PATH). The
interpreter running `vts` uses its own environment; any other gets `.venvs/<X.Y>/`, a
venv with the cell runners' dependencies, and the package's C extensions built in place
for it (`setup.py build_ext --inplace`, run once per process and interpreter; it rebuilds
only what is older than its source: the tagged .so files of several versions sit side by
side in vts/suite/measure/ and vts/). The counter is required; the accelerator
(vts._speedups) is optional, and a cell records whether it was there. Cells run with the
repository on PYTHONPATH, so every interpreter measures the same source.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from vts.suite.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]  # the repository: vts/suite/environments.py
VENVS = ROOT / ".venvs"
# What a cell needs under another interpreter (the CLI, report and gate stay in .venv).
CELL_REQUIREMENTS = ("setuptools>=77", "pyperf", "memray", "psutil", "uvloop")
MIN_VERSION = (3, 10)
CALLGRIND_HEADER = "/usr/include/valgrind/callgrind.h"


@dataclass(frozen=True)
class Interpreter:
    version: str  # "3.12"
    executable: Path

    @property
    def is_current(self) -> bool:
        return self.version == current_version()


def current_version() -> str:
    return "{}.{}".format(*sys.version_info[:2])


def _version_of(executable: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(executable), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out or None


def _candidates() -> list[Path]:
    found: list[Path] = []
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for path in sorted((pyenv_root / "versions").glob("3.*/bin/python3")):
        if re.fullmatch(r"3\.\d+\.\d+", path.parent.parent.name):
            found.append(path)
    for minor in range(MIN_VERSION[1], 20):
        on_path = shutil.which(f"python3.{minor}")
        if on_path:
            found.append(Path(on_path))
    return found


def discover() -> dict[str, Interpreter]:
    """Installed CPython 3.10+ by "X.Y"; the running interpreter stands for its version."""
    found = {current_version(): Interpreter(current_version(), Path(sys.executable))}
    for executable in _candidates():
        version = _version_of(executable)
        if version is None or version in found:
            continue
        if tuple(int(part) for part in version.split(".")) >= MIN_VERSION:
            found[version] = Interpreter(version, executable)
    return dict(sorted(found.items(), key=lambda item: tuple(map(int, item[0].split(".")))))


def select(requested: list[str] | None) -> list[Interpreter]:
    """The interpreters asked for ("all", or versions like "3.12"); default: the current."""
    available = discover()
    if not requested:
        return [available[current_version()]]
    if requested == ["all"]:
        return list(available.values())
    chosen = []
    for version in requested:
        if version not in available:
            raise UsageError(
                f"interpreter {version} not found; installed: {', '.join(available)}"
            )
        chosen.append(available[version])
    return chosen


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "vts/suite/measure/_alloccount.c", ROOT / "vts/_speedups.c",
                 ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    digest.update(" ".join(CELL_REQUIREMENTS).encode())
    return digest.hexdigest()[:16]


# Run in the target interpreter: exit 0 when the counters import (the instruction counter
# only where valgrind's header is, argv[1]) and the accelerator is built from the current
# vts/_speedups.c; 1 when a counter is missing; 2 when only the accelerator is missing;
# 3 when only the accelerator is older than its source.
_PROBE = """
import os, sys
try:
    import vts.suite.measure._alloccount
    if sys.argv[1] == "1":
        import vts.suite.measure._instrcount
except ImportError:
    sys.exit(1)
try:
    import vts._speedups as speedups
except ImportError:
    sys.exit(2)
sys.exit(3 if os.path.getmtime(speedups.__file__) < os.path.getmtime("vts/_speedups.c") else 0)
"""
_COUNTER_MISSING, _ACCELERATOR_STALE = 1, 3


def _probe_extensions(python: Path) -> int:
    with_instructions = "1" if Path(CALLGRIND_HEADER).exists() else "0"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([str(python), "-c", _PROBE, with_instructions], env=env, cwd=ROOT,
                          capture_output=True).returncode


def _build_extensions(python: Path) -> bool:
    """Build the counter and the accelerator in place where either is missing or older than
    its source; returns whether the accelerator is built. A missing counter is an error,
    and so is an accelerator older than its source that does not rebuild (its cells would
    measure old code); a missing one is not (it is optional, and a cell records whether it
    was there)."""
    if _probe_extensions(python) == 0:
        return True
    result = subprocess.run(
        [str(python), "setup.py", "-q", "build_ext", "--inplace"],
        cwd=ROOT, capture_output=True, text=True,
    )
    reason = _build_error(result.stderr or result.stdout)
    probe = _probe_extensions(python)
    if probe == _COUNTER_MISSING:
        raise UsageError(f"could not build the allocation counter with {python}: {reason}")
    if probe == _ACCELERATOR_STALE:
        raise UsageError(f"vts/_speedups.c is newer than its build for {python}, and it did "
                         f"not rebuild: {reason}")
    return probe == 0


def _build_error(output: str) -> str:
    """The line of a failed build that says why: the last `...Error: ...` or `error: ...`
    line (setuptools and the compiler both end with detail after it), else the last."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    said = [line for line in lines if re.match(r"(\w+Error|error):", line)]
    return (said or lines or ["no output"])[-1]


@dataclass(frozen=True)
class Built:
    """An interpreter's environment, ready: its python and whether the optional C
    accelerator (vts._speedups) is built there (the counter always is)."""

    python: Path
    accelerator: bool


@functools.cache  # once per process: a test or a gate may measure several times
def build(interpreter: Interpreter) -> Built:
    """A ready environment for `interpreter` (made, and its extensions built, if needed)."""
    if interpreter.is_current:
        python = Path(sys.executable)
        return Built(python, _build_extensions(python))
    venv = VENVS / interpreter.version
    python = venv / "bin" / "python"
    stamp = venv / ".vts-ready"
    if not (stamp.exists() and stamp.read_text() == _fingerprint() and python.exists()):
        subprocess.run([str(interpreter.executable), "-m", "venv", "--clear", str(venv)],
                       check=True, capture_output=True)
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *CELL_REQUIREMENTS],
            capture_output=True, text=True,
        )
        if install.returncode != 0:
            raise UsageError(
                f"could not install the cell dependencies for Python {interpreter.version}: "
                f"{(install.stderr.strip().splitlines() or ['pip failed'])[-1]}"
            )
        stamp.write_text(_fingerprint())
    return Built(python, _build_extensions(python))


def ensure(interpreter: Interpreter) -> Path:
    """The python executable of a ready environment for `interpreter` (`build`)."""
    return build(interpreter).python


__all__ = ["Built", "Interpreter", "build", "current_version", "discover", "ensure", "select"]
