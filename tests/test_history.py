"""`vts history` on a real git repository: this one, cloned, with commits added that move
one cell of reports/baseline.json; and the step rules, the pattern and `--measure`'s
refinement on their own."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vts.suite import cli
from vts.suite.history.git import Commit
from vts.suite.history.measured import refine
from vts.suite.history.series import CellPattern, Point, Series, make_stop
from vts.suite.history.steps import QUANTITIES, changes
from vts.suite.records import Cell
from vts.suite.report.write import history_link

ROOT = Path(__file__).resolve().parent.parent
CELL = "pooled/wait/3.11/asyncio"
PLUS_ONE = "test: pooled wait allocates one more (a planted allocation)"
DRIFT = "test: instructions drift by 1%, as runs do"
JUMP = "test: instructions grow by 10%"


def _git(where: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=where, capture_output=True, text=True,
                          check=True).stdout


def _shallow() -> bool:
    return _git(ROOT, "rev-parse", "--is-shallow-repository").strip() == "true"


def _commit_baseline(clone: Path, subject: str, change: Callable[[Any], None]) -> str:
    path = clone / "reports" / "baseline.json"
    run = json.loads(path.read_text(encoding="utf-8"))
    for cell in run["cells"]:
        if cell["id"] == CELL:
            change(cell)
    path.write_text(json.dumps(run, indent=1) + "\n", encoding="utf-8")
    _git(clone, "commit", "-q", "-am", subject)
    return _git(clone, "rev-parse", "--short", "HEAD").strip()


def _plus_one(cell: Any) -> None:
    cell["allocs"]["allocs_per_op"] += 1
    cell["allocs"]["bytes_per_op"] += 64


def _instructions(factor: float) -> Callable[[Any], None]:
    def change(cell: Any) -> None:
        cell["instructions"]["instructions_per_op"] *= factor
    return change


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """This repository cloned, plus three commits: the planted allocation, a drift of
    instructions within the threshold, then a jump beyond it."""
    if _shallow():
        pytest.skip("a shallow clone has no baseline history (fetch with --unshallow)")
    where = tmp_path_factory.mktemp("history") / "repo"
    _git(ROOT, "clone", "-q", "--shared", str(ROOT), str(where))
    _git(where, "config", "user.email", "test@example.com")
    _git(where, "config", "user.name", "vts test")
    planted = _commit_baseline(where, PLUS_ONE, _plus_one)
    drift = _commit_baseline(where, DRIFT, _instructions(1.01))
    jump = _commit_baseline(where, JUMP, _instructions(1.10))
    return {"path": where, "planted": planted, "drift": drift, "jump": jump}


def _vts(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    # The installed command, not `python -m vts`: that would import the clone's own vts.
    command = Path(sys.executable).with_name("vts")
    return subprocess.run([str(command), "history", *args], cwd=where,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_terminal_names_the_planted_step(clone: dict[str, object]) -> None:
    where = clone["path"]
    assert isinstance(where, Path)
    done = _vts(where, CELL, "-o", "history.html")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    planted = next(line for line in lines if line.startswith(str(clone["planted"])))
    assert "29.2 (+1)" in planted and "1,775 B (+64)" in planted and PLUS_ONE in planted
    assert not any(line.startswith(str(clone["drift"])) for line in lines)  # within 5%
    jump = next(line for line in lines if line.startswith(str(clone["jump"])))
    assert "83,812 (+11.1%*)" in jump and JUMP in jump  # over the level; the last point
    assert (where / "history.html").is_file()
    assert lines[-1] == "history.html"


def test_markdown_has_full_subjects(clone: dict[str, object]) -> None:
    where = clone["path"]
    assert isinstance(where, Path)
    done = _vts(where, "pooled*/wait/3.11/*", "--format", "markdown")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert f"| {clone['planted']} | **29.2 (+1)** | **1,775 B (+64)** | 75,439 | {PLUS_ONE} |" \
        in text
    assert text.count(PLUS_ONE) == 1
    # The repository's own recorded steps: pooled 30.2 -> 28.2, pooled[c] arriving.
    subject = ("baseline: re-recorded after issues 9, 11 and 12 (allocations on 3.10-3.13, "
               "instructions on 3.11)")
    assert f"| 6614f23 | **28.2 (-2)** | **1,711 B (-80)** | **75,592 (new)** | {subject} |" \
        in text
    assert f"| 6614f23 (new cell) | 21.2 | {subject} |" in text
    assert "left out" not in text  # every schema version of the baseline loaded


def test_since_starts_at_the_revision(clone: dict[str, object]) -> None:
    where = clone["path"]
    assert isinstance(where, Path)
    done = _vts(where, CELL, "--since", str(clone["planted"]), "--format", "markdown")
    assert done.returncode == 0, done.stderr
    assert f"| {clone['planted']} | 29.2 | 75,439 | {PLUS_ONE} |" in done.stdout  # the start
    assert "28.2" not in done.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["nothing/like/this"], "error: no cell matches 'nothing/like/this' (cells are "
     "strategy/scenario/python/loop, e.g. 'floor/fresh/3.10/asyncio')"),
    (["a/b/c/d/e"], "error: pattern 'a/b/c/d/e': give up to four non-empty parts, "
     "strategy/scenario/python/loop (e.g. 'pooled*/wait/3.11/*')"),
    ([CELL, "--since", "no-such-rev"], "error: --since: 'no-such-rev' is not a commit of "
     "repo (give a hash, a branch or a tag)"),
    ([CELL, "--measure", "HEAD"], "error: --measure: 'HEAD' is not a range A..B (e.g. "
     "4addf5a..HEAD)"),
    ([CELL, "--every"], "error: --every goes with --measure A..B (it measures every commit "
     "of it)"),
])
def test_bad_input_is_one_line(clone: dict[str, object], args: list[str],
                               message: str) -> None:
    where = clone["path"]
    assert isinstance(where, Path)
    done = _vts(where, *args)
    assert (done.returncode, done.stderr, done.stdout) == (2, message + "\n", "")


def test_outside_a_checkout_and_a_corrupt_results_file(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    done = _vts(tmp_path)
    assert (done.returncode, done.stderr) == (
        2, "error: reports: not a git checkout; vts history reads the baseline's history "
        "from git\n")
    corrupt = tmp_path / "results.json"
    corrupt.write_text("{", encoding="utf-8")
    done = _vts(ROOT, "*", str(corrupt))
    assert done.returncode == 2
    assert done.stderr == (f"error: {corrupt}: not valid JSON (Expecting property name "
                           "enclosed in double quotes at line 1 column 2)\n")


def test_the_page_opens(clone: dict[str, object]) -> None:
    from vts.suite.report.browser import find_chromium, run_page

    if find_chromium() is None:
        pytest.skip("headless Chromium not found; install Debian's chromium to run this test")
    where = clone["path"]
    assert isinstance(where, Path)
    assert _vts(where, "pooled*/wait/3.11/*", "-o", "page.html").returncode == 0
    page = run_page(where / "page.html", dump_dom=True)
    assert page.returncode == 0 and page.console_errors == []
    assert page.stdout.count("<svg") == 4  # a chart per series that changed
    assert PLUS_ONE in page.stdout and "pooled[c]/wait/3.11/asyncio" in page.stdout


def test_a_report_links_the_history_beside_the_runs(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "20261206T000000-abcd"
    run_dir.mkdir(parents=True)
    assert history_link(run_dir / "report.html") is None
    (tmp_path / "runs" / "history.html").write_text("", encoding="utf-8")
    assert history_link(run_dir / "report.html") == "../history.html"


def test_the_pattern_takes_brackets_literally() -> None:
    pattern = CellPattern("pooled[c]/wait")
    assert pattern.matches("pooled[c]/wait/3.11/uvloop")
    assert not pattern.matches("pooledc/wait/3.11/uvloop")
    assert not pattern.matches("pooled[c]/wait-timeout/3.11/uvloop")
    assert CellPattern("pooled*/*/3.1?").matches("pooled[c]/fresh/3.12/asyncio")


def _series(name: str, values: list[float]) -> tuple[Series, list[Point]]:
    order = {f"{i:040x}": i for i in range(len(values))}
    points = [Point(make_stop(Commit(f"{i:040x}", f"c{i}", f"subject {i}", ""), "baseline",
                              order), {name: v} if not math.isnan(v) else {}, {name: 0.0})
              for i, v in enumerate(values)]
    return Series(CELL, None, points), points


def test_instruction_steps_last_and_excursions_do_not() -> None:
    series, points = _series("instructions", [100, 102, 120, 101, 99, 120, 121, 120, 140])
    found = changes(series, QUANTITIES, points[0].stop)
    assert [(points.index(c.point), c.before, c.after, c.confirmed) for c in found] == [
        (5, 100.5, 120.0, True), (8, 120.0, 140.0, False)]


def test_counts_step_at_any_change_and_cells_come_and_go() -> None:
    series, points = _series("allocs", [22.2, 22.2, 23.2, math.nan, 23.2])
    found = changes(series, QUANTITIES, points[0].stop)
    assert [(points.index(c.point), c.kind, c.before, c.after) for c in found] == [
        (2, "step", 22.2, 23.2), (3, "gone", 23.2, None), (4, "new", None, 23.2)]


def test_refine_measures_about_log2_commits() -> None:
    commits = [Commit(f"{i:040x}", f"c{i}", "", "") for i in range(100)]
    measured: list[int] = []

    def measure(commit: Commit) -> list[Cell] | None:
        index = commits.index(commit)
        measured.append(index)
        if index == 50:
            return None  # does not build: skipped, and its neighbour is tried
        allocs = 22.2 + (index >= 37) + (index >= 81)
        return [{"id": CELL, "strategy": "pooled", "scenario": "wait", "python": "3.11",
                 "loop": "asyncio", "status": "ok",
                 "allocs": {"allocs_per_op": allocs, "ops": [10_000, 20_000]}}]

    taken = refine(commits, measure)
    assert {36, 37, 80, 81} <= set(taken)
    assert len(measured) == len(set(measured)) <= 2 * (math.ceil(math.log2(100)) + 1) + 2


def test_measure_fills_in_the_commits_between(clone: dict[str, object],
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """--measure's wiring, with a stand-in for the worktree machinery (which builds each
    commit: tests/test_commits.py holds it): the step lands on the measured commit."""
    from vts.suite.commits import measure

    where = clone["path"]
    assert isinstance(where, Path)
    planted = _git(where, "rev-parse", str(clone["planted"])).strip()
    after = set(_git(where, "rev-list", f"{planted}~1..HEAD").split())
    asked: list[str] = []

    def stand_in(repo: Path, commit: str, cells: list[str], **_: object) -> object:
        asked.append(commit)
        figures = measure.CellFigures(29.2 if commit in after else 28.2, 1711.0, 0.0,
                                      (10_000, 20_000))
        return measure.CommitFigures(commit, {cell: figures for cell in cells}, None, 0.0)

    monkeypatch.setattr(measure, "measure_commit", stand_in)
    monkeypatch.setattr(measure, "build_key", lambda version: "cpython-3.11.7-gcc-12.2.0")
    monkeypatch.chdir(where)
    # No baseline history: the measured commits alone, the cell named in full.
    assert cli.main(["history", CELL, "--measure", "HEAD~12..HEAD", "--baseline",
                     "elsewhere.json", "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    assert f"| {clone['planted']} | **29.2 (+1)** | {PLUS_ONE} |" in text
    assert len(asked) <= 2 + math.ceil(math.log2(12))  # the ends, then halving 12 gaps
    refined = len(asked)
    assert cli.main(["history", CELL, "--measure", "HEAD~12..HEAD", "--every", "--baseline",
                     "elsewhere.json", "--format", "markdown"]) == 0
    assert len(asked) - refined == 13


def test_the_report_page_carries_the_link() -> None:
    from vts.suite import results
    from vts.suite.report import html

    run = results.load(Path(__file__).parent / "fixtures" / "run_small.json")
    assert '<a href="../history.html">History</a>' in html.render(run,
                                                                   history="../history.html")
    assert ">History</a>" not in html.render(run)


def test_a_results_file_sits_at_its_commit(clone: dict[str, object], tmp_path: Path) -> None:
    where = clone["path"]
    assert isinstance(where, Path)
    run = json.loads((Path(__file__).parent / "fixtures" / "run_small.json").read_text(
        encoding="utf-8"))
    run["machine"].update(git_commit=_git(where, "rev-parse", str(clone["planted"])).strip(),
                          git_dirty=True)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(run), encoding="utf-8")
    done = _vts(where, CELL, str(path), "--format", "markdown")
    assert done.returncode == 0, done.stderr
    versions = len(_git(where, "log", "--follow", "--format=%H", "--",
                        "reports/baseline.json").split())  # this repository's, and 3 added
    assert f"From {versions} baseline versions, 1 results file." in done.stdout
    row = next(line for line in done.stdout.splitlines() if "run 20261124T113400-3f2a" in line)
    assert row.startswith(f"| {clone['planted']} | run 20261124T113400-3f2a | **22.4 (-6.8)** |")
    assert row.endswith(f"| {PLUS_ONE} (dirty tree) |")
