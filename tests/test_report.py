"""The HTML report: self-contained, escaped, every figure where it belongs."""

from __future__ import annotations

import copy
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from vts.suite import gate, results
from vts.suite.cli import main
from vts.suite.formatting import DASH, fmt_count, fmt_ns, fmt_signed
from vts.suite.report import charts, html, terminal
from vts.suite.report.views import environment_views

FIXTURES = Path(__file__).parent / "fixtures"
HOSTILE = "<script>alert(1)</script>"
ALLOWED_NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@pytest.fixture(scope="module")
def run_small() -> dict[str, Any]:
    return results.load(FIXTURES / "run_small.json")


@pytest.fixture(scope="module")
def page(run_small: dict[str, Any]) -> str:
    baseline = results.load(FIXTURES / "baseline_small.json")
    return html.render(run_small, gate=gate.compare(run_small, baseline),
                       baseline_name="baseline_small.json")


def hostile_run() -> dict[str, Any]:
    run = results.load(FIXTURES / "gate_run.json")
    cell = copy.deepcopy(run["cells"][2])
    cell["strategy"] = HOSTILE
    cell["id"] = results.cell_id(HOSTILE, "wait", "3.12", "asyncio")
    cell["memray"] = {"flamegraph": 'x" onmouseover="alert(1)'}
    cell["latency"] = run["cells"][0]["latency"]
    run["cells"].append(cell)
    run["scenarios"]["wait"]["operation"] = "<b>bold</b> & more"
    run["environments"]["3.12/asyncio"]["packages"]["evil"] = '"><img src=x onerror=alert(1)>'
    run["machine"]["hostname"] = "<i>host</i>"
    return run


# --- self-contained ------------------------------------------------------------------------

def test_no_outside_url(page: str) -> None:
    assert not re.search(r"""\b(?:src|href|action|poster)\s*=\s*["']?\s*(?:https?:)?//""", page,
                         re.I)
    assert not re.search(r"""url\(\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "@import" not in page
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    # the only absolute URLs left are the SVG and XLink namespaces, in xmlns attributes
    for match in re.finditer(r"https?://[^\s\"'<>)]+", page):
        assert match.group(0) in ALLOWED_NAMESPACES, match.group(0)
        before = page[max(0, match.start() - 20):match.start()]
        assert re.search(r'xmlns(?::xlink)?="$', before), before


def test_svg_is_inline_and_clean(page: str) -> None:
    assert page.count("<svg") == 16  # 6 scenarios + fan-out + latency, per environment
    for marker in ("<?xml", "<!DOCTYPE svg", "<metadata", "rdf:", "dc:", "cc:"):
        assert marker not in page
    ids = Counter(re.findall(r'\bid="([^"]+)"', page))
    assert [name for name, n in ids.items() if n > 1] == []
    for ref in re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', page):
        assert (ref[0] or ref[1]) in ids


def test_report_size_is_modest(page: str) -> None:
    assert len(page.encode()) < 600_000


# --- content -------------------------------------------------------------------------------

def test_tables_columns_and_environments(page: str) -> None:
    for column in ("Strategy", "Median", "MAD", "p50", "p99",
                   "Allocated/op", "Above floor", "Bytes/op", "GC/1k ops"):
        assert f"<th>{column}</th>" in page or f'<th class="l">{column}</th>' in page
    assert "<th>Instructions/op</th>" not in page  # this run counted none: no column of dashes
    assert "<th>Mean</th>" not in page  # pyperf's median, beside p50/p99 of other samples
    assert '>pyperf</th>' in page and '>per-op samples</th>' in page  # each says its source
    assert ">Ratio (median)</th>" in page  # it says which statistic it divides
    assert '<label for="tab-0" role="tab">3.11 · asyncio</label>' in page
    assert '<label for="tab-1" role="tab">3.11 · uvloop</label>' in page
    for section in ("How to read this", "Machine &amp; environments", "Fan-out scaling",
                    "Latency distributions", "Against the baseline"):
        assert section in page
    assert "profile hook that makes the interpreter materialise frame objects" in page
    assert "memray 1.20.0" in page and "Intel(R) Xeon(R) CPU @ 2.20GHz" in page


def test_failed_cell_shows_its_error(page: str) -> None:
    assert "failed: timed out after 120 s" in page
    row = re.search(r'<tr class="failed" id="manual_reset/fanout-1000/3.11/uvloop">.*?</tr>',
                    page, re.S)
    assert row is not None and "timed out after 120 s" in row.group(0)


def test_baseline_marks(page: str) -> None:
    assert "FAIL: 1 allocation regression, 1 failed cell" in page
    assert '<td class="regression">22.4 <span class="mark" title="+2 vs baseline 20.4">' in page
    assert '<td class="improvement">0 <span class="mark" title="-1 vs baseline 1">' in page
    assert "vts baseline update RESULTS" in page


def test_ratio_and_above_floor(run_small: dict[str, Any]) -> None:
    views = {v.key: v for v in environment_views(run_small)}
    wait = {t.scenario: t for t in views["3.11/asyncio"].tables}["wait"]
    rows = {r.strategy: r for r in wait.rows}
    assert [r.strategy for r in wait.rows] == [
        "floor", "future_per_call", "cached_result", "handwritten", "manual_reset", "pooled"]
    assert rows["future_per_call"].ratio == "1.00" and rows["future_per_call"].is_reference
    assert rows["pooled"].ratio == f"{6368.6 / 6521.8:.2f}"  # the medians
    assert rows["pooled"].above_floor == "+0.2"
    assert rows["floor"].above_floor == "0"
    assert rows["pooled"].p99 == fmt_ns(6392.0 * 1.9)
    fresh = {t.scenario: t for t in views["3.11/asyncio"].tables}["fresh"]
    assert {r.p99 for r in fresh.rows} == {DASH}  # a sync scenario has no latency


def test_missing_reference_or_floor_gives_dashes() -> None:
    run = results.load(FIXTURES / "gate_run.json")
    run["cells"] = [c for c in run["cells"] if c["strategy"] == "pooled"]
    (view,) = environment_views(run)
    (row,) = view.tables[0].rows
    assert (row.ratio, row.above_floor, row.allocs) == (DASH, DASH, "22.4")


def test_number_formats() -> None:
    assert [fmt_ns(v) for v in (40.0, 5702.1, 1.5e6, 2e9, None)] == [
        "40.0 ns", "5.702 µs", "1.500 ms", "2.000 s", DASH]
    assert [fmt_count(v) for v in (22.2, 1.0, 0.0, -0.0, 1024.5, 0.125, None)] == [
        "22.2", "1", "0", "0", "1,024.5", "0.12", DASH]
    assert [fmt_signed(v) for v in (2.0, -0.2, 0.0)] == ["+2", "-0.2", "0"]


# --- escaping ------------------------------------------------------------------------------

def test_hostile_names_are_escaped() -> None:
    page = html.render(hostile_run())
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page and "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt; &amp; more" in page
    assert "<i>host</i>" not in page
    assert 'onmouseover="' not in page
    # matplotlib escapes the name inside the charts' <text> as well
    assert re.search(r"<text[^>]*>&lt;script&gt;alert\(1\)&lt;/script&gt;</text>", page)


def test_dollar_signs_are_not_mathtext() -> None:
    run = results.load(FIXTURES / "gate_run.json")
    table_cells = [c for c in run["cells"] if c["scenario"] == "wait"]
    table_cells[0] = dict(table_cells[0], strategy="cost$x^2$")
    svg = charts.scenario_chart(table_cells, "future_per_call", "t")
    assert svg is not None and ">cost$x^2$</text>" in svg


# --- the command ---------------------------------------------------------------------------

def test_command_writes_next_to_results_and_rewrites_links(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "r1"
    (run_dir / "memray").mkdir(parents=True)
    shutil.copy(FIXTURES / "run_small.json", run_dir / "results.json")
    (run_dir / "memray" / "pooled__wait__3.11__asyncio.html").write_text("x", encoding="utf-8")
    assert main(["report", str(run_dir / "results.json")]) == 0
    assert capsys.readouterr().out == f"{run_dir / 'report.html'}\n"
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert '<a href="memray/pooled__wait__3.11__asyncio.html">flamegraph</a>' in page
    # elsewhere: the link is rewritten relative to the output; absent files are flagged
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    assert main(["report", str(run_dir / "results.json"), "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert '<a href="../runs/r1/memray/pooled__wait__3.11__asyncio.html">flamegraph</a>' in page
    assert ('<a href="../runs/r1/memray/handwritten__wait__3.11__asyncio.html" '
            'class="missing"') in page


def test_command_merges_several_results(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(FIXTURES / "run_small.json"), str(FIXTURES / "gate_run.json"),
                 "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "3.12 · asyncio" in page and "3.11 · uvloop" in page
    assert "ci-runner" in page and "bench-01" in page


def test_unmatched_baseline_is_explained_not_fatal(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(FIXTURES / "gate_run.json"), "-o", str(out), "--baseline",
                 str(FIXTURES / "gate_baseline_other_env.json")]) == 0
    assert ("nothing to compare: no gated cell of this run is in the baseline (this run: "
            "3.12/asyncio, 4 cell(s) not in the baseline; baseline: 3.11/uvloop)") in (
        out.read_text(encoding="utf-8"))


def test_corrupt_explicit_baseline_exits_2(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    corrupt = FIXTURES / "gate_baseline_corrupt.json"
    assert main(["report", str(FIXTURES / "gate_run.json"), "-o", str(tmp_path / "r.html"),
                 "--baseline", str(corrupt)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {corrupt}: not valid JSON (")


def test_report_refuses_to_overwrite_its_results(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    shutil.copy(FIXTURES / "run_small.json", path)
    before = path.read_bytes()
    for output in (path, tmp_path / "." / "results.json"):
        assert main(["report", str(path), "-o", str(output)]) == 2
        out, err = capsys.readouterr()
        assert (out, err) == ("", f"error: {output}: is one of the RESULTS; a report never "
                                  "replaces its results: write it elsewhere\n")
    assert path.read_bytes() == before


def test_report_refuses_to_overwrite_any_results_file(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    other = tmp_path / "baseline.json"
    shutil.copy(FIXTURES / "baseline_small.json", other)
    assert main(["report", str(FIXTURES / "run_small.json"), "-o", str(other),
                 "--format", "markdown"]) == 2
    assert capsys.readouterr().err == (f"error: {other}: holds a results file; a report never "
                                       "replaces one: write it elsewhere\n")


def test_report_into_a_read_only_directory_is_one_line(capsys: pytest.CaptureFixture[str],
                                                      read_only_dir: Path) -> None:
    output = read_only_dir / "report.html"
    assert main(["report", str(FIXTURES / "run_small.json"), "-o", str(output)]) == 2
    assert capsys.readouterr().err == f"error: {output}: cannot write (Permission denied)\n"


def test_missing_results_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["report", str(tmp_path / "nope.json")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope.json'}: no such results file\n"


# --- terminal ------------------------------------------------------------------------------

def test_terminal_summary(run_small: dict[str, Any]) -> None:
    console = Console(record=True, width=140, color_system=None)
    terminal.print_summary(run_small, console)
    text = console.export_text()
    assert "3.11/asyncio" in text and "3.11/uvloop" in text
    assert "future_per_call (ref)" in text
    assert "manual_reset/fanout-1000/3.11/uvloop: timed out after 120 s" in text


def test_terminal_does_not_interpret_markup() -> None:
    run = hostile_run()
    run["cells"][2]["strategy"] = "[bold]x[/bold]"
    console = Console(record=True, width=140, color_system=None)
    terminal.print_summary(run, console)
    assert "[bold]x[/bold]" in console.export_text()
