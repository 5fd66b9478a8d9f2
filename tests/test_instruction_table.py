"""scripts/instruction_table.py: a run's counts on one screen, and their spread."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from vts.suite import results
from vts.suite.report.views import strategy_sort_key

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "instruction_table.py"
_spec = importlib.util.spec_from_file_location("instruction_table", SCRIPT)
assert _spec and _spec.loader
table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(table)


def _cell(strategy: str, scenario: str, count: float | None, loop: str = "asyncio",
          status: str = "ok") -> dict[str, Any]:
    return {"id": results.cell_id(strategy, scenario, "3.11", loop), "strategy": strategy,
            "scenario": scenario, "python": "3.11", "loop": loop, "status": status,
            "error": None if status == "ok" else "boom", "allocs": None, "timing": None,
            "latency": None, "memray": None, "extra": {},
            "instructions": None if count is None else {"instructions_per_op": count,
                                                         "ops": [10, 20]}}


def _run(*cells: dict[str, Any]) -> results.Run:
    run = results.new_run("allocs-only", {}, {"wait": {"deterministic": True},
                                              "thread": {"deterministic": False}})
    for cell in cells:
        results.add_cell(run, cell)
    return run


def test_a_design_and_its_c_form_sit_together() -> None:
    names = ["pooled[c]", "recycled_future", "zeta", "future_per_call", "pooled", "floor",
             "handwritten[c]", "handwritten"]
    assert sorted(names, key=strategy_sort_key) == [
        "floor", "future_per_call", "handwritten", "handwritten[c]", "pooled", "pooled[c]",
        "recycled_future", "zeta"]


def test_one_row_per_scenario_and_the_socket_paths_apart() -> None:
    text = table.tables(_run(
        _cell("pooled", "wait", 75592), _cell("floor", "wait", 38191),
        _cell("pooled", "thread", 72553.4), _cell("floor", "thread", None, status="failed"),
        _cell("reusable_source", "socket-ready-64", 12536)))
    assert text.splitlines() == [
        "### Python 3.11, asyncio", "",
        "| scenario | floor | pooled |", "|---|---|---|",
        "| wait | 38,191 | 75,592 |",
        "| thread \u2020 | \u2013 | 72,553 |", "",
        "| scenario | reusable_source |", "|---|---|",
        "| socket-ready-64 | 12,536 |"]


def test_the_spread_is_over_the_runs_that_counted_the_cell() -> None:
    text = table.spread([_run(_cell("pooled", "wait", 100.0), _cell("floor", "wait", 50.0)),
                         _run(_cell("pooled", "wait", 101.0)),
                         _run(_cell("pooled", "wait", 100.5), _cell("floor", "wait", None))])
    assert text.splitlines()[2:] == ["| 3.11 | asyncio | wait | pooled | 3 | 100 | 1.00% |"]


def test_a_count_at_or_below_zero_has_no_spread() -> None:
    text = table.spread([_run(_cell("pooled", "thread", -5.0)),
                         _run(_cell("pooled", "thread", 7.0))])
    assert text.splitlines()[2:] == ["| 3.11 | asyncio | thread | pooled | 2 | -5 | \u2013 |"]


def test_no_repeated_cell_is_one_error_line(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(_run(_cell("pooled", "wait", 100.0))))
    assert table.main(["--spread", str(path)]) == 2
    assert capsys.readouterr().err == ("error: no cell was counted in two or more of the "
                                       "RESULTS\n")
