"""Run the C accelerator's tests under AddressSanitizer and UBSan (`make sanitize`).

    python scripts/sanitize.py [--python 3.12] [pytest arguments...]

Builds the package's C extensions (the accelerator vts/_speedups.c and the allocation
counter, the instruction counter with them) with `-fsanitize=address,undefined`, into
`build/sanitize-X.Y/` beside a copy of the package's Python files, so the in-place builds
`make` uses stay as they are. Then runs the C tests (scripts/ctests.py: the accelerator's
own, the C half of the protocol tests, the thread and hypothesis-driven ones and the
differential fuzz where it exists, on the asyncio loop) with that copy first on the path,
in a release interpreter: the sanitizer runtimes preloaded (LD_PRELOAD), PYTHONMALLOC=malloc
so every object is a block ASan watches, and PYTHONSAFEPATH=1 so neither this process nor
a child started with `-c` from the repository's root imports the unsanitized package
there. Before the run, a child started as the tests start theirs checks that it imports
the sanitized accelerator and counter.

Every report ends its process (ASan halts on its first error; UB is fatal as compiled)
with exit status 99. ASan writes its reports to `build/sanitize-X.Y/logs/`, one file per
process, a test's children included. GCC's UBSan runtime, loaded beside ASan's, ignores
its log_path and writes to stderr: pytest runs with `--capture=sys`, so what C code
writes to the process's stderr is not swallowed with a test's captured output, and its
output is saved to `logs/pytest.log` and read too (a test's child whose stderr the test
captures shows its UBSan report there only if that test fails). Exit status: 99 when a
report was seen, even in a child whose failure a test tolerated; else pytest's; 2 when
the build is not the one imported. The last lines
printed are the number of reports and their first lines.

Needs CPython 3.11+ (PYTHONSAFEPATH) and gcc's libasan and libubsan.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ctests import (
    NO_UVLOOP,
    NOT_THE_MILLION,
    ROOT,
    c_test_environment,
    c_tests,
    checked_python,
    parse_arguments,
    pytest_command,
)

SANITIZE = "-fsanitize=address,undefined"
# -O1 and frame pointers: ASan's advice for readable stacks at a small cost.
CFLAGS = f"{SANITIZE} -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
SANITIZER_EXIT = 99
# detect_leaks=0: CPython frees little at exit, and LeakSanitizer suppresses a leak when
# any frame of its stack matches, so no suppression can keep "the interpreter's leaks"
# apart from those through vts/_speedups.c (every stack passes through the interpreter).
# Leaks are memcheck's (definite leaks through vts/_speedups.c fail it) and
# tests/test_speedups_leaks.py's. allocator_may_return_null=1: an allocation too large
# fails as malloc's does (MemoryError), as CPython's own ASan builds run.
ASAN_OPTIONS = f"detect_leaks=0:allocator_may_return_null=1:exitcode={SANITIZER_EXIT}"
UBSAN_OPTIONS = f"print_stacktrace=1:halt_on_error=1:exitcode={SANITIZER_EXIT}"
REPORT_STARTS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")
IMPORTED = """
import vts._speedups, vts.suite.measure._alloccount
from vts.impl import C_MISSING
print(C_MISSING or vts._speedups.__file__)
print(vts.suite.measure._alloccount.__file__)
"""


def build(python: Path, target: Path) -> None:
    """The package's Python files copied to `target`, its extensions built there."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT / "vts", target / "vts",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    env = {**os.environ, "CFLAGS": CFLAGS, "LDFLAGS": SANITIZE}
    subprocess.run([str(python), "setup.py", "-q", "build_ext", "--build-lib", str(target),
                    "--build-temp", str(target / "objects")],
                   cwd=ROOT, env=env, check=True, capture_output=True)


def runtimes() -> str | None:
    """gcc's ASan and UBSan runtimes, for LD_PRELOAD (ASan must come first); None where
    gcc does not have them (it then prints the bare name)."""
    paths = [subprocess.run(["gcc", f"-print-file-name={name}"], check=True,
                            capture_output=True, text=True).stdout.strip()
             for name in ("libasan.so", "libubsan.so")]
    return " ".join(paths) if all(path.startswith("/") for path in paths) else None


def reports(logs: Path) -> list[str]:
    """The first line of every sanitizer report the run's processes wrote."""
    return [line.strip() for log in sorted(logs.iterdir())
            for line in log.read_text(errors="replace").splitlines()
            if any(start in line for start in REPORT_STARTS)]


def run_logged(command: list[str], env: dict[str, str], log: Path) -> int:
    """Run `command`, its output (stderr included) printed and saved to `log`."""
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace") as process, \
            log.open("w") as saved:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            saved.write(line)
    return process.returncode


def main() -> int:
    options, pytest_args = parse_arguments(__doc__.splitlines()[0])
    python = checked_python(options.python)
    if python is None:
        return 2
    preload = runtimes()
    if preload is None:
        print("error: gcc has no libasan.so or libubsan.so (Debian: libasan8, libubsan1)",
              file=sys.stderr)
        return 2
    target = ROOT / "build" / f"sanitize-{options.python}"
    build(python, target)
    logs = target / "logs"
    logs.mkdir()
    env = c_test_environment(
        LD_PRELOAD=preload, PYTHONMALLOC="malloc", PYTHONSAFEPATH="1", PYTHONUNBUFFERED="1",
        PYTHONPATH=str(target),
        ASAN_OPTIONS=f"{ASAN_OPTIONS}:log_path={logs / 'asan'}",
        UBSAN_OPTIONS=UBSAN_OPTIONS,
    )
    imported = subprocess.run([str(python), "-c", IMPORTED], cwd=ROOT, env=env,
                              capture_output=True, text=True)
    if imported.returncode != 0 or any(not line.startswith(str(target))
                                       for line in imported.stdout.splitlines()):
        print(f"error: the sanitized build in {target} is not what the tests import: "
              f"{imported.stdout.strip() or imported.stderr.strip()}", file=sys.stderr)
        return 2
    command = pytest_command(python, f"{NO_UVLOOP} and {NOT_THE_MILLION}",
                             c_tests(driven=True), ["--capture=sys", *pytest_args])
    print(" ".join(command), flush=True)
    status = run_logged(command, env, logs / "pytest.log")
    found = reports(logs)
    for line in found:
        print(line)
    print(f"sanitizer reports: {len(found)} (logs: {logs})")
    return SANITIZER_EXIT if found else status


if __name__ == "__main__":
    sys.exit(main())
