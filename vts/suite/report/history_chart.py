"""A series' trend as an inline SVG (matplotlib, the report's style and SVG rules:
`charts.to_svg`): one panel per figure, drawn as steps, each step marked with its commit.

Points are placed one per stop, evenly (the timeline is commits, not dates); a cell gone
from a baseline version breaks the line. Only the first stop, the last and the steps get
a tick label, so a range of a hundred measured commits stays readable.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt

from vts.suite.report.charts import STYLE, to_svg
from vts.suite.report.history_view import SeriesView

# Per figure: the panel's title and the scale it is drawn at.
_PANELS = {"allocs": ("allocations / op", 1.0), "bytes": ("bytes / op", 1.0),
           "gc": ("GC / 1k ops", 1.0), "instructions": ("instructions / op (k)", 1e-3),
           "time": ("mean time / op (µs)", 1e-3)}
_LINE, _UP, _DOWN = "#1f77b4", "#d62728", "#2ca02c"


def series_chart(view: SeriesView, chart_id: str) -> str:
    """The trend of every figure of `view`'s series, a panel each, sharing the x axis."""
    points = view.series.points
    index = {id(p): i for i, p in enumerate(points)}
    steps = [c for c in view.changes if c.kind == "step"]
    ticks = sorted({0, len(points) - 1} | {index[id(c.point)] for c in view.changes})
    with plt.rc_context(STYLE):
        fig, grid = plt.subplots(len(view.columns), 1, sharex=True, squeeze=False,
                                 figsize=(min(10.0, 3.5 + 0.06 * len(points)),
                                          1.5 * len(view.columns) + 0.7))
        for ax, quantity in zip(grid[:, 0], view.columns, strict=True):
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
            ax.margins(y=0.25)
        last = grid[-1, 0]
        last.set_xticks(ticks, [points[i].stop.label for i in ticks], rotation=45,
                        ha="right", fontsize=7.5)
        last.set_xlim(-0.5, len(points) - 0.5)
        fig.tight_layout()
        return to_svg(fig, chart_id)
