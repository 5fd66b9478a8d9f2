"""The Markdown summary: the report's tables per environment plus the gate's diff.

For CI job summaries and pull-request comments (GitHub-flavoured tables). Every name is
escaped for both Markdown (`|`, backslash, backticks) and the HTML a renderer would let
through (`<`, `>`, `&`).
"""

from __future__ import annotations

import html
from pathlib import Path

from vts.suite import results
from vts.suite.formatting import DASH, fmt_bytes, fmt_count, fmt_ns, fmt_pct, fmt_signed
from vts.suite.gate import UPDATE_COMMAND, AllocDiff, GateResult, notable_timing
from vts.suite.report import stdlib_table, verdict, verdict_text
from vts.suite.report.gate_text import instruction_lines, site_lines
from vts.suite.report.views import (
    ABOVE_FLOOR,
    ALLOCS,
    INSTRUCTIONS,
    LATENCY,
    TIME,
    UNSTABLE_REMEDY,
    Row,
    environment_views,
    operation_of,
    scenario_sort_key,
)

# Each figure column with the group it belongs to (views.ScenarioTable.shown): a group no
# cell of the environment measured is left out.
COLUMNS = (("Median (pyperf)", TIME), ("MAD", TIME), ("p50 (per op)", LATENCY),
           ("p99 (per op)", LATENCY), ("Ratio (median)", TIME), ("Instructions/op", INSTRUCTIONS),
           ("Allocated/op", ALLOCS), ("Above floor", ABOVE_FLOOR), ("Bytes/op", ALLOCS),
           ("GC/1k ops", ALLOCS))


def escape(text: object) -> str:
    """`text` safe inside a Markdown table cell."""
    escaped = html.escape(str(text), quote=False)
    for char in ("\\", "|", "`", "*", "[", "]"):
        escaped = escaped.replace(char, "\\" + char)
    return escaped.replace("\n", " ")


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _jobs(run: results.Run) -> str:
    jobs = run.get("jobs", 1)
    timed = " (timed one value at a time)" if run.get("mode") == "fast" else ""
    return f", {jobs} cells at a time{timed}" if jobs > 1 else ""


def _figures(row: Row) -> list[str]:
    """Every figure column of a row, in COLUMNS' order."""
    allocs = row.allocs + ((" ▲" if row.change == "regression" else " ▼") if row.change else "")
    median = row.median + (" ⚠" if row.unstable else "")
    return [median, row.mad, row.p50, row.p99, row.ratio, row.instructions, allocs,
            row.above_floor, row.bytes, row.gc]


def render(run: results.Run, gate: GateResult | None = None, baseline_name: str = "",
           gate_error: str | None = None, merge_note: str = "",
           link_base: Path | None = None) -> str:
    """The whole summary: a heading, one table per environment, then the gate's diff.
    `merge_note` says which figures of a merged run more than one run measured; `link_base`
    is where the run's pyperf files are relative to (the Ratio's t-test), None: untested."""
    lines = [f"## vts results {escape(run['run_id'])}", "",
             f"{escape(run['created'])} · mode {escape(run['mode'])}{_jobs(run)} · "
             f"{escape(run['machine'].get('hostname', DASH))}, "
             f"{escape(run['machine'].get('cpu_model', DASH))}", ""]
    if merge_note:
        lines += [f"Merged runs: {escape(merge_note)}.", ""]
    lines += verdict_lines(run)
    verdicts = {found.key: found for found in verdict.verdicts(run)}
    for view in environment_views(run, gate, link_base):
        info = view.info
        detail = " ".join(str(p) for p in (info.get("implementation"), info.get("python_full"))
                          if p)
        lines += [f"### {escape(view.key)}", ""]
        if detail:
            lines += [f"{escape(detail)}, loop {escape(view.loop)} "
                      f"{escape(info.get('loop_version', ''))}".rstrip(), ""]
        costs = stdlib_table.cost_table(view, verdicts.get(view.key))
        if costs is not None:
            lines += stdlib_lines(costs)
        shown = frozenset().union(*(table.shown for table in view.tables))
        columns = [(name, index) for index, (name, group) in enumerate(COLUMNS)
                   if group in shown]
        lines += [_row(["Scenario", "Strategy", *(name for name, _ in columns)]),
                  _row(["---", "---", *("---:" for _ in columns)])]
        for table in view.tables:
            for row in table.rows:
                name = escape(row.strategy) + (" (ref)" if row.is_reference else "")
                if row.failed:
                    figures = [f"failed: {escape(row.error)}", *(DASH,) * (len(columns) - 1)]
                else:
                    every = _figures(row)
                    figures = [every[index] for _, index in columns]
                lines.append(_row([escape(table.scenario), name, *figures]))
        lines.append("")
        lines += [escape(table.untimed) + ".\n" for table in view.tables if table.untimed]
        unstable = [row for table in view.tables for row in table.unstable]
        if unstable:
            lines += [f"⚠ {len(unstable)} times unstable: " + "; ".join(
                f"{escape(row.cell_id)} ({escape(row.unstable)})" for row in unstable)
                + f". {escape(UNSTABLE_REMEDY)}.", ""]
    scenarios = sorted(run["scenarios"], key=scenario_sort_key)
    if scenarios:
        lines += ["Operations: " + "; ".join(
            f"**{escape(s)}**: {escape(operation_of(run, s) or DASH)}" for s in scenarios), ""]
    if gate is not None:
        lines += gate_lines(gate, baseline_name)
    elif gate_error:
        lines += ["### Baseline", "", escape(gate_error), ""]
    return "\n".join(lines)


def verdict_lines(run: results.Run) -> list[str]:
    """The verdict per environment: the picks, what is missing, the matrices (★ cheapest)."""
    lines = []
    for found in verdict.verdicts(run):
        lines += [f"### {verdict_text.HEADING}: {escape(found.key)}", ""]
        lines += [f"- {escape(verdict_text.recommendation(rec))}"
                  for rec in found.recommendations]
        lines += [f"- {escape(line)}" for line in verdict_text.stdlib_lines(found)]
        lines += [f"- {escape(line)}" for line in verdict_text.missing_lines(found)]
        lines.append("")
        for matrix in found.matrices:
            lines += [_row([f"vs {escape(matrix.reference)}",
                            *(escape(c.scenario) for c in matrix.columns)]),
                      _row(["---", *("---:",) * len(matrix.columns)])]
            lines += [_row([escape(name), *(escape(verdict_text.matrix_cell(c, c.figures.get(name)))
                                            for c in matrix.columns)])
                      for name in matrix.strategies]
            lines.append("")
        lines += [escape(verdict_text.RULE), ""]
    return lines


def stdlib_lines(costs: stdlib_table.CostTable) -> list[str]:
    """What the standard library costs: each await without and with a suspension."""
    halves = ("no suspension", "one suspension")
    lines = [f"**{escape(stdlib_table.HEADING)}** ({escape(stdlib_table.INTRO)})", "",
             _row(["Await", *(f"{label} ({half})" for half in halves
                              for label in costs.labels)]),
             _row(["---", *("---:",) * (2 * len(costs.labels))])]
    lines += [_row([escape(row.name) + (" (strategy)" if row.strategy else ""),
                    *(escape(value) for value in costs.cells(row))]) for row in costs.rows]
    return [*lines, ""]


def gate_lines(gate: GateResult, baseline_name: str) -> list[str]:
    """The gate's diff as Markdown lines (also `vts gate --markdown`)."""
    lines = [f"### Gate: allocations per op vs {escape(baseline_name)}", "",
             f"**{escape(gate.verdict())}**: {gate.compared} cells compared "
             f"(tolerance {fmt_count(gate.tolerance)}), "
             f"{len(gate.regressions) + len(gate.gc_regressions)} regressed, "
             f"{len(gate.improvements)} improved, {len(gate.unchanged)} unchanged"
             + (f", {len(gate.new)} not in the baseline" if gate.new else "") + ".", ""]
    listed = gate.regressions or gate.gc_regressions or gate.improvements or gate.failed
    if listed or gate.moved:
        lines += [_row(["Cell", "Baseline", "Now", "Delta", "Bytes/op", "GC/1k ops", "Change"]),
                  _row(["---", "---:", "---:", "---:", "---:", "---:", "---"])]
        for diffs, change in ((gate.regressions, "▲ regression"),
                              (gate.gc_regressions, "▲ GC from 0")):
            lines += [_diff_row(diff, change) for diff in diffs]
        for failed in gate.failed:
            lines.append(_row([escape(failed.cell_id), fmt_count(failed.baseline), DASH, DASH,
                               DASH, DASH, f"failed: {escape(failed.error)}"]))
        for diffs, change in ((gate.improvements, "▼ improvement"), (gate.moved, "moved")):
            lines += [_diff_row(diff, change) for diff in diffs]
        lines.append("")
    if gate.improvements or gate.moved or gate.new:
        lines += [f"Record improvements, moved figures and new cells with "
                  f"`{UPDATE_COMMAND}`.", ""]
    first, *moved = instruction_lines(gate)
    lines += [escape(first), ""] + ([f"- {escape(m.strip())}" for m in moved] + [""]
                                    if moved else [])
    timing = notable_timing(gate)
    if timing:
        gated = (f"gated above {fmt_pct(gate.timing_threshold)} when significant"
                 if gate.timing_threshold is not None else "reported, not gated")
        lines += [f"Timing changes of 5% or more (mean per op, {gated}):", "",
                  _row(["Cell", "Baseline", "Now", "Change", "Significant"]),
                  _row(["---", "---:", "---:", "---:", "---"])]
        for t in timing:
            significant = ("not tested" if t.significant is None
                           else "yes" if t.significant else "no")
            lines.append(_row([escape(t.cell_id), fmt_ns(t.baseline_ns), fmt_ns(t.now_ns),
                               fmt_pct(t.change), significant]))
        lines.append("")
    if gate.sites:
        first, *rest = site_lines(gate.sites)
        lines += [escape(first[0].upper() + first[1:]), "", "```", *rest, "```", ""]
    lines += [f"warning: {escape(w)}" for w in gate.warnings]
    if gate.warnings:
        lines.append("")
    return lines


def _diff_row(diff: AllocDiff, change: str) -> str:
    """One compared cell: allocations, then bytes/op and GC per 1,000 ops before -> now."""
    def pair(before: str, now: str) -> str:
        return DASH if DASH in (before, now) else f"{before} → {now}"

    return _row([escape(diff.cell_id), fmt_count(diff.baseline), fmt_count(diff.now),
                 fmt_signed(diff.delta), pair(fmt_bytes(diff.baseline_bytes),
                                              fmt_bytes(diff.now_bytes)),
                 pair(fmt_count(diff.baseline_gc), fmt_count(diff.now_gc)), change])
