"""The report's view models: per environment, per scenario, a table of formatted rows.

Rule 1: reports read results only (and the gate's verdict); they never re-measure.
Rule 2: a missing figure is shown as DASH, never as 0; a failed cell shows its error; a
column no cell of the table measured is left out (`ScenarioTable.shown`).
Rule 4: a time is marked unstable where the measurement says so (`timing.checks`:
`vts.suite.timing.unstable_checks`) or where the median lies above the per-operation p99;
one banner per table lists them, and UNSTABLE_REMEDY says what to do.
Rule 3: Ratio is the cell's median time over the median of its scenario's reference strategy
(`scenarios[s].reference`, default future_per_call), as BenchmarkDotNet's Ratio column,
shown as SIMILAR where pyperf's t-test (as `pyperf compare_to` applies it) finds no
significant difference; Above floor is the cell's allocations per op minus those of the
`floor` strategy (the bare await the loop itself costs) in the same scenario and
environment.
Rule 5: each time column is one statistic of one set of samples: Median and MAD of
pyperf's values, p50 and p99 of the per-operation samples (the latency distribution).

Every output (HTML, Markdown, terminal) builds on these views, so they show the same rows
in the same order. Heavy imports (matplotlib, jinja2, rich) live in the format modules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vts.suite.formatting import (
    fmt_bytes,
    fmt_count,
    fmt_instructions,
    fmt_ns,
    fmt_ratio,
    fmt_signed,
)
from vts.suite.gate import GateResult
from vts.suite.records import figure
from vts.suite.results import DEFAULT_REFERENCE, Cell, Run, env_key
from vts.suite.timing import pyperf_path, significant

FLOOR = "floor"
SIMILAR = "\u2248"  # Ratio where the t-test finds no significant difference
UNSTABLE_REMEDY = ("To steady them, measure those cells again with more processes (vts bench "
                   "--full -c SCENARIO -s STRATEGY) on a machine with nothing else running; "
                   "on a shared machine, compare Instructions/op instead")
# The columns a table may leave out (Rule 2): each group's figures come together.
TIME, LATENCY, INSTRUCTIONS, ALLOCS, ABOVE_FLOOR = (
    "time", "latency", "instructions", "allocs", "above_floor")
# Display order; names not listed follow, sorted. Reports do not import the registry
# (dependencies run one way), so this list only orders, it never selects.
STRATEGY_ORDER = ("floor", "future_per_call", "cached_result", "handwritten", "manual_reset",
                  "pooled", "recycled_future")
ACCELERATED = "[c]"  # the suffix of a strategy on the C accelerator
SCENARIO_ORDER = ("fresh", "wait", "thread", "fanout", "monitor", "channel", "socket", "stdlib")
LOOP_ORDER = ("asyncio", "uvloop")
_FANOUT = re.compile(r"^fanout-(\d+)$")
# The scenario groups named by a prefix, each in its own order.
CHANNELS = ("channel-pingpong", "channel-burst", "channel-fanin")
STDLIB = ("stdlib-ready", "stdlib-suspend")  # the standard library's awaits, not strategies


# --- ordering ------------------------------------------------------------------------------

def fanout_k(scenario: str) -> int | None:
    """K of a `fanout-K` scenario, else None."""
    match = _FANOUT.match(scenario)
    return int(match.group(1)) if match else None


_SIZE_SUFFIX = {"": 1, "k": 1024, "m": 1024 * 1024}


def _socket_bytes(name: str) -> int | None:
    """The message size of a `socket-<size>` or `socket-ready-<size>` scenario (64, 4k, 64k),
    else None."""
    match = re.fullmatch(r"socket-(?:ready-)?(\d+)([km]?)", name)
    return int(match.group(1)) * _SIZE_SUFFIX[match.group(2)] if match else None


def scenario_sort_key(name: str) -> tuple[int, int, str]:
    k = fanout_k(name)
    size = _socket_bytes(name)
    group = next((g for g in (CHANNELS, STDLIB) if name in g), None)
    base = ("fanout" if k is not None else "socket" if size is not None
            else name.partition("-")[0] if group else name)
    rank = SCENARIO_ORDER.index(base) if base in SCENARIO_ORDER else len(SCENARIO_ORDER)
    return rank, k or size or (group.index(name) if group else 0), name


def strategy_sort_key(name: str, reference: str = DEFAULT_REFERENCE) -> tuple[int, str]:
    """The floor, the reference, the built-in strategies with each `name[c]` right after
    `name` (so a design's two implementations sit together), then the rest by name."""
    if name == FLOOR:
        return 0, name
    if name == reference:
        return 1, name
    base = name.removesuffix(ACCELERATED)
    if base in STRATEGY_ORDER:
        return 2 + 2 * STRATEGY_ORDER.index(base) + (base != name), name
    return 2 + 2 * len(STRATEGY_ORDER), name


def env_sort_key(python: str, loop: str) -> tuple[tuple[int, ...], int, str]:
    version = tuple(int(p) if p.isdigit() else 0 for p in python.split("."))
    rank = LOOP_ORDER.index(loop) if loop in LOOP_ORDER else len(LOOP_ORDER)
    return version, rank, loop


def reference_of(run: Run, scenario: str) -> str:
    spec = run["scenarios"].get(scenario)
    if isinstance(spec, dict) and spec.get("reference"):
        return str(spec["reference"])
    return DEFAULT_REFERENCE


def operation_of(run: Run, scenario: str) -> str:
    spec = run["scenarios"].get(scenario)
    return str(spec.get("operation", "")) if isinstance(spec, dict) else ""


def untimed_line(run: Run, scenario: str) -> str:
    """Why the run did not time the scenario's cells (fast mode) and how to time them, or
    "" where it did."""
    spec = run["scenarios"].get(scenario)
    reason = spec.get("untimed") if isinstance(spec, dict) else None
    if not reason:
        return ""
    return (f"Not timed in fast mode: {reason}. To time it: vts bench --full -c {scenario}")


def variant_operations_of(run: Run, scenario: str) -> dict[str, str]:
    """What one operation is per variant, where the scenario's variants differ in it."""
    spec = run["scenarios"].get(scenario)
    variants = spec.get("variants") if isinstance(spec, dict) else None
    return {str(k): str(v) for k, v in variants.items()} if isinstance(variants, dict) else {}


# --- figures of a cell ---------------------------------------------------------------------

def ok(cell: Cell) -> bool:
    return bool(cell.get("status") == "ok")


# --- views ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One strategy in one scenario table, every figure already formatted."""

    cell_id: str
    strategy: str
    failed: bool
    error: str
    median: str  # pyperf's values
    mad: str
    p50: str  # the per-operation samples
    p99: str
    ratio: str
    instructions: str  # instructions per op (callgrind), beside allocations
    allocs: str
    above_floor: str
    bytes: str
    gc: str
    is_reference: bool
    flamegraph: str | None  # path as the cell gives it (relative to the report when rebased)
    flamegraph_missing: bool
    change: str  # "regression", "improvement" or "" (against the baseline, by allocs/op)
    change_text: str  # e.g. "+2 vs baseline 22.4"
    unstable: str = ""  # why the time cannot be trusted (Rule 4), "" when it can


@dataclass(frozen=True)
class ScenarioTable:
    scenario: str
    operation: str
    reference: str
    rows: list[Row]
    cells: list[Cell]  # in row order, for charts
    shown: frozenset[str] = frozenset()  # the column groups some cell measured
    untimed: str = ""  # the line saying why the run did not time this scenario, or ""

    @property
    def unstable(self) -> list[Row]:
        """The rows whose time is marked unstable, for the table's one banner."""
        return [row for row in self.rows if row.unstable and not row.failed]


@dataclass(frozen=True)
class EnvironmentView:
    key: str
    python: str
    loop: str
    info: dict[str, Any]
    tables: list[ScenarioTable]

    @property
    def has_memray(self) -> bool:
        return any(row.flamegraph for table in self.tables for row in table.rows)


def environment_views(
    run: Run, gate: GateResult | None = None, link_base: Path | None = None
) -> list[EnvironmentView]:
    """Per environment, per scenario, a table of strategies.

    `gate` marks regressions and improvements; `link_base` is where flamegraph paths are
    relative to (to flag missing files), None to skip the check.
    """
    changes: dict[str, tuple[str, str]] = {}
    if gate is not None:
        for kind, diffs in (("regression", gate.regressions),
                            ("improvement", gate.improvements)):
            for diff in diffs:
                changes[diff.cell_id] = (
                    kind, f"{fmt_signed(diff.delta)} vs baseline {fmt_count(diff.baseline)}")
        for diff in gate.gc_regressions:
            changes[diff.cell_id] = ("regression", f"GC per 1,000 ops {fmt_count(diff.now_gc)}, "
                                                   "baseline 0")
    by_env: dict[tuple[str, str], list[Cell]] = {}
    for key, env in run["environments"].items():
        python, _, loop = key.partition("/")
        by_env.setdefault((str(env.get("python", python)), str(env.get("loop", loop))), [])
    for cell in run["cells"]:
        by_env.setdefault((str(cell["python"]), str(cell["loop"])), []).append(cell)
    views = []
    for python, loop in sorted(by_env, key=lambda pl: env_sort_key(*pl)):
        key = env_key(python, loop)
        cells = by_env[(python, loop)]
        tables = [_table(run, scenario, [c for c in cells if c["scenario"] == scenario],
                         changes, link_base)
                  for scenario in sorted({c["scenario"] for c in cells}, key=scenario_sort_key)]
        views.append(EnvironmentView(key, python, loop,
                                     dict(run["environments"].get(key, {})), tables))
    return views


def _table(run: Run, scenario: str, cells: list[Cell], changes: dict[str, tuple[str, str]],
           link_base: Path | None) -> ScenarioTable:
    reference = reference_of(run, scenario)
    cells = sorted(cells, key=lambda c: strategy_sort_key(c["strategy"], reference))
    by_strategy = {c["strategy"]: c for c in cells if ok(c)}
    floor_allocs = figure(by_strategy.get(FLOOR), "allocs", "allocs_per_op")
    # Per-op samples that leave part of the timed run out (socket-ready's send) are not
    # compared with the median.
    described = run.get("scenarios", {}).get(scenario, {})
    compare_p99 = not (isinstance(described, dict) and described.get("samples_exclude"))
    rows = [_row(cell, reference, by_strategy.get(reference), floor_allocs, changes, link_base,
                 compare_p99) for cell in cells]
    shown = _shown(cells, floor_allocs)
    # A merged run may hold times of the scenario from a run that timed it (--full).
    untimed = "" if TIME in shown else untimed_line(run, scenario)
    return ScenarioTable(scenario, operation_of(run, scenario), reference, rows, cells,
                         shown, untimed)


def _shown(cells: list[Cell], floor_allocs: float | None) -> frozenset[str]:
    """The column groups at least one cell has a figure for (Rule 2)."""
    groups = {TIME: ("timing", "median_ns"), LATENCY: ("latency", "p99_ns"),
              INSTRUCTIONS: ("instructions", "instructions_per_op"),
              ALLOCS: ("allocs", "allocs_per_op")}
    shown = {name for name, (section, key) in groups.items()
             if any(figure(cell, section, key) is not None for cell in cells)}  # type: ignore[arg-type]
    if floor_allocs is not None and ALLOCS in shown:
        shown.add(ABOVE_FLOOR)
    return frozenset(shown)


def _ratio(cell: Cell, ref: Cell | None, link_base: Path | None) -> str:
    """The median over the reference's median, or SIMILAR where pyperf's t-test finds no
    significant difference (tested where both pyperf files are next to the report)."""
    median, ref_median = figure(cell, "timing", "median_ns"), figure(ref, "timing", "median_ns")
    if median is None or not ref_median or ref is None:
        return fmt_ratio(None)
    if cell["id"] != ref["id"] and link_base is not None:
        now, before = cell.get("timing"), ref.get("timing")
        if now and before and significant(pyperf_path(before, link_base),
                                          pyperf_path(now, link_base)) is False:
            return SIMILAR
    return fmt_ratio(median / ref_median)


def _row(cell: Cell, reference: str, ref: Cell | None, floor_allocs: float | None,
         changes: dict[str, tuple[str, str]], link_base: Path | None,
         compare_p99: bool = True) -> Row:
    allocs = figure(cell, "allocs", "allocs_per_op")
    above = allocs - floor_allocs if allocs is not None and floor_allocs is not None else None
    memray = cell.get("memray")
    flamegraph = memray.get("flamegraph") if isinstance(memray, dict) else None
    flamegraph = str(flamegraph) if flamegraph else None
    missing = bool(flamegraph and link_base is not None
                   and not (link_base / flamegraph).is_file())
    change, change_text = changes.get(cell["id"], ("", ""))
    return Row(
        cell_id=str(cell["id"]), strategy=str(cell["strategy"]), failed=not ok(cell),
        error=str(cell.get("error") or "failed") if not ok(cell) else "",
        median=fmt_ns(figure(cell, "timing", "median_ns")),
        mad=fmt_ns(figure(cell, "timing", "mad_ns")),
        p50=fmt_ns(figure(cell, "latency", "p50_ns")),
        p99=fmt_ns(figure(cell, "latency", "p99_ns")),
        ratio=_ratio(cell, ref, link_base),
        instructions=fmt_instructions(figure(cell, "instructions", "instructions_per_op")),
        allocs=fmt_count(allocs), above_floor=fmt_signed(above),
        bytes=fmt_bytes(figure(cell, "allocs", "bytes_per_op")),
        gc=fmt_count(figure(cell, "allocs", "gc_per_1k_ops")),
        is_reference=cell["strategy"] == reference,
        flamegraph=flamegraph, flamegraph_missing=missing,
        change=change, change_text=change_text, unstable=unstable_reason(cell, compare_p99),
    )


def unstable_reason(cell: Cell, compare_p99: bool = True) -> str:
    """Why this cell's time cannot be trusted (Rule 4), or "" when nothing says so;
    `compare_p99` False where the per-op samples time less than the timed run does."""
    reasons = []
    median, p99 = figure(cell, "timing", "median_ns"), figure(cell, "latency", "p99_ns")
    if compare_p99 and median is not None and p99 is not None and median > p99:
        reasons.append(f"the median ({fmt_ns(median)}) is above the per-op p99 "
                       f"({fmt_ns(p99)})")
    timing = cell.get("timing")
    checks = timing.get("checks") if isinstance(timing, dict) else None
    reasons += checks or []
    return "; ".join(reasons)
