"""A history as data: snapshots of cells in commit order, and one series per cell.

Rule 1: one order for every source. A *stop* is one snapshot of cells: a version of the
baseline (from git), a commit measured for `--measure`, or a results file given. Stops
are ordered by their commit's place in HEAD's history (parents first), then baseline
before measured before results; a results file whose commit HEAD does not hold comes
last, by the time it was created.
Rule 2: a baseline version is a full snapshot: a cell missing from it is gone (or not yet
there). A measured commit or a results file is a slice: a cell it lacks is just not in it.
Rule 3: a series is one cell id on one interpreter build, since counts are exact for one
build only (`vts.suite.builds`); two builds of one id are two series, never one trend.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from vts.suite.errors import UsageError
from vts.suite.gate import FIXED_COST_JITTER_BYTES
from vts.suite.history.git import Commit
from vts.suite.records import Cell, Figure, Section, figure
from vts.suite.schema import resolution

BASELINE = "baseline"
MEASURED = "measured"
_RANK = {BASELINE: 0, MEASURED: 1}  # any other source is a results file: 2


@dataclass(frozen=True)
class Quantity:
    """One figure a trend is drawn for. `exact`: a count, where any change beyond the
    figure's resolution is a step; otherwise `threshold` is the relative change a step
    needs (`vts.suite.history.steps`)."""

    name: str
    label: str
    section: Section
    figure: Figure
    exact: bool
    threshold: float = 0.0


@dataclass(frozen=True)
class Stop:
    """One snapshot on the timeline. `commit` is None for a results file of a commit HEAD
    does not hold; `note` says what else a reader needs ("dirty tree")."""

    commit: Commit | None
    source: str  # BASELINE, MEASURED, or "run <run_id>" for a results file
    snapshot: bool  # Rule 2
    order: tuple[int, int, str]
    note: str = ""

    @property
    def label(self) -> str:
        return self.commit.short if self.commit else self.source


@dataclass(frozen=True)
class Point:
    """A cell's figures at one stop; `values` empty: absent from a full snapshot (gone)."""

    stop: Stop
    values: dict[str, float]
    tolerances: dict[str, float]  # exact quantities: differences within these are none


@dataclass
class Series:
    cell_id: str
    build: str | None
    points: list[Point] = field(default_factory=list)


@dataclass(frozen=True)
class Snapshot:
    stop: Stop
    cells: Sequence[Cell]


def make_stop(commit: Commit | None, source: str, order: dict[str, int], *,
              created: str = "", note: str = "") -> Stop:
    """A stop placed by Rule 1 (`order`: HEAD's commits numbered, oldest first)."""
    place = order.get(commit.sha, len(order)) if commit else len(order)
    return Stop(commit, source, source == BASELINE, (place, _RANK.get(source, 2), created),
                note)


class CellPattern:
    """A glob over cell ids `strategy/scenario/python/loop`, part by part: '*' stays in
    one part, a missing part is '*' ('pooled*/wait' is 'pooled*/wait/*/*'), and '[' is
    literal, so 'pooled[c]' names the strategy, not a character class."""

    def __init__(self, text: str) -> None:
        parts = text.split("/")
        if not text or len(parts) > 4 or not all(parts):
            raise UsageError(f"pattern {text!r}: give up to four non-empty parts, "
                             "strategy/scenario/python/loop (e.g. 'pooled*/wait/3.11/*')")
        self.text = text
        self.parts = [re.compile(fnmatch.translate(p.replace("[", "[[]")))
                      for p in parts + ["*"] * (4 - len(parts))]

    def matches(self, cell_id: str) -> bool:
        parts = cell_id.split("/")
        return len(parts) == 4 and all(p.match(part) for p, part in
                                       zip(self.parts, parts, strict=True))


def point(stop: Stop, cell: Cell, quantities: Sequence[Quantity]) -> Point:
    """The figures of `cell` that are measured, with the exact ones' resolutions."""
    values = {q.name: value for q in quantities
              if (value := figure(cell, q.section, q.figure)) is not None}
    tolerances = {"allocs_per_op": resolution(cell),
                  "bytes_per_op": resolution(cell, FIXED_COST_JITTER_BYTES)}
    return Point(stop, values, {q.name: tolerances.get(q.figure, 0.0)
                                for q in quantities if q.exact})


def build_series(snapshots: Iterable[Snapshot], pattern: CellPattern,
                 quantities: Sequence[Quantity]) -> list[Series]:
    """One series per (cell id, build) matching `pattern`, points in stop order (Rule 1),
    with an empty point where a full snapshot lacks a cell it had before (Rule 2)."""
    found: dict[tuple[str, str | None], Series] = {}
    in_last_snapshot: set[tuple[str, str | None]] = set()
    for snap in sorted(snapshots, key=lambda s: s.stop.order):
        present = set()
        for cell in snap.cells:
            if cell["status"] != "ok" or not pattern.matches(cell["id"]):
                continue
            key = (cell["id"], cell.get("build"))
            present.add(key)
            found.setdefault(key, Series(*key)).points.append(point(snap.stop, cell,
                                                                    quantities))
        if snap.stop.snapshot:
            for key in in_last_snapshot - present:
                found[key].points.append(Point(snap.stop, {}, {}))
            in_last_snapshot = present
    return sorted(found.values(), key=lambda s: (s.cell_id, s.build or ""))
