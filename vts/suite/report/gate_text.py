"""The gate's verdict as plain text, for a terminal or a CI log (`vts gate`).

The gate decides (`vts.suite.gate`); this renders. Markdown and HTML render the same
verdict in `markdown` and `html`, with the same numbers from `vts.suite.formatting`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from vts.suite.formatting import fmt_bytes, fmt_count, fmt_ns, fmt_pct, fmt_signed
from vts.suite.gate import UPDATE_COMMAND, AllocDiff, GateResult, notable_timing
from vts.suite.measure.sites import changed_line
from vts.suite.timing import TimingDiff

if TYPE_CHECKING:
    from vts.suite.gate_sites import CellSites


def format_text(gate: GateResult, baseline_name: str) -> str:
    """The gate's report for a terminal or a CI log."""
    lines = [f"gate: {gate.compared} cell(s) compared with {baseline_name} "
             f"(allocations per op, tolerance {fmt_count(gate.tolerance)})"]
    for diff in gate.regressions:
        lines.append(f"  REGRESSION {diff.cell_id}: {_allocs(diff)}{_beside(diff)}")
    for diff in gate.gc_regressions:
        lines.append(f"  REGRESSION {diff.cell_id}: GC per 1,000 ops rose from 0 to "
                     f"{fmt_count(diff.now_gc)} (a new reference cycle?); allocations "
                     f"{fmt_count(diff.now)}, unchanged")
    for failed in gate.failed:
        lines.append(f"  FAILED     {failed.cell_id}: {failed.error} "
                     f"(baseline {fmt_count(failed.baseline)})")
    for diff in gate.improvements:
        lines.append(f"  improved   {diff.cell_id}: {_allocs(diff)}{_beside(diff)}")
    for diff in gate.moved:
        lines.append(f"  moved      {diff.cell_id}: allocations {fmt_count(diff.now)}, "
                     f"unchanged{_beside(diff)}")
    if gate.improvements:
        lines.append(f"  {len(gate.improvements)} improvement(s): record them with "
                     f"`{UPDATE_COMMAND}`")
    if gate.moved:
        lines.append(f"  {len(gate.moved)} cell(s) with moved bytes/op or GC/1k: record them "
                     f"with `{UPDATE_COMMAND}`")
    if gate.new:
        lines.append(f"  {len(gate.new)} cell(s) not in the baseline: add them with "
                     f"`{UPDATE_COMMAND}`")
    lines.extend(instruction_lines(gate))
    notable = notable_timing(gate)
    if notable:
        rule = (f"gated above {fmt_pct(gate.timing_threshold)} when significant"
                if gate.timing_threshold is not None else "reported, not gated")
        lines.append(f"timing (mean per op, {rule}):")
        for timing in notable:
            lines.append(f"  {_timing_flag(gate, timing)} {timing.cell_id}: "
                         f"{fmt_ns(timing.baseline_ns)} -> {fmt_ns(timing.now_ns)} "
                         f"({fmt_pct(timing.change)}, {_significance(timing)})")
    lines.extend(site_lines(gate.sites))
    lines.extend(f"warning: {warning}" for warning in gate.warnings)
    lines.append(f"verdict: {gate.verdict()}")
    return "\n".join(lines) + "\n"


def site_lines(found: Sequence[CellSites], shown: int = 5) -> list[str]:
    """The sites as text lines, for the terminal, the CI log and the Markdown summary."""
    if not found:
        return []
    lines = ["where the regressed cells allocate (the counter's own attribution, per op; "
             "its tracer's frames make these run higher than the exact counts):"]
    for cell in found:
        lines.append(f"  {cell.cell_id}")
        for label, sites in (("now", cell.now),
                             (f"at the baseline's commit {(cell.then_commit or '')[:7]}",
                              cell.then)):
            if sites is not None:
                lines.append(f"    {label}:")
                lines += [f"      {site}" for site in sites[:shown]]
        if cell.now is not None and cell.then is not None:
            changed = cell.changed
            lines.append("    changed since (sites matched by their line's text):" if changed
                         else "    no site changed by 0.01/op or more since")
            lines += [f"      {changed_line(site)}" for site in changed[:shown]]
        lines += [f"    (no sites {why})" for why in cell.missing]
    return lines


def instruction_lines(gate: GateResult) -> list[str]:
    """Instructions per op: one line when none were compared, else each cell that moved."""
    if not gate.instructions:
        return [f"instructions per op: not compared ({gate.instructions_note})"]
    lines = [f"instructions per op: {len(gate.instructions)} cell(s) compared "
             f"(threshold {fmt_pct(gate.instruction_threshold)})"]
    for diff in gate.instruction_regressions:
        lines.append(f"  REGRESSION {diff.cell_id}: baseline {diff.baseline:,.0f}, "
                     f"now {diff.now:,.0f} instructions/op ({fmt_pct(diff.change)})")
    for diff in gate.instruction_improvements:
        lines.append(f"  improved   {diff.cell_id}: baseline {diff.baseline:,.0f}, "
                     f"now {diff.now:,.0f} instructions/op ({fmt_pct(diff.change)})")
    return lines


def _allocs(diff: AllocDiff) -> str:
    return (f"baseline {fmt_count(diff.baseline)}, now {fmt_count(diff.now)} "
            f"({fmt_signed(diff.delta)})")


def _beside(diff: AllocDiff) -> str:
    """'; bytes/op 1,919 B -> 1,927 B (+8 B), GC/1k 5.7 -> 0', for the figures both sides
    have."""
    parts = []
    if diff.baseline_bytes is not None and diff.now_bytes is not None:
        change = fmt_signed(diff.now_bytes - diff.baseline_bytes)
        parts.append(f"bytes/op {fmt_bytes(diff.baseline_bytes)} -> {fmt_bytes(diff.now_bytes)}"
                     f" ({change} B)")
    if diff.baseline_gc is not None and diff.now_gc is not None:
        parts.append(f"GC/1k {fmt_count(diff.baseline_gc)} -> {fmt_count(diff.now_gc)}")
    return "; " + ", ".join(parts) if parts else ""


def _timing_flag(gate: GateResult, timing: TimingDiff) -> str:
    return "SLOWER    " if timing in gate.timing_regressions else "          "


def _significance(timing: TimingDiff) -> str:
    if timing.significant is None:
        return "not tested"
    return "significant" if timing.significant else "not significant"
