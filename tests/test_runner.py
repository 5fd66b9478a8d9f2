"""The measurement engine end to end: real subprocesses, real pyperf, the real gate."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyperf
import pytest
from conftest import gate_as_if_baseline, this_environment

from vts.suite import results
from vts.suite.cli import main
from vts.suite.environments import current_version
from vts.suite.gate import FIXED_COST_JITTER
from vts.suite.measure import interleaved, measurement
from vts.suite.measure.latency import summarise
from vts.suite.measure.measurement import fast_loops
from vts.suite.measure.planning import CellSpec
from vts.suite.measure.scheduling import run_matrix
from vts.suite.scenarios import scenario


@pytest.fixture
def plugins(installed_plugin: Callable[[str], None]) -> None:
    """The test-wait and test-crash scenarios, from the installed vts-test-plugin."""
    installed_plugin("good")


def _specs(scenario_name: str, variants: list[str]) -> list[CellSpec]:
    here = this_environment()
    return [CellSpec(scenario(scenario_name), variant, here, "asyncio") for variant in variants]


def _run(tmp_path: Path, specs: list[CellSpec], mode: str = "allocs-only") -> results.Run:
    run = results.new_run(mode, {"hostname": "test"}, {})
    return run_matrix(specs, run, tmp_path, mode=mode, memray=False)


def test_a_failing_cell_does_not_stop_the_run(plugins: None, tmp_path: Path) -> None:
    specs = _specs("test-crash", ["segfault_like", "raises"]) + _specs("test-wait", ["pooled"])
    _run(tmp_path, specs)
    saved = results.load(tmp_path / "results.json")
    by_id = {cell["id"]: cell for cell in saved["cells"]}
    assert [cell["status"] for cell in saved["cells"]] == ["failed", "failed", "ok"]
    assert by_id[f"raises/test-crash/{current_version()}/asyncio"]["error"] == (
        "RuntimeError: this cell always fails")
    assert by_id[f"segfault_like/test-crash/{current_version()}/asyncio"]["error"] == (
        "exited with code 3 and no output")
    assert by_id[f"pooled/test-wait/{current_version()}/asyncio"]["allocs"]["allocs_per_op"] > 0


def test_cells_measured_side_by_side_count_the_same_and_keep_the_plans_order(
        tmp_path: Path) -> None:
    specs = _specs("fresh", ["floor", "future_per_call", "cached_result", "pooled"])
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = run_matrix(specs, results.new_run("allocs-only", {}, {}), tmp_path / "one",
                     mode="allocs-only", memray=False, jobs=1)
    two = run_matrix(specs, results.new_run("allocs-only", {}, {}), tmp_path / "two",
                     mode="allocs-only", memray=False, jobs=2)
    assert (one["jobs"], two["jobs"]) == (1, 2)
    assert [cell["id"] for cell in two["cells"]] == [spec.id for spec in specs]
    assert ([cell["allocs"] for cell in two["cells"]]
            == [cell["allocs"] for cell in one["cells"]])
    assert results.load(tmp_path / "two" / "results.json")["cells"] == two["cells"]


def test_the_gate_fails_on_one_extra_allocation_per_op(plugins: None, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    run = _run(tmp_path, _specs("test-wait", ["pooled", "pooled_leaky"]))
    allocs = {cell["strategy"]: cell["allocs"]["allocs_per_op"] for cell in run["cells"]}
    # Exactly the injected object, within the two figures' resolution (vts.suite.gate).
    assert abs(allocs["pooled_leaky"] - allocs["pooled"] - 1) <= 2 * FIXED_COST_JITTER / 10_000
    # The baseline says the leaky variant used to cost what pooled costs.
    code, out = gate_as_if_baseline(tmp_path, "allocs", "allocs_per_op", allocs["pooled"],
                                    capsys)
    assert code == 1
    assert f"pooled_leaky/test-wait/{current_version()}/asyncio" in out
    assert f"pooled/test-wait/{current_version()}/asyncio" not in out.replace("pooled_leaky", "")


def test_the_gate_exits_2_on_a_corrupt_baseline(plugins: None, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _run(tmp_path, _specs("test-wait", ["pooled"]))
    corrupt = tmp_path / "baseline.json"
    corrupt.write_text("{not json")
    assert main(["gate", str(tmp_path / "results.json"), "--baseline", str(corrupt)]) == 2
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.slow
def test_pyperf_reads_the_suites_pyperf_json(tmp_path: Path) -> None:
    run = _run(tmp_path, _specs("fresh", ["cached_result"]), mode="fast")
    (cell,) = run["cells"]
    assert cell["status"] == "ok", cell["error"]
    path = tmp_path / cell["timing"]["pyperf_json"]
    bench = pyperf.Benchmark.load(str(path))
    assert bench.get_metadata()["vts_scenario"] == "fresh"
    assert cell["timing"]["mean_ns"] == pytest.approx(bench.mean() * 1e9)
    assert cell["timing"]["median_ns"] == pytest.approx(bench.median() * 1e9)
    assert cell["timing"]["mad_ns"] == pytest.approx(bench.median_abs_dev() * 1e9)
    stats = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(path)],
                           capture_output=True, text=True, check=True)
    assert "Mean +- std dev" in stats.stdout
    # Fast mode: one run per worker process, a warmup and VALUES values each, of the loops
    # the cell's own latency gives for VALUE_SECONDS.
    loops = fast_loops(cell["latency"], interleaved.VALUE_SECONDS)
    runs = bench.get_runs()
    assert len(runs) == interleaved.REPLICAS
    assert [r.get_loops() for r in runs] == [loops] * len(runs)
    assert [len(r.values) for r in runs] == [interleaved.VALUES] * len(runs)
    assert [len(r.warmups) for r in runs] == [1] * len(runs)
    assert cell["timing"]["values"] == interleaved.VALUES * interleaved.REPLICAS
    assert cell["extra"]["seconds"]["timing"] > 0


@pytest.mark.slow
def test_fast_mode_interleaves_the_cells_values_after_every_cell_is_counted(
        tmp_path: Path) -> None:
    """Each cell's values are spread over the timing phase: the span of one cell's values
    overlaps the other's (the workers record when each value started)."""
    run = _run(tmp_path, _specs("fresh", ["cached_result", "pooled"]) + _specs(
        "wait", ["pooled"]), mode="fast")
    spans = []
    for cell in run["cells"]:
        assert cell["status"] == "ok", cell["error"]
        bench = pyperf.Benchmark.load(str(tmp_path / cell["timing"]["pyperf_json"]))
        for run_ in bench.get_runs():
            metadata = run_.get_metadata()
            spans.append((metadata["vts_first_value_at"], metadata["vts_last_value_at"]))
    assert len(spans) == 3 * interleaved.REPLICAS
    for first, last in spans:
        others = [span for span in spans if span != (first, last)]
        assert all(first < other_last and other_first < last
                   for other_first, other_last in others)
    assert results.load(tmp_path / "results.json")["cells"] == run["cells"]


@pytest.mark.slow
def test_a_cell_timed_again_into_the_same_run_replaces_its_pyperf_file(tmp_path: Path) -> None:
    """As `vts bench --append` does: the file must hold the values the cell's figures came
    from, not the first measurement's."""
    specs = _specs("fresh", ["cached_result"])
    _run(tmp_path, specs, mode="fast")
    (cell,) = _run(tmp_path, specs, mode="fast")["cells"]
    bench = pyperf.Benchmark.load(str(tmp_path / cell["timing"]["pyperf_json"]))
    assert cell["timing"]["median_ns"] == pytest.approx(bench.median() * 1e9)
    assert cell["timing"]["mean_ns"] == pytest.approx(bench.mean() * 1e9)


@pytest.mark.slow
def test_fast_mode_times_a_stream_back_to_back_with_pyperfs_workers(tmp_path: Path) -> None:
    """A streamed socket runs slower after a pause (`Scenario.back_to_back`): its values are
    pyperf's, back to back, not interleaved with the other cells'."""
    assert scenario("socket-64").back_to_back
    run = _run(tmp_path, _specs("socket-64", ["sock_recv_into"]) + _specs(
        "fresh", ["cached_result"]), mode="fast")
    stream, fresh = run["cells"]
    for cell in (stream, fresh):
        assert cell["status"] == "ok", cell["error"]
    streamed = pyperf.Benchmark.load(str(tmp_path / stream["timing"]["pyperf_json"]))
    assert [len(r.values) for r in streamed.get_runs() if r.values] == [5, 5]
    assert not any("vts_first_value_at" in r.get_metadata() for r in streamed.get_runs())
    assert [r.get_loops() for r in streamed.get_runs()] == [
        fast_loops(stream["latency"])] * len(streamed.get_runs())
    interleaved_ = pyperf.Benchmark.load(str(tmp_path / fresh["timing"]["pyperf_json"]))
    assert all("vts_first_value_at" in r.get_metadata() for r in interleaved_.get_runs())


@pytest.mark.slow
def test_a_cell_that_fails_while_timed_fails_alone(plugins: None, tmp_path: Path) -> None:
    """Timed directly (its counting would fail first): the cell that raises is failed with
    its error and the cell beside it is timed; a worker that dies fails its group."""
    specs = _specs("test-crash", ["raises"]) + _specs("test-wait", ["pooled"])
    outcome = interleaved.time_cells(specs, dict.fromkeys((s.id for s in specs), 64),
                                     timeout=60, values=2)
    assert outcome[specs[0].id] == "RuntimeError: this cell always fails"
    bench, seconds = outcome[specs[1].id]
    assert len(bench.get_values()) == 2 * interleaved.REPLICAS and seconds > 0
    dying = _specs("test-crash", ["segfault_like"])
    outcome = interleaved.time_cells(dying, {dying[0].id: 64}, timeout=60, values=2)
    assert outcome[dying[0].id] == "timing worker: timing worker exited with code 3"


@pytest.mark.slow
def test_full_mode_times_each_cell_with_pyperfs_own_workers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--full runs pyperf's Runner per cell (`pyperf_cell`); fewer processes here than its
    20, so the test is short: the processes, the file and its post-processing are real."""
    monkeypatch.setitem(measurement.PYPERF_ARGS, "full",
                        ["--processes", "2", "--values", "3", "--min-time", "0.01"])
    run = _run(tmp_path, _specs("fresh", ["cached_result"]), mode="full")
    (cell,) = run["cells"]
    assert cell["status"] == "ok", cell["error"]
    bench = pyperf.Benchmark.load(str(tmp_path / cell["timing"]["pyperf_json"]))
    assert [len(r.values) for r in bench.get_runs() if r.values] == [3, 3]
    assert cell["timing"]["values"] == 6
    assert cell["timing"]["median_ns"] == pytest.approx(bench.median() * 1e9)
    assert cell["extra"]["seconds"]["timing"] > 0


@pytest.mark.slow
def test_a_worker_killed_between_values_fails_its_group_only(tmp_path: Path) -> None:
    import psutil

    specs = _specs("fresh", ["cached_result"]) + _specs("wait", ["pooled"])
    killed: list[int] = []

    def kill_the_first_group(done: int, total: int) -> None:
        for child in psutil.Process().children():
            if not killed and any(part.endswith("g0r0.json") for part in child.cmdline()):
                child.kill()
                killed.append(child.pid)

    outcome = interleaved.time_cells(specs, dict.fromkeys((s.id for s in specs), 64),
                                     timeout=60, values=3, on_value=kill_the_first_group)
    assert killed
    assert outcome[specs[0].id] == "timing worker: timing worker exited with code -9"
    bench, _seconds = outcome[specs[1].id]
    assert len(bench.get_values()) == 3 * interleaved.REPLICAS


def test_fast_loops_is_the_power_of_two_reaching_the_minimum_time() -> None:
    assert fast_loops({"mean_ns": 1_000.0}) == 65_536  # 50 ms / 1 us = 50,000 -> 2**16
    assert fast_loops({"mean_ns": 50e6}) == 1
    assert fast_loops({"mean_ns": 1e9}) == 1  # slower than the minimum: one op per value
    assert fast_loops({"mean_ns": 49e6}) == 2
    assert fast_loops(None) is None
    assert fast_loops({"mean_ns": 0.0}) is None
    assert fast_loops({"mean_ns": 1_000.0}, 0.01) == 16_384  # 10 ms / 1 us -> 2**14


def test_fast_loops_follow_the_mean_when_most_operations_are_quicker() -> None:
    # socket-64k's buffered paths: most receives find data ready, a few wait for the
    # sender. Their median (160 ns) once gave 2**19 loops, 34 s a value at the mean.
    skewed = summarise([160] * 4_900 + [3_200_000] * 100)
    assert skewed["p50_ns"] == 160.0
    assert skewed["mean_ns"] == pytest.approx(64_156.8)
    assert fast_loops(skewed) == 1_024  # 50 ms / 64 us = 779 -> 2**10


def test_the_gate_measures_the_socket_receive_source_when_data_is_ready() -> None:
    from vts.suite.measure.session import gated_scenarios

    gated = gated_scenarios()
    for name in ("socket-ready-64", "socket-ready-4k"):
        assert name in gated
        assert "reusable_source" in scenario(name).variants
    assert not {"thread", "monitor", "socket-64"} & set(gated)  # timing-dependent: ungated


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_allocations_per_ready_receive_repeat_exactly(loop: str) -> None:
    from vts.suite.measure.cell import measure_cell

    figures = [measure_cell("socket-ready-64", "reusable_source", loop, ops=(2_000, 4_000),
                            with_latency=False)["allocs"] for _ in range(2)]
    assert figures[0] == figures[1]


def test_the_gate_fails_a_receive_source_that_allocates_one_more(
        plugins: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _run(tmp_path, _specs("test-socket-ready", ["reusable_source",
                                                      "reusable_source_leaky"]))
    allocs = {cell["strategy"]: cell["allocs"]["allocs_per_op"] for cell in run["cells"]}
    assert abs(allocs["reusable_source_leaky"] - allocs["reusable_source"] - 1) <= (
        2 * FIXED_COST_JITTER / 10_000)
    code, out = gate_as_if_baseline(tmp_path, "allocs", "allocs_per_op",
                                    allocs["reusable_source"], capsys)
    assert code == 1
    assert f"REGRESSION reusable_source_leaky/test-socket-ready/{current_version()}/" in out


@pytest.mark.slow
def test_pyperf_compare_to_pairs_strategies_by_scenario(tmp_path: Path) -> None:
    run = _run(tmp_path, _specs("fresh", ["floor", "cached_result"]), mode="fast")
    suites = [tmp_path / cell["timing"]["pyperf_suite"] for cell in run["cells"]]
    assert [s.name for s in suites] == [f"floor__{current_version()}__asyncio.json",
                                        f"cached_result__{current_version()}__asyncio.json"]
    assert pyperf.BenchmarkSuite.load(str(suites[0])).get_benchmark_names() == [
        "fresh/asyncio"]
    compared = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", *map(str, suites),
                               "--table"], capture_output=True, text=True, check=True)
    assert "fresh/asyncio" in compared.stdout
    assert "no benchmark in common" not in compared.stdout + compared.stderr


def test_a_measured_figure_out_of_bounds_fails_its_cell(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    # The schema's bounds hold for every cell written, so the file stays loadable.
    from vts.suite.measure import measurement

    answer = {"allocs": {"allocs_per_op": -1.0, "bytes_per_op": 0.0, "gc_per_1k_ops": 0.0,
                         "ops": [10_000, 20_000]}, "latency": None, "environment": {}}
    monkeypatch.setattr(measurement, "run_python", lambda cmd, timeout: json.dumps(answer))
    spec = _specs("fresh", ["pooled"])[0]
    cell, environment = measurement.measure(spec, tmp_path, "allocs-only", memray=False)
    assert (cell["status"], cell["allocs"], environment) == ("failed", None, {})
    assert cell["error"] == (f"cell {spec.id}: 'allocs.allocs_per_op' is -1, below zero: "
                             "measure the cell again")


@pytest.mark.parametrize(("scenario_name", "processes"), [("thread", 2), ("wait", 1)])
def test_a_timing_dependent_count_below_zero_is_measured_again(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scenario_name: str,
        processes: int) -> None:
    """The first counting process of `thread` (counts depend on timing) comes out at -0.4
    per op, as recycled_future/monitor/3.11/uvloop once did: the run measures it again
    rather than failing the cell. A deterministic scenario's is not repeated: its count
    would come out the same, and the cell fails with the schema's reason."""
    real = measurement.run_python
    calls: list[list[str]] = []

    def first_negative(cmd: list[str], timeout: float) -> str:
        output = real(cmd, timeout)
        calls.append(cmd)
        if len(calls) == 1:
            measured = json.loads(output)
            measured["allocs"]["allocs_per_op"] = -0.4
            return json.dumps(measured)
        return output

    monkeypatch.setattr(measurement, "run_python", first_negative)
    (cell,) = _run(tmp_path, _specs(scenario_name, ["pooled"]))["cells"]
    assert len(calls) == processes
    if processes == 2:
        assert cell["status"] == "ok" and cell["allocs"]["allocs_per_op"] > 0
    else:
        assert cell["status"] == "failed" and "below zero" in cell["error"]


@pytest.mark.slow
def test_fast_mode_leaves_monitor_untimed_and_says_why(tmp_path: Path) -> None:
    """monitor's time follows the machine's timer (`Scenario.untimed_fast`): fast mode
    counts it and samples its latency, times it not, and the run records why."""
    assert main(["bench", "-s", "cached_result", "-c", "monitor,fresh", "-l", "asyncio",
                 "--no-instructions", "--no-report", "-o", str(tmp_path)]) == 0
    run = results.load(tmp_path / "results.json")
    cells = {cell["scenario"]: cell for cell in run["cells"] if cell["strategy"] != "floor"}
    assert cells["monitor"]["timing"] is None
    assert cells["monitor"]["allocs"] is not None and cells["monitor"]["latency"] is not None
    assert cells["fresh"]["timing"] is not None
    assert run["scenarios"]["monitor"]["untimed"] == scenario("monitor").untimed_fast != ""
    assert "untimed" not in run["scenarios"]["fresh"]
