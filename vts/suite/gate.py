"""The regression gate: allocations per operation of a run against a committed baseline.

Rule 1: exact allocation counts are deterministic for an interpreter build, so the default
tolerance is zero and any cell allocating more than its baseline is a regression. The one
allowance is the figure's own resolution: a per-op figure is (count of the long run -
count of the short run) / (long - short), and a run's fixed cost can differ by up to
FIXED_COST_JITTER allocations between runs (asyncio rebuilds a dict every few task
steps; where a run starts in that cycle moves its count by 2). So differences within
FIXED_COST_JITTER / (long - short) are not changes: 0.0004/op for `wait`, 0.04/op for
`fanout-100`, far below the one allocation per op a real regression adds.
Rule 2: cells match by id (``<strategy>/<scenario>/<python>/<loop>``), so a baseline is
keyed by interpreter version and loop; a run may cover a slice of the baseline.
Rule 3: timing is machine-bound and noisy: it is reported, and gates only when asked
(`timing_threshold`) and only where pyperf's own t-test calls the change significant.

The baseline is a results file (same schema) whose cells keep only what the gate reads
(`vts.suite.baseline` maintains it). This module decides; `vts.suite.report` renders.
Verdicts: `GateResult.exit_code` is 0 (within) or 1 (regression); unusable input is a
`UsageError` (exit 2).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vts.suite import results
from vts.suite.errors import UsageError

DEFAULT_BASELINE = Path("reports/baseline.json")
UPDATE_COMMAND = "vts baseline update RESULTS"  # what every output tells a user to run
# Float noise on top of the resolution below.
_EPSILON = 1e-9
# Allocations by which one run's fixed cost can differ from another's (measured: +-2 in
# fan-out runs on 3.11, on both loops; see Rule 1).
FIXED_COST_JITTER = 4


class NoMatchingCells(UsageError):
    """The run and the baseline share no cell: there is nothing to compare (exit 2)."""


def resolution(cell: results.Cell) -> float:
    """The smallest per-op change this cell's measurement can tell from jitter."""
    ops = (cell.get("allocs") or {}).get("ops")
    if not ops or len(ops) != 2 or ops[1] <= ops[0]:
        return 0.0
    return float(FIXED_COST_JITTER / (ops[1] - ops[0]))


@dataclass(frozen=True)
class AllocDiff:
    """One cell's allocations per op, baseline vs now."""

    cell_id: str
    baseline: float
    now: float

    @property
    def delta(self) -> float:
        return self.now - self.baseline


@dataclass(frozen=True)
class FailedCell:
    """A cell the baseline has that failed in this run: it no longer measures."""

    cell_id: str
    error: str
    baseline: float


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


@dataclass
class GateResult:
    """Everything the gate found; `exit_code` is its verdict."""

    tolerance: float
    timing_threshold: float | None = None
    regressions: list[AllocDiff] = field(default_factory=list)
    improvements: list[AllocDiff] = field(default_factory=list)
    unchanged: list[AllocDiff] = field(default_factory=list)
    failed: list[FailedCell] = field(default_factory=list)
    new: list[str] = field(default_factory=list)  # ok cells the baseline lacks
    # Cells whose counts depend on timing (a producer thread, a sampler): not gated.
    not_gated: list[str] = field(default_factory=list)
    timing: list[TimingDiff] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def compared(self) -> int:
        return len(self.regressions) + len(self.improvements) + len(self.unchanged)

    @property
    def timing_regressions(self) -> list[TimingDiff]:
        if self.timing_threshold is None:
            return []
        return [t for t in self.timing
                if t.significant is True and t.change > self.timing_threshold]

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions or self.failed or self.timing_regressions else 0

    def verdict(self) -> str:
        """One line: 'within the baseline' or what failed."""
        problems = []
        for count, noun in ((len(self.regressions), "allocation regression"),
                            (len(self.failed), "failed cell"),
                            (len(self.timing_regressions), "timing regression")):
            if count:
                problems.append(f"{count} {noun}{'s' if count != 1 else ''}")
        if not problems:
            return "within the baseline"
        return "FAIL: " + ", ".join(problems)


def compare(
    run: results.Run,
    baseline: results.Run,
    tolerance: float = 0.0,
    *,
    timing_threshold: float | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    baseline_dir: str | os.PathLike[str] | None = None,
) -> GateResult:
    """Compare `run` with `baseline`; raise NoMatchingCells when no cell matches.

    `tolerance` is in allocations per op. `run_dir` / `baseline_dir` locate the pyperf JSON
    files the timing significance test reads; without them timing is reported untested.
    """
    if tolerance < 0:
        raise UsageError(f"tolerance must be >= 0, not {tolerance}")
    gate = GateResult(tolerance=tolerance, timing_threshold=timing_threshold)
    reference = {cell["id"]: cell for cell in baseline["cells"] if allocs_of(cell) is not None}
    untested = 0
    for cell in run["cells"]:
        old = reference.get(cell["id"])
        if cell["status"] != "ok":
            if old is not None:
                gate.failed.append(FailedCell(cell["id"], str(cell.get("error") or "failed"),
                                              float(allocs_of(old) or 0.0)))
            continue
        now = allocs_of(cell)
        if now is None:
            continue
        if cell.get("deterministic") is False:  # timing-dependent counts: reported, not gated
            gate.not_gated.append(cell["id"])
            continue
        if old is None:
            gate.new.append(cell["id"])
            continue
        diff = AllocDiff(cell["id"], float(allocs_of(old) or 0.0), now)
        slack = tolerance + resolution(cell) + _EPSILON
        if diff.delta > slack:
            gate.regressions.append(diff)
        elif diff.delta < -slack:
            gate.improvements.append(diff)
        else:
            gate.unchanged.append(diff)
        timing = _timing_diff(cell, old, run_dir, baseline_dir)
        if timing is not None:
            gate.timing.append(timing)
            untested += timing.significant is None
    if not gate.compared and not gate.failed and not gate.not_gated:
        raise NoMatchingCells(
            f"no cell matches the baseline (this run: {_env_list(run)}; baseline: "
            f"{_env_list(baseline)}); add them with `{UPDATE_COMMAND}`"
        )
    if untested and timing_threshold is not None:
        gate.warnings.append(
            f"timing of {untested} cell(s) not gated: a pyperf JSON file is missing, so "
            "pyperf's significance test cannot run"
        )
    return gate


def allocs_of(cell: results.Cell) -> float | None:
    """The cell's allocations per op, or None when it has none."""
    allocs = cell.get("allocs")
    if not isinstance(allocs, dict) or allocs.get("allocs_per_op") is None:
        return None
    return float(allocs["allocs_per_op"])


def _env_list(run: results.Run) -> str:
    keys = dict.fromkeys(results.env_key(c["python"], c["loop"]) for c in run["cells"])
    return ", ".join(keys) or "no cells"


def _timing_diff(
    cell: results.Cell,
    old: results.Cell,
    run_dir: str | os.PathLike[str] | None,
    baseline_dir: str | os.PathLike[str] | None,
) -> TimingDiff | None:
    now, before = cell.get("timing"), old.get("timing")
    if not (isinstance(now, dict) and isinstance(before, dict)):
        return None
    if not (now.get("mean_ns") and before.get("mean_ns")):
        return None
    significant = _significant(_pyperf_path(before, baseline_dir), _pyperf_path(now, run_dir))
    return TimingDiff(cell["id"], float(before["mean_ns"]), float(now["mean_ns"]), significant)


def _pyperf_path(timing: dict[str, Any], base: str | os.PathLike[str] | None) -> Path | None:
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
    from pyperf._compare import is_significant_benchs

    try:
        significant, _t_score = is_significant_benchs(
            pyperf.Benchmark.load(str(before)), pyperf.Benchmark.load(str(now)))
    except Exception:  # pyperf raises bare ValueError/KeyError/JSON errors on bad files
        return None
    return bool(significant)


def notable_timing(gate: GateResult, floor: float = 0.05) -> list[TimingDiff]:
    """Timing changes worth a line: beyond the threshold (or `floor`), largest first."""
    limit = floor if gate.timing_threshold is None else min(floor, gate.timing_threshold)
    return sorted((t for t in gate.timing if abs(t.change) >= limit),
                  key=lambda t: -abs(t.change))
