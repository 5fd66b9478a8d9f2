"""Headless Chromium for the report's browser test and screenshots.

Chromium runs with networking features off, no host name resolving and a throwaway
profile; `--enable-logging` puts the page's console messages on stderr, where
`console_errors` finds them. A tricky
interface with no guard rails: Chromium's flags change between versions; these work with
Debian's chromium package.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
         # no name resolves: a page that reaches for the network cannot get it
         "--host-resolver-rules=MAP * ~NOTFOUND")
# Console lines are "...:INFO:CONSOLE:1] ..." (newer) or "...:CONSOLE(1)] ..." (older).
_ERROR_LINE = re.compile(r":CONSOLE[(:]|Uncaught|Failed to load resource|net::ERR_")


# Appended to a copy of the page by `element_box`: selects a tab, then writes the element's
# box and the viewport's size where --dump-dom shows them.
_MEASURE = """<script>(function () {
  var tab = document.getElementById(%(tab)s); if (tab) { tab.checked = true; }
  var found = document.querySelector(%(selector)s), box = found && found.getBoundingClientRect();
  document.documentElement.setAttribute("data-vts-box", JSON.stringify({
    box: box ? [box.left, box.top, box.right, box.bottom] : null,
    viewport: [window.innerWidth, window.innerHeight]}));
})();</script>"""
_BOX = re.compile(r'data-vts-box="([^"]*)"')


@dataclass(frozen=True)
class Box:
    """An element's bounding box in CSS pixels from the top left of the page as laid out,
    and the viewport Chromium gave it. With --dump-dom the viewport's height is the window's
    less Chromium's own bars; the layout depends on the width only (the report uses no
    viewport heights), so a box is checked against the screen it should fit (`inside`)."""

    left: float
    top: float
    right: float
    bottom: float
    viewport: tuple[int, int]

    def inside(self, width: int, height: int) -> bool:
        """Whether the whole box lies within the first `width` x `height` screen."""
        return 0 <= self.left <= self.right <= width and 0 <= self.top <= self.bottom <= height


@dataclass(frozen=True)
class PageRun:
    """What one headless Chromium run of a page left behind."""

    returncode: int
    stdout: str  # the DOM with `dump_dom`
    stderr: str

    @property
    def console_errors(self) -> list[str]:
        """Console messages, uncaught exceptions and failed loads logged for the page."""
        return [line for line in self.stderr.splitlines() if _ERROR_LINE.search(line)]


def find_chromium() -> str | None:
    """The path of a Chromium binary, or None."""
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def run_page(page: Path, *, dump_dom: bool = False, screenshot: Path | None = None,
             window: tuple[int, int] = (1400, 2000), timeout: float = 120.0) -> PageRun:
    """Load `page` (a local file) once; dump its DOM and/or screenshot it."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("headless Chromium not found; install Debian's chromium")
    with tempfile.TemporaryDirectory(prefix="vts-chromium-") as profile:
        args = [chromium, *FLAGS, f"--user-data-dir={profile}",
                f"--window-size={window[0]},{window[1]}"]
        if dump_dom:
            args.append("--dump-dom")
        if screenshot is not None:
            args.append(f"--screenshot={screenshot.resolve()}")
        args.append(page.resolve().as_uri())
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                              check=False)
    return PageRun(done.returncode, done.stdout, done.stderr)


def screenshot(page: Path, out: Path, window: tuple[int, int] = (1400, 2000)) -> PageRun:
    """Save a PNG of `page` at `window` size; raise RuntimeError if none was written."""
    if out.exists():
        out.unlink()
    result = run_page(page, screenshot=out, window=window)
    if not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no screenshot (exit {result.returncode}): "
                           f"{result.stderr.strip().splitlines()[-1:] or ''}")
    return result


def element_box(page: Path, selector: str, *, tab: str | None = None,
                window: tuple[int, int] = (1400, 900)) -> Box | None:
    """The bounding box of the first element matching `selector` once `page` is laid out
    in a `window`-sized viewport, with the radio button `tab` (an id) checked first; None
    where nothing matches. The page itself has no script: a copy beside it gets one."""
    measure = _MEASURE % {"tab": json.dumps(tab), "selector": json.dumps(selector)}
    with tempfile.TemporaryDirectory(prefix="vts-box-", dir=page.parent) as work:
        copy = Path(work) / page.name
        copy.write_text(page.read_text(encoding="utf-8").replace("</body>", measure + "</body>"),
                        encoding="utf-8")
        result = run_page(copy, dump_dom=True, window=window)
    found = _BOX.search(result.stdout)
    if found is None:
        raise RuntimeError(f"chromium did not run the measuring script (exit "
                           f"{result.returncode})")
    data = json.loads(found.group(1).replace("&quot;", '"'))
    if data["box"] is None:
        return None
    left, top, right, bottom = (float(v) for v in data["box"])
    width, height = (int(v) for v in data["viewport"])
    return Box(left, top, right, bottom, viewport=(width, height))
