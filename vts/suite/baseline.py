"""The baseline file: merge a run's ok cells into it, and say which cells moved.

A baseline is a results file (same schema) whose cells keep only what the gate reads. It
changes only through `vts baseline update`, in a commit that says which cells moved and
why; `Move` is what that command prints.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from vts.suite import results
from vts.suite.gate import allocs_of


@dataclass(frozen=True)
class Move:
    """A baseline cell's allocations per op before and after an update (None: absent)."""

    cell_id: str
    old: float | None
    new: float | None


def baseline_cell(cell: results.Cell) -> results.Cell:
    """The part of an ok cell the gate reads; the schema's other fields are emptied."""
    return {
        "id": cell["id"], "strategy": cell["strategy"], "scenario": cell["scenario"],
        "python": cell["python"], "loop": cell["loop"], "status": "ok", "error": None,
        "allocs": copy.deepcopy(cell.get("allocs")),
        "instructions": copy.deepcopy(cell.get("instructions")),
        "timing": copy.deepcopy(cell.get("timing")),
        "latency": None, "memray": None, "extra": {},
    }


def update_baseline(
    baseline: results.Run | None, run: results.Run
) -> tuple[results.Run, list[Move], list[str]]:
    """Merge the ok cells of `run` into `baseline` (None: start one).

    Returns (new baseline, cells whose allocations moved, ids of failed cells left as they
    were). Paths in `run` must already be relative to the baseline's directory
    (`results.rebase`).
    """
    slim = copy.deepcopy(run)
    slim["cells"] = [baseline_cell(c) for c in run["cells"]
                     if c["status"] == "ok" and allocs_of(c) is not None]
    skipped = [c["id"] for c in run["cells"] if c["status"] != "ok"]
    if baseline is None:
        slim["machines"] = results.machines_of(run)
        return slim, [Move(c["id"], None, allocs_of(c)) for c in slim["cells"]], skipped
    before = {c["id"]: allocs_of(c) for c in baseline["cells"]}
    updated = results.merge([baseline, slim])
    moves = [Move(c["id"], before.get(c["id"]), allocs_of(c)) for c in slim["cells"]
             if before.get(c["id"]) != allocs_of(c)]
    return updated, moves, skipped
