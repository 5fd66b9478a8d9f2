"""The results.json schema as data, checked field by field when a file is loaded.

Rule 1: every field the report and the gate read has its type declared here, and `check`
names the first field of another type in one line (the loader raises it as a
`UsageError`): a wrongly typed file is unusable input, never a TypeError deep in a renderer.
Rule 2: a field not declared here is allowed and never read, so a newer writer can add one;
a declared field may be absent unless the run or cell cannot be read without it
(`REQUIRED_RUN`, `REQUIRED_CELL`).
Rule 3: numbers are finite and never booleans. NaN and Infinity are not JSON, though
Python's `json` writes and reads them; a NaN allocation figure once passed the gate as
"unchanged", since every comparison with NaN is false.
Rule 4: bounds that hold for every valid run are checked here, once, on load (`BOUNDS`):
GC collections per 1,000 ops are >= 0, and so are allocations per op within the figure's
resolution (`resolution`): an operation that allocates nothing may come out at -0.0002.
A negative figure beyond it would pass the gate as an "improvement".

docs/results-schema.md describes the same fields for people; a field added there is added
here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

from vts.suite import builds
from vts.suite.records import Run

# Allocations by which one run's fixed cost can differ from another's (measured: +-2 in
# fan-out runs on 3.11, on both loops: asyncio rebuilds a dict every few task steps, and
# where a run starts in that cycle moves its count by 2). A per-op figure is (count of the
# long run - count of the short run) / (long - short), so it can tell changes apart only
# down to FIXED_COST_JITTER / (long - short): its resolution.
FIXED_COST_JITTER = 4
# Float noise on top of a figure's resolution.
EPSILON = 1e-9


@dataclass(frozen=True)
class Kind:
    """What a field must hold: `expected` is said in the message, `accepts` checks it."""

    expected: str
    accepts: Callable[[object], bool]


def _number(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _or_null(kind: Kind) -> Kind:
    return Kind(f"{kind.expected} or null", lambda v: v is None or kind.accepts(v))


STRING = Kind("a string", lambda v: isinstance(v, str))
NUMBER = Kind("a finite number", _number)
INTEGER = Kind("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool))
POSITIVE = Kind("an integer >= 1",
                lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1)
BOOLEAN = Kind("true or false", lambda v: isinstance(v, bool))
OBJECT = Kind("an object", lambda v: isinstance(v, dict))
LIST = Kind("a list", lambda v: isinstance(v, list))
OBJECTS = Kind("a list of objects",
               lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v))
STATUS = Kind("'ok' or 'failed'", lambda v: v in ("ok", "failed"))
RUN_LENGTHS = Kind("two run lengths [short, long]",
                   lambda v: isinstance(v, list) and len(v) == 2 and all(INTEGER.accepts(x)
                                                                          for x in v))

RUN_FIELDS: dict[str, Kind] = {
    "schema_version": INTEGER, "run_id": STRING, "created": STRING, "mode": STRING,
    "machine": OBJECT, "machines": OBJECTS, "scenarios": OBJECT, "environments": OBJECT,
    "instruction_counter": _or_null(OBJECT), "jobs": POSITIVE, "cells": LIST,
    "builds": OBJECT,
}
REQUIRED_RUN = ("schema_version", "run_id", "created", "mode", "machine", "scenarios",
                "environments", "cells")
# Maps whose every value is an object: scenarios, environments and builds, by name.
OBJECT_MAPS = ("scenarios", "environments", "builds")

CELL_FIELDS: dict[str, Kind] = {
    "id": STRING, "strategy": STRING, "scenario": STRING, "python": STRING, "loop": STRING,
    "status": STATUS, "error": _or_null(STRING), "deterministic": BOOLEAN,
    "allocs": _or_null(OBJECT), "instructions": _or_null(OBJECT),
    "timing": _or_null(OBJECT), "latency": _or_null(OBJECT),
    "memray": _or_null(OBJECT), "extra": OBJECT, "build": _or_null(STRING),
}
REQUIRED_CELL = ("id", "strategy", "scenario", "python", "loop", "status")

# The fields of each section of a cell (when the section is an object).
SECTION_FIELDS: dict[str, dict[str, Kind]] = {
    "allocs": {"allocs_per_op": _or_null(NUMBER), "bytes_per_op": _or_null(NUMBER),
               "gc_per_1k_ops": _or_null(NUMBER), "ops": RUN_LENGTHS},
    "instructions": {"instructions_per_op": _or_null(NUMBER), "ops": RUN_LENGTHS},
    "timing": {"mean_ns": _or_null(NUMBER), "stdev_ns": _or_null(NUMBER),
               "median_ns": _or_null(NUMBER), "mad_ns": NUMBER, "values": _or_null(INTEGER),
               "pyperf_json": _or_null(STRING), "pyperf_suite": _or_null(STRING),
               "checks": _or_null(LIST)},
    "latency": {"mean_ns": NUMBER, "p50_ns": _or_null(NUMBER), "p99_ns": _or_null(NUMBER),
                "max_ns": _or_null(NUMBER), "histogram": _or_null(OBJECT)},
    "memray": {"flamegraph": _or_null(STRING), "peak_bytes": _or_null(NUMBER),
               "total_allocations": _or_null(NUMBER), "top_sites": _or_null(OBJECTS)},
}


def describe(value: object) -> str:
    """A JSON value as a message says it: 'null', 'a string ('x')', 'nan', 'a list ([1])'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})" if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list):
        text = json.dumps(value)
        return f"a list ({text})" if len(text) <= 40 else "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _field(name: str, value: object, kind: Kind) -> str | None:
    if kind.accepts(value):
        return None
    return f"'{name}' must be {kind.expected}, not {describe(value)}"


class SchemaError(ValueError):
    """A results file the schema refuses; the message names its first problem, in one line."""


def as_run(data: object) -> Run:
    """`data` as a typed `Run`, once every field is checked; SchemaError otherwise."""
    problem = check(data)
    if problem is not None:
        raise SchemaError(problem)
    return cast(Run, data)


def upgrade(run: Run, version: int) -> Run:
    """An older run (checked) in the shape of `version`: version 1 counted no
    instructions, versions 1 and 2 measured one cell at a time, and versions 1-3 recorded
    builds only in their environments (`builds.from_environment`)."""
    if run["schema_version"] == 1:
        run.setdefault("instruction_counter", None)
        for cell in run["cells"]:
            cell.setdefault("instructions", None)
    if run["schema_version"] in (1, 2):
        run.setdefault("jobs", 1)
    if run["schema_version"] in (1, 2, 3):
        known = run.setdefault("builds", {})
        for cell in run["cells"]:
            environment = run["environments"].get(f"{cell['python']}/{cell['loop']}")
            described = builds.from_environment(environment) if environment else None
            cell.setdefault("build", described["key"] if described else None)
            if described:
                known[described.pop("key")] = described
    run["schema_version"] = version
    return run


def check(run: object) -> str | None:
    """The first problem with `run` as a results file, in one line; None when it has none."""
    if not isinstance(run, dict):
        return "not a results file (expected a JSON object)"
    missing = [key for key in REQUIRED_RUN if key not in run]
    if missing:
        return f"missing key(s) {', '.join(missing)}"
    for name, kind in RUN_FIELDS.items():
        if name in run and (problem := _field(name, run[name], kind)):
            return problem
    for name in OBJECT_MAPS:
        for key, value in run.get(name, {}).items():
            if problem := _field(f"{name}.{key}", value, OBJECT):
                return problem
    for index, cell in enumerate(run["cells"]):
        if problem := check_cell(index, cell):
            return problem
    return None


def check_cell(index: int, cell: object) -> str | None:
    """The first problem with cell number `index`, naming the cell by its id if it has one."""
    if not isinstance(cell, dict):
        return f"cell #{index} must be an object, not {describe(cell)}"
    name = f"cell {cell['id']}" if isinstance(cell.get("id"), str) else f"cell #{index}"
    missing = [key for key in REQUIRED_CELL if key not in cell]
    if missing:
        return f"{name} lacks key(s) {', '.join(missing)}"
    for field, kind in CELL_FIELDS.items():
        if field in cell and (problem := _field(field, cell[field], kind)):
            return f"{name}: {problem}"
    for section, fields in SECTION_FIELDS.items():
        block = cell.get(section)
        if not isinstance(block, Mapping):
            continue
        for field, kind in fields.items():
            if field in block and (problem := _field(f"{section}.{field}", block[field], kind)):
                return f"{name}: {problem}"
    if problem := _out_of_bounds(cell):
        return f"{name}: {problem}"
    return None


def resolution(cell: Mapping[str, object], jitter: float = FIXED_COST_JITTER) -> float:
    """The smallest per-op change this cell's measurement can tell from `jitter` (of its
    fixed cost: allocations by default; the gate passes its jitter in bytes)."""
    allocs = cell.get("allocs")
    ops = allocs.get("ops") if isinstance(allocs, Mapping) else None
    if not isinstance(ops, list) or len(ops) != 2 or ops[1] <= ops[0]:
        return 0.0
    return float(jitter / (ops[1] - ops[0]))


# The lowest value of each bounded `allocs` figure in a cell.
BOUNDS: dict[str, Callable[[Mapping[str, object]], float]] = {
    "allocs_per_op": lambda cell: -resolution(cell) - EPSILON,
    "gc_per_1k_ops": lambda cell: 0.0,
}


def _out_of_bounds(cell: Mapping[str, object]) -> str | None:
    allocs = cell.get("allocs")
    if not isinstance(allocs, Mapping):
        return None
    for key, lowest in BOUNDS.items():
        value = allocs.get(key)
        if isinstance(value, (int, float)) and value < lowest(cell):
            return f"'allocs.{key}' is {value:g}, below zero: measure the cell again"
    return None
