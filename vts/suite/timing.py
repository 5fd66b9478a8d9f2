"""Timing compared: a cell's mean time per op against the baseline's, and whether pyperf's
own t-test calls the change significant.

Timing is machine-bound and noisy, so the gate reports it and gates it only when asked,
and only where this test says significant (`vts.suite.gate`, Rule 3). The test reads both
pyperf files; a missing or unreadable one leaves the change untested (None), never wrong.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vts.suite.records import Cell, Timing, figure


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
    significant = _significant(_pyperf_path(before, baseline_dir), _pyperf_path(now, run_dir))
    return TimingDiff(cell["id"], before_ns, now_ns, significant)


def _pyperf_path(timing: Timing, base: str | os.PathLike[str] | None) -> Path | None:
    name = timing.get("pyperf_json")
    if not name or base is None:
        return None
    path = Path(base) / name
    return path if path.is_file() else None


def _significant(before: Path | None, now: Path | None) -> bool | None:
    """pyperf's two-sample t-test (95%), as `pyperf compare_to` applies it."""
    if before is None or now is None:
        return None
    import pyperf  # imported here: only timing gates need it

    # Private pyperf API, on purpose: pyperf has no public form of its t-test. pyproject.toml
    # pins the pyperf versions this was tested with; tests/test_pyperf_private.py fails on
    # a release that moves or changes it.
    from pyperf._compare import is_significant_benchs

    try:
        significant, _t_score = is_significant_benchs(
            pyperf.Benchmark.load(str(before)), pyperf.Benchmark.load(str(now)))
    except Exception:  # pyperf raises bare ValueError/KeyError/JSON errors on bad files
        return None
    return bool(significant)


__all__ = ["TimingDiff", "timing_diff"]
