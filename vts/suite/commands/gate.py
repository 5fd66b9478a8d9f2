"""`vts gate RESULTS... | --measure`: allocations per op against the committed baseline.

Exit 0: within the baseline; 1: a regression (or a cell that no longer measures, or a
significant timing regression with --timing); 2: unusable input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vts.suite import results
from vts.suite.commands.bench import measure_for_gate
from vts.suite.errors import UsageError
from vts.suite.gate import DEFAULT_BASELINE, UPDATE_COMMAND, compare
from vts.suite.report.gate_text import format_text

help = "compare allocations per op with the baseline (exit 0 within, 1 regression, 2 bad input)"


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="*", type=Path, metavar="RESULTS",
                        help="results.json files to gate (merged; later cells win)")
    parser.add_argument("--measure", action="store_true",
                        help="instead of RESULTS: run a quick allocation-only measurement "
                        "first, then gate it")
    parser.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE, metavar="FILE",
                        help="the baseline results file (default %(default)s)")
    parser.add_argument("--tolerance", type=_non_negative, default=0.0, metavar="ALLOCS",
                        help="allowed increase in allocations per op (default 0: counts are "
                        "exact)")
    parser.add_argument("--timing", type=_non_negative, metavar="THRESHOLD",
                        help="also fail when the mean time per op grows by more than "
                        "THRESHOLD (relative, e.g. 0.10) and pyperf's t-test calls it "
                        "significant")
    parser.add_argument("--markdown", type=Path, metavar="FILE",
                        help="append the verdict as Markdown to FILE (e.g. "
                        "$GITHUB_STEP_SUMMARY)")


def run(args: argparse.Namespace) -> int:
    if args.measure and args.results:
        raise UsageError("give RESULTS or --measure, not both")
    if not args.measure and not args.results:
        raise UsageError("nothing to gate: give RESULTS files or --measure")
    paths: list[Path] = [measure_for_gate()] if args.measure else args.results

    baseline_path: Path = args.baseline
    if not baseline_path.is_file():
        raise UsageError(f"{baseline_path}: no such baseline file; create it with "
                         f"`{UPDATE_COMMAND}`")
    baseline = results.load(baseline_path, kind="baseline",
                            hint=f"fix it, or delete it and run `{UPDATE_COMMAND}`")
    here = Path.cwd()
    loaded = [results.rebase(results.load(p), p.parent, here) for p in paths]
    gate = compare(results.merge(loaded), baseline, args.tolerance,
                   timing_threshold=args.timing, run_dir=here,
                   baseline_dir=baseline_path.parent)

    sys.stdout.write(format_text(gate, str(baseline_path)))
    if args.markdown is not None:
        from vts.suite.report.markdown import gate_lines

        try:
            with args.markdown.open("a", encoding="utf-8") as out:
                out.write("\n".join(gate_lines(gate, str(baseline_path))) + "\n")
        except OSError as exc:
            raise UsageError(f"{args.markdown}: cannot write ({exc.strerror})") from None
    return gate.exit_code
