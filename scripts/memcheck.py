"""Run the C accelerator's tests under valgrind memcheck (`make memcheck`).

    python scripts/memcheck.py [--python 3.12] [pytest arguments...]

Builds the package's C extensions in place for an installed interpreter, then runs the C
tests (scripts/ctests.py: tests/test_speedups*.py and the C half of the protocol tests,
on the asyncio loop) under memcheck with PYTHONMALLOC=malloc and the suppressions in
tests/valgrind-python.supp, as CPython's Misc/valgrind-python.supp advises. Exit status:
pytest's; 99 when memcheck found a memory error, or a block definitely lost whose
allocation stack passes through vts/_speedups.c. Other definite leaks are the
interpreter's own at exit (3.12 keeps its interned strings and static types), counted in
the summary but not failed. The last lines printed are the summary.

3.12 is the default interpreter: this machine's 3.11.7 build reports uninitialised values
from its own int.from_bytes at start-up (before vts is imported) that would bury the run.
"""

from __future__ import annotations

import subprocess
import sys

from ctests import (
    NOT_THE_PINS,
    ROOT,
    build_in_place,
    c_test_environment,
    c_tests,
    checked_python,
    parse_arguments,
    pytest_command,
)

LOG = ROOT / "reports" / "memcheck.log"
# Left out as well: the allocation pins (100,000s of operations each: minutes under
# memcheck) and the two-thread race test (3,000 rounds that start a worker thread each):
# the paths they take are the ones the other protocol tests take. Timeouts are off:
# memcheck runs the interpreter some 50 times slower.
DESELECT = f"{NOT_THE_PINS} and not racing"


def main() -> int:
    options, pytest_args = parse_arguments(__doc__.splitlines()[0])
    python = checked_python(options.python)
    if python is None:
        return 2
    build_in_place(python)
    env = c_test_environment(PYTHONMALLOC="malloc", PYTHONPATH=str(ROOT))
    command = [
        "valgrind", "--tool=memcheck", "--error-exitcode=99", "--num-callers=30",
        "--leak-check=full", "--show-leak-kinds=definite", "--errors-for-leak-kinds=none",
        f"--log-file={LOG}",
        f"--suppressions={ROOT / 'tests' / 'valgrind-python.supp'}",
        *pytest_command(python, DESELECT, c_tests(driven=False),
                        ["-p", "no:timeout", "-o", "markers=timeout", *pytest_args]),
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
