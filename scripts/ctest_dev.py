"""Run the C accelerator's tests under -X dev and PYTHONMALLOC=debug (`make ctest-dev`).

    python scripts/ctest_dev.py [--python 3.12] [pytest arguments...]

Builds the package's C extensions in place for an installed interpreter and runs the C
tests (scripts/ctests.py, the thread and hypothesis-driven ones included, on the asyncio
loop) twice. The debug allocator hooks (both runs) fill freed memory and check the
guard bytes around every block, and abort with a fatal error when a block is freed
through the wrong allocator or without the GIL; the development mode adds asyncio's debug
mode (a callback scheduled from the wrong thread raises) and shows every warning. Exit
status: 0 when both runs passed, else the first failure's; the last lines printed say how
each run ended.
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

RUNS = {"-X dev": (("-X", "dev"), {}), "PYTHONMALLOC=debug": ((), {"PYTHONMALLOC": "debug"})}


def main() -> int:
    options, pytest_args = parse_arguments(__doc__.splitlines()[0])
    python = checked_python(options.python)
    if python is None:
        return 2
    build_in_place(python)
    statuses = {}
    for name, (interpreter_options, variables) in RUNS.items():
        command = pytest_command(python, NOT_THE_PINS, c_tests(driven=True), pytest_args,
                                 interpreter_options=interpreter_options)
        print(" ".join(command), flush=True)
        env = c_test_environment(PYTHONPATH=str(ROOT), **variables)
        statuses[name] = subprocess.run(command, cwd=ROOT, env=env).returncode
    for name, status in statuses.items():
        print(f"{name}: exit status {status}")
    return next((status for status in statuses.values() if status != 0), 0)


if __name__ == "__main__":
    sys.exit(main())
