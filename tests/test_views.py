"""The report's rows and columns: a Ratio that says whether it is significant, a column or
chart only for a figure that was measured, one unstable banner per table."""

from __future__ import annotations

import copy
from pathlib import Path

import pyperf
import pytest
from rich.console import Console

from vts.suite import results
from vts.suite.report import charts, html, markdown, terminal
from vts.suite.report.views import SIMILAR, environment_views

FIXTURES = Path(__file__).parent / "fixtures"


def _pyperf_file(path: Path, mean: float, spread: float) -> str:
    values = [mean * (1 + spread * (i % 5 - 2) / 2) for i in range(20)]
    runs = [pyperf.Run(values[i:i + 5], warmups=None, metadata={"name": "wait/asyncio",
                                                                "loops": 1000},
                       collect_metadata=False) for i in range(0, 20, 5)]
    pyperf.Benchmark(runs).dump(str(path))
    return path.name


@pytest.mark.parametrize(("pooled_mean", "shown"), [(7.9e-6, SIMILAR), (15.8e-6, "2.00")])
def test_ratio_says_whether_the_difference_is_significant(
        tmp_path: Path, pooled_mean: float, shown: str) -> None:
    run = results.load(FIXTURES / "gate_run.json")
    for cell in run["cells"]:
        timing = cell.get("timing")
        if cell["strategy"] in ("future_per_call", "pooled") and timing:
            mean = 7.9e-6 if cell["strategy"] == "future_per_call" else pooled_mean
            timing["mean_ns"] = timing["median_ns"] = mean * 1e9
            timing["pyperf_json"] = _pyperf_file(tmp_path / f"{cell['strategy']}.json", mean,
                                                 0.05)
    rows = {row.strategy: row for view in environment_views(run, link_base=tmp_path)
            for table in view.tables for row in table.rows}
    assert rows["pooled"].ratio == shown
    assert rows["future_per_call"].ratio == "1.00"
    # Without the pyperf files the ratio is untested: shown as the plain quotient.
    untested = {row.strategy: row for view in environment_views(run)
                for table in view.tables for row in table.rows}
    assert untested["pooled"].ratio == f"{pooled_mean / 7.9e-6:.2f}"


def test_figures_nobody_measured_get_no_column_and_no_chart() -> None:
    run = results.load(FIXTURES / "merge_counted.json")  # allocations and instructions only
    text = markdown.render(run)
    header = next(line for line in text.splitlines() if line.startswith("| Scenario"))
    assert header == ("| Scenario | Strategy | Instructions/op | Allocated/op | Bytes/op | "
                      "GC/1k ops |")  # no times, and no floor: no Above floor
    table = environment_views(run)[0].tables[0]
    assert table.shown == {"instructions", "allocs"}
    svg = charts.scenario_chart(table.cells, table.reference, "t")
    assert svg is not None and "median time" not in svg and "instructions / op" in svg
    bare = copy.deepcopy(run)
    for cell in bare["cells"]:
        cell["allocs"] = cell["instructions"] = None
    bare_table = environment_views(bare)[0].tables[0]
    assert charts.scenario_chart(bare_table.cells, bare_table.reference, "t") is None


def test_a_scenario_fast_mode_does_not_time_says_why_in_every_form() -> None:
    run = results.load(FIXTURES / "merge_counted.json")
    scenario = run["cells"][0]["scenario"]
    run["scenarios"].setdefault(scenario, {})["untimed"] = "its time follows the sampler"
    line = (f"Not timed in fast mode: its time follows the sampler. To time it: vts bench "
            f"--full -c {scenario}")
    assert environment_views(run)[0].tables[0].untimed == line
    assert f"\n{line}.\n" in markdown.render(run)
    assert f'<p class="op">{line}.</p>' in html.render(run)
    console = Console(width=400, record=True)
    terminal.print_summary(run, console, with_verdict=False)
    assert f"{line}." in " ".join(console.export_text().split())  # the caption wraps
    del run["scenarios"][scenario]["untimed"]
    assert "Not timed" not in markdown.render(run) + html.render(run)


def test_a_merged_run_that_timed_the_scenario_does_not_say_it_was_not_timed() -> None:
    run = results.load(FIXTURES / "merge_timed.json")
    scenario = run["cells"][0]["scenario"]
    run["scenarios"].setdefault(scenario, {})["untimed"] = "its time follows the sampler"
    assert environment_views(run)[0].tables[0].untimed == ""
    assert "Not timed" not in markdown.render(run) + html.render(run)


def test_a_median_above_samples_that_leave_part_of_the_run_out_is_not_unstable() -> None:
    """socket-ready's per-op samples time the receive alone; its timed run also sends each
    message, so its median may lie above their p99 without any descheduling."""
    run = results.load(FIXTURES / "merge_timed.json")
    cell = run["cells"][0]
    cell["latency"] = {**(cell.get("latency") or {}),
                       "p99_ns": cell["timing"]["median_ns"] / 2}
    cell["timing"]["checks"] = []
    row = environment_views(run)[0].tables[0].rows[0]
    assert row.unstable.startswith("the median (")
    assert "is above the per-op p99" in row.unstable
    run["scenarios"].setdefault(cell["scenario"], {})["samples_exclude"] = "each send"
    assert environment_views(run)[0].tables[0].rows[0].unstable == ""
