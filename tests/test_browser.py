"""The HTML report in a real browser: it loads offline, with no console errors, and draws.

Needs headless Chromium (Debian: `apt-get install chromium`); skipped where it is missing.
"""

from __future__ import annotations

import copy
import struct
from pathlib import Path

import pytest

from vts.suite import atomic, gate, results
from vts.suite.report import html
from vts.suite.report.browser import element_box, find_chromium, run_page, screenshot
from vts.suite.report.verdict import USE_CASES

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).parent / "fixtures"
# The lowest the verdict may end: 40 px above the 900 px screen's edge, so a slightly longer
# pick or one more strategy still fits.
VERDICT_BOTTOM = 860


def _small_report(path: Path) -> None:
    """run_small.json (loop scenarios only), with a hostile strategy name, against a
    baseline it differs from."""
    run = results.load(FIXTURES / "run_small.json")
    hostile = copy.deepcopy(run["cells"][7])
    hostile["strategy"] = "<script>alert(1)</script>"
    hostile["id"] = results.cell_id(hostile["strategy"], hostile["scenario"], "3.11", "asyncio")
    run["cells"].append(hostile)
    baseline = results.load(FIXTURES / "baseline_small.json")
    atomic.write_text(path, html.render(run, gate=gate.compare(run, baseline),
                                        baseline_name="baseline_small.json"))


def _full_report(path: Path) -> None:
    """run_full.json (a whole `make bench`: loop, channel, socket and stdlib scenarios),
    against itself as the baseline, as `make bench` renders it."""
    run = results.load(FIXTURES / "run_full.json")
    atomic.write_text(path, html.render(run, gate=gate.compare(run, run),
                                        baseline_name="reports/baseline.json"))


@pytest.fixture(scope="module")
def browser_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if find_chromium() is None:
        pytest.skip("headless Chromium not found; install Debian's chromium to run this test")
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="module")
def report(browser_dir: Path) -> Path:
    path = browser_dir / "small.html"
    _small_report(path)
    return path


@pytest.fixture(scope="module")
def full_report(browser_dir: Path) -> Path:
    path = browser_dir / "full.html"
    _full_report(path)
    return path


def test_page_loads_without_console_errors(report: Path) -> None:
    page = run_page(report, dump_dom=True)
    assert page.returncode == 0, page.stderr[-2000:]
    assert page.console_errors == []
    dom = page.stdout
    assert "<table>" in dom and "Allocated/op" in dom
    assert dom.count("<svg") == 16
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "<script" not in dom.lower()  # the hostile name stayed text


def test_console_errors_are_detected(report: Path, tmp_path: Path) -> None:
    """The check above would pass vacuously if the helper missed console output."""
    bad = tmp_path / "bad.html"
    bad.write_text("<p>x</p><script>console.error('boom'); missing();</script>",
                   encoding="utf-8")
    errors = run_page(bad, dump_dom=True).console_errors
    assert any('"boom"' in line for line in errors)
    assert any("Uncaught ReferenceError: missing is not defined" in line for line in errors)


def test_screenshot_is_a_real_picture(report: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    result = screenshot(report, png, window=(1400, 2000))
    assert result.console_errors == []
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1400, 2000)
    assert len(data) > 50_000  # text, tables and charts, not a blank page


@pytest.mark.parametrize("tab", [0, 1])
@pytest.mark.parametrize("fixture", ["report", "full_report"])
def test_the_verdict_is_on_the_first_screen_of_each_tab(
        fixture: str, tab: int, request: pytest.FixtureRequest) -> None:
    """At 1400x900 the verdict of each interpreter-and-loop tab is whole on the first screen,
    with room to spare (a longer pick or one more strategy still fits): for the small run
    and for a whole `make bench` with its three matrices."""
    page = request.getfixturevalue(fixture)
    box = element_box(page, f"#verdict-{tab}", tab=f"tab-{tab}", window=(1400, 900))
    assert box is not None
    assert box.viewport[0] == 1400  # laid out at the screen's width
    assert box.bottom - box.top > 200  # the picks and the matrix, not an empty heading
    assert box.inside(1400, VERDICT_BOTTOM), box


def test_the_full_verdict_says_everything(full_report: Path) -> None:
    """The full run's verdict keeps its three matrices, a pick per use case, the stdlib line
    and what is not in this run with the flags that measure it; the whole command, with the
    cells it selects, is in the paragraph the line links to."""
    page = run_page(full_report, dump_dom=True)
    assert page.returncode == 0, page.stderr[-2000:]
    assert page.console_errors == []
    start = page.stdout.index('id="verdict-0"')
    found = page.stdout[start:page.stdout.index("</section>", start)]
    for reference in ("future_per_call", "asyncio_queue", "sock_recv_into"):
        assert f">vs {reference}</th>" in found
    assert found.count("<li") == len(USE_CASES) + 1
    assert '<li class="stdlib">The standard library (stdlib-ready, stdlib-suspend)' in found
    assert ("Not in this run: instructions of fanout-1000, thread, socket-ready-4k, "
            "channel-pingpong, channel-burst; measure with vts bench --allocs-only "
            '--instructions (<a href="#missing-0">the whole command</a>).') in found
    start = page.stdout.index('id="missing-0"')
    assert ("-c fanout-1000,thread,socket-ready-4k,channel-pingpong,channel-burst -p 3.11 "
            "-l asyncio</code></p>") in page.stdout[start:start + 1000]


def test_the_box_check_can_fail(report: Path) -> None:
    """The check above would pass vacuously if the box were not measured where it is."""
    box = element_box(report, "#machine", window=(1400, 900))
    assert box is not None and not box.inside(1400, 900)  # the last section is far below
    assert element_box(report, "#no-such-element") is None
