"""The history's view model: per series, the rows every output shows (terminal, Markdown,
HTML), formatted once.

Rule 1: a series' table has a row for its first point and for every point where a figure
changed (`vts.suite.history.steps`), each named by its commit's short hash and subject;
a series that never changed is one name in the `unchanged` list, not a table.
Rule 2: a series shows allocations and the figures that changed in it (compact: a column
that never moved says nothing a reader needs); a figure is shown at every row (a dash
where that point lacks it); a changed one
carries its change: the difference for counts, the relative change for instructions and
times, "new" where it arrives, "gone" where a baseline version no longer holds the cell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vts.suite.formatting import (
    DASH,
    fmt_bytes,
    fmt_count,
    fmt_instructions,
    fmt_ns,
    fmt_pct,
    fmt_signed,
)
from vts.suite.history.series import BASELINE, MEASURED, Point, Quantity, Series, Stop
from vts.suite.history.steps import Change, changes

_FORMAT: dict[str, Callable[[float | None], str]] = {
    "allocs": fmt_count, "bytes": fmt_bytes, "gc": fmt_count,
    "instructions": fmt_instructions, "time": fmt_ns}
UNCONFIRMED = "*"  # marks a noisy figure's step at the last point
UNCONFIRMED_NOTE = (f"{UNCONFIRMED} at the last point: beyond the threshold, not yet seen "
                    "to last")


@dataclass(frozen=True)
class Shown:
    """One figure at one row: its value, and its change there ("" when none)."""

    text: str
    change: str = ""
    direction: str = ""  # "up", "down", "new", "gone" or "" (no change)


@dataclass(frozen=True)
class Row:
    stop: Stop
    subject: str
    figures: list[Shown]
    event: str = ""  # "new cell" (its first point, after the timeline's first) or "gone"

    @property
    def label(self) -> str:
        return f"{self.stop.label} ({self.event})" if self.event else self.stop.label


@dataclass(frozen=True)
class SeriesView:
    series: Series
    columns: list[Quantity]
    rows: list[Row]
    changes: list[Change]

    @property
    def title(self) -> str:
        return self.series.cell_id

    @property
    def span(self) -> str:
        first, last = self.series.points[0].stop, self.series.points[-1].stop
        return f"{len(self.series.points)} points, {first.label}..{last.label}"


@dataclass(frozen=True)
class HistoryView:
    pattern: str
    changed: list[SeriesView]
    unchanged: list[SeriesView]
    sources: list[str]  # how many snapshots of each kind, one line each
    notes: list[str]  # versions left out, commits not measured
    several_sources: bool  # rows from more than one kind of source: show each row's

    @property
    def unconfirmed(self) -> bool:
        """Whether a step is marked UNCONFIRMED (its outputs add UNCONFIRMED_NOTE)."""
        return any(not c.confirmed for s in self.changed for c in s.changes)


def history_view(pattern: str, series: Sequence[Series], quantities: Sequence[Quantity],
                 stops: Sequence[Stop], notes: Sequence[str]) -> HistoryView:
    """The view of `series` (`stops`: the timeline's, in order)."""
    start = stops[0]
    views = [_series_view(s, quantities, start) for s in series]
    kinds = {_kind(s) for s in stops}
    counts = [_count(sum(_kind(s) == kind for s in stops), kind)
              for kind in ("baseline version", "measured commit", "results file")
              if kind in kinds]
    return HistoryView(pattern, [v for v in views if v.changes],
                       [v for v in views if not v.changes], counts, list(notes),
                       len(kinds) > 1)


def _kind(stop: Stop) -> str:
    if stop.source == BASELINE:
        return "baseline version"
    return "measured commit" if stop.source == MEASURED else "results file"


def _count(number: int, kind: str) -> str:
    return f"{number} {kind}{'' if number == 1 else 's'}"


def _series_view(series: Series, quantities: Sequence[Quantity], start: Stop) -> SeriesView:
    found = changes(series, quantities, start)
    first = series.points[0]
    moved = {c.quantity.name for c in found if c.kind != "new" or c.point is not first}
    columns = [q for q in quantities if q.name in moved
               or (q is quantities[0] and any(q.name in p.values for p in series.points))]
    shown = [series.points[0]] + [p for p in series.points[1:]
                                  if any(c.point is p for c in found)]
    rows = [_row(p, columns, [c for c in found if c.point is p], first=p is shown[0])
            for p in shown]
    return SeriesView(series, columns, rows, found)


def _row(point: Point, columns: list[Quantity], found: list[Change], first: bool) -> Row:
    """A row; a cell's arrival or departure is said once, beside the commit."""
    event = "gone" if not point.values else "new cell" if first and found else ""
    shown = [_shown(point, q, [] if event else [c for c in found if c.quantity == q])
             for q in columns]
    return Row(point.stop, point.stop.commit.subject if point.stop.commit else "", shown,
               event)


def _shown(point: Point, quantity: Quantity, found: list[Change]) -> Shown:
    value = point.values.get(quantity.name)
    text = _FORMAT[quantity.name](value) if value is not None else DASH
    if not found:
        return Shown(text)
    change = found[0]
    if change.kind != "step":
        return Shown(text, change.kind, change.kind)
    assert change.before is not None and change.after is not None
    if quantity.exact:
        said = fmt_signed(change.after - change.before)
    else:
        said = fmt_pct(change.after / change.before - 1)
    said += "" if change.confirmed else UNCONFIRMED
    return Shown(text, said, "up" if change.after > change.before else "down")
