"""Cells measured at other commits of a repository, by each commit's own code.

- `worktree`: a commit checked out in a temporary git worktree, removed whatever happens;
- `tree`: what a commit's tree holds (its era), its build, and its own measuring code run;
- `cache`: what was measured, kept per interpreter build and commit;
- `measure`: `measure_at(repo, commit, cells)`, the entry point (`vts bisect`, `vts
  history --measure`, the gate's sites as they were).

docs/measuring-commits.md says which code measures an old commit, and why.
"""

from __future__ import annotations

from vts.suite.commits.measure import (
    BuildError,
    CellFigures,
    CellName,
    CommitFigures,
    Unmeasurable,
    measure_at,
    measure_commit,
)

__all__ = ["BuildError", "CellFigures", "CellName", "CommitFigures", "Unmeasurable",
           "measure_at", "measure_commit"]
