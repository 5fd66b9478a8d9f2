"""Where a trend moved: every change of a count, and the lasting changes of instructions
and times.

Rule 1: counts (allocations, bytes, GC collections) are exact for a build, so they need
no statistics: any change beyond the figure's resolution (the gate's, `schema.resolution`)
is a step.
Rule 2: instructions and times drift between runs, so a step there is a change to a new
*level* that lasts. The level is the median of the points since the last step; a point
further from it than the quantity's threshold (relative, either way: a/b or b/a) is a
step when the point after it is also beyond the threshold (it lasts), and a one-point
excursion when the point after it comes back (not a step). A last point beyond the
threshold is a step not yet seen to last (`confirmed` False), since the newest commit is
the one a reader most needs to see. Thresholds are chosen from the drift measured
between runs (docs/history.md): instructions use the gate's 5% (runs of one build drift
by up to 2.7%), times 250% (3.5x), since two runs on a shared VM differed by up to 3.47x.
Trades: a slow drift that adds up past the threshold is reported as one step where it
crosses; asv's L1 fit with a penalty would spread it, but needs more points per level
than a baseline's history has.
Rule 3: a cell (or a figure) that appears is a change from None; one that a baseline
version no longer holds, a change to None.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from vts.suite.gate import DEFAULT_INSTRUCTION_THRESHOLD
from vts.suite.history.series import Point, Quantity, Series, Stop
from vts.suite.schema import EPSILON

# Times: the same cell's mean moved by up to 3.47x between two `make bench` runs 20
# minutes apart on this shared 2-core VM (docs/history.md); a step must move more.
TIME_STEP = 2.5  # relative: 3.5x either way

# What a trend is drawn for, in the order every output shows them.
QUANTITIES = (
    Quantity("allocs", "allocs/op", "allocs", "allocs_per_op", exact=True),
    Quantity("bytes", "bytes/op", "allocs", "bytes_per_op", exact=True),
    Quantity("gc", "GC/1k ops", "allocs", "gc_per_1k_ops", exact=True),
    Quantity("instructions", "instructions/op", "instructions", "instructions_per_op",
             exact=False, threshold=DEFAULT_INSTRUCTION_THRESHOLD),
    Quantity("time", "mean time/op", "timing", "mean_ns", exact=False, threshold=TIME_STEP),
)


@dataclass(frozen=True)
class Change:
    """One quantity of one series moving at `point`."""

    point: Point
    quantity: Quantity
    before: float | None  # None: the cell or the figure arrives here
    after: float | None  # None: the cell is gone here
    confirmed: bool = True  # False: a noisy figure's step at the last point (Rule 2)

    @property
    def kind(self) -> str:
        return "new" if self.before is None else "gone" if self.after is None else "step"

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


def changes(series: Series, quantities: Sequence[Quantity], start: Stop) -> list[Change]:
    """The changes of `series`, in point order; `start` is the timeline's first stop (a
    series beginning there has always been there: its first figures are not new)."""
    found: list[Change] = []
    for quantity in quantities:
        run: list[tuple[Point, float]] = []  # points with this figure since a gap
        for index, point in enumerate(series.points):
            if not point.values:  # gone (Rule 3)
                if run:
                    found.append(Change(point, quantity, run[-1][1], None))
                found += _steps(run, quantity)
                run = []
                continue
            value = point.values.get(quantity.name)
            if value is None:
                continue
            if not run and (index > 0 or point.stop != start):
                found.append(Change(point, quantity, None, value))
            run.append((point, value))
        found += _steps(run, quantity)
    order = {id(point): index for index, point in enumerate(series.points)}
    return sorted(found, key=lambda c: order[id(c.point)])


def moved(old: Point, new: Point, quantity: Quantity) -> bool:
    """Whether an exact figure differs between two points beyond both resolutions (Rule
    1); a figure one point lacks counts as moved."""
    before, after = old.values.get(quantity.name), new.values.get(quantity.name)
    if before is None or after is None:
        return before is not after
    return abs(after - before) > max(old.tolerances.get(quantity.name, 0.0),
                                     new.tolerances.get(quantity.name, 0.0)) + EPSILON


def _steps(run: list[tuple[Point, float]], quantity: Quantity) -> list[Change]:
    if quantity.exact:
        return [Change(point, quantity, before, value)
                for (old, before), (point, value) in itertools.pairwise(run)
                if moved(old, point, quantity)]
    return _lasting(run, quantity)


def _lasting(run: list[tuple[Point, float]], quantity: Quantity) -> list[Change]:
    """Rule 2 over one run of points."""
    found = []
    level = [run[0][1]] if run else []
    for index, (point, value) in enumerate(run[1:], start=1):
        middle = statistics.median(level)
        if _within(value, middle, quantity.threshold):
            level.append(value)
            continue
        following = run[index + 1][1] if index + 1 < len(run) else None
        if following is not None and _within(following, middle, quantity.threshold):
            continue  # a one-point excursion
        found.append(Change(point, quantity, middle, value, confirmed=following is not None))
        level = [value]
    return found


def _within(value: float, level: float, threshold: float) -> bool:
    """`value` and `level` differ by at most `threshold`, relative to the smaller one."""
    low, high = sorted((value, level))
    if low <= 0:
        return low == high
    return high / low - 1 <= threshold
