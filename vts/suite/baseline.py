"""The baseline file: merge a run's ok cells into it, and say which cells moved.

A baseline is a results file (same schema) whose cells keep only what the gate reads. It
changes only through `vts baseline update`, in a commit that says which cells moved and
why; `Move` is what that command prints.

Cells are kept by interpreter build and id (`vts.suite.builds`): a run on another build
of the same X.Y is recorded beside the builds already there, never over them. The
baseline describes its interpreters by version and build (`builds`), and records no
environments: they hold absolute paths (a venv's python) that mean nothing elsewhere.
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
    build: str | None = None  # the key of the cell's interpreter build


def baseline_cell(cell: results.Cell) -> results.Cell:
    """The part of an ok cell the gate reads; the schema's other fields are emptied."""
    return {
        "id": cell["id"], "strategy": cell["strategy"], "scenario": cell["scenario"],
        "python": cell["python"], "loop": cell["loop"], "status": "ok", "error": None,
        "allocs": copy.deepcopy(cell.get("allocs")),
        "instructions": copy.deepcopy(cell.get("instructions")),
        "timing": copy.deepcopy(cell.get("timing")),
        "latency": None, "memray": None, "extra": {}, "build": cell.get("build"),
    }


def update_baseline(
    baseline: results.Run | None, run: results.Run
) -> tuple[results.Run, list[Move], list[str]]:
    """Merge the ok cells of `run` into `baseline` (None: start one), by build and id.

    Returns (new baseline, cells whose allocations moved, ids of failed cells left as they
    were). Paths in `run` must already be relative to the baseline's directory
    (`results.rebase`).
    """
    cells = [baseline_cell(c) for c in run["cells"]
             if c["status"] == "ok" and allocs_of(c) is not None]
    skipped = [c["id"] for c in run["cells"] if c["status"] != "ok"]
    sources = [baseline, run] if baseline is not None else [run]
    updated = results.merge(copy.deepcopy(sources))
    kept: dict[tuple[str | None, str], results.Cell] = {
        _key(c): c for c in (baseline["cells"] if baseline is not None else [])}
    moves = [Move(c["id"], allocs_of(kept[_key(c)]) if _key(c) in kept else None,
                  allocs_of(c), c.get("build"))
             for c in cells if _key(c) not in kept or allocs_of(kept[_key(c)]) != allocs_of(c)]
    kept.update((_key(c), c) for c in cells)
    updated["cells"] = list(kept.values())
    updated["environments"] = {}
    used = {c.get("build") for c in updated["cells"]}
    updated["builds"] = {key: value for key, value in updated.get("builds", {}).items()
                         if key in used}
    if baseline is None:
        updated["machines"] = results.machines_of(run)
    return updated, moves, skipped


def _key(cell: results.Cell) -> tuple[str | None, str]:
    return cell.get("build"), cell["id"]
