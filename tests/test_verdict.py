"""vts.suite.report.verdict: picks computed from the run's figures, ties, the other form,
the missing figures' commands, and the verdict's place in every output.

Built on the small golden run (tests/fixtures/run_small.json, made by make_run_small.py):
each test changes the figures a pick rests on and checks that the verdict follows.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from rich.console import Console

from vts.suite import results
from vts.suite.records import Cell, Run
from vts.suite.report import html, markdown, terminal, verdict, verdict_text
from vts.suite.report.verdict import names

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def run() -> Run:
    return results.load(FIXTURES / "run_small.json")


def _cell(run: Run, strategy: str, scenario: str, loop: str = "asyncio") -> Cell:
    return next(c for c in run["cells"] if c["id"] == f"{strategy}/{scenario}/3.11/{loop}")


def _add(run: Run, strategy: str, scenario: str, allocs: float,
         instructions: float | None = None) -> None:
    """A copy of the reference's cell under another strategy, with these figures."""
    cell = copy.deepcopy(_cell(run, "future_per_call", scenario))
    cell["strategy"] = strategy
    cell["id"] = results.cell_id(strategy, scenario, "3.11", "asyncio")
    cell["allocs"] = {**(cell["allocs"] or {}), "allocs_per_op": allocs}
    cell["instructions"] = ({"instructions_per_op": instructions}
                            if instructions is not None else None)
    run["cells"].append(cell)


def _count(run: Run, strategy: str, scenario: str, allocs: float | None = None,
           instructions: float | None = None) -> None:
    cell = _cell(run, strategy, scenario)
    if allocs is not None:
        cell["allocs"] = {**(cell["allocs"] or {}), "allocs_per_op": allocs}
    if instructions is not None:
        cell["instructions"] = {"instructions_per_op": instructions}


def _recommendation(run: Run, use_case: str, key: str = "3.11/asyncio") -> verdict.Recommendation:
    found = next(v for v in verdict.verdicts(run) if v.key == key)
    return next(r for r in found.recommendations if r.use_case == use_case)


SUSPENDS = "an await that suspends"


def test_the_pick_is_the_fewest_allocations(run: Run) -> None:
    rec = _recommendation(run, SUSPENDS)
    assert verdict_text.recommendation(rec) == (
        "An await that suspends (wait): pooled: 22.4 allocations/op (-2 vs future_per_call; "
        "median time 0.98x) [fewest allocations].")


def test_the_pick_follows_the_figures(run: Run) -> None:
    _count(run, "pooled", "wait", allocs=30.0)
    _count(run, "handwritten", "wait", allocs=20.0)
    rec = _recommendation(run, SUSPENDS)
    assert [p.strategy for p in rec.picks] == ["handwritten"]
    assert rec.picks[0].allocs_vs_reference == pytest.approx(-4.4)


def test_equal_allocations_are_decided_by_instructions(run: Run) -> None:
    for strategy, instructions in (("future_per_call", 5000.0), ("cached_result", 1900.0),
                                   ("pooled", 2400.0)):
        _count(run, strategy, "fresh", instructions=instructions)
    rec = _recommendation(run, "a value that is usually ready")
    assert ([p.strategy for p in rec.picks], rec.decided_by) == (["cached_result"],
                                                                "instructions")
    assert verdict_text.recommendation(rec) == (
        "A value that is usually ready (fresh): cached_result: 0 allocations/op (-1 vs "
        "future_per_call; instructions 0.38x; median time 0.46x) [fewest instructions at equal "
        "allocations].")


def test_instructions_within_the_noise_stay_a_tie(run: Run) -> None:
    for strategy, instructions in (("future_per_call", 5000.0), ("cached_result", 2000.0),
                                   ("pooled", 2050.0)):
        _count(run, strategy, "fresh", instructions=instructions)
    rec = _recommendation(run, "a value that is usually ready")
    assert ([p.strategy for p in rec.picks], rec.decided_by) == (
        ["cached_result", "pooled"], "tie")


def test_a_c_pick_names_the_best_pure_python_strategy_too(run: Run) -> None:
    _add(run, "pooled[c]", "wait", allocs=21.2)
    rec = _recommendation(run, SUSPENDS)
    assert [p.strategy for p in rec.picks] == ["pooled[c]"]
    assert [p.strategy for p in rec.other_form] == ["pooled"]
    assert "; in pure Python: pooled: 22.4 allocations/op" in verdict_text.recommendation(rec)


def test_a_python_pick_names_the_best_c_strategy_too(run: Run) -> None:
    _add(run, "pooled[c]", "wait", allocs=23.0)
    rec = _recommendation(run, SUSPENDS)
    assert ([p.strategy for p in rec.picks], [p.strategy for p in rec.other_form]) == (
        ["pooled"], ["pooled[c]"])
    assert "; with the C accelerator: pooled[c]: 23 allocations/op" in (
        verdict_text.recommendation(rec))


def test_missing_figures_name_the_command_that_measures_them(run: Run) -> None:
    found = verdict.verdicts(run)[0]
    assert verdict_text.missing_lines(found) == [
        "Not in this run: instructions of fresh, wait, fanout-1000; measure with vts bench "
        "--allocs-only --instructions -s future_per_call,cached_result,pooled "
        "-c fresh,wait,fanout-1000 -p 3.11 -l asyncio",
        "Not in this run: allocations of thread, socket-ready-4k, channel-pingpong, "
        "channel-burst; measure with vts bench --allocs-only -c "
        "thread,socket-ready-4k,channel-pingpong,channel-burst -p 3.11 -l asyncio"]
    assert verdict_text.recommendation(found.recommendations[3]) == (
        "Cross-thread completion: thread was not measured in this run.")


def test_the_html_line_gives_the_flags_and_the_commands_in_full_apart(run: Run) -> None:
    """The page's verdict line names the figure, the scenarios and the flags; the whole
    command, long with the cells it selects, is given apart (missing_commands)."""
    found = verdict.verdicts(run)[0]
    assert verdict_text.missing_lines(found, whole=False) == [
        "Not in this run: instructions of fresh, wait, fanout-1000; measure with vts bench "
        "--allocs-only --instructions",
        "Not in this run: allocations of thread, socket-ready-4k, channel-pingpong, "
        "channel-burst; measure with vts bench --allocs-only"]
    assert verdict_text.missing_commands(found) == [
        m.command("3.11", "asyncio") for m in found.missing]


def test_counted_instructions_leave_no_hint(run: Run) -> None:
    for cell in run["cells"]:
        cell["instructions"] = {"instructions_per_op": 1000.0}
    found = verdict.verdicts(run)[0]
    assert [m.figure for m in found.missing] == ["allocations"]


def test_a_missing_reference_is_asked_for_and_quoted_for_the_shell(run: Run) -> None:
    _add(run, "pooled[c]", "wait", allocs=21.2)
    run["cells"].remove(_cell(run, "future_per_call", "wait"))
    found = verdict.verdicts(run)[0]
    rec = found.recommendations[1]
    assert rec.missing[0] == verdict.Missing("allocations", ("wait",), ("future_per_call",))
    assert rec.missing[1].command("3.11", "asyncio") == (
        "vts bench --allocs-only --instructions -s 'pooled,pooled[c]' -c wait -p 3.11 "
        "-l asyncio")


def test_matrix_marks_the_cheapest_and_shades_between_them(run: Run) -> None:
    found = verdict.verdicts(run)[0]
    wait = next(c for c in found.matrices[0].columns if c.scenario == "wait")
    assert wait.cheapest == ("pooled",)
    assert verdict_text.matrix_cell(wait, wait.figures["pooled"]) == "+0.2 ★"
    assert verdict.heat(wait, wait.figures["pooled"]) == 0.0
    assert verdict.heat(wait, wait.figures["handwritten"]) == 1.0  # +5, the dearest
    assert "floor" not in found.matrices[0].strategies


def test_one_verdict_per_environment_of_a_merged_run(run: Run) -> None:
    other = copy.deepcopy(run)
    for cell in other["cells"]:
        cell["python"] = "3.12"
        cell["id"] = results.cell_id(cell["strategy"], cell["scenario"], "3.12", cell["loop"])
    other["environments"] = {k.replace("3.11", "3.12"): v
                             for k, v in other["environments"].items()}
    pooled = next(c for c in other["cells"] if c["id"] == "pooled/wait/3.12/asyncio")
    pooled["allocs"] = {**(pooled["allocs"] or {}), "allocs_per_op": 30.0}
    found = verdict.verdicts(results.merge([run, other]))
    assert [v.key for v in found] == ["3.11/asyncio", "3.11/uvloop", "3.12/asyncio",
                                      "3.12/uvloop"]
    assert [names(v.recommendations[1].picks) for v in found] == [
        "pooled", "pooled", "future_per_call or cached_result", "pooled"]


def test_the_verdict_comes_first_in_html_and_markdown_and_last_in_the_terminal(
        run: Run) -> None:
    page = html.render(run)
    assert page.index('id="verdict-0"') < page.index('id="s-0-fresh"')
    assert page.index('id="verdict-1"') < page.index('id="s-1-fresh"')
    summary = markdown.render(run)
    assert summary.index("### Verdict: 3.11/asyncio") < summary.index("| Scenario |")
    console = Console(width=400, record=True)
    terminal.print_summary(run, console)
    text = console.export_text()
    assert text.index("Verdict 3.11/asyncio") > text.rindex("Bytes/op")  # after the tables
    assert text.rstrip().endswith("the cheapest per scenario.")


def test_a_producer_consumer_queue_is_answered_against_asyncio_queue(run: Run) -> None:
    source = _cell(run, "future_per_call", "wait")
    for strategy, allocs in (("floor", 22.2), ("asyncio_queue", 25.2), ("pooled", 29.25),
                             ("pooled[c]", 22.25)):
        cell = copy.deepcopy(source)
        cell.update(strategy=strategy, scenario="channel-pingpong",
                    id=results.cell_id(strategy, "channel-pingpong", "3.11", "asyncio"))
        cell["allocs"] = {**(cell["allocs"] or {}), "allocs_per_op": allocs}
        run["cells"].append(cell)
    run["scenarios"]["channel-pingpong"] = {"operation": "one item", "reference":
                                            "asyncio_queue"}
    rec = _recommendation(run, "a producer/consumer queue")
    assert verdict_text.recommendation(rec) == (
        "A producer/consumer queue (channel-pingpong): pooled[c]: 22.25 allocations/op "
        "(-2.95 vs asyncio_queue; median time 1.00x) [fewest allocations]; in pure Python: "
        "asyncio_queue: 25.2 allocations/op (the reference).")
    found = verdict.verdicts(run)[0]
    (channels,) = [m for m in found.matrices if m.reference == "asyncio_queue"]
    (column,) = channels.columns
    assert (column.scenario, column.floor_allocs) == ("channel-pingpong", 22.2)
    assert verdict_text.matrix_cell(column, column.figures["pooled[c]"]) == "+0.05 ★"
    assert channels.strategies == ["asyncio_queue", "pooled", "pooled[c]"]
