"""Charts as inline SVG strings (matplotlib, Agg): per scenario, fan-out scaling, latency.

Rule 1: the SVG must work inside one HTML page with no network: no XML prolog or DOCTYPE, no
metadata block (its dc/cc/rdf URIs), and ids made unique per chart (inline SVGs share the
page's id space) with unreferenced ids dropped.
Rule 2: text stays text (`svg.fonttype = none`): smaller, searchable, and matplotlib
XML-escapes it, so a hostile strategy name cannot inject markup. Mathtext is off, so `$` in
a name is just a character.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # after the backend is chosen
from matplotlib import ticker
from matplotlib.lines import Line2D

from vts.suite.formatting import DASH
from vts.suite.records import Cell, Figure, Section, figure
from vts.suite.report.views import STRATEGY_ORDER, ok, strategy_sort_key

# One chart panel: which figure of which section, its title and the scale it is shown at.
_Panel = tuple[Section, Figure, str, float]

STYLE: Any = {  # Any: matplotlib types rc keys as a Literal union
    "svg.fonttype": "none",
    "svg.hashsalt": "vts",  # deterministic ids; made unique per chart below
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.edgecolor": "#888888",
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "legend.frameon": False,
    "figure.dpi": 72,
}
_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
_PALETTE = ("#9e9e9e", "#d62728", "#2ca02c", "#ff7f0e", "#1f77b4", "#9467bd", "#8c564b",
            "#e377c2", "#17becf", "#bcbd22")
_FONT_FAMILY = re.compile(r"font-family: [^;\"]+")
_ID = re.compile(r'\bid="([^"]+)"')
# Attribute values that hold geometry; text content (names) is never rewritten.
_ATTRIBUTE = re.compile(r'(\b(?:d|x|y|x1|x2|y1|y2|width|height|viewBox|transform)=")([^"]*)"')
_NUMBER = re.compile(r"-?\d+\.\d{3,}")


def colors(strategies: Sequence[str]) -> dict[str, str]:
    """A fixed colour per known strategy, so every chart agrees; others take the rest."""
    assigned = {name: _PALETTE[i] for i, name in enumerate(STRATEGY_ORDER)}
    spare = iter(_PALETTE[len(STRATEGY_ORDER):] * (len(strategies) + 1))
    return {name: assigned.get(name) or next(spare) for name in strategies}


def to_svg(fig: Any, chart_id: str) -> str:
    """`fig` as an inline SVG element; `chart_id` prefixes its ids. Closes the figure."""
    buffer = io.StringIO()
    try:
        fig.savefig(buffer, format="svg", metadata=_METADATA, bbox_inches="tight")
    finally:
        plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = _FONT_FAMILY.sub("font-family: 'DejaVu Sans', Arial, sans-serif", svg)
    used = set(re.findall(r'url\(#([^)]+)\)', svg)) | set(re.findall(r'href="#([^"]+)"', svg))
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id)

    def rename(match: re.Match[str]) -> str:
        return f'id="{prefix}-{match.group(1)}"' if match.group(1) in used else ""

    svg = _ID.sub(rename, svg)
    svg = re.sub(r'url\(#([^)]+)\)', lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r' transform="rotate\(-?0 [^"]*\)"', "", svg)
    svg = _ATTRIBUTE.sub(lambda m: m.group(1) + _NUMBER.sub(_round, m.group(2)) + '"', svg)
    return re.sub(r"\s*\n\s*", "\n", svg)


def _round(match: re.Match[str]) -> str:
    """Coordinates to 0.01 pt: invisible, and a third of the bytes."""
    return f"{float(match.group(0)):.2f}".rstrip("0").rstrip(".")


def _log_axis(axis: Any) -> None:
    """Plain tick labels on a log axis ('1', '10', '1000'; mathtext is off) and no minor
    ticks (they are most of a log chart's bytes)."""
    axis.set_major_formatter(ticker.FuncFormatter(lambda value, _pos: f"{value:g}"))
    axis.set_minor_locator(ticker.NullLocator())


def _strategies(cells: Sequence[Cell], reference: str) -> list[str]:
    names = {c["strategy"] for c in cells}
    return sorted(names, key=lambda n: strategy_sort_key(n, reference))


def _measured(cells: Sequence[Cell], panels: Sequence[_Panel]) -> list[_Panel]:
    """The panels some cell has a figure for: a figure nobody measured gets no chart."""
    return [panel for panel in panels
            if any(figure(c, panel[0], panel[1]) is not None for c in cells)]


def scenario_chart(cells: Sequence[Cell], reference: str, chart_id: str) -> str | None:
    """Allocations per op, instructions per op and median time per op by strategy: a bar
    panel each, for the figures measured."""
    strategies = _strategies(cells, reference)
    by_name = {c["strategy"]: c for c in cells}
    palette = colors(strategies)
    panels = _measured(cells, [("allocs", "allocs_per_op", "allocations / op", 1.0),
                               ("instructions", "instructions_per_op",
                                "instructions / op (k)", 1e-3),
                               ("timing", "median_ns", "median time / op (µs)", 1e-3)])
    if not strategies or not panels:
        return None
    with plt.rc_context(STYLE):
        fig, grid = plt.subplots(1, len(panels), figsize=(2.8 * len(panels),
                                                          0.3 * len(strategies) + 0.9),
                                 sharey=True, squeeze=False)
        axes = grid[0]
        positions = list(range(len(strategies)))[::-1]
        for ax, (section, key, title, scale) in zip(axes, panels, strict=True):
            values = [figure(by_name[s], section, key) if ok(by_name[s]) else None
                      for s in strategies]
            scaled = [v * scale if v is not None else 0.0 for v in values]
            ax.barh(positions, scaled, color=[palette[s] for s in strategies], height=0.7)
            top = max(scaled, default=0.0) or 1.0
            for strategy, y, value, raw in zip(strategies, positions, scaled, values,
                                               strict=True):
                label = "failed" if not ok(by_name[strategy]) else (
                    DASH if raw is None else f"{value:,.3g}")
                ax.text(value + top * 0.01, y, label, va="center", fontsize=8,
                        color="#b00020" if label == "failed" else "#333333")
            ax.set_xlim(0, top * 1.18)
            ax.set_title(title, loc="left")
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(positions, strategies)
        fig.tight_layout()
        return to_svg(fig, chart_id)


def fanout_chart(cells: Sequence[Cell], ks: dict[str, int], chart_id: str) -> str | None:
    """Allocations and median time per *waiter* (per op / K) against K (log x), one line per
    strategy: a flat line is a constant cost per waiter, a rising one grows with K."""
    fan = [c for c in cells if c["scenario"] in ks]
    if len({c["scenario"] for c in fan}) < 2:
        return None
    strategies = _strategies(fan, "")
    palette = colors(strategies)
    panels = _measured(fan, [("allocs", "allocs_per_op", "allocations / waiter", 1.0),
                             ("timing", "median_ns", "median time / waiter (µs)", 1e-3)])
    if not panels:
        return None
    with plt.rc_context(STYLE):
        fig, grid = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.2),
                                 squeeze=False)
        axes = grid[0]
        for ax, (section, key, title, scale) in zip(axes, panels, strict=True):
            for strategy in strategies:
                points = sorted(
                    (ks[c["scenario"]], value * scale / ks[c["scenario"]]) for c in fan
                    if c["strategy"] == strategy and ok(c)
                    and (value := figure(c, section, key)) is not None)
                if points:
                    xs, ys = zip(*points, strict=True)
                    ax.plot(xs, ys, marker="o", markersize=3.5, linewidth=1.4,
                            color=palette[strategy], label=strategy)
            ax.set_xscale("log")
            _log_axis(ax.xaxis)
            ax.set_xlabel("K waiters per publish")
            ax.set_title(title, loc="left")
            ax.set_ylim(bottom=0)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 6),
                   bbox_to_anchor=(0.5, 0.02), fontsize=8)
        fig.tight_layout()
        return to_svg(fig, chart_id)


def latency_chart(tables: Sequence[tuple[str, Sequence[Cell]]], chart_id: str) -> str | None:
    """Per scenario, the share of operations per latency bin (log x), one line per strategy."""
    panels = [(scenario, [c for c in cells if ok(c) and _histogram(c)[1]])
              for scenario, cells in tables]
    panels = [(scenario, cells) for scenario, cells in panels if cells]
    if not panels:
        return None
    strategies = _strategies([c for _, cells in panels for c in cells], "")
    palette = colors(strategies)
    columns = 2 if len(panels) > 1 else 1
    rows = math.ceil(len(panels) / columns)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, columns, figsize=(9.0, 2.3 * rows + 0.4), squeeze=False)
        flat = list(axes.flat)
        for ax, (scenario, cells) in zip(flat, panels, strict=False):
            for cell in cells:
                edges, counts = _histogram(cell)
                total = sum(counts) or 1
                shares = [100.0 * c / total for c in counts]
                ax.stairs([max(v, 1e-3) for v in shares], [e / 1e3 for e in edges],
                          baseline=None, color=palette[cell["strategy"]], linewidth=1.1,
                          label=cell["strategy"])
            ax.set_xscale("log")
            ax.set_yscale("log")  # the tail is the point: log shows 0.01% bins
            _log_axis(ax.xaxis)
            _log_axis(ax.yaxis)
            ax.set_title(scenario, loc="left")
            ax.set_ylabel("% of ops")
            ax.set_ylim(0.01, 100)
        for ax in flat[len(panels):]:
            ax.set_visible(False)
        for ax in flat[len(panels) - columns:len(panels)]:
            ax.set_xlabel("latency per op (µs)")
        handles = [Line2D([], [], color=palette[s], linewidth=2) for s in strategies]
        fig.legend(handles, strategies, loc="upper center", ncol=min(len(strategies), 6),
                   bbox_to_anchor=(0.5, 0.0), fontsize=8)
        fig.tight_layout()
        return to_svg(fig, chart_id)


def _histogram(cell: Cell) -> tuple[list[float], list[float]]:
    latency = cell.get("latency")
    hist = latency.get("histogram") if isinstance(latency, dict) else None
    if not isinstance(hist, dict):
        return [], []
    edges = [float(e) for e in hist.get("edges_ns") or []]
    counts = [float(c) for c in hist.get("counts") or []]
    if len(edges) != len(counts) + 1 or not counts or min(edges) <= 0:
        return [], []
    return edges, counts
