"""vts.suite.report.stdlib_table and the verdict's standard-library line: what the standard
library costs, in every output, paired by await and beside the picked strategies.

Built on the small golden run (tests/fixtures/run_small.json) with stdlib cells added.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from rich.console import Console

from vts.suite import results
from vts.suite.records import Run
from vts.suite.report import html, markdown, stdlib_table, terminal, verdict, verdict_text
from vts.suite.report.views import environment_views

FIXTURES = Path(__file__).parent / "fixtures"
READY, SUSPEND = "stdlib-ready", "stdlib-suspend"
# (variant, stdlib-ready allocations or None, stdlib-suspend allocations or None)
FIGURES = (("floor", 0.0, 22.2), ("Queue.get", 1.0, 25.2), ("Event.wait", 0.0, 23.2),
           ("Condition", 2.0, 48.4), ("sleep", None, 30.2))


def _put(run: Run, strategy: str, scenario: str, allocs: float) -> None:
    """A copy of the wait reference's cell as `strategy` in `scenario`, with `allocs`."""
    source = next(c for c in run["cells"] if c["id"] == "future_per_call/wait/3.11/asyncio")
    cell = copy.deepcopy(source)
    cell.update(strategy=strategy, scenario=scenario,
                id=results.cell_id(strategy, scenario, "3.11", "asyncio"))
    cell["allocs"] = {**(cell["allocs"] or {}), "allocs_per_op": allocs}
    run["cells"].append(cell)


@pytest.fixture
def run() -> Run:
    loaded = results.load(FIXTURES / "run_small.json")
    for name, ready, suspend in FIGURES:
        for scenario, allocs in ((READY, ready), (SUSPEND, suspend)):
            if allocs is not None:
                _put(loaded, name, scenario, allocs)
    for scenario in (READY, SUSPEND):
        loaded["scenarios"][scenario] = {"operation": f"one await ({scenario})",
                                         "reference": "floor",
                                         "variants": {"Queue.get": "q.put_nowait(v); ..."}}
    return loaded


def _table(run: Run, key: str = "3.11/asyncio") -> stdlib_table.CostTable | None:
    view = next(v for v in environment_views(run) if v.key == key)
    found = next(v for v in verdict.verdicts(run) if v.key == key)
    return stdlib_table.cost_table(view, found)


def test_each_await_pairs_its_two_halves_beside_the_floor_and_the_picks(run: Run) -> None:
    table = _table(run)
    assert table is not None
    assert [(r.name, r.strategy) for r in table.rows] == [
        ("floor", False), ("Queue.get", False), ("Event.wait", False), ("Condition", False),
        ("sleep", False), ("cached_result", True), ("pooled", True)]
    assert table.labels == ["Allocated/op", "Above floor", "Median (pyperf)"]
    condition = next(r for r in table.rows if r.name == "Condition")
    assert table.cells(condition)[:2] + table.cells(condition)[3:5] == ["2", "+2", "48.4",
                                                                        "+26.2"]
    sleep = next(r for r in table.rows if r.name == "sleep")
    assert table.cells(sleep)[:3] == ["", "", ""]  # it always suspends: no ready half
    pooled = next(r for r in table.rows if r.name == "pooled")  # its fresh and wait cells
    assert [table.cells(pooled)[i] for i in (0, 3)] == ["0", "22.4"]


def test_an_environment_without_stdlib_cells_has_no_table(run: Run) -> None:
    assert _table(run, "3.11/uvloop") is None


def test_the_verdict_weighs_the_picks_against_the_standard_library(run: Run) -> None:
    found = verdict.verdicts(run)[0]
    assert [c.scenario for c in found.stdlib] == [READY, SUSPEND]
    assert all(c.scenario not in (READY, SUSPEND) for m in found.matrices for c in m.columns)
    assert verdict_text.stdlib_lines(found) == [
        "The standard library (stdlib-ready, stdlib-suspend), allocations/op: 0 (Event.wait) "
        "to 2 (Condition) without a suspension, 23.2 (Event.wait) to 48.4 (Condition) with "
        "one; the picks above: 0 (cached_result and others tied, fresh) and 22.4 (pooled, "
        "wait)."]
    for cell in run["cells"]:  # every await alike: one figure, not a span
        if cell["scenario"] == SUSPEND and cell["strategy"] != "floor":
            cell["allocs"] = {**(cell["allocs"] or {}), "allocs_per_op": 25.2}
    assert ", 25.2 with one;" in verdict_text.stdlib_lines(verdict.verdicts(run)[0])[0]


def test_every_output_shows_the_table_and_the_line(run: Run) -> None:
    page = html.render(run)
    section = re.search(r'<section class="scenario stdlib" id="stdlib-0">.*?</section>', page,
                        re.S)
    assert section is not None and "What the standard library costs" in section.group(0)
    assert page.index('id="verdict-0"') < page.index('id="stdlib-0"') < page.index(
        'id="s-0-fresh"')
    assert '<li class="stdlib">The standard library (stdlib-ready, stdlib-suspend)' in page
    assert "<li><code>Queue.get</code>: q.put_nowait(v); ...</li>" in page  # How to read
    summary = markdown.render(run)
    assert "**What the standard library costs**" in summary
    assert "| Condition | 2 | +2 | 6.522 µs | 48.4 | +26.2 | 6.522 µs |" in summary
    assert "- The standard library (stdlib-ready, stdlib-suspend), allocations/op:" in summary
    console = Console(width=400, record=True)
    terminal.print_summary(run, console)
    text = console.export_text()
    assert "What the standard library costs: 3.11/asyncio" in text
    assert "- The standard library (stdlib-ready, stdlib-suspend)" in text
