"""Headless Chromium for the report's browser test and screenshots.

Chromium runs with networking features off, no host name resolving and a throwaway
profile; `--enable-logging` puts the page's console messages on stderr, where
`console_errors` finds them. A tricky
interface with no guard rails: Chromium's flags change between versions; these work with
Debian's chromium package.
"""

from __future__ import annotations

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
