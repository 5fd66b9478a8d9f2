"""The typed shape of a run and its cells: what results.json holds, field by field.

A run and its cells stay JSON objects (TypedDicts, not classes): the file is the contract,
and a dict written is the dict read, with no conversion to drift. These types name every
field the runner writes and the gate, the report and the pytest fixture read, so a
misspelt field or a section read as a number is a type error. `vts.suite.schema` checks
a loaded file against the same fields (a test holds the two to the same names) and hands
it on as a `Run`.

A field may be absent unless the run or the cell cannot be read without it (the schema's
Rule 2): the required ones are in the `_Required...` bases, the rest `total=False`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypedDict, cast


class Allocs(TypedDict, total=False):
    """The exact counter's figures per operation (`vts.suite.measure.allocs`)."""

    allocs_per_op: float | None
    bytes_per_op: float | None
    gc_per_1k_ops: float | None
    ops: list[int]  # [short, long]: the two run lengths of the difference
    loop: str | None  # the pytest fixture's figures only: the loop it measured on


class Instructions(TypedDict, total=False):
    """Instructions per operation under callgrind (`vts.suite.measure.instructions`)."""

    instructions_per_op: float | None
    ops: list[int]


class Timing(TypedDict, total=False):
    """pyperf's figures of the cell (`vts.suite.measure.measurement`)."""

    mean_ns: float | None
    stdev_ns: float | None
    median_ns: float | None
    mad_ns: float  # pyperf's median absolute deviation; absent from runs before it
    values: int | None
    pyperf_json: str | None  # relative to the run's directory
    pyperf_suite: str | None  # likewise
    checks: list[str] | None  # pyperf's reasons to call the result unstable


class Histogram(TypedDict):
    edges_ns: list[float]
    counts: list[int]


class Latency(TypedDict, total=False):
    """The per-operation latency distribution (`vts.suite.measure.latency`)."""

    mean_ns: float  # absent from runs before it was recorded
    p50_ns: float | None
    p99_ns: float | None
    max_ns: float | None
    samples: int
    histogram: Histogram | None


class Memray(TypedDict, total=False):
    """A memray capture of the cell (`vts.suite.measure.memray_cell`)."""

    flamegraph: str | None  # relative to the run's directory
    stats_json: str
    ops: int
    peak_bytes: float | None
    total_allocations: float | None
    allocations_per_op: float
    bytes_per_op: float
    top_sites: list[dict[str, Any]] | None


class _RequiredCell(TypedDict):
    id: str  # <strategy>/<scenario>/<python>/<loop>
    strategy: str
    scenario: str
    python: str  # X.Y
    loop: str
    status: Literal["ok", "failed"]


class Cell(_RequiredCell, total=False):
    """One cell: a strategy in a scenario on one interpreter and loop."""

    error: str | None  # the failed cell's one line
    deterministic: bool  # False: its counts depend on timing, and the gate does not gate it
    allocs: Allocs | None
    instructions: Instructions | None
    timing: Timing | None
    latency: Latency | None
    memray: Memray | None
    extra: dict[str, Any]
    build: str | None  # the key of its interpreter build (`vts.suite.builds`); schema 4


class _RequiredRun(TypedDict):
    schema_version: int
    run_id: str
    created: str
    mode: str  # fast | full | allocs-only | mixed (a merged run)
    machine: dict[str, Any]
    scenarios: dict[str, dict[str, Any]]
    environments: dict[str, dict[str, Any]]  # by "<python>/<loop>"
    cells: list[Cell]


class Run(_RequiredRun, total=False):
    """One results file (a run, a merge of runs, or the baseline)."""

    machines: list[dict[str, Any]]  # a merged run: one per source run
    instruction_counter: dict[str, Any] | None
    jobs: int  # cells measured at a time
    # The interpreter builds of its cells, by key (`vts.suite.builds.describe()` without
    # the key); schema 4.
    builds: dict[str, dict[str, Any]]


SECTIONS: dict[str, type] = {"allocs": Allocs, "instructions": Instructions,
                             "timing": Timing, "latency": Latency, "memray": Memray}

Section = Literal["allocs", "instructions", "timing", "latency", "memray"]
# The numbers of the sections, by name (a name mypy does not know is a misspelt one).
Figure = Literal["allocs_per_op", "bytes_per_op", "gc_per_1k_ops", "instructions_per_op",
                 "mean_ns", "stdev_ns", "median_ns", "mad_ns", "p50_ns", "p99_ns", "max_ns",
                 "peak_bytes", "total_allocations"]


def figure(cell: Cell | None, section: Section, name: Figure) -> float | None:
    """The number `cell[section][name]` as a float, or None where the cell (or its section,
    or the figure) is missing: the suite's one way to read a figure of a cell."""
    block = cell.get(section) if cell is not None else None
    if not isinstance(block, Mapping):
        return None
    value = cast(Mapping[str, object], block).get(name)
    return float(value) if isinstance(value, (int, float)) else None


__all__ = ["SECTIONS", "Allocs", "Cell", "Figure", "Histogram", "Instructions", "Latency",
           "Memray", "Run", "Section", "Timing", "figure"]
