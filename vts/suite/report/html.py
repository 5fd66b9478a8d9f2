"""The HTML report: one self-contained file, readable offline, every value escaped.

Rule 1: nothing is loaded when the page is viewed: CSS is inline, charts are inline SVG, no
script at all (the environment tabs are CSS-only radio buttons).
Rule 2: jinja2 autoescape is on; the only markup marked safe is the SVG from `charts`, where
matplotlib escapes text itself.
Rule 3: links (memray flamegraphs) are relative to the output file, so the report keeps
working when the run directory is copied or served as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from vts.suite import results
from vts.suite.formatting import DASH, fmt_bytes, fmt_count, fmt_ns, fmt_pct, fmt_signed
from vts.suite.gate import UPDATE_COMMAND, GateResult, notable_timing
from vts.suite.report import charts, stdlib_table, verdict, verdict_text
from vts.suite.report.views import (
    UNSTABLE_REMEDY,
    EnvironmentView,
    environment_views,
    fanout_k,
    operation_of,
    reference_of,
    scenario_sort_key,
    variant_operations_of,
)

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Panel:
    """One environment tab: its tables, and the charts rendered for them."""

    index: int
    view: EnvironmentView
    scenario_charts: dict[str, Markup]
    fanout_chart: Markup | None
    latency_chart: Markup | None
    stdlib: stdlib_table.CostTable | None  # what the standard library costs


def render(
    run: results.Run,
    *,
    gate: GateResult | None = None,
    gate_error: str | None = None,
    baseline_name: str | None = None,
    link_base: Path | None = None,
    sources: list[str] | None = None,
    merge_note: str = "",
    history: str | None = None,
) -> str:
    """The report page for `run` (already rebased so its paths are relative to the page).

    `gate` is the comparison with the baseline named `baseline_name`; `gate_error` says why
    there is none when a baseline was given but could not be compared; `merge_note` says
    which figures of a merged run more than one run measured; `history` links the
    history page (`vts history`), relative to the report.
    """
    views = environment_views(run, gate, link_base)
    verdicts = {v.key: v for v in verdict.verdicts(run)}
    panels = [_panel(i, view, verdicts.get(view.key)) for i, view in enumerate(views)]
    scenarios = sorted(
        {t.scenario for v in views for t in v.tables} | set(run["scenarios"]),
        key=scenario_sort_key)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(recommendation=verdict_text.recommendation, heat=verdict.heat,
                       missing_lines=verdict_text.missing_lines,
                       missing_commands=verdict_text.missing_commands,
                       stdlib_lines=verdict_text.stdlib_lines,
                       matrix_cell=verdict_text.matrix_cell, heat_colour=_heat_colour)
    env.filters.update(ns=fmt_ns, count=fmt_count, signed=fmt_signed, pct=fmt_pct, bytes=fmt_bytes,
                       gib=_gib, short_commit=_short_commit)
    template = env.get_template("report.html.j2")

    return template.render(
        unstable_remedy=UNSTABLE_REMEDY,
        verdicts=verdicts,
        verdict_rule=verdict_text.RULE,
        stdlib_heading=stdlib_table.HEADING,
        stdlib_intro=stdlib_table.INTRO,
        run=run,
        panels=panels,
        scenarios=[(s, operation_of(run, s), reference_of(run, s), variant_operations_of(run, s))
                   for s in scenarios],
        machines=results.machines_of(run),
        environments=[(v.key, v.info) for v in views],
        gate=gate,
        gate_error=gate_error,
        notable_timing=notable_timing(gate) if gate else [],
        baseline_name=baseline_name,
        update_command=UPDATE_COMMAND,
        sources=sources or [],
        merge_note=merge_note,
        history=history,
        generated=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    )


def _panel(index: int, view: EnvironmentView, found: verdict.Verdict | None) -> Panel:
    slug = f"env{index}"
    per_scenario = {}
    for table in view.tables:
        svg = charts.scenario_chart(table.cells, table.reference, f"{slug}-{table.scenario}")
        if svg:
            per_scenario[table.scenario] = Markup(svg)  # matplotlib escapes the text in its SVG
    cells = [c for t in view.tables for c in t.cells]
    ks = {t.scenario: k for t in view.tables if (k := fanout_k(t.scenario)) is not None}
    fanout = charts.fanout_chart(cells, ks, f"{slug}-fanout")
    latency = charts.latency_chart([(t.scenario, t.cells) for t in view.tables],
                                   f"{slug}-latency")
    return Panel(index, view, per_scenario,
                 Markup(fanout) if fanout else None,
                 Markup(latency) if latency else None,
                 stdlib_table.cost_table(view, found))


def _heat_colour(heat: float | None) -> str:
    """The heat map's background: green (the column's cheapest) to red (its dearest)."""
    if heat is None:
        return "transparent"
    return f"hsl({120 * (1 - heat):.0f}, 60%, 88%)"


def _gib(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return DASH
    return f"{value / 2**30:.1f} GiB"


def _short_commit(value: Any) -> str:
    return str(value)[:12] if value else DASH
