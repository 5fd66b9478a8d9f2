"""The C accelerator's tests and the interpreter they run on, for the checked runs.

`make memcheck` (scripts/memcheck.py), `make sanitize` (scripts/sanitize.py) and
`make ctest-dev` (scripts/ctest_dev.py) run the same tests the same way and differ only in
what watches them; this module is what they share:

- which tests are the C tests (`c_tests`): the accelerator's own (tests/test_speedups*.py)
  and the protocol tests parametrized by implementation, run on C alone
  (`VTS_TEST_IMPL=c`); then, in the runs that can afford them, the ones that drive the C
  code from threads or with hypothesis (test_stress, test_core_stateful and the
  differential fuzz tests/test_differential.py, where it exists). Valgrind runs the
  interpreter some 50 times slower, so memcheck leaves those out; the sanitizers cost 2-3
  times;
- the interpreter: `.venvs/ctests-X.Y` (pytest, pytest-timeout, hypothesis; no uvloop, so
  the uvloop half of each test is deselected) for an installed CPython, built on demand.
  The package is not installed there: each run puts its own build of it on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vts.suite.environments import discover  # noqa: E402

PROTOCOL_TESTS = ["tests/test_valuetask.py", "tests/test_core.py"]
DRIVEN_TESTS = ["tests/test_stress.py", "tests/test_core_stateful.py", "tests/test_differential.py"]
# The pure-Python halves of the tests the venv cannot run (uvloop is not installed there).
NO_UVLOOP = "not uvloop"
# 1,000,000 operations through the C code: minutes under valgrind; under ASan its RSS
# reading is not flat, since the quarantine holds freed memory.
NOT_THE_MILLION = "not a_million_operations"
# The allocation pins (floors included) repeat, 100,000s of times, paths the other tests
# take once: minutes under valgrind or asyncio's debug mode.
NOT_THE_PINS = f"{NO_UVLOOP} and {NOT_THE_MILLION} and not floor and not allocat"


def c_tests(*, driven: bool) -> list[str]:
    """The C tests' paths, relative to the repository; with `driven`, the thread and
    hypothesis-driven ones too (those of DRIVEN_TESTS that exist)."""
    own = sorted(str(path.relative_to(ROOT)) for path in ROOT.glob("tests/test_speedups*.py"))
    extra = [name for name in DRIVEN_TESTS if (ROOT / name).exists()] if driven else []
    return own + PROTOCOL_TESTS + extra


def parse_arguments(description: str) -> tuple[argparse.Namespace, list[str]]:
    """`--python X.Y` (default 3.12); every other argument goes to pytest."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--python", default="3.12", help="interpreter version (default 3.12)")
    return parser.parse_known_args()


def checked_python(version: str) -> Path | None:
    """The interpreter of `.venvs/ctests-X.Y`, created on first use; None (and an `error:`
    line) when CPython X.Y is not installed."""
    interpreters = discover()
    if version not in interpreters:
        print(f"error: interpreter {version} not found; installed: "
              f"{', '.join(interpreters)}", file=sys.stderr)
        return None
    venv = ROOT / ".venvs" / f"ctests-{version}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([str(interpreters[version].executable), "-m", "venv", str(venv)],
                       check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "setuptools>=77",
                        "pytest", "pytest-timeout", "hypothesis"], check=True)
    return python


def build_in_place(python: Path) -> None:
    """The package's C extensions, built in place for `python` (as `make` does for .venv)."""
    subprocess.run([str(python), "setup.py", "-q", "build_ext", "--inplace"], cwd=ROOT,
                   check=True, capture_output=True)


def pytest_command(python: Path, deselect: str, tests: list[str], pytest_args: list[str],
                   *, interpreter_options: tuple[str, ...] = ()) -> list[str]:
    """`python -m pytest` over `tests`, minus the tests `deselect` (a -k expression) names."""
    return [str(python), *interpreter_options, "-m", "pytest", "-q", "-rf",
            "-p", "no:cacheprovider", "-k", deselect, *tests, *pytest_args]


def c_test_environment(**variables: str) -> dict[str, str]:
    """This process's environment, with the implementation-parametrized tests on C alone."""
    return {**os.environ, "VTS_TEST_IMPL": "c", **variables}
