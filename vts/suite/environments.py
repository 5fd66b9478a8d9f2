"""The interpreters of the matrix, each in an environment the suite builds itself.

Every installed CPython 3.10+ is found (pyenv's versions, then `python3.X` on PATH). The
interpreter running `vts` uses its own environment; any other gets a venv with the cell
runners' dependencies, and the package's C extensions built in place for it
(`setup.py build_ext --inplace`, run once per process and interpreter; it rebuilds only
what is older than its source: the tagged .so files of several versions sit side by
side). The counter is required; the accelerator (vts._speedups) is optional, and a cell
records whether it was there. Cells run with their *source* (the directory holding the
`vts` package they import) first on PYTHONPATH, so every interpreter measures the same
code:

- from a checkout (setup.py beside `vts/`): the checkout is every interpreter's source,
  and the venvs are `.venvs/<X.Y>` in it (`make clean` removes them);
- from an installed vts: the running interpreter measures the installed package as it
  is (its wheel built the extensions); another one measures a copy of the installed
  package (its .py files and C sources, which the wheel carries for this) in the user's
  cache directory (platformdirs' `user_cache_dir("vts")`: `source-<digest>/`, one per
  content, and `venvs/<X.Y>`), with the extensions built there. Nothing is written
  next to the installed package, and no index is asked for vts itself: the code measured
  is the code installed.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vts.suite.errors import UsageError

# The directory holding the running `vts` package: a checkout, or site-packages.
ROOT = Path(__file__).resolve().parents[2]
CHECKOUT = (ROOT / "setup.py").is_file() and (ROOT / "vts/suite/extensions.py").is_file()
# What a cell needs under another interpreter (the CLI, report and gate stay in this one).
CELL_REQUIREMENTS = ("setuptools>=77", "pyperf", "memray", "psutil", "uvloop")
# The build script of a source copy: the same extensions as the distribution's setup.py.
_SETUP_PY = ('import runpy\nfrom setuptools import setup\n'
             'setup(ext_modules=runpy.run_path("vts/suite/extensions.py")["ext_modules"]())\n')
_SOURCE_SUFFIXES = (".py", ".pyi", ".c", ".html", ".css", ".j2", ".typed")
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


def _cache() -> Path:
    """The user's cache directory for vts (platformdirs' convention; XDG on Linux)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("vts"))


def venvs() -> Path:
    """Where the other interpreters' venvs live: `.venvs/` in a checkout, else the cache."""
    return ROOT / ".venvs" if CHECKOUT else _cache() / "venvs"


def _package_files() -> list[Path]:
    """The running package's own files (no builds, no bytecode), in a stable order."""
    return sorted(path for path in (ROOT / "vts").rglob("*")
                  if path.is_file() and path.suffix in _SOURCE_SUFFIXES
                  and "__pycache__" not in path.parts)


@functools.cache  # once per process: the copy is checked, and made if needed, once
def source() -> Path:
    """The directory other interpreters import vts from: the checkout, or a copy of the
    installed package in the cache, named by its content (an upgrade gets its own)."""
    if CHECKOUT:
        return ROOT
    files = _package_files()
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    target = _cache() / f"source-{digest.hexdigest()[:16]}"
    if not (target / "setup.py").is_file():
        staging = Path(tempfile.mkdtemp(prefix=".source-", dir=_ensure_dir(_cache())))
        for path in files:
            copy = staging / path.relative_to(ROOT)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
        (staging / "setup.py").write_text(_SETUP_PY, encoding="utf-8")  # written last
        try:
            staging.rename(target)
        except OSError:  # another process made it first: theirs is the same content
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def source_of(python: Path) -> Path:
    """The directory `python` imports vts from: the running package for this interpreter,
    `source()` for any other."""
    return ROOT if Path(python) == Path(sys.executable) else source()


def cell_environment(python: Path, source: Path | None = None) -> dict[str, str]:
    """The environment of a measuring process under `python`: its source (`source_of`, or
    `source`: another commit's tree) first on PYTHONPATH (a PYTHONPATH the caller set, the
    tests' plugins, stays after it) and the hash seed pinned."""
    path = os.pathsep.join(filter(None, [str(source or source_of(python)),
                                         os.environ.get("PYTHONPATH", "")]))
    return {**os.environ, "PYTHONPATH": path, "PYTHONHASHSEED": "0"}


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "vts/suite/measure/_alloccount.c", ROOT / "vts/_speedups.c"):
        digest.update(path.read_bytes())
    digest.update(" ".join(CELL_REQUIREMENTS).encode())
    return digest.hexdigest()[:16]


# Run in the target interpreter: exit 0 when the counters import (the instruction counter
# only where valgrind's header is, argv[1]) and the accelerator is built from the current
# vts/_speedups.c (checked where argv[2] is "1": a build in place, not an install); 1 when
# a counter is missing; 2 when only the accelerator is missing; 3 when only the
# accelerator is older than its source.
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
stale = sys.argv[2] == "1" and (
    os.path.getmtime(speedups.__file__) < os.path.getmtime("vts/_speedups.c"))
sys.exit(3 if stale else 0)
"""
_COUNTER_MISSING, _ACCELERATOR_STALE = 1, 3


def _probe_extensions(python: Path, where: Path, in_place: bool) -> int:
    with_instructions = "1" if Path(CALLGRIND_HEADER).exists() else "0"
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run([str(python), "-c", _PROBE, with_instructions, str(int(in_place))],
                          env=env, cwd=where, capture_output=True).returncode


def _build_extensions(python: Path) -> bool:
    """Build the counter and the accelerator in place where either is missing or older than
    its source; returns whether the accelerator is built. A missing counter is an error,
    and so is an accelerator older than its source that does not rebuild (its cells would
    measure old code); a missing one is not (it is optional, and a cell records whether it
    was there). An installed vts measured by its own interpreter is never rebuilt: its
    wheel built the extensions."""
    where = source_of(python)
    in_place = CHECKOUT or where != ROOT
    probe = _probe_extensions(python, where, in_place)
    if probe == 0:
        return True
    if not in_place:
        if probe == _COUNTER_MISSING:
            raise UsageError(f"this install of vts ({ROOT / 'vts'}) has no allocation "
                             "counter built; reinstall it where a C compiler is available")
        return False
    result = subprocess.run(
        [str(python), "setup.py", "-q", "build_ext", "--inplace"],
        cwd=where, capture_output=True, text=True,
    )
    reason = _build_error(result.stderr or result.stdout)
    probe = _probe_extensions(python, where, in_place)
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
    venv = venvs() / interpreter.version
    python = venv / "bin" / "python"
    stamp = venv / ".vts-ready"
    if not (stamp.exists() and stamp.read_text() == _fingerprint() and python.exists()):
        venv.parent.mkdir(parents=True, exist_ok=True)
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


__all__ = ["Built", "Interpreter", "build", "cell_environment", "current_version", "discover",
           "ensure", "select", "source", "source_of", "venvs"]
