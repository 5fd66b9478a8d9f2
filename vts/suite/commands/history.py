"""`vts history [PATTERN] [--since REV] [--measure A..B] [RESULTS...]`: each cell's figures
commit by commit, from the baseline's git history and any results files, with its steps.

Prints a compact view and writes a self-contained HTML page (default
reports/runs/history.html, which the runs' reports link to); `--format markdown` writes
Markdown instead (stdout, or -o). Unusable input (a pattern matching nothing, a bad
revision, not a git checkout, a corrupt results file) is one `error:` line, exit 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from vts.suite import atomic
from vts.suite.errors import UsageError
from vts.suite.formatting import fmt_path
from vts.suite.gate import DEFAULT_BASELINE
from vts.suite.history.git import Repository
from vts.suite.history.series import CellPattern, Snapshot, build_series
from vts.suite.history.sources import Timeline, baseline_snapshots, results_snapshot
from vts.suite.history.steps import QUANTITIES
from vts.suite.measure.session import RUNS
from vts.suite.report import write
from vts.suite.report.history_text import markdown, print_history
from vts.suite.report.history_view import history_view

help = "each cell's allocations, instructions and times commit by commit, and their steps"

HISTORY_PAGE = RUNS / write.HISTORY_PAGE  # beside the runs, whose reports link to it


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pattern", nargs="?", default="*", metavar="PATTERN",
                        help="cells as a glob over strategy/scenario/python/loop, part by "
                        "part ('pooled*/wait/3.11/*'; '[' is literal; default: every cell)")
    parser.add_argument("results", nargs="*", type=Path, metavar="RESULTS",
                        help="results.json files to add, each at its run's commit")
    parser.add_argument("--since", metavar="REV",
                        help="start at REV (the baseline as it was there), not the first "
                        "commit")
    parser.add_argument("--measure", metavar="A..B",
                        help="also measure the matching cells at commits of A..B (first "
                        "parents, A included): A and B, then the middle of any two whose "
                        "counts differ, until each step lies between neighbours; cached "
                        "per commit and build, so the next call is instant")
    parser.add_argument("--every", action="store_true",
                        help="with --measure: measure every commit of the range")
    parser.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE, metavar="FILE",
                        help="the baseline whose git history is read (default %(default)s)")
    parser.add_argument("--format", choices=("html", "markdown"), default="html",
                        help="html (default): print the view and write the page; markdown: "
                        "write Markdown only")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help=f"where to write (HTML: default {HISTORY_PAGE}; Markdown: "
                        "default stdout)")


def run(args: argparse.Namespace) -> int:
    pattern_text, paths = args.pattern, list(args.results)
    if Path(pattern_text).is_file():  # `vts history results.json`: no pattern given
        pattern_text, paths = "*", [Path(pattern_text), *paths]
    pattern = CellPattern(pattern_text)
    if args.every and not args.measure:
        raise UsageError("--every goes with --measure A..B (it measures every commit of it)")
    if args.output is not None and not args.output.parent.is_dir():
        raise UsageError(f"{args.output.parent}: no such directory for the history")
    repo = Repository.of(args.baseline.absolute())
    order = repo.order()
    since = repo.resolve(args.since, "--since") if args.since else None
    if since is not None and since not in order:
        raise UsageError(f"--since: {args.since!r} is not in the history of HEAD")
    timeline = Timeline(repo, order, since)

    snapshots, notes = baseline_snapshots(timeline, args.baseline)
    snapshots += [s for p in paths if (s := results_snapshot(timeline, p)) is not None]
    if args.measure:
        from vts.suite.history.measured import measured_snapshots

        found, skipped = measured_snapshots(timeline, args.measure, pattern, snapshots,
                                            every=args.every)
        snapshots += found
        notes += skipped
    if not snapshots:
        raise UsageError(f"{fmt_path(args.baseline)} has no history in {repo.root.name}"
                         + (f" since {args.since}" if since else "")
                         + " and no RESULTS were given: nothing to show")
    series = build_series(snapshots, pattern, QUANTITIES)
    if not series:
        raise UsageError(f"no cell matches {pattern.text!r} (cells are strategy/scenario/"
                         f"python/loop, e.g. {_example(snapshots)!r})")
    stops = sorted((s.stop for s in snapshots), key=lambda stop: stop.order)
    view = history_view(pattern.text, series, QUANTITIES, stops, notes)

    if args.format == "markdown":
        text = markdown(view)
        if args.output is None:
            print(text, end="")
        else:
            atomic.write_text(args.output, text)
        return 0
    from vts.suite.report.history_html import render

    output = args.output or HISTORY_PAGE
    output.parent.mkdir(parents=True, exist_ok=True)  # the default's reports/runs
    console = Console()
    print_history(view, console)
    atomic.write_text(output, render(view))
    console.print(fmt_path(output), highlight=False)
    return 0


def _example(snapshots: list[Snapshot]) -> str:
    return next((cell["id"] for s in snapshots for cell in s.cells),
                "pooled/wait/3.11/asyncio")
