"""The instruction counter under real valgrind: repeatable counts, failures per cell, the
gate on injected extra work, and one line where valgrind is missing."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import gate_as_if_baseline, this_environment

from vts.suite import results
from vts.suite.cli import main
from vts.suite.environments import current_version
from vts.suite.gate import DEFAULT_INSTRUCTION_THRESHOLD
from vts.suite.measure import valgrind
from vts.suite.measure.instructions import nice_length
from vts.suite.measure.planning import CellSpec
from vts.suite.measure.scheduling import run_matrix
from vts.suite.measure.valgrind import InstructionError, InstructionServer
from vts.suite.scenarios import scenario

needs_valgrind = pytest.mark.skipif(valgrind.unavailable() is not None,
                                    reason=str(valgrind.unavailable()))


@pytest.fixture
def plugins(installed_plugin: Callable[[str], None]) -> None:
    """The test-wait and test-crash scenarios, from the installed vts-test-plugin."""
    installed_plugin("good")


def test_run_lengths_are_1_2_5_steps_within_bounds() -> None:
    assert [nice_length(x, 10_000) for x in (0.3, 1, 4, 9.9, 10, 49, 530, 10**9)] == [
        1, 1, 2, 5, 10, 20, 500, 10_000]
    assert nice_length(530, 300) == 200


@needs_valgrind
def test_counts_repeat_exactly_across_processes() -> None:
    counts = []
    for _ in range(2):
        server = InstructionServer(Path(sys.executable))
        try:
            counts.append(server.measure("fresh", "future_per_call", "asyncio", 300))
        finally:
            server.close()
    assert counts[0] == counts[1]
    assert counts[0]["instructions_per_op"] > 1_000  # a Future and an await, at least


@needs_valgrind
def test_a_failing_cell_fails_alone(plugins: None) -> None:
    server = InstructionServer(Path(sys.executable))
    try:
        with pytest.raises(InstructionError) as crashed:
            server.measure("test-crash", "segfault_like", "asyncio", 300)
        assert str(crashed.value) == "exited with code 3 and no output"
        with pytest.raises(InstructionError) as raised:
            server.measure("test-crash", "raises", "asyncio", 300)
        assert str(raised.value) == "RuntimeError: this cell always fails"
        assert server.measure("fresh", "floor", "asyncio", 300)["instructions_per_op"] > 0
    finally:
        server.close()


@needs_valgrind
def test_the_gate_fails_on_extra_work_per_op(plugins: None, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    here = this_environment()
    specs = [CellSpec(scenario("test-wait"), variant, here, "asyncio")
             for variant in ("pooled", "pooled_busy")]
    run = results.new_run("allocs-only", {"hostname": "test"}, {})
    run_matrix(specs, run, tmp_path, mode="allocs-only", memray=False, instructions=True)
    cells = {cell["strategy"]: cell for cell in run["cells"]}
    per_op = {name: cell["instructions"]["instructions_per_op"] for name, cell in cells.items()}
    # The busy variant allocates nothing more: only the instruction count sees it.
    assert cells["pooled_busy"]["allocs"]["allocs_per_op"] == pytest.approx(
        cells["pooled"]["allocs"]["allocs_per_op"], abs=0.01)
    assert per_op["pooled_busy"] > per_op["pooled"] * (1 + DEFAULT_INSTRUCTION_THRESHOLD)
    # The baseline says the busy variant used to cost what pooled costs.
    code, out = gate_as_if_baseline(tmp_path, "instructions", "instructions_per_op",
                                    per_op["pooled"], capsys)
    assert code == 1
    busy = f"pooled_busy/test-wait/{current_version()}/asyncio"
    change = per_op["pooled_busy"] / per_op["pooled"] - 1
    assert (f"  REGRESSION {busy}: baseline {per_op['pooled']:,.0f}, now "
            f"{per_op['pooled_busy']:,.0f} instructions/op (+{change:.1%})") in out
    assert "verdict: FAIL: 1 instruction regression\n" in out
    # A threshold above the change lets it through.
    above = f"{change + 0.01:.3f}"
    assert main(["gate", str(tmp_path / "results.json"), "--baseline",
                 str(tmp_path / "baseline.json"), "--instructions", above]) == 0


def test_without_valgrind_the_gate_says_so_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no valgrind on it
    valgrind.unavailable.cache_clear()
    try:
        fixtures = Path(__file__).parent / "fixtures"
        code = main(["gate", str(fixtures / "gate_run.json"), "--baseline",
                     str(fixtures / "gate_baseline_equal.json")])
    finally:
        valgrind.unavailable.cache_clear()
    out = capsys.readouterr().out
    assert code == 0
    notes = [line for line in out.splitlines() if line.startswith("instructions")]
    assert notes == ["instructions per op: not compared (valgrind not found (install "
                     "valgrind to count instructions per op))"]


def test_bench_instructions_without_valgrind_exits_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    valgrind.unavailable.cache_clear()
    try:
        code = main(["bench", "-s", "floor", "-c", "fresh", "-l", "asyncio", "--allocs-only",
                     "--instructions", "-o", str(tmp_path / "run")])
    finally:
        valgrind.unavailable.cache_clear()
    assert code == 2
    assert capsys.readouterr().err == ("error: --instructions: valgrind not found (install "
                                       "valgrind to count instructions per op)\n")


def test_gate_count_instructions_without_valgrind_exits_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    valgrind.unavailable.cache_clear()
    try:
        code = main(["gate", "--measure", "--count-instructions", "--baseline",
                     str(Path(__file__).resolve().parents[1] / "reports/baseline.json")])
    finally:
        valgrind.unavailable.cache_clear()
    assert code == 2
    assert capsys.readouterr().err == ("error: --count-instructions: valgrind not found "
                                       "(install valgrind to count instructions per op)\n")
