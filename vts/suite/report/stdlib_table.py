"""What the standard library costs: one row per await of asyncio's primitives, its figures
without and with a suspension side by side, beside the floor and the strategies the
verdict picks for `fresh` and `wait`.

Rule: nothing here is measured or computed anew. The rows are the environment's own
`stdlib-ready` and `stdlib-suspend` rows (views.Row) and the picks' `fresh` and `wait`
rows, paired by name, so every output shows the same figures as the scenario tables.
The two stdlib scenarios' floors are `fresh`'s and `wait`'s, driven by the same code, so
Above floor means the same in both halves of a row.
"""

from __future__ import annotations

from dataclasses import dataclass

from vts.suite.report.verdict import Verdict
from vts.suite.report.views import (
    ABOVE_FLOOR,
    ALLOCS,
    FLOOR,
    INSTRUCTIONS,
    STDLIB,
    TIME,
    EnvironmentView,
    Row,
    ScenarioTable,
)

HEADING = "What the standard library costs"
INTRO = ("One await of each of asyncio's primitives as users write it: without a suspension "
         f"({STDLIB[0]}: it finds what it waits for) and with one ({STDLIB[1]}: a loop "
         "callback wakes it, as in wait). Below them, the strategies this verdict picks, "
         "their get() in fresh and in wait. What each operation is: How to read this.")
# Display order; awaits not listed follow, sorted.
AWAIT_ORDER = ("Queue.get", "Queue.put", "Event.wait", "Lock", "Semaphore", "Condition",
               "sleep", "StreamReader.read")
# The figure groups a half-row shows, in order (a group no row measured is left out).
GROUPS = (ALLOCS, ABOVE_FLOOR, INSTRUCTIONS, TIME)
_PICKED_IN = ("fresh", "wait")  # a pick's rows: ready from fresh, suspending from wait


@dataclass(frozen=True)
class CostRow:
    """One await (or the floor, or a picked strategy) with its two halves."""

    name: str
    ready: Row | None  # stdlib-ready (a strategy: fresh)
    suspend: Row | None  # stdlib-suspend (a strategy: wait)
    strategy: bool = False  # a strategy's get(), shown for comparison


@dataclass(frozen=True)
class CostTable:
    rows: list[CostRow]
    shown: tuple[str, ...]  # GROUPS some row measured, in order

    @property
    def labels(self) -> list[str]:
        return [LABELS[group] for group in self.shown]

    def cells(self, row: CostRow) -> list[str]:
        """The row's figures, ready half then suspending half, in `shown`'s order."""
        return [figure(half, group) for half in (row.ready, row.suspend)
                for group in self.shown]


LABELS = {ALLOCS: "Allocated/op", ABOVE_FLOOR: "Above floor", INSTRUCTIONS: "Instructions/op",
          TIME: "Median (pyperf)"}


def figure(row: Row | None, group: str) -> str:
    """One figure of a half-row, formatted; "" where the half has no cell, "failed" where
    its cell failed (the scenario table gives the error)."""
    if row is None:
        return ""
    if row.failed:
        return "failed"
    return {ALLOCS: row.allocs, ABOVE_FLOOR: row.above_floor, INSTRUCTIONS: row.instructions,
            TIME: row.median + (" ⚠" if row.unstable else "")}[group]


def _order(name: str) -> tuple[int, str]:
    if name == FLOOR:
        return -1, name
    return (AWAIT_ORDER.index(name) if name in AWAIT_ORDER else len(AWAIT_ORDER)), name


def _rows(table: ScenarioTable | None) -> dict[str, Row]:
    return {row.strategy: row for row in table.rows} if table is not None else {}


def cost_table(view: EnvironmentView, found: Verdict | None) -> CostTable | None:
    """The environment's table, or None where it measured neither stdlib scenario."""
    tables = {table.scenario: table for table in view.tables}
    halves = [tables.get(name) for name in STDLIB]
    if not any(halves):
        return None
    ready, suspend = (_rows(half) for half in halves)
    rows = [CostRow(name, ready.get(name), suspend.get(name))
            for name in sorted({*ready, *suspend}, key=_order)]
    picks = [rec.picks[0].strategy for rec in (found.recommendations if found else [])
             if rec.scenario in _PICKED_IN and rec.picks]
    fresh, wait = (_rows(tables.get(name)) for name in _PICKED_IN)
    rows += [CostRow(name, fresh.get(name), wait.get(name), strategy=True)
             for name in dict.fromkeys(picks)]
    measured = set().union(*(table.shown for table in (*halves, *(
        tables.get(name) for name in _PICKED_IN)) if table is not None))
    return CostTable(rows, tuple(group for group in GROUPS if group in measured))


__all__ = ["AWAIT_ORDER", "GROUPS", "HEADING", "INTRO", "LABELS", "CostRow", "CostTable",
           "cost_table", "figure"]
