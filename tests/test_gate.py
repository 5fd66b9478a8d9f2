"""vts.suite.gate and the `gate` / `baseline` commands: exit codes, exact messages, the baseline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyperf
import pytest

from vts.suite import gate, results
from vts.suite.cli import main
from vts.suite.errors import UsageError

FIXTURES = Path(__file__).parent / "fixtures"
RUN = FIXTURES / "gate_run.json"
UPDATE = "`vts baseline update RESULTS`"


def record(baseline: Path) -> str:
    """The commands every message names to record a baseline (or a build) into `baseline`."""
    return ("`vts bench --allocs-only`, then `vts baseline update "
            f"reports/runs/<id>/results.json --baseline {baseline}`")


@pytest.fixture(autouse=True)
def sites_asked(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The cells whose sites the gate asked for. The sites themselves (a checkout and a
    build of the baseline's commit) are stood in for here; tests/test_bisect.py measures
    them for real."""
    from vts.suite.commands import gate as gate_command

    asked: list[list[str]] = []

    def regressed_sites_of(regressions: list[gate.AllocDiff], baseline: Path) -> list[Any]:
        asked.append([diff.cell_id for diff in regressions])
        return []

    monkeypatch.setattr(gate_command, "regressed_sites_of", regressed_sites_of)
    return asked


def test_sites_are_asked_for_regressed_cells_only(capsys: pytest.CaptureFixture[str],
                                                 sites_asked: list[list[str]]) -> None:
    vts(capsys, "gate", RUN, "--baseline", FIXTURES / "gate_baseline_equal.json")
    assert sites_asked == []  # a passing gate costs what it did
    vts(capsys, "gate", RUN, "--baseline", FIXTURES / "gate_baseline_lower.json")
    assert sites_asked == [["pooled/wait/3.12/asyncio"]]  # not the failed or improved cells
    vts(capsys, "gate", RUN, "--baseline", FIXTURES / "gate_baseline_lower.json", "--no-sites")
    assert len(sites_asked) == 1


def test_sites_are_listed_in_the_text_and_the_markdown() -> None:
    from vts.suite.gate_sites import CellSites
    from vts.suite.measure.sites import Site
    from vts.suite.report.gate_text import format_text
    from vts.suite.report.markdown import gate_lines

    result = gate.GateResult(tolerance=0.0)
    result.sites = [CellSites(
        "pooled/wait/3.12/asyncio",
        now=(Site("get", "vts/strategies/pooled.py", 81, 2.0, "_ = [object()]"),
             Site("_run_once", "asyncio/base_events.py", 1900, 6.5, "handle._run()")),
        then=(Site("_run_once", "asyncio/base_events.py", 1899, 6.5, "handle._run()"),),
        then_commit="0123456789abcdef")]
    listed = ("  pooled/wait/3.12/asyncio\n"
              "    now:\n"
              "         2.00/op  get at vts/strategies/pooled.py:81\n"
              "         6.50/op  _run_once at asyncio/base_events.py:1900\n"
              "    at the baseline's commit 0123456:\n"
              "         6.50/op  _run_once at asyncio/base_events.py:1899\n"
              "    changed since (sites matched by their line's text):\n"
              "        +2.00/op  get at vts/strategies/pooled.py:81  _ = [object()]\n")
    assert ("where the regressed cells allocate (the counter's own attribution, per op; its "
            "tracer's frames make these run higher than the exact counts):\n" + listed
            ) in format_text(result, "baseline.json")
    markdown = "\n".join(gate_lines(result, "baseline.json"))
    assert "Where the regressed cells allocate (" in markdown
    assert "```\n" + listed + "```" in markdown
    result.sites = [CellSites("pooled/wait/3.12/asyncio", now=result.sites[0].now, then=None,
                              then_commit=None, missing=("at the baseline's commit: x is "
                                                         "not in a git repository",))]
    assert ("    (no sites at the baseline's commit: x is not in a git repository)\n"
            in format_text(result, "baseline.json"))


def vts(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- exit codes ----------------------------------------------------------------------------

def test_within_the_baseline_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = vts(capsys, "gate", RUN, "--baseline", FIXTURES / "gate_baseline_equal.json")
    assert (code, err) == (0, "")
    assert out.startswith("gate: 4 cell(s) compared with ")
    assert out.endswith("verdict: within the baseline\n")


def test_regression_exits_1_and_names_the_cell(capsys: pytest.CaptureFixture[str]) -> None:
    baseline = FIXTURES / "gate_baseline_lower.json"
    code, out, err = vts(capsys, "gate", RUN, "--baseline", baseline)
    assert (code, err) == (1, "")
    assert out == (
        f"gate: 4 cell(s) compared with {baseline} (allocations per op, tolerance 0)\n"
        "  REGRESSION pooled/wait/3.12/asyncio: baseline 20.4, now 22.4 (+2); bytes/op 1,700 B "
        "-> 1,860 B (+160 B), GC/1k 0 -> 0\n"
        "  FAILED     manual_reset/wait/3.12/asyncio: RuntimeError: source completed twice "
        "(baseline 26.4)\n"
        "  improved   cached_result/fresh/3.12/asyncio: baseline 1, now 0 (-1); bytes/op 48 B "
        "-> 0 B (-48 B), GC/1k 0 -> 0\n"
        f"  1 improvement(s): record them with {UPDATE}\n"
        "instructions per op: not compared (this run counted none: vts bench "
        "--instructions counts them)\n"
        "timing (mean per op, reported, not gated):\n"
        "             pooled/wait/3.12/asyncio: 6.800 µs -> 7.517 µs (+10.5%, not tested)\n"
        "verdict: FAIL: 1 allocation regression, 1 failed cell\n"
    )


def test_tolerance_absorbs_a_small_increase(capsys: pytest.CaptureFixture[str]) -> None:
    run = results.load(RUN)
    baseline = results.load(FIXTURES / "gate_baseline_lower.json")
    run["cells"] = [c for c in run["cells"] if c["status"] == "ok"]
    assert gate.compare(run, baseline, tolerance=2.0).exit_code == 0
    assert [d.cell_id for d in gate.compare(run, baseline, tolerance=1.99).regressions] == [
        "pooled/wait/3.12/asyncio"]


def test_missing_baseline_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "baseline.json"
    code, out, err = vts(capsys, "gate", RUN, "--baseline", missing)
    assert (code, out) == (2, "")
    assert err == f"error: {missing}: no such baseline file; record one with {record(missing)}\n"


def test_corrupt_baseline_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    corrupt = FIXTURES / "gate_baseline_corrupt.json"
    code, out, err = vts(capsys, "gate", RUN, "--baseline", corrupt)
    assert (code, out) == (2, "")
    assert err == (
        f"error: {corrupt}: not valid JSON (Expecting property name enclosed in double quotes"
        f" at line 3 column 1); fix it, or delete it and run {UPDATE}\n"
    )


def test_schema_mismatch_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    wrong = FIXTURES / "gate_baseline_schema99.json"
    code, _, err = vts(capsys, "gate", RUN, "--baseline", wrong)
    assert code == 2
    assert err == (f"error: {wrong}: schema_version 99 is not supported (this vts reads 1, 2, "
                   f"3 and 4); fix it, or delete it and run {UPDATE}\n")


def test_no_matching_cells_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = vts(capsys, "gate", RUN, "--baseline",
                       FIXTURES / "gate_baseline_other_env.json")
    assert code == 2
    assert err == ("error: nothing to compare: no gated cell of this run is in the baseline "
                   "(this run: 3.12/asyncio, 4 cell(s) not in the baseline; baseline: "
                   f"3.11/uvloop); gate a run of deterministic scenarios, or add its cells with "
                   f"{UPDATE}\n")


def test_corrupt_results_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "results.json"
    bad.write_text("", encoding="utf-8")
    code, _, err = vts(capsys, "gate", bad, "--baseline", FIXTURES / "gate_baseline_equal.json")
    assert code == 2
    assert err == f"error: {bad}: not valid JSON (Expecting value at line 1 column 1)\n"


def test_results_or_measure_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert vts(capsys, "gate")[2] == "error: nothing to gate: give RESULTS files or --measure\n"
    assert vts(capsys, "gate", RUN, "--measure")[2] == (
        "error: give RESULTS or --measure, not both\n")


def test_bad_tolerance_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["gate", str(RUN), "--tolerance", "-1"])
    assert info.value.code == 2
    assert "argument --tolerance: must be >= 0, not -1" in capsys.readouterr().err
    with pytest.raises(UsageError, match=r"^tolerance must be >= 0, not -1.0$"):
        gate.compare(results.load(RUN), results.load(RUN), tolerance=-1.0)


def _as_this_interpreter(tmp_path: Path, source: Path) -> Path:
    """A copy of the fixture `source` whose cells and environments are this interpreter's,
    of its build (--measure measures this one only)."""
    from vts.suite import builds
    from vts.suite.environments import current_version

    here = current_version()
    text = source.read_text(encoding="utf-8").replace('"3.12', f'"{here}').replace(
        "/3.12/", f"/{here}/")
    data = json.loads(text)
    for cell in data["cells"]:
        cell["build"] = builds.describe()["key"]
    path = tmp_path / source.name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_measure_gates_what_bench_measured(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    """The wiring only: --measure gates the results file the quick measurement wrote
    (tests/test_runner.py measures for real)."""
    from vts.suite.commands import gate as gate_command
    from vts.suite.measure.session import BenchOptions, Measured

    calls: list[BenchOptions] = []
    measured = _as_this_interpreter(tmp_path, RUN)

    def measure_for_gate(options: BenchOptions) -> Measured:
        calls.append(options)
        return Measured(measured, results.load(measured))

    monkeypatch.setattr(gate_command, "measure_for_gate", measure_for_gate)
    code, out, _ = vts(capsys, "gate", "--measure", "--baseline",
                       _as_this_interpreter(tmp_path, FIXTURES / "gate_baseline_equal.json"))
    assert code == 0 and out.endswith("verdict: within the baseline\n")
    # The flag this command takes, not vts bench's.
    assert ("instructions per op: not compared (this run counted none: add "
            "--count-instructions to count them)\n") in out
    assert len(calls) == 1 and calls[0].instructions is False
    assert calls[0].mode == "allocs-only"


def test_markdown_is_appended(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    code, _, _ = vts(capsys, "gate", RUN, "--baseline", FIXTURES / "gate_baseline_lower.json",
                     "--markdown", summary)
    assert code == 1
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n### Gate: allocations per op vs ")
    assert ("| pooled/wait/3.12/asyncio | 20.4 | 22.4 | +2 | 1,700 B → 1,860 B | 0 → 0 | "
            "▲ regression |") in text


# --- timing --------------------------------------------------------------------------------

def write_pyperf(path: Path, name: str, mean_s: float, spread: float) -> None:
    runs = [pyperf.Run([mean_s + spread * ((i * 7 + j * 3) % 5 - 2) for j in range(3)],
                       warmups=[(1, mean_s)], metadata={"name": name, "loops": 1,
                                                         "unit": "second"},
                       collect_metadata=False)
            for i in range(6)]
    path.parent.mkdir(parents=True, exist_ok=True)
    pyperf.Benchmark(runs).dump(str(path), replace=True)


def timing_dirs(tmp_path: Path, now_mean_s: float, spread: float) -> tuple[Path, Path]:
    run_dir, base_dir = tmp_path / "run", tmp_path / "base"
    run_dir.mkdir()
    base_dir.mkdir()
    shutil.copy(RUN, run_dir / "results.json")
    shutil.copy(FIXTURES / "gate_baseline_lower.json", base_dir / "baseline.json")
    write_pyperf(base_dir / "pyperf/pooled__wait.json", "pooled", 6.8e-6, spread)
    write_pyperf(run_dir / "pyperf/pooled__wait.json", "pooled", now_mean_s, spread)
    return run_dir, base_dir


def test_timing_gates_only_when_asked_and_significant(tmp_path: Path) -> None:
    run_dir, base_dir = timing_dirs(tmp_path, 7.517e-6, 0.01e-6)
    run = results.load(run_dir / "results.json")
    run["cells"] = [c for c in run["cells"] if c["status"] == "ok"]
    baseline = results.load(base_dir / "baseline.json")
    for cell in baseline["cells"]:
        if cell["id"] == "pooled/wait/3.12/asyncio":
            cell["allocs"]["allocs_per_op"] = 22.4  # allocations within: only timing differs
    reported = gate.compare(run, baseline, run_dir=run_dir, baseline_dir=base_dir)
    (timing,) = [t for t in reported.timing if t.cell_id == "pooled/wait/3.12/asyncio"]
    assert timing.significant is True
    assert timing.change == pytest.approx(7517 / 6800 - 1)
    assert reported.exit_code == 0  # reported, not gated
    gated = gate.compare(run, baseline, timing_threshold=0.10, run_dir=run_dir,
                         baseline_dir=base_dir)
    assert [t.cell_id for t in gated.timing_regressions] == ["pooled/wait/3.12/asyncio"]
    assert gated.exit_code == 1
    assert gated.verdict() == "FAIL: 1 timing regression"
    assert gate.compare(run, baseline, timing_threshold=0.20, run_dir=run_dir,
                        baseline_dir=base_dir).exit_code == 0
    # the other cells have no pyperf file: reported untested, with a warning
    assert gated.warnings == ["timing of 2 cell(s) not gated: a pyperf JSON file is missing, "
                              "so pyperf's significance test cannot run"]


def test_noisy_timing_is_not_significant(tmp_path: Path) -> None:
    run_dir, base_dir = timing_dirs(tmp_path, 7.517e-6, 3e-6)
    run = results.load(run_dir / "results.json")
    baseline = results.load(base_dir / "baseline.json")
    result = gate.compare(run, baseline, timing_threshold=0.10, run_dir=run_dir,
                          baseline_dir=base_dir)
    (timing,) = [t for t in result.timing if t.cell_id == "pooled/wait/3.12/asyncio"]
    assert timing.significant is False
    assert result.timing_regressions == []


def test_timing_cli_reports_significance(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    timing_dirs(tmp_path, 7.517e-6, 0.01e-6)
    monkeypatch.chdir(tmp_path)
    code, out, _ = vts(capsys, "gate", "run/results.json", "--baseline", "base/baseline.json",
                       "--timing", "0.1")
    assert code == 1
    assert ("timing (mean per op, gated above +10.0% when significant):\n"
            "  SLOWER     pooled/wait/3.12/asyncio: 6.800 µs -> 7.517 µs (+10.5%, significant)\n"
            ) in out
    assert out.endswith("verdict: FAIL: 1 allocation regression, 1 failed cell, "
                        "1 timing regression\n")


# --- the baseline --------------------------------------------------------------------------

def test_baseline_update_creates_then_reports_moves(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    code, out, _ = vts(capsys, "baseline", "update", RUN, "--baseline", baseline)
    assert code == 0
    assert out.splitlines() == [
        "  floor/wait/3.12/asyncio: new -> 22.2",
        "  future_per_call/wait/3.12/asyncio: new -> 24.4",
        "  pooled/wait/3.12/asyncio: new -> 22.4",
        "  cached_result/fresh/3.12/asyncio: new -> 0",
        "  manual_reset/wait/3.12/asyncio: failed in this run, not updated",
        f"{baseline}: 4 cell(s) moved, 0 unchanged, 1 failed and not updated",
    ]
    written = results.load(baseline)
    assert [c["id"] for c in written["cells"]] == [
        "floor/wait/3.12/asyncio", "future_per_call/wait/3.12/asyncio",
        "pooled/wait/3.12/asyncio", "cached_result/fresh/3.12/asyncio"]
    assert all(c["latency"] is None and c["memray"] is None for c in written["cells"])
    # the failed cell has no baseline cell, so it does not fail the gate; the rest match
    assert vts(capsys, "gate", RUN, "--baseline", baseline)[0] == 0


def test_baseline_update_merges_by_id(capsys: pytest.CaptureFixture[str],
                                      tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    shutil.copy(FIXTURES / "gate_baseline_lower.json", baseline)
    code, out, _ = vts(capsys, "baseline", "update", RUN, "--baseline", baseline)
    assert code == 0
    assert out.splitlines() == [
        "  pooled/wait/3.12/asyncio: 20.4 -> 22.4",
        "  cached_result/fresh/3.12/asyncio: 1 -> 0",
        "  manual_reset/wait/3.12/asyncio: failed in this run, not updated",
        f"{baseline}: 2 cell(s) moved, 3 unchanged, 1 failed and not updated",
    ]
    written = results.load(baseline)
    kept = {c["id"]: c["allocs"]["allocs_per_op"] for c in written["cells"]}
    assert kept["manual_reset/wait/3.12/asyncio"] == 26.4  # the failed cell kept its baseline
    # timing paths now point from the baseline's directory at the run's pyperf files
    (pooled,) = [c for c in written["cells"] if c["id"] == "pooled/wait/3.12/asyncio"]
    assert (baseline.parent / pooled["timing"]["pyperf_json"]).resolve() == (
        FIXTURES / "pyperf/pooled__wait.json").resolve()
    assert [m["run_id"] for m in written["machines"]] == [
        "20261120T090000-b2b2", "20261124T120000-9a9a"]


def test_baseline_update_refuses_a_corrupt_baseline(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text("{", encoding="utf-8")
    code, _, err = vts(capsys, "baseline", "update", RUN, "--baseline", baseline)
    assert code == 2
    assert err == (f"error: {baseline}: not valid JSON (Expecting property name enclosed in "
                   "double quotes at line 1 column 2); move it away to start a new baseline\n")
    assert baseline.read_text(encoding="utf-8") == "{"


def test_baseline_update_into_a_read_only_directory_is_one_line(
        capsys: pytest.CaptureFixture[str], read_only_dir: Path) -> None:
    baseline = read_only_dir / "baseline.json"
    code, out, err = vts(capsys, "baseline", "update", RUN, "--baseline", baseline)
    assert (code, out, err) == (2, "", f"error: {baseline}: cannot write (Permission denied)\n")


def test_baseline_update_respects_a_read_only_baseline(capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    shutil.copy(FIXTURES / "gate_baseline_lower.json", baseline)
    baseline.chmod(0o444)
    before = baseline.read_bytes()
    code, out, err = vts(capsys, "baseline", "update", RUN, "--baseline", baseline)
    assert (code, out) == (2, "")
    assert err == (f"error: {baseline}: the file is read-only; make it writable "
                   f"(chmod u+w {baseline}) to replace it\n")
    assert baseline.read_bytes() == before


def test_a_new_baseline_gets_the_usual_mode(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        baseline = tmp_path / "baseline.json"
        assert vts(capsys, "baseline", "update", RUN, "--baseline", baseline)[0] == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(baseline.stat().st_mode) == 0o644


def test_gate_result_verdicts() -> None:
    result = gate.GateResult(tolerance=0.0)
    assert (result.exit_code, result.verdict()) == (0, "within the baseline")
    result.regressions.append(gate.AllocDiff("a/b/3.12/asyncio", 1.0, 3.0))
    result.regressions.append(gate.AllocDiff("c/b/3.12/asyncio", 1.0, 1.5))
    assert (result.exit_code, result.verdict()) == (1, "FAIL: 2 allocation regressions")
    assert result.regressions[1].delta == 0.5


def _cells(data: dict[str, Any]) -> list[str]:
    return [c["id"] for c in data["cells"]]


def test_fixtures_are_valid_results() -> None:
    for name in ("gate_run.json", "gate_baseline_equal.json", "gate_baseline_lower.json",
                 "gate_baseline_other_env.json", "baseline_small.json", "run_small.json"):
        assert _cells(results.load(FIXTURES / name))
    json.loads((FIXTURES / "gate_baseline_schema99.json").read_text(encoding="utf-8"))


def _one_cell_run(allocs_per_op: float, ops: list[int]) -> dict[str, object]:
    from vts.suite import results

    run = results.new_run("allocs-only", {"hostname": "test"}, {})
    results.add_cell(run, {
        "id": "pooled/fanout-100/3.11/asyncio", "strategy": "pooled", "scenario": "fanout-100",
        "python": "3.11", "loop": "asyncio", "status": "ok", "error": None,
        "allocs": {"allocs_per_op": allocs_per_op, "bytes_per_op": 0.0, "gc_per_1k_ops": 0.0,
                   "ops": ops},
    })
    return run


def test_a_difference_within_the_figures_resolution_is_not_a_regression() -> None:
    from vts.suite.gate import compare, resolution

    baseline = _one_cell_run(1245.19, [100, 200])
    jittered = _one_cell_run(1245.21, [100, 200])  # +2 allocations over 100 ops
    assert resolution(jittered["cells"][0]) == 0.04  # type: ignore[index]
    assert compare(jittered, baseline).exit_code == 0
    one_more = _one_cell_run(1246.19, [100, 200])  # one allocation more per operation
    gate = compare(one_more, baseline)
    assert gate.exit_code == 1
    assert [diff.cell_id for diff in gate.regressions] == ["pooled/fanout-100/3.11/asyncio"]
# --- the gate passes only what it compared (unusable figures, zero cells, inputs first) ---

def _edited(tmp_path: Path, source: Path, name: str, edit: Any) -> Path:
    data = json.loads(source.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")  # json writes NaN / -Infinity as is
    return path


def _set_allocs(value: object, cell_id: str = "pooled/wait/3.12/asyncio") -> Any:
    def edit(data: dict[str, Any]) -> None:
        for cell in data["cells"]:
            if cell["id"] == cell_id:
                cell["allocs"]["allocs_per_op"] = value
    return edit


@pytest.mark.parametrize(("value", "shown"), [
    (float("nan"), "must be a finite number or null, not nan"),
    (float("-inf"), "must be a finite number or null, not -inf"),
    ("many", "must be a finite number or null, not a string ('many')"),
    (-1.0, "is -1, below zero: measure the cell again"),
])
@pytest.mark.parametrize("side", ["run", "baseline"])
def test_an_unusable_figure_exits_2_naming_the_cell(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path, value: object, shown: str,
                                                    side: str) -> None:
    equal = FIXTURES / "gate_baseline_equal.json"
    run, baseline = RUN, equal
    if side == "run":
        run = bad = _edited(tmp_path, RUN, "results.json", _set_allocs(value))
        hint = ""
    else:
        baseline = bad = _edited(tmp_path, equal, "baseline.json", _set_allocs(value))
        hint = f"; fix it, or delete it and run {UPDATE}"
    code, out, err = vts(capsys, "gate", run, "--baseline", baseline)
    assert (code, out) == (2, "")
    assert err == (f"error: {bad}: cell pooled/wait/3.12/asyncio: 'allocs.allocs_per_op' "
                   f"{shown}{hint}\n")


def test_zero_compared_cells_is_nothing_to_compare(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    def only_an_ungated_cell(data: dict[str, Any]) -> None:
        (cell,) = [c for c in data["cells"] if c["id"] == "pooled/wait/3.12/asyncio"]
        cell["deterministic"] = False  # as a thread or monitor cell is
        data["cells"] = [cell]

    run = _edited(tmp_path, RUN, "results.json", only_an_ungated_cell)
    code, out, err = vts(capsys, "gate", run, "--baseline", FIXTURES / "gate_baseline_equal.json")
    assert (code, out) == (2, "")
    assert err == ("error: nothing to compare: no gated cell of this run is in the baseline "
                   "(this run: 3.12/asyncio, 1 cell(s) not gated; baseline: 3.12/asyncio); "
                   f"gate a run of deterministic scenarios, or add its cells with {UPDATE}\n")


def test_the_default_baseline_is_the_current_directorys(capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """vts used from another project: its ./reports/baseline.json, wherever vts is."""
    from vts.suite.environments import ROOT

    project = ROOT / "reports" / "baseline.json"
    monkeypatch.chdir(tmp_path)
    code, out, err = vts(capsys, "gate", RUN)
    assert (code, out) == (2, "")
    assert err == ("error: reports/baseline.json: no such baseline file; record one with "
                   "`vts bench --allocs-only`, then `vts baseline update "
                   "reports/runs/<id>/results.json`\n")
    (tmp_path / "reports").mkdir()
    shutil.copy(project, tmp_path / "reports" / "baseline.json")
    shutil.copy(project, tmp_path / "results.json")  # a baseline is a run
    code, out, err = vts(capsys, "gate", "results.json")
    assert (code, err) == (0, "")
    assert "compared with reports/baseline.json " in out


@pytest.mark.parametrize("problem", ["missing", "corrupt", "unusable", "other interpreter",
                                     "markdown directory"])
def test_measure_checks_every_input_before_measuring(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     problem: str) -> None:
    import vts.suite.commands.gate as gate_command
    from vts.suite.environments import current_version

    measured: list[object] = []
    monkeypatch.setattr(gate_command, "measure_for_gate", lambda options: measured.append(1) or RUN)
    monkeypatch.chdir(tmp_path)
    here = current_version()
    baseline = tmp_path / "baseline.json"
    _as_this_interpreter(tmp_path, FIXTURES / "gate_baseline_equal.json").rename(baseline)
    text = baseline.read_text(encoding="utf-8")
    extra: list[str | Path] = []
    if problem == "missing":
        baseline.unlink()
        message = f"{baseline}: no such baseline file; record one with {record(baseline)}"
    elif problem == "corrupt":
        baseline.write_text("{", encoding="utf-8")
        message = (f"{baseline}: not valid JSON (Expecting property name enclosed in double "
                   f"quotes at line 1 column 2); fix it, or delete it and run {UPDATE}")
    elif problem == "unusable":
        _edited(tmp_path, baseline, "baseline.json",
                _set_allocs(-3.0, f"pooled/wait/{here}/asyncio"))
        message = (f"{baseline}: cell pooled/wait/{here}/asyncio: 'allocs.allocs_per_op' is -3, "
                   f"below zero: measure the cell again; fix it, or delete it and run {UPDATE}")
    elif problem == "other interpreter":
        from vts.suite import builds

        key = builds.describe()["key"]
        baseline.write_text(text.replace(key, "cpython-3.99.0-gcc-1"), encoding="utf-8")
        message = (f"{baseline} has no baseline for Python {here} build {key} (it holds: "
                   f"cpython-3.99.0-gcc-1); record one with {record(baseline)}")
    else:
        extra = ["--markdown", tmp_path / "no" / "summary.md"]
        message = f"{tmp_path / 'no'}: no such directory for --markdown"
    code, out, err = vts(capsys, "gate", "--measure", "--baseline", baseline, *extra)
    assert (code, out, measured) == (2, "", [])
    assert err == f"error: {message}\n"


def _with_build(key: str) -> Any:
    def edit(data: dict[str, Any]) -> None:
        for cell in data["cells"]:
            cell["build"] = key
    return edit


BUILD_LINE = ("{baseline} has no baseline for Python 3.12 build cpython-3.12.4-gcc-14.2.0 (it "
              "holds: cpython-3.12.1-gcc-12.2.0); record one with `vts bench --allocs-only`, "
              "then `vts baseline update reports/runs/<id>/results.json --baseline {baseline}`")


def test_a_build_the_baseline_lacks_is_not_compared(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    """Exit 2 with one line naming the build and how to record it: never a pass, never
    every cell failed (its counts may differ from every recorded build's)."""
    baseline = _edited(tmp_path, FIXTURES / "gate_baseline_lower.json", "baseline.json",
                       _with_build("cpython-3.12.1-gcc-12.2.0"))
    run = _edited(tmp_path, RUN, "results.json", _with_build("cpython-3.12.4-gcc-14.2.0"))
    line = BUILD_LINE.format(baseline=baseline)
    assert vts(capsys, "gate", run, "--baseline", baseline) == (2, "", f"error: {line}\n")
    code, markdown, _ = vts(capsys, "report", run, "--baseline", baseline, "--format",
                            "markdown")
    said = "has no baseline for Python 3.12 build cpython-3.12.4-gcc-14.2.0 (it holds: "
    assert code == 0 and markdown.count(said) == 1
    page = tmp_path / "report.html"
    assert vts(capsys, "report", run, "--baseline", baseline, "-o", page)[0] == 0
    import html as html_lib
    assert line in html_lib.unescape(page.read_text(encoding="utf-8"))


def test_builds_are_recorded_side_by_side(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    """Two builds of one X.Y: `vts baseline update` records the second beside the first,
    each gates against its own cells, and the baseline keeps no environment (no paths)."""
    baseline = tmp_path / "baseline.json"
    first = _edited(tmp_path, RUN, "first.json", _with_build("cpython-3.12.1-gcc-12.2.0"))

    def second_build(data: dict[str, Any]) -> None:
        _with_build("cpython-3.12.1-clang-17.0.0")(data)
        _set_allocs(30.0)(data)

    second = _edited(tmp_path, RUN, "second.json", second_build)
    assert vts(capsys, "baseline", "update", first, "--baseline", baseline)[0] == 0
    code, out, _ = vts(capsys, "baseline", "update", second, "--baseline", baseline)
    assert code == 0
    assert "  pooled/wait/3.12/asyncio (cpython-3.12.1-clang-17.0.0): new -> 30" in out
    written = results.load(baseline, kind="baseline")
    assert written["environments"] == {}
    assert '"/' not in baseline.read_text(encoding="utf-8")  # no absolute path
    pooled = {c["build"]: c["allocs"]["allocs_per_op"] for c in written["cells"]
              if c["id"] == "pooled/wait/3.12/asyncio"}
    assert pooled == {"cpython-3.12.1-gcc-12.2.0": 22.4, "cpython-3.12.1-clang-17.0.0": 30.0}
    for run in (first, second):
        code, out, _ = vts(capsys, "gate", run, "--baseline", baseline)
        assert (code, out.splitlines()[-1]) == (0, "verdict: within the baseline")
    regressed = _edited(tmp_path, second, "regressed.json", _set_allocs(31.0))
    assert vts(capsys, "gate", regressed, "--baseline", baseline)[0] == 1


def test_the_projects_baseline_holds_its_builds_by_key() -> None:
    """reports/baseline.json, migrated to schema 4: every cell keyed by its build, and each
    build described by version and compiler."""
    from vts.suite.environments import ROOT

    baseline = results.load(ROOT / "reports" / "baseline.json", kind="baseline")
    assert baseline["environments"] == {}
    assert {c["build"] for c in baseline["cells"]} == set(baseline["builds"])
    assert baseline["builds"]["cpython-3.11.7-gcc-12.2.0"] == {
        "implementation": "cpython", "version": "3.11.7", "compiler": "GCC 12.2.0",
        "debug": False, "freethreaded": False, "nopymalloc": False}


def test_ci_pins_the_interpreters_the_baseline_was_recorded_with() -> None:
    import re

    from vts.suite.environments import ROOT

    workflow = (ROOT / ".github" / "workflows" / "bench.yml").read_text(encoding="utf-8")
    (matrix,) = re.findall(r"^\s*python: \[(.*)\]$", workflow, flags=re.MULTILINE)
    pinned = {version.strip().strip('"') for version in matrix.split(",")}
    recorded = {build["version"] for build in
                results.load(ROOT / "reports" / "baseline.json")["builds"].values()}
    assert pinned == recorded


def test_the_ci_example_runs_what_ci_runs() -> None:
    """.github/workflows/bench.yml gates with the make targets .ci/run calls, in order, with
    valgrind installed for the instruction gate."""
    import re

    from vts.suite.environments import ROOT

    ci = re.findall(r"^\s*make ([\w-]+)", (ROOT / ".ci" / "run").read_text(encoding="utf-8"),
                    flags=re.MULTILINE)
    workflow = (ROOT / ".github" / "workflows" / "bench.yml").read_text(encoding="utf-8")
    gate_job = workflow.split("\n  report:")[0]
    assert re.findall(r"run: make ([\w-]+)", gate_job) == ci == [
        "test", "sanitize", "gate", "gate-instructions"]
    assert re.search(r"run: sudo apt-get .*install .*\bvalgrind\b", gate_job)


def _with_figures(bytes_per_op: float, gc_per_1k_ops: float) -> Any:
    def edit(data: dict[str, Any]) -> None:
        for cell in data["cells"]:
            if cell["id"] == "pooled/wait/3.12/asyncio":
                cell["allocs"]["bytes_per_op"] = bytes_per_op
                cell["allocs"]["gc_per_1k_ops"] = gc_per_1k_ops
    return edit


def test_gc_rising_from_zero_fails_the_cell(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    run = _edited(tmp_path, RUN, "results.json", _with_figures(1860.0, 4.25))
    equal = FIXTURES / "gate_baseline_equal.json"
    code, out, _ = vts(capsys, "gate", run, "--baseline", equal)
    assert code == 1
    assert ("  REGRESSION pooled/wait/3.12/asyncio: GC per 1,000 ops rose from 0 to 4.25 "
            "(a new reference cycle?); allocations 22.4, unchanged\n") in out
    assert out.endswith("verdict: FAIL: 1 GC regression\n")
    markdown = tmp_path / "summary.md"
    vts(capsys, "gate", run, "--baseline", equal, "--markdown", markdown)
    text = markdown.read_text(encoding="utf-8")
    assert "4 cells compared (tolerance 0), 1 regressed, 0 improved, 3 unchanged" in text
    assert ("| pooled/wait/3.12/asyncio | 22.4 | 22.4 | 0 | 1,860 B → 1,860 B | 0 → 4.25 | "
            "▲ GC from 0 |") in text


def test_bytes_and_gc_changes_are_shown_beside_allocations(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    baseline = FIXTURES / "gate_baseline_lower.json"
    run = _edited(tmp_path, RUN, "results.json", _with_figures(1927.0, 0.0))
    out = vts(capsys, "gate", run, "--baseline", baseline)[1]
    assert ("  REGRESSION pooled/wait/3.12/asyncio: baseline 20.4, now 22.4 (+2); "
            "bytes/op 1,700 B -> 1,927 B (+227 B), GC/1k 0 -> 0\n") in out
    # a drop of GC to 0 with the same allocations is not a failure, but it is shown
    drift = _edited(tmp_path, FIXTURES / "gate_baseline_equal.json", "baseline.json",
                    _with_figures(1919.0, 5.7))
    code, out, _ = vts(capsys, "gate", run, "--baseline", drift)
    assert code == 0
    assert ("  moved      pooled/wait/3.12/asyncio: allocations 22.4, unchanged; bytes/op "
            "1,919 B -> 1,927 B (+8 B), GC/1k 5.7 -> 0\n") in out


def test_slice_options_need_measure(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = vts(capsys, "gate", str(RUN), "-c", "wait")
    assert code == 2
    assert err == ("error: -s/-c/-l choose what --measure measures; without it, gate RESULTS "
                   "as they are\n")


def test_measure_refuses_an_ungated_scenario_before_measuring(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = vts(capsys, "gate", "--measure", "-c", "wait,thread")
    assert code == 2
    assert err.startswith("error: the gate measures gated scenarios only, not thread; "
                          "choose from: fresh, wait, ")
    assert "measuring" not in err
