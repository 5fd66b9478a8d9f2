"""vts.suite.measure.allocs: exact pinned calibration, a harness that costs 0 per op, determinism,
and the same calibration on every installed interpreter 3.10+ (the counter built there)."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import re
import shutil
import subprocess
import sys
from itertools import repeat
from pathlib import Path

import pytest

from vts.suite.measure import _alloccount
from vts.suite.measure.allocs import AllocationFigures, measure_async, measure_batch, measure_sync
from vts.suite.measure.calibration import CALIBRATION, EXPECTED_CALIBRATION, calibrate

REPO = Path(__file__).resolve().parents[1]
PROBE = REPO / "tests" / "calibration_probe.py"
EXIT_NO_HEADERS = 3  # calibration_probe.EXIT_NO_HEADERS
THIS = sys.version_info[:2]

# Pinned here as well as in allocs.py, so that a wrong edit of the table cannot pass alone.
SAME_EVERYWHERE = {"pass": 0.0, "object()": 1.0, "[x]": 1.0, "bytearray(100)": 2.0}
# Bytes requested per op on 64-bit builds: an object 16; a list's one slot 8 (the list
# itself comes from the freelist); a bytearray 56 + 101 (the size plus its trailing NUL).
BYTES_64BIT = {"pass": 0.0, "object()": 16.0, "[x]": 8.0, "bytearray(100)": 157.0}
# GC runs per 1k ops: only the reference cycle leaves work for the collector; its rate
# follows the first threshold (700 before 3.13, 2000 in 3.13).
GC_CYCLE = {(3, 10): 1.25, (3, 11): 1.25, (3, 12): 1.25, (3, 13): 0.45}


def assert_calibrated(
    version: tuple[int, int],
    allocs: dict[str, float],
    bytes_: dict[str, float],
    gc_runs: dict[str, float],
) -> None:
    assert allocs == EXPECTED_CALIBRATION[version]
    assert {name: allocs[name] for name in SAME_EVERYWHERE} == SAME_EVERYWHERE
    if sys.maxsize > 2**32:
        assert {name: bytes_[name] for name in BYTES_64BIT} == BYTES_64BIT
    cycle = "a = []; a.append(a)"
    assert gc_runs == {name: GC_CYCLE[version] if name == cycle else 0.0 for name in gc_runs}


# --- This interpreter ------------------------------------------------------------------


@pytest.fixture(scope="module")
def figures() -> dict[str, AllocationFigures]:
    return {name: case() for name, case in CALIBRATION.items()}


def test_calibration_is_pinned_for_this_interpreter() -> None:
    assert THIS in EXPECTED_CALIBRATION, (
        f"no pinned calibration for {THIS}: the counter is not trusted here; measure "
        "calibrate() and add it to EXPECTED_CALIBRATION"
    )
    assert set(EXPECTED_CALIBRATION[THIS]) == set(CALIBRATION)


def test_calibration_on_this_interpreter(figures: dict[str, AllocationFigures]) -> None:
    assert_calibrated(
        THIS,
        {name: f.allocs_per_op for name, f in figures.items()},
        {name: f.bytes_per_op for name, f in figures.items()},
        {name: f.gc_per_1k_ops for name, f in figures.items()},
    )


def test_calibrate_returns_allocs_per_op_of_every_case() -> None:
    assert calibrate() == EXPECTED_CALIBRATION[THIS]


# --- The harness -----------------------------------------------------------------------


def test_empty_sync_operation_costs_exactly_nothing() -> None:
    assert measure_sync(lambda: None) == AllocationFigures(0.0, 0.0, 0.0, (10_000, 20_000))


async def empty_batch(n: int) -> None:
    for _ in repeat(None, n):
        pass


def test_empty_async_batch_costs_exactly_nothing() -> None:
    loop = asyncio.new_event_loop()
    try:
        figures = measure_batch(lambda n: loop.run_until_complete(empty_batch(n)))
    finally:
        loop.close()
    assert figures == AllocationFigures(0.0, 0.0, 0.0, (10_000, 20_000))


def test_fixed_cost_of_a_run_cancels() -> None:
    def run(n: int) -> None:
        scratch = [bytearray(10) for _ in repeat(None, 500)]  # paid once per run
        for _ in repeat(None, n):
            object()
        del scratch

    assert measure_batch(run, short=1_000, long=3_000).allocs_per_op == 1.0


@pytest.mark.parametrize(
    "case", ["[x]", "a = []; a.append(a)", "await done Future", "create_future+call_soon+await"]
)
def test_same_cell_measured_twice_gives_identical_figures(case: str) -> None:
    assert CALIBRATION[case]() == CALIBRATION[case]()


def test_measure_async_closes_its_loop() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    def factory() -> asyncio.AbstractEventLoop:
        loops.append(asyncio.new_event_loop())
        return loops[-1]

    figures = measure_async(empty_batch, loop_factory=factory, short=10, long=20, warmup=0)
    assert figures.allocs_per_op == 0.0
    assert [loop.is_closed() for loop in loops] == [True]


@pytest.mark.parametrize("enabled", [True, False])
def test_gc_state_and_allocator_are_restored_even_when_run_raises(enabled: bool) -> None:
    def run(n: int) -> None:
        if n == 20:
            raise KeyError("boom")

    was_enabled = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        with pytest.raises(KeyError, match="boom"):
            measure_batch(run, short=10, long=20, warmup=0)
        assert gc.isenabled() is enabled
        assert _alloccount.is_installed() is False
    finally:
        gc.enable() if was_enabled else gc.disable()


def test_counter_counts_only_between_start_and_stop() -> None:
    _alloccount.start()
    _alloccount.start()  # idempotent: one stop() restores the original allocators
    _alloccount.stop()
    assert _alloccount.is_installed() is False
    _alloccount.reset()
    kept = [object() for _ in repeat(None, 100)]
    assert _alloccount.read() == (0, 0)
    del kept


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"short": 5, "long": 5}, "need 0 <= short < long, got short=5, long=5"),
        ({"short": -1}, "need 0 <= short < long, got short=-1, long=20000"),
        ({"warmup": -1}, "warmup must be >= 0, got -1"),
        ({"rounds": 0}, "rounds must be >= 1, got 0"),
    ],
)
def test_bad_run_lengths_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        measure_sync(lambda: None, **kwargs)


def test_figures_to_json() -> None:
    figures = AllocationFigures(22.2, 1368.0, 0.45, (10_000, 20_000))
    assert figures.to_json() == {
        "allocs_per_op": 22.2,
        "bytes_per_op": 1368.0,
        "gc_per_1k_ops": 0.45,
        "ops": [10_000, 20_000],
    }


# --- Every installed interpreter -------------------------------------------------------


def pyenv_root() -> Path | None:
    if "PYENV_ROOT" in os.environ:
        return Path(os.environ["PYENV_ROOT"])
    if pyenv := shutil.which("pyenv"):
        done = subprocess.run([pyenv, "root"], capture_output=True, text=True)
        if done.returncode == 0:
            return Path(done.stdout.strip())
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


def installed_interpreters() -> dict[str, Path]:
    """CPython 3.10+ under `$(pyenv root)/versions/`, then `python3.X` on PATH for others."""
    found: dict[str, Path] = {}
    root = pyenv_root()
    if root is not None:
        for home in sorted((root / "versions").glob("3.*")):
            match = re.fullmatch(r"3\.(\d+)\.\d+", home.name)
            if match and int(match[1]) >= 10 and (home / "bin" / "python").is_file():
                found[home.name] = home / "bin" / "python"
    minors = {name.rsplit(".", 1)[0] for name in found}
    for minor in range(10, 20):
        exe = shutil.which(f"python3.{minor}")
        in_shims = root is not None and Path(exe or "").is_relative_to(root / "shims")
        if exe and not in_shims and f"3.{minor}" not in minors:
            found[f"python3.{minor}"] = Path(exe)
    return found


INTERPRETERS = installed_interpreters()


@pytest.mark.parametrize("python", list(INTERPRETERS.values()), ids=list(INTERPRETERS))
def test_calibration_on_installed_interpreter(python: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(python), str(PROBE), str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode == EXIT_NO_HEADERS:
        pytest.skip(f"{python}: cannot build the counter: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    version = tuple(result["version"])
    if version not in EXPECTED_CALIBRATION:
        pytest.skip(f"{python} is {version}, which has no pinned calibration")
    assert_calibrated(
        version, result["allocs_per_op"], result["bytes_per_op"], result["gc_per_1k_ops"]
    )


def test_some_interpreter_was_found() -> None:
    assert INTERPRETERS, "no CPython 3.10+ under $(pyenv root)/versions/ or python3.X on PATH"

