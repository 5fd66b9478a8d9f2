"""A series' trend as an inline SVG (matplotlib, the report's style and SVG rules:
`charts.to_svg`): one panel per figure, drawn as steps, each step marked with its commit.

Points are placed one per stop, evenly (the timeline is commits, not dates); a cell gone
from a baseline version breaks the line. A panel's y axis spans at least what a step
needs (the threshold for instructions and times), so drift looks as flat as it is. Only
the first stop, the last and the changes get a tick label, so a range of a hundred
measured commits stays readable.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt

from vts.suite.history.series import Quantity
from vts.suite.report.charts import STYLE, to_svg
from vts.suite.report.history_view import SeriesView

# Per figure: the panel's title and the scale it is drawn at.
_PANELS = {"allocs": ("allocations / op", 1.0), "bytes": ("bytes / op", 1.0),
           "gc": ("GC / 1k ops", 1.0), "instructions": ("instructions / op (k)", 1e-3),
           "time": ("mean time / op (µs)", 1e-3)}
_LINE, _UP, _DOWN = "#1f77b4", "#d62728", "#2ca02c"
# The least y span of a count's panel: a change of one allocation (or 64 bytes) shows as
# a step, and a flat line is not stretched over the figure's resolution.
_LEAST_SPAN = {"allocs": 2.0, "bytes": 128.0, "gc": 2.0}


def series_chart(view: SeriesView, chart_id: str) -> str:
    """The trend of every figure of `view`'s series, a panel each, side by side."""
    points = view.series.points
    index = {id(p): i for i, p in enumerate(points)}
    steps = [c for c in view.changes if c.kind == "step"]
    ticks = sorted({0, len(points) - 1} | {index[id(c.point)] for c in view.changes})
    with plt.rc_context(STYLE):
        fig, grid = plt.subplots(1, len(view.columns), squeeze=False,
                                 figsize=(min(3.2, 2.4 + 0.03 * len(points)) *
                                          len(view.columns), 2.3))
        for ax, quantity in zip(grid[0], view.columns, strict=True):
            title, scale = _PANELS[quantity.name]
            xs = [i for i, p in enumerate(points) if quantity.name in p.values or not p.values]
            ys = [points[i].values.get(quantity.name, math.nan) * scale for i in xs]
            ax.plot(xs, ys, drawstyle="steps-post", marker="o", markersize=2.5,
                    linewidth=1.3, color=_LINE)
            for change in (c for c in steps if c.quantity == quantity):
                assert change.before is not None and change.after is not None
                x = index[id(change.point)]
                ax.plot([x], [change.after * scale], marker="o", markersize=5,
                        color=_UP if change.after > change.before else _DOWN)
                ax.annotate(change.point.stop.label, (x, change.after * scale),
                            textcoords="offset points", xytext=(3, 4), fontsize=7.5)
            ax.set_title(title, loc="left")
            _y_range(ax, [y for y in ys if not math.isnan(y)], quantity)
            ax.set_xticks(ticks, [points[i].stop.label for i in ticks], rotation=45,
                          ha="right", fontsize=7.5)
            ax.set_xlim(-0.5, len(points) - 0.5)
        fig.tight_layout()
        return to_svg(fig, chart_id)


def _y_range(ax: Any, ys: list[float], quantity: Quantity) -> None:
    """At least the span a step needs, so what is not a step also looks flat: the
    threshold either way for a noisy figure, `_LEAST_SPAN` for a count."""
    if not ys:
        return
    low, high = min(ys), max(ys)
    middle = (low + high) / 2
    half = (middle * quantity.threshold if not quantity.exact
            else _LEAST_SPAN.get(quantity.name, 0.0) / 2)
    half = max(half, (high - low) / 2) * 1.25 or 1.0
    ax.set_ylim(middle - half, middle + half)
