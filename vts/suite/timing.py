"""Timing judged: whether pyperf's own t-test calls a difference of two cells' times
significant (the gate against the baseline, the report's Ratio against the reference), and
whether one cell's time is stable enough to read (`unstable_checks`).

Timing is machine-bound and noisy, so the gate reports it and gates it only when asked,
and only where this test says significant (`vts.suite.gate`, Rule 3). The test reads both
pyperf files; a missing or unreadable one leaves the change untested (None), never wrong.

Stability, of the figure the report shows: pyperf's median of a cell's values. On a shared
VM the host slows whole stretches of a run by 1.3-2x, hitting the values of whichever worker
process runs then; the mean moves with every such stretch and pyperf's checks, written for
the mean (a standard deviation of 10% of the mean, a value 50% from it, and a 95%
confidence interval within +-1%, which a few processes on a shared VM never reach), then
fire on most cells. The median does not move while fewer than half the values are slow.
So a cell is marked where its median is known to worse than +-PRECISION_LIMIT (95%
confidence, from pyperf's median absolute deviation: `median_precision`; fast mode spreads
each cell's values over the whole run for it, `vts.suite.measure.interleaved`), with that
width, and where pyperf's checks that do not judge the mean (the shortest raw value under
1 ms) fire.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vts.suite.records import Cell, Timing, figure

PRECISION_LIMIT = 0.05  # a median known to worse than +-5% (95% confidence) is marked
Z_95 = 1.96  # pyperf's: two-sided 95% of the normal distribution
MAD_TO_SIGMA = 1.4826  # the MAD of a normal distribution is 0.6745 sigma
MEDIAN_EFFICIENCY = math.sqrt(math.pi / 2)  # the median's standard error over the mean's
# The starts of pyperf's checks that judge the mean (`format_checks`), not the median.
_ABOUT_THE_MEAN = ("Not enough samples", "the standard deviation", "the minimum",
                   "the maximum")


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


def median_precision(bench: Any) -> float | None:
    """Half the width of the median's 95% confidence interval, relative to the median: the
    normal approximation of the median's standard error, 1.2533 (sqrt(pi / 2)) x sigma /
    sqrt(n), with sigma estimated robustly as 1.4826 x pyperf's median absolute deviation.
    None with fewer than two values or a zero median."""
    values = bench.get_values()
    median = bench.median() if values else 0.0
    if len(values) < 2 or not median:
        return None
    sigma = MAD_TO_SIGMA * bench.median_abs_dev()
    return float(Z_95 * MEDIAN_EFFICIENCY * sigma / math.sqrt(len(values)) / median)


def unstable_checks(bench: Any) -> list[str]:
    """Why a pyperf benchmark's median cannot be trusted, each reason a sentence; [] when
    nothing says so (the module docstring says which of pyperf's checks are kept, and why)."""
    # Private pyperf API, on purpose: pyperf has no public form of the checks `pyperf
    # check` prints. pyproject.toml pins the pyperf versions this was tested with, and
    # tests/test_pyperf_private.py fails on a release that moves or changes it.
    from pyperf._cli import format_checks

    checks = [line[2:] for line in format_checks(bench)
              if line.startswith("* ") and not line[2:].startswith(_ABOUT_THE_MEAN)]
    precision = median_precision(bench)
    if precision is not None and precision > PRECISION_LIMIT:
        processes = sum(1 for run in bench.get_runs() if run.values)
        checks.append(f"its {len(bench.get_values())} values from {processes} processes spread "
                      f"so widely that the median is known to +-{precision:.0%} only "
                      f"(95% confidence)")
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


__all__ = ["PRECISION_LIMIT", "TimingDiff", "median_precision", "pyperf_path", "significant",
           "timing_diff", "unstable_checks"]
