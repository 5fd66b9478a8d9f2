"""The gate names the line: where each regressed cell allocates now, and where it did at
the baseline's commit, and the difference.

Measured only for cells that failed on allocations, so a passing gate costs what it did.
Both sides come from the counter's own attribution (`top_sites(source="counter")`), so
they compare: its tracer allocates frames, so the numbers run higher than the exact
counts, and they say *where*, not *how many*.

- now: the code the gate runs with (the running interpreter's source, as `vts bench`
  measures it), under the cell's interpreter;
- then: the commit that last changed the baseline file (`git log -1 -- FILE`), measured
  by that commit's own code (`vts.suite.commits`: a temporary worktree, its own build,
  cached per commit and interpreter build). Where the baseline is not in a git repository,
  or that commit cannot be measured, one line says why and the gate lists the sites now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vts.suite.commits import BuildError, CellFigures, CellName, measure_commit
from vts.suite.commits import tree as trees
from vts.suite.commits.measure import python_for
from vts.suite.commits.worktree import ProcessFailed, git
from vts.suite.environments import source_of
from vts.suite.errors import UsageError
from vts.suite.measure.sites import Site, difference


@dataclass(frozen=True)
class CellSites:
    """One regressed cell's sites now and at the baseline's commit (None where a side
    could not be measured; `missing` says why, one line each)."""

    cell_id: str
    now: tuple[Site, ...] | None
    then: tuple[Site, ...] | None
    then_commit: str | None
    missing: tuple[str, ...] = ()

    @property
    def changed(self) -> list[Site]:
        """Sites whose allocations per op changed since the baseline's commit."""
        if self.now is None or self.then is None:
            return []
        return difference(self.then, self.now)


def baseline_commit(baseline: Path) -> str:
    """The commit that last changed `baseline` (UsageError when there is none)."""
    where = baseline.resolve().parent
    try:
        commit = git(where, "log", "-1", "--format=%H", "--", baseline.name).strip()
    except UsageError:
        raise UsageError(f"{baseline} is not in a git repository") from None
    if not commit:
        raise UsageError(f"{baseline} has no commit in its repository")
    return commit


def regressed_sites(cell_ids: Sequence[str], baseline: Path) -> list[CellSites]:
    """The sites of each cell now and at the baseline's commit."""
    then: dict[str, CellFigures] = {}
    commit: str | None = None
    then_missing: str | None = None
    try:
        commit = baseline_commit(baseline)
        measured = measure_commit(baseline.resolve().parent, commit, list(cell_ids))
        then = {cell: figures for cell, figures in measured.cells.items()
                if isinstance(figures, CellFigures)}
    except (UsageError, BuildError) as exc:
        then_missing = f"at the baseline's commit{f' {commit[:7]}' if commit else ''}: {exc}"
    found = []
    for cell in cell_ids:
        missing = [then_missing] if then_missing else []
        figures = then.get(cell)
        if commit and not then_missing and (figures is None or figures.sites is None):
            missing.append(f"at the baseline's commit {commit[:7]}: no sites for this cell")
        now, why_not = _now(cell)
        if why_not:
            missing.append(f"now: {why_not}")
        found.append(CellSites(cell, now, None if figures is None else figures.sites,
                               commit, tuple(missing)))
    return found


def _now(cell: str) -> tuple[tuple[Site, ...] | None, str | None]:
    """The cell's sites under the code the gate runs with, or why there are none."""
    try:
        name = CellName.parse(cell)
        python = python_for(name.python)
        source = source_of(python)
        found = trees.sites(source, trees.Era.of(source), python, name.scenario,
                            name.strategy, name.loop)
    except (UsageError, BuildError, ProcessFailed) as exc:
        return None, str(exc)
    return (None, "this vts has no site attribution") if found is None else (tuple(found), None)


__all__ = ["CellSites", "baseline_commit", "regressed_sites"]
