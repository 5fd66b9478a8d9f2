"""vts.suite.report.markdown: a golden summary, escaping, and `vts report --format markdown`.

The golden file is regenerated (after a deliberate change, then reviewed) with:

    PYTHONPATH=. .venv/bin/python -m vts report tests/fixtures/gate_run.json \\
        --format markdown --baseline tests/fixtures/gate_baseline_lower.json \\
        > tests/fixtures/report_gate_run.md
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vts.suite import gate, results
from vts.suite.cli import main
from vts.suite.report import markdown

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "report_gate_run.md"
BASELINE_ARG = "tests/fixtures/gate_baseline_lower.json"


def test_golden_summary() -> None:
    run = results.load(FIXTURES / "gate_run.json")
    baseline = results.load(FIXTURES / "gate_baseline_lower.json")
    text = markdown.render(run, gate.compare(run, baseline), BASELINE_ARG)
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_cli_prints_the_golden_summary(capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code = main(["report", "tests/fixtures/gate_run.json", "--format", "markdown",
                 "--baseline", BASELINE_ARG])
    assert code == 0
    assert capsys.readouterr().out == GOLDEN.read_text(encoding="utf-8")


def test_cli_writes_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "summary.md"
    code = main(["report", str(FIXTURES / "gate_run.json"), "--format", "markdown",
                 "-o", str(out), "--baseline", str(FIXTURES / "gate_baseline_equal.json")])
    assert code == 0
    assert capsys.readouterr().out == f"{out}\n"
    text = out.read_text(encoding="utf-8")
    assert "**within the baseline**: 4 cells compared (tolerance 0)" in text


def test_names_are_escaped() -> None:
    run = results.load(FIXTURES / "gate_run.json")
    cell = run["cells"][2]
    cell["strategy"] = "a|b<script>alert(1)</script>`x`"
    cell["id"] = results.cell_id(cell["strategy"], "wait", "3.12", "asyncio")
    text = markdown.render(run)
    assert "<script>" not in text
    assert r"a\|b&lt;script&gt;alert(1)&lt;/script&gt;\`x\`" in text
    assert markdown.escape("*[x]*\\") == r"\*\[x\]\*\\"


def test_without_a_baseline_there_is_no_gate_section() -> None:
    text = markdown.render(results.load(FIXTURES / "gate_run.json"))
    assert "Gate" not in text
    assert text.count("\n| wait |") == 4


def test_an_untrustworthy_time_is_marked_with_pyperfs_remedy() -> None:
    run = results.load(FIXTURES / "gate_run.json")
    for cell in run["cells"]:
        if cell["id"] == "floor/wait/3.12/asyncio":  # median 6.720 µs, p99 9.100 µs
            cell["latency"]["p99_ns"] = 5000.0
        if cell["id"] == "pooled/wait/3.12/asyncio":
            cell["timing"]["checks"] = [
                "its 10 values spread so widely that the median is known to +-8% only"]
    text = markdown.render(run)
    assert "| wait | floor | 6.720 µs ⚠ |" in text
    assert "| wait | pooled | 7.500 µs ⚠ |" in text
    assert "| wait | future_per_call (ref) | 7.900 µs |" in text
    # One banner for the table, each mark with its reason, then what to do.
    assert ("⚠ 2 times unstable: floor/wait/3.12/asyncio (the median (6.720 µs) is above "
            "the per-op p99 (5.000 µs)); pooled/wait/3.12/asyncio (its 10 values spread so "
            "widely that the median is known to +-8% only). To steady them, measure those "
            "cells again with more processes (vts bench --full -c SCENARIO -s STRATEGY) on "
            "a machine with nothing else running; on a shared machine, compare "
            "Instructions/op instead.\n") in text
    assert text.count("⚠ 2 times unstable") == 1


@pytest.mark.parametrize(("mode", "said"), [
    ("fast", "mode fast, 2 cells at a time (timed one value at a time)"),
    ("full", "mode full, 2 cells at a time ·"),
])
def test_the_header_says_how_the_cells_were_measured_side_by_side(mode: str, said: str) -> None:
    from vts.suite.report import html

    run = results.load(FIXTURES / "gate_run.json")
    run["mode"], run["jobs"] = mode, 2
    assert said in markdown.render(run)
    assert said.removesuffix(" ·") in html.render(run)
