"""Timing judged: whether pyperf's own t-test calls a difference of two cells' times
significant (the gate against the baseline, the report's Ratio against the reference), and
whether one cell's time is stable enough to read (`unstable_checks`).

Timing is machine-bound and noisy, so the gate reports it and gates it only when asked,
and only where this test says significant (`vts.suite.gate`, Rule 3). The test reads both
pyperf files; a missing or unreadable one leaves the change untested (None), never wrong.

Stability: pyperf's checks (`pyperf check`), except "Not enough samples", which asks for
the 95% confidence interval of the mean within +-0.5%: `Benchmark.required_nprocesses` is
4 * 1.96**2 * s**2 / 0.01**2 processes for a spread s of the per-process means, so 3
processes (the fast mode) pass only when s <= 0.44%, which a shared VM never gives (7-30%
measured at load 5-10). In its place the same calculation, solved for the width: a mean
known to worse than +-PRECISION_LIMIT is marked, with that width, so the mark says how far
to trust the mean and the reader can compare it with the differences they care about.
"""

from __future__ import annotations

import math
import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vts.suite.records import Cell, Timing, figure

PRECISION_LIMIT = 0.05  # a mean known to worse than +-5% (95% confidence) is marked
Z_95 = 1.96  # pyperf's: two-sided 95% of the normal distribution
_NOT_ENOUGH = "Not enough samples"  # the start of pyperf's sample-size check


@dataclass(frozen=True)
class TimingDiff:
    """One cell's mean time per op; `significant` is None where it could not be tested."""

    cell_id: str
    baseline_ns: float
    now_ns: float
    significant: bool | None

    @property
    def change(self) -> float:
        """Relative change of the mean: +0.10 is 10% slower."""
        return self.now_ns / self.baseline_ns - 1.0


def timing_diff(
    cell: Cell,
    old: Cell,
    run_dir: str | os.PathLike[str] | None,
    baseline_dir: str | os.PathLike[str] | None,
) -> TimingDiff | None:
    """The change of the cell's mean time per op, tested by pyperf's t-test where both
    pyperf files are found (`run_dir`, `baseline_dir`); None where either lacks a mean."""
    now_ns, before_ns = figure(cell, "timing", "mean_ns"), figure(old, "timing", "mean_ns")
    now, before = cell.get("timing"), old.get("timing")
    if not (now and before and now_ns and before_ns):
        return None
    tested = significant(pyperf_path(before, baseline_dir), pyperf_path(now, run_dir))
    return TimingDiff(cell["id"], before_ns, now_ns, tested)


def pyperf_path(timing: Timing, base: str | os.PathLike[str] | None) -> Path | None:
    """Where `timing`'s pyperf file is, its path taken relative to `base`; None where
    it is not there."""
    name = timing.get("pyperf_json")
    if not name or base is None:
        return None
    path = Path(base) / name
    return path if path.is_file() else None


def mean_precision(bench: Any) -> float | None:
    """Half the width of the mean's 95% confidence interval, relative to the mean, from the
    per-process means (pyperf's calculation in `required_nprocesses`, solved for the
    width); None with fewer than two processes."""
    means = [statistics.mean(run.values) for run in bench.get_runs() if run.values]
    if len(means) < 2:
        return None
    mean = statistics.mean(means)
    return Z_95 * statistics.stdev(means) / mean / math.sqrt(len(means)) if mean else None


def unstable_checks(bench: Any) -> list[str]:
    """Why a pyperf benchmark's mean cannot be trusted, each reason a sentence; [] when
    nothing says so (the module docstring says what replaces pyperf's sample-size check)."""
    # Private pyperf API, on purpose: pyperf has no public form of the checks `pyperf
    # check` prints. pyproject.toml pins the pyperf versions this was tested with, and
    # tests/test_pyperf_private.py fails on a release that moves or changes it.
    from pyperf._cli import format_checks

    checks = [line[2:] for line in format_checks(bench)
              if line.startswith("* ") and not line[2:].startswith(_NOT_ENOUGH)]
    precision = mean_precision(bench)
    if precision is not None and precision > PRECISION_LIMIT:
        processes = sum(1 for run in bench.get_runs() if run.values)
        checks.append(f"the means of its {processes} processes differ: the mean is known to "
                      f"+-{precision:.0%} only (95% confidence)")
    return checks


def significant(before: Path | None, now: Path | None) -> bool | None:
    """pyperf's two-sample t-test (95%), as `pyperf compare_to` applies it; None where
    either file is missing or unreadable."""
    if before is None or now is None:
        return None
    import pyperf  # imported here: only timing gates need it

    # Private pyperf API, on purpose: pyperf has no public form of its t-test. pyproject.toml
    # pins the pyperf versions this was tested with; tests/test_pyperf_private.py fails on
    # a release that moves or changes it.
    from pyperf._compare import is_significant_benchs

    try:
        differs, _t_score = is_significant_benchs(
            pyperf.Benchmark.load(str(before)), pyperf.Benchmark.load(str(now)))
    except Exception:  # pyperf raises bare ValueError/KeyError/JSON errors on bad files
        return None
    return bool(differs)


__all__ = ["PRECISION_LIMIT", "TimingDiff", "mean_precision", "pyperf_path", "significant",
           "timing_diff", "unstable_checks"]
