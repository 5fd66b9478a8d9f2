"""Run the C accelerator's tests under valgrind memcheck (`make memcheck`).

    python scripts/memcheck.py [--python 3.12] [pytest arguments...]

Builds `.venvs/memcheck-X.Y` (pytest, pytest-timeout, hypothesis) for an installed
interpreter, builds the package's C extensions in place for it, then runs the tests that
exercise vts._speedups (tests/test_speedups.py and the C half of the protocol tests, on
the asyncio loop: VTS_TEST_IMPL=c) under memcheck with PYTHONMALLOC=malloc and the
suppressions in tests/valgrind-python.supp, as CPython's Misc/valgrind-python.supp
advises. Exit status: pytest's; 99 when memcheck found a memory error, or a block
definitely lost whose allocation stack passes through vts/_speedups.c. Other definite
leaks are the interpreter's own at exit (3.12 keeps its interned strings and static
types), counted in the summary but not failed. The last lines printed are the summary.

3.12 is the default interpreter: this machine's 3.11.7 build reports uninitialised values
from its own int.from_bytes at start-up (before vts is imported) that would bury the run.
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

LOG = ROOT / "reports" / "memcheck.log"
TESTS = ["tests/test_speedups.py", "tests/test_valuetask.py", "tests/test_core.py"]
# Left out: the allocation pins (100,000s of operations each: minutes under memcheck) and
# the two-thread race test (3,000 rounds that start a worker thread each): the paths they
# take are the ones the other protocol tests take. Timeouts are off: memcheck runs the
# interpreter some 50 times slower.
DESELECT = "not uvloop and not floor and not allocat and not racing"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="3.12", help="interpreter version (default 3.12)")
    options, pytest_args = parser.parse_known_args()
    interpreters = discover()
    if options.python not in interpreters:
        print(f"error: interpreter {options.python} not found; installed: "
              f"{', '.join(interpreters)}", file=sys.stderr)
        return 2
    venv = ROOT / ".venvs" / f"memcheck-{options.python}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([str(interpreters[options.python].executable), "-m", "venv", str(venv)],
                       check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "setuptools>=77",
                        "pytest", "pytest-timeout", "hypothesis"], check=True)
    subprocess.run([str(python), "setup.py", "-q", "build_ext", "--inplace"], cwd=ROOT,
                   check=True, capture_output=True)
    env = {**os.environ, "PYTHONMALLOC": "malloc", "VTS_TEST_IMPL": "c",
           "PYTHONPATH": str(ROOT)}
    command = [
        "valgrind", "--tool=memcheck", "--error-exitcode=99", "--num-callers=30",
        "--leak-check=full", "--show-leak-kinds=definite", "--errors-for-leak-kinds=none",
        f"--log-file={LOG}",
        f"--suppressions={ROOT / 'tests' / 'valgrind-python.supp'}",
        str(python), "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider",
        "-p", "no:timeout", "-o", "markers=timeout",
        "-k", DESELECT, *TESTS, *pytest_args,
    ]
    print(" ".join(command), flush=True)
    status = subprocess.run(command, cwd=ROOT, env=env).returncode
    report = LOG.read_text()
    ours = [record for record in report.split("\n==") if "definitely lost in loss record"
            in record and "_speedups" in record]
    for line in report.splitlines():
        if "ERROR SUMMARY" in line or "definitely lost:" in line:
            print(line)
    print(f"definite leaks through vts/_speedups.c: {len(ours)} (full report: {LOG})")
    return 99 if ours and status == 0 else status


if __name__ == "__main__":
    sys.exit(main())
