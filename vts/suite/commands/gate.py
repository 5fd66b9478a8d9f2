"""`vts gate RESULTS... | --measure`: allocations per op against the committed baseline.

Exit 0: within the baseline; 1: a regression (or a cell that no longer measures, or a
significant timing regression with --timing); 2: unusable input. A cell that regressed on
allocations also gets its top allocation sites, now and at the baseline's commit
(`vts.suite.gate_sites`; `--no-sites` leaves them out).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from vts.suite import builds, results
from vts.suite.environments import current_version
from vts.suite.errors import UsageError
from vts.suite.gate import (
    DEFAULT_BASELINE,
    DEFAULT_INSTRUCTION_THRESHOLD,
    UPDATE_COMMAND,
    AllocDiff,
    UnrecordedBuild,
    compare,
    record_commands,
    recorded_builds,
    unrecorded,
)
from vts.suite.gate_sites import CellSites, regressed_sites
from vts.suite.measure import valgrind
from vts.suite.measure.session import BenchOptions, Measured, gate_options, measure_slice
from vts.suite.report.gate_text import format_text
from vts.suite.selection import Slice, names

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
    parser.add_argument("--count-instructions", action="store_true",
                        help="with --measure: also count instructions per op under valgrind "
                        "(5-25 s per cell) and gate them")
    parser.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE, metavar="FILE",
                        help="the baseline results file (default %(default)s)")
    parser.add_argument("--tolerance", type=_non_negative, default=0.0, metavar="ALLOCS",
                        help="allowed increase in allocations per op (default 0: counts are "
                        "exact)")
    parser.add_argument("--timing", type=_non_negative, metavar="THRESHOLD",
                        help="also fail when the mean time per op grows by more than "
                        "THRESHOLD (relative, e.g. 0.10) and pyperf's t-test calls it "
                        "significant")
    parser.add_argument("--instructions", type=_non_negative,
                        default=DEFAULT_INSTRUCTION_THRESHOLD, metavar="THRESHOLD",
                        help="fail when instructions per op grow by more than THRESHOLD "
                        "(relative; default %(default)s, from the measured spread)")
    parser.add_argument("-s", "--strategy", action="append", metavar="NAME",
                        help="with --measure: only these strategies (default: all)")
    parser.add_argument("-c", "--scenario", action="append", metavar="NAME",
                        help="with --measure: only these gated scenarios (default: all)")
    parser.add_argument("-l", "--loop", action="append", metavar="NAME",
                        help="with --measure: only these loops (default: both)")
    parser.add_argument("--no-sites", action="store_true",
                        help="do not list where regressed cells allocate (by default their "
                        "top sites now and at the baseline's commit, measured for failing "
                        "cells only)")
    parser.add_argument("--markdown", type=Path, metavar="FILE",
                        help="append the verdict as Markdown to FILE (e.g. "
                        "$GITHUB_STEP_SUMMARY)")


def run(args: argparse.Namespace) -> int:
    if args.measure and args.results:
        raise UsageError("give RESULTS or --measure, not both")
    if not args.measure and (args.strategy or args.scenario or args.loop):
        raise UsageError("-s/-c/-l choose what --measure measures; without it, gate RESULTS "
                         "as they are")
    if not args.measure and not args.results:
        raise UsageError("nothing to gate: give RESULTS files or --measure")
    # Every input is checked before anything is measured (a quick run takes minutes).
    baseline_path: Path = args.baseline
    baseline = _load_baseline(baseline_path)
    if args.markdown is not None and not args.markdown.parent.is_dir():
        raise UsageError(f"{args.markdown.parent}: no such directory for --markdown")
    here = Path.cwd()
    if args.measure:
        _check_covers_this_interpreter(baseline, baseline_path)
        if args.count_instructions and valgrind.unavailable():
            raise UsageError(f"--count-instructions: {valgrind.unavailable()}")
        chosen = Slice(names(args.strategy, "-s/--strategy"),
                       names(args.scenario, "-c/--scenario"), names(args.loop, "-l/--loop"))
        measured = measure_for_gate(gate_options(args.count_instructions, chosen))
        runs = [(measured.path, measured.run)]
    else:
        runs = [(path, results.load(path)) for path in args.results]
    loaded = [results.rebase(run_, path.parent, here) for path, run_ in runs]
    gate = compare(results.merge_figures(loaded).run, baseline, args.tolerance,
                   timing_threshold=args.timing, instruction_threshold=args.instructions,
                   run_dir=here, baseline_dir=baseline_path.parent,
                   baseline_path=baseline_path)
    if gate.regressions and not args.no_sites:  # for failing cells only
        gate.sites = regressed_sites_of(gate.regressions, baseline_path)
    missing = valgrind.unavailable()
    if not gate.instructions and missing:
        gate.instructions_note = missing
    elif not gate.instructions and args.measure and not args.count_instructions:
        gate.instructions_note = ("this run counted none: add --count-instructions to count "
                                  "them")

    sys.stdout.write(format_text(gate, str(baseline_path)))
    if args.markdown is not None:
        from vts.suite.report.markdown import gate_lines

        try:
            with args.markdown.open("a", encoding="utf-8") as out:
                out.write("\n".join(gate_lines(gate, str(baseline_path))) + "\n")
        except OSError as exc:
            raise UsageError(f"{args.markdown}: cannot write ({exc.strerror})") from None
    return gate.exit_code


def regressed_sites_of(regressions: list[AllocDiff], baseline: Path) -> list[CellSites]:
    """Where the regressed cells allocate, now and at the baseline's commit; progress on
    stderr."""
    print(f"gate: finding where {len(regressions)} regressed cell(s) allocate, now and at "
          "the baseline's commit", file=sys.stderr, flush=True)
    return regressed_sites([diff.cell_id for diff in regressions], baseline)


def measure_for_gate(options: BenchOptions) -> Measured:
    """The gate's quick run, its progress on stderr (stdout carries the verdict)."""
    return measure_slice(options, Console(stderr=True))


def _load_baseline(path: Path) -> results.Run:
    """The baseline, loaded (its figures checked by the schema), or a one-line UsageError."""
    if not path.is_file():
        raise UsageError(f"{path}: no such baseline file; record one with "
                         f"{record_commands(path)}")
    hint = f"fix it, or delete it and run `{UPDATE_COMMAND}`"
    return results.load(path, kind="baseline", hint=hint)


def _check_covers_this_interpreter(baseline: results.Run, path: Path) -> None:
    """--measure measures this interpreter only: the baseline must hold its build."""
    build = builds.describe()["key"]
    if build not in recorded_builds(baseline):
        raise UnrecordedBuild(unrecorded({build: current_version()}, baseline, path))
