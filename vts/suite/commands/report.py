"""`vts report RESULTS...`: one self-contained HTML page (or Markdown) from results files."""

from __future__ import annotations

import argparse
from pathlib import Path

from vts.suite import results
from vts.suite.gate import DEFAULT_BASELINE
from vts.suite.report.write import write_report

help = "write a self-contained HTML report (or Markdown) from one or more results files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", type=Path, metavar="RESULTS",
                        help="results.json files; several are merged (later cells win)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="where to write (HTML: default report.html next to the first "
                        "RESULTS; Markdown: default stdout)")
    parser.add_argument("--baseline", type=Path, metavar="FILE",
                        help=f"baseline to diff against (default {DEFAULT_BASELINE}, "
                        "when it exists)")
    parser.add_argument("--format", choices=("html", "markdown"), default="html")


def run(args: argparse.Namespace) -> int:
    loaded = [(path, results.load(path)) for path in args.results]
    written = write_report(loaded, args.output, args.format, args.baseline)
    if written is not None:
        print(written)
    return 0
