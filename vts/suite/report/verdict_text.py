"""The verdict in words: one plain-text sentence per recommendation, and the matrix cell's
text, shared by the HTML, Markdown and terminal outputs so they say the same thing.

Each renderer escapes these strings for its own format; nothing here is markup.
"""

from __future__ import annotations

import shlex

from vts.suite.formatting import DASH, fmt_count, fmt_signed
from vts.suite.report.verdict import (
    USE_CASES,
    Column,
    Figures,
    Recommendation,
    Verdict,
    heat_value,
    names,
)
from vts.suite.report.views import ACCELERATED, STDLIB

HEADING = "Verdict"
RULE = ("Picked by exact allocations per op, then instructions per op (within 3% they "
        "are equal; in brackets: what decided); times are shown, never used to rank. "
        "Matrix: allocations above the floor (allocations where no floor was measured) | "
        "instructions as a ratio to the reference; ★ the cheapest per scenario.")

_DECIDED = {"allocations": "fewest allocations",
            "instructions": "fewest instructions at equal allocations",
            "tie": "tied on every counted figure"}


def cost(figures: Figures, reference: str) -> str:
    """What one strategy costs against the reference, in the figures the run has:
    `21.2 allocations/op (-2 vs future_per_call; instructions 1.00x, median time 0.97x)`."""
    if figures.strategy == reference:
        return f"{fmt_count(figures.allocs)} allocations/op (the reference)"
    against = []
    if figures.allocs_vs_reference is not None:
        against.append(f"{fmt_signed(figures.allocs_vs_reference)} vs {reference}")
    if figures.instructions_ratio is not None:
        against.append(f"instructions {figures.instructions_ratio:.2f}x")
    if figures.time_ratio is not None:
        against.append(f"median time {figures.time_ratio:.2f}x")
    return f"{fmt_count(figures.allocs)} allocations/op" + (
        f" ({'; '.join(against)})" if against else "")


def recommendation(rec: Recommendation) -> str:
    """One use case's answer: the pick, what it costs, why it won, the pure-Python one."""
    head = rec.use_case[0].upper() + rec.use_case[1:]
    if not rec.picks:
        return f"{head}: {rec.scenario} was not measured in this run."
    text = f"{head} ({rec.scenario}): {_pick(rec.picks, rec.reference)}"
    text += f" [{_DECIDED[rec.decided_by]}]"
    if rec.other_form:
        form = ("in pure Python" if rec.picks[0].strategy.endswith(ACCELERATED)
                else "with the C accelerator")
        text += f"; {form}: {_pick(rec.other_form, rec.reference)}"
    if not rec.deterministic:
        text += ". Its counts depend on timing (not gated)"
    return text + "."


# Each standard-library scenario: what its awaits do, and the use case whose pick it is
# weighed against.
_STDLIB_AGAINST = {STDLIB[0]: ("without a suspension", USE_CASES[0].name),
                   STDLIB[1]: ("with one", USE_CASES[1].name)}


def stdlib_lines(verdict: Verdict) -> list[str]:
    """One line, where the run measured the standard library's awaits: the cheapest and
    dearest await of each stdlib scenario, and what the matching picks cost."""
    parts, picks = [], []
    for column in verdict.stdlib:
        measured = sorted((f.allocs, f.strategy, f.resolution)
                          for f in column.figures.values() if f.allocs is not None)
        if not measured:
            continue
        how, use_case = _STDLIB_AGAINST[column.scenario]
        (low, cheapest, _), (high, dearest, resolution) = measured[0], measured[-1]
        span = (f"{fmt_count(low)} ({cheapest}) to {fmt_count(high)} ({dearest})"
                if high - low > resolution else fmt_count(low))
        parts.append(f"{span} {how}")
        rec = next((r for r in verdict.recommendations if r.use_case == use_case), None)
        if rec is not None and rec.picks:
            tied = " and others tied" if len(rec.picks) > 1 else ""
            picks.append(f"{fmt_count(rec.picks[0].allocs)} ({rec.picks[0].strategy}"
                         f"{tied}, {rec.scenario})")
    if not parts:
        return []
    text = ("The standard library (" + ", ".join(c.scenario for c in verdict.stdlib)
            + "), allocations/op: " + ", ".join(parts))
    if picks:
        text += "; the picks above: " + " and ".join(picks)
    return [text + "."]


def missing_lines(verdict: Verdict, *, whole: bool = True) -> list[str]:
    """One line per figure the verdict lacks: what, where, and the command measuring it;
    without the cells it selects where not `whole` (the HTML verdict: the whole command is
    further down the page, `missing_commands`)."""
    return [f"Not in this run: {m.figure} of {', '.join(m.scenarios)}; measure with "
            + (m.command(verdict.python, verdict.loop) if whole else shlex.join(m.flags()))
            for m in verdict.missing]


def missing_commands(verdict: Verdict) -> list[str]:
    """The whole `vts bench` command for each figure the verdict lacks."""
    return [m.command(verdict.python, verdict.loop) for m in verdict.missing]


def _pick(picks: tuple[Figures, ...], reference: str) -> str:
    """`a: cost`, or `a or b (tied): the first one's cost` (tied figures are equal)."""
    tied = " (tied)" if len(picks) > 1 else ""
    return f"{names(picks)}{tied}: {cost(picks[0], reference)}"


def matrix_cell(column: Column, figures: Figures | None) -> str:
    """The matrix's text for one strategy in one scenario: `+1 | 1.02x`, `+1` without
    instructions, DASH where it was not measured."""
    value = heat_value(column, figures)
    if figures is None or value is None:
        return DASH
    shown = fmt_signed(value) if column.floor_allocs is not None else fmt_count(value)
    if figures.instructions_ratio is not None:
        shown += f" | {figures.instructions_ratio:.2f}x"
    return shown + (" ★" if figures.strategy in column.cheapest else "")


__all__ = ["HEADING", "RULE", "cost", "matrix_cell", "missing_commands", "missing_lines",
           "recommendation", "stdlib_lines"]
