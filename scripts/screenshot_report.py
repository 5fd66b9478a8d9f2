#!/usr/bin/env python3
"""Screenshot a vts HTML report with headless Chromium.

    scripts/screenshot_report.py REPORT.html OUT.png [--window 1400x2000]

Uses the same helper as tests/test_browser.py (vts.suite.report.browser).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from vts.suite.report.browser import find_chromium, screenshot


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("report", type=Path, metavar="REPORT.html")
    parser.add_argument("out", type=Path, metavar="OUT.png")
    parser.add_argument("--window", default="1400x2000", help="WIDTHxHEIGHT (default %(default)s)")
    args = parser.parse_args()
    if find_chromium() is None:
        print("error: headless Chromium not found; install Debian's chromium", file=sys.stderr)
        return 2
    if not args.report.is_file():
        print(f"error: {args.report}: no such report", file=sys.stderr)
        return 2
    width, _, height = args.window.partition("x")
    result = screenshot(args.report, args.out, window=(int(width), int(height)))
    for line in result.console_errors:
        print(f"console: {line}", file=sys.stderr)
    print(args.out)
    return 1 if result.console_errors else 0


if __name__ == "__main__":
    sys.exit(main())
