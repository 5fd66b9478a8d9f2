"""The verdict: which strategy to pick for each use case, and what it costs, from a run's
own figures. Pure data: html, markdown and terminal render it (verdict_text words it).

Rule 1: nothing here is fixed text about strategies. Every pick is computed from the cells
of one interpreter and loop, so a run whose figures change gets a different verdict.
Rule 2: a pick is decided by exact allocations per op first (two counts within the
cells' resolution, `schema.resolution`, are equal), then by instructions per op where
every tied cell counted them (within INSTRUCTION_TIE they are equal), and never by time:
times on a shared machine are too noisy to rank strategies, so they are only reported.
What is still tied after both is reported as a tie, every tied strategy named.
Rule 3: where the run has the accelerator's forms (`name[c]`), the best of the other
form is given too: pure Python where a [c] strategy won (a reader without a compiler has
an answer), the best [c] one where a pure-Python strategy won.
Rule 4: a figure the verdict needs and the run lacks is named with the exact `vts bench`
command that measures it (`Missing`), never shown as a guess.

Trades: one verdict per interpreter and loop, not one across them: the figures differ
between interpreters and loops (a pick on 3.11 can lose on 3.12), and a merged report
of several runs gets one verdict per environment it holds.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vts.suite.records import figure
from vts.suite.report.views import (
    ACCELERATED,
    FLOOR,
    STDLIB,
    env_sort_key,
    ok,
    reference_of,
    scenario_sort_key,
    strategy_sort_key,
)
from vts.suite.results import Cell, Run
from vts.suite.schema import resolution

# Instruction counts within 3% are equal: runs with different histories moved a cell by
# up to 2.7% (docs/instructions.md), so a smaller difference does not rank two strategies.
INSTRUCTION_TIE = 0.03
_EPSILON = 1e-9


@dataclass(frozen=True)
class UseCase:
    """A use case the README names, and the scenarios that measure it, best first."""

    name: str
    scenarios: tuple[str, ...]


USE_CASES = (
    UseCase("a value that is usually ready", ("fresh",)),
    UseCase("an await that suspends", ("wait",)),
    # The largest K measured: the per-waiter cost dominates there.
    UseCase("one publish waking many", ("fanout-1000", "fanout-100", "fanout-10", "fanout-1")),
    UseCase("cross-thread completion", ("thread",)),
    # A ready message first: its counts repeat exactly; 4 KiB is the README's case.
    UseCase("socket receive", ("socket-ready-4k", "socket-4k", "socket-ready-64", "socket-64",
                               "socket-64k")),
    # A channel against asyncio.Queue: the consumer waits for each item (the hot case) ...
    UseCase("a producer/consumer queue", ("channel-pingpong", "channel-fanin")),
    # ... or finds most items already there.
    UseCase("a queue drained in bursts", ("channel-burst",)),
)


@dataclass(frozen=True)
class Figures:
    """One strategy's figures in one scenario, and how they compare with the reference."""

    strategy: str
    allocs: float | None
    above_floor: float | None  # None where the floor was not measured
    instructions: float | None
    instructions_ratio: float | None  # over the reference's, where both were counted
    time_ratio: float | None  # median over the reference's median, where both were timed
    allocs_vs_reference: float | None  # allocations minus the reference's
    resolution: float  # the smallest difference in allocations the cell can tell


@dataclass(frozen=True)
class Column:
    """One scenario of the matrix: every strategy measured in it, the cheapest marked."""

    scenario: str
    reference: str
    floor_allocs: float | None
    deterministic: bool
    figures: dict[str, Figures]  # by strategy (the floor is not one)
    cheapest: tuple[str, ...]  # more than one: tied on every figure that ranks them


@dataclass(frozen=True)
class Matrix:
    """Strategies x scenarios that share a reference (the loop scenarios; the sockets)."""

    reference: str
    strategies: list[str]  # rows, in the report's order
    columns: list[Column]


@dataclass(frozen=True)
class Missing:
    """A figure the verdict needs and the run lacks: "allocations" or "instructions", in
    which scenarios, of which strategies (empty: all of them)."""

    figure: str
    scenarios: tuple[str, ...]
    strategies: tuple[str, ...]

    def command(self, python: str, loop: str) -> str:
        """The `vts bench` command that measures it on `python` and `loop`."""
        args = ["-s", ",".join(self.strategies)] if self.strategies else []
        return shlex.join([*self.flags(), *args, "-c", ",".join(self.scenarios),
                           "-p", python, "-l", loop])

    def flags(self) -> list[str]:
        """`vts bench` and the flags that measure the figure, without the cells."""
        args = ["vts", "bench", "--allocs-only"]
        return [*args, "--instructions"] if self.figure == "instructions" else args


@dataclass(frozen=True)
class Recommendation:
    use_case: str
    scenario: str  # the scenario that decided it (without picks: the one not measured)
    reference: str
    picks: tuple[Figures, ...]  # the cheapest (several: a tie); empty: nothing to pick
    decided_by: str  # "allocations", "instructions" or "tie"
    # The best of the other form where the run has [c] strategies: pure Python where a
    # [c] one won, the accelerator's where a pure-Python one won (Rule 3).
    other_form: tuple[Figures, ...]
    deterministic: bool
    missing: tuple[Missing, ...]


@dataclass(frozen=True)
class Verdict:
    """The verdict for one interpreter and loop."""

    key: str
    python: str
    loop: str
    matrices: list[Matrix]
    recommendations: list[Recommendation]
    # The standard library's awaits (views.STDLIB), kept out of the matrices: they are
    # not strategies to pick from, but what the picks are weighed against.
    stdlib: tuple[Column, ...] = ()

    @property
    def missing(self) -> list[Missing]:
        """What the recommendations lack, one item per figure (so one command each): the
        union of their scenarios and strategies."""
        merged: dict[str, tuple[dict[str, None], dict[str, None] | None]] = {}
        for item in (m for rec in self.recommendations for m in rec.missing):
            scenarios, strategies = merged.setdefault(item.figure, ({}, {}))
            scenarios.update(dict.fromkeys(item.scenarios))
            if strategies is None or not item.strategies:
                merged[item.figure] = (scenarios, None)  # every strategy
            else:
                strategies.update(dict.fromkeys(item.strategies))
        return [Missing(figure, tuple(scenarios), tuple(strategies or ()))
                for figure, (scenarios, strategies) in merged.items()]


def verdicts(run: Run) -> list[Verdict]:
    """One verdict per interpreter and loop of `run` (a run, or a merge of runs)."""
    by_env: dict[tuple[str, str], list[Cell]] = {}
    for cell in run["cells"]:
        by_env.setdefault((str(cell["python"]), str(cell["loop"])), []).append(cell)
    return [_verdict(run, python, loop, by_env[(python, loop)])
            for python, loop in sorted(by_env, key=lambda pl: env_sort_key(*pl))]


def _verdict(run: Run, python: str, loop: str, cells: list[Cell]) -> Verdict:
    scenarios = sorted({c["scenario"] for c in cells}, key=scenario_sort_key)
    columns = {s: _column(run, s, [c for c in cells if c["scenario"] == s]) for s in scenarios}
    matrices: dict[str, list[Column]] = {}
    for column in columns.values():
        if column.scenario not in STDLIB:
            matrices.setdefault(column.reference, []).append(column)
    return Verdict(
        f"{python}/{loop}", python, loop,
        [_matrix(reference, cols) for reference, cols in matrices.items()],
        [_recommend(use_case, columns) for use_case in USE_CASES],
        tuple(columns[s] for s in STDLIB if s in columns))


def _column(run: Run, scenario: str, cells: list[Cell]) -> Column:
    reference = reference_of(run, scenario)
    by_strategy = {c["strategy"]: c for c in cells if ok(c)}
    floor = figure(by_strategy.get(FLOOR), "allocs", "allocs_per_op")
    ref = by_strategy.get(reference)
    figures = {name: _figures(cell, ref, floor) for name, cell in by_strategy.items()
               if name != FLOOR and figure(cell, "allocs", "allocs_per_op") is not None}
    cheapest, _ = rank(figures.values())
    spec = run["scenarios"].get(scenario, {})
    deterministic = bool(spec.get("deterministic", True)) and all(
        c.get("deterministic", True) for c in cells)
    return Column(scenario, reference, floor, deterministic, figures,
                  tuple(f.strategy for f in cheapest))


def _figures(cell: Cell, ref: Cell | None, floor: float | None) -> Figures:
    allocs = figure(cell, "allocs", "allocs_per_op")
    instructions = figure(cell, "instructions", "instructions_per_op")
    ref_allocs = figure(ref, "allocs", "allocs_per_op")
    ref_instructions = figure(ref, "instructions", "instructions_per_op")
    median, ref_median = figure(cell, "timing", "median_ns"), figure(ref, "timing", "median_ns")
    return Figures(
        strategy=cell["strategy"], allocs=allocs,
        above_floor=allocs - floor if allocs is not None and floor is not None else None,
        instructions=instructions,
        instructions_ratio=(instructions / ref_instructions
                            if instructions is not None and ref_instructions else None),
        time_ratio=median / ref_median if median is not None and ref_median else None,
        allocs_vs_reference=(allocs - ref_allocs
                             if allocs is not None and ref_allocs is not None else None),
        resolution=resolution(cell))


def _matrix(reference: str, columns: list[Column]) -> Matrix:
    names = {name for column in columns for name in column.figures}
    return Matrix(reference, sorted(names, key=lambda n: strategy_sort_key(n, reference)),
                  columns)


def rank(candidates: Iterable[Figures]) -> tuple[list[Figures], str]:
    """The cheapest of `candidates` (Rule 2) and what decided it: "allocations",
    "instructions" or "tie" (several left). No candidates: ([], "tie")."""
    pool = [f for f in candidates if f.allocs is not None]
    if not pool:
        return [], "tie"
    least = min(f.allocs for f in pool if f.allocs is not None)
    tied = [f for f in pool if f.allocs is not None
            and f.allocs - least <= max(f.resolution, _EPSILON)]
    if len(tied) == 1:
        return tied, "allocations"
    if all(f.instructions is not None for f in tied):
        fewest = min(f.instructions for f in tied if f.instructions is not None)
        close = [f for f in tied if f.instructions is not None
                 and f.instructions <= fewest * (1 + INSTRUCTION_TIE)]
        if len(close) == 1:
            return close, "instructions"
        tied = close
    return tied, "tie"


def _recommend(use_case: UseCase, columns: dict[str, Column]) -> Recommendation:
    column = next((columns[s] for s in use_case.scenarios if s in columns), None)
    if column is None or not column.figures:
        wanted = use_case.scenarios[0]
        return Recommendation(use_case.name, wanted, "", (), "tie", (), True,
                              (Missing("allocations", (wanted,), ()),))
    picks, decided_by = rank(column.figures.values())
    accelerated = picks[0].strategy.endswith(ACCELERATED)
    other_form: list[Figures] = []
    if (any(name.endswith(ACCELERATED) for name in column.figures)
            and all(p.strategy.endswith(ACCELERATED) == accelerated for p in picks)):
        other_form, _ = rank(f for f in column.figures.values()
                             if f.strategy.endswith(ACCELERATED) != accelerated)
    missing: list[Missing] = []
    if column.reference not in column.figures:
        missing.append(Missing("allocations", (column.scenario,), (column.reference,)))
    needed = [*picks, *other_form, *filter(None, [column.figures.get(column.reference)])]
    uncounted = sorted({f.strategy for f in needed if f.instructions is None},
                       key=lambda n: strategy_sort_key(n, column.reference))
    if uncounted:
        missing.append(Missing("instructions", (column.scenario,), tuple(uncounted)))
    return Recommendation(use_case.name, column.scenario, column.reference, tuple(picks),
                          decided_by, tuple(other_form), column.deterministic,
                          tuple(missing))


def heat_span(column: Column) -> tuple[float, float] | None:
    """The lowest and highest value the heat map colours in `column` (above the floor
    where it was measured, else allocations), or None when it has none."""
    values = [v for v in (heat_value(column, f) for f in column.figures.values())
              if v is not None]
    return (min(values), max(values)) if values else None


def heat_value(column: Column, figures: Figures | None) -> float | None:
    """The figure the heat map shows for one strategy: allocations above the floor, or
    allocations where the scenario has no floor measured."""
    if figures is None:
        return None
    return figures.above_floor if column.floor_allocs is not None else figures.allocs


def heat(column: Column, figures: Figures | None) -> float | None:
    """Where a strategy's figure lies between the column's cheapest (0) and dearest (1)."""
    value, span = heat_value(column, figures), heat_span(column)
    if value is None or span is None:
        return None
    low, high = span
    return 0.0 if high - low <= _EPSILON else (value - low) / (high - low)


def names(picks: Sequence[Figures]) -> str:
    """`a`, `a or b`: the strategies of a (possibly tied) pick."""
    return " or ".join(p.strategy for p in picks)


__all__ = ["INSTRUCTION_TIE", "USE_CASES", "Column", "Figures", "Matrix", "Missing",
           "Recommendation", "UseCase", "Verdict", "heat", "heat_span", "heat_value",
           "names", "rank", "verdicts"]
