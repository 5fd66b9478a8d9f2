"""The results.json contract (docs/results-schema.md): build, write atomically, load, merge.

Rule 1: everything the report and the gate read comes from a results file; they never
re-measure and never re-derive metadata. Rule 2: a results file on disk is always complete:
`write_atomic` goes through the suite's one atomic writer (`vts.suite.atomic`), so a run
killed mid-write leaves the previous version, never a torn file.

Runs are JSON dicts typed field by field (`Run`, `Cell`: `vts.suite.records`): the format
is the contract, and dicts keep the reader and the writer from drifting apart behind a
class. `load` hands back what the schema built from the file (`schema.as_run`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import platform
import secrets
import socket
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vts.suite import atomic, schema
from vts.suite.errors import UsageError
from vts.suite.records import Cell as Cell  # re-exported: the contract's types
from vts.suite.records import Run as Run

# results.json schema history:
# 1 - first version: run_id, created, mode, machine, scenarios, environments, cells
#     (allocs / timing / latency / memray / extra per cell). A merged run adds `machines`,
#     one entry per source run.
# 2 - instructions per op: a cell's `instructions` ({instructions_per_op, ops} or null) and
#     the run's `instruction_counter` (how they were counted, or null when not asked). A
#     version 1 file still loads: it reads as a run that counted no instructions.
# 3 - the run's `jobs`: how many cells were measured at a time (times of cells measured
#     side by side share the machine). Versions 1 and 2 load with `jobs` 1: they measured
#     one cell at a time.
# 4 - interpreter builds (`vts.suite.builds`): each cell's `build` (the key of its
#     interpreter build) and the run's `builds` (each key's description); a baseline keeps
#     its cells by (build, id) and records no environments (no paths). Versions 1-3 load
#     with builds derived from their environments (`builds.from_environment`).
SCHEMA_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)

# The keys a run and a cell cannot be read without (the schema declares the rest).
RUN_KEYS = schema.REQUIRED_RUN
CELL_KEYS = schema.REQUIRED_CELL
MODES = ("fast", "full", "allocs-only")
DEFAULT_REFERENCE = "future_per_call"

# Cell fields holding paths relative to the run's directory (see `rebase`).
_PATH_FIELDS = (("timing", "pyperf_json"), ("timing", "pyperf_suite"), ("memray", "flamegraph"))


def cell_id(strategy: str, scenario: str, python: str, loop: str) -> str:
    """The stable id of a cell: ``<strategy>/<scenario>/<python>/<loop>``."""
    return f"{strategy}/{scenario}/{python}/{loop}"


def env_key(python: str, loop: str) -> str:
    """The key of an environment in ``run["environments"]``: ``<python>/<loop>``."""
    return f"{python}/{loop}"


def new_run(mode: str, machine: Mapping[str, Any], scenarios: Mapping[str, Any]) -> Run:
    """An empty run: no environments, no cells yet."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}",
        "created": now.isoformat(),
        "mode": mode,
        "machine": dict(machine),
        "scenarios": {name: dict(spec) for name, spec in scenarios.items()},
        "environments": {},
        "instruction_counter": None,
        "jobs": 1,
        "builds": {},
        "cells": [],
    }


def add_cell(run: Run, cell: Cell) -> None:
    """Add `cell` to `run`, replacing a cell of the same id in place."""
    missing = [key for key in CELL_KEYS if key not in cell]
    if missing:
        raise ValueError(f"cell lacks {', '.join(missing)}")
    expected = cell_id(cell["strategy"], cell["scenario"], cell["python"], cell["loop"])
    if cell["id"] != expected:
        raise ValueError(f"cell id {cell['id']!r} should be {expected!r}")
    cells: list[Cell] = run["cells"]
    for index, old in enumerate(cells):
        if old["id"] == cell["id"]:
            cells[index] = cell
            return
    cells.append(cell)


def machine_metadata() -> dict[str, Any]:
    """Hostname, platform, CPU, memory and the git commit of the vts checkout."""
    import psutil  # imported here: only the process that records a run needs it

    commit, dirty = _git_state(Path(__file__).resolve().parents[2])  # the repository
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_total_bytes": psutil.virtual_memory().total,
        "git_commit": commit,
        "git_dirty": dirty,
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "cpu model"):
                return value.strip()
    return platform.processor() or platform.machine() or "unknown"


def _git_state(repo: Path) -> tuple[str | None, bool | None]:
    """(commit, dirty) of `repo`, or (None, None) where git or the repository is missing."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=10
        ).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").strip())
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, dirty


def write_atomic(path: str | os.PathLike[str], data: Mapping[str, Any]) -> None:
    """Write `data` as JSON to `path` atomically (`vts.suite.atomic.write_text`)."""
    atomic.write_text(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def load(path: str | os.PathLike[str], *, kind: str = "results", hint: str = "") -> Run:
    """Read and check a results file; every problem is a one-line `UsageError`.

    `kind` names the file in messages ("results", "baseline"); `hint` is appended to them
    ("; create it with ...").
    """
    where = Path(path)
    suffix = f"; {hint}" if hint else ""
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{where}: no such {kind} file{suffix}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"{where}: cannot read {kind} file ({reason}){suffix}") from None
    return parse(text, str(where), kind=kind, hint=hint)


def parse(text: str, where: str, *, kind: str = "results", hint: str = "") -> Run:
    """`load` for text read elsewhere (`vts history`: a version from git); `where` names
    it in messages."""
    suffix = f"; {hint}" if hint else ""
    try:
        run = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{where}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            f"{suffix}"
        ) from None
    if not isinstance(run, dict):
        raise UsageError(f"{where}: not a {kind} file (expected a JSON object){suffix}")
    version = run.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise UsageError(
            f"{where}: schema_version {version!r} is not supported (this vts reads "
            f"{', '.join(map(str, READABLE_VERSIONS[:-1]))} and {READABLE_VERSIONS[-1]})"
            f"{suffix}"
        )
    try:
        return schema.upgrade(schema.as_run(run), SCHEMA_VERSION)
    except schema.SchemaError as exc:
        raise UsageError(f"{where}: {exc}{suffix}") from None


# A cell's measures, each from one kind of measurement: what `merge_figures` keeps apart.
MEASURES = ("allocs", "instructions", "timing", "latency", "memray")


@dataclass(frozen=True)
class Merged:
    """Runs merged measure by measure (`merge_figures`).

    `remeasured` counts, per measure, the cells that more than one run measured (the later
    run's figures are kept); `recovered`, the cells that failed in one run and are shown
    from another that measured them."""

    run: Run
    remeasured: Counter[str]
    recovered: int = 0

    def note(self) -> str:
        """One line saying which figures were measured twice, "" when none were."""
        if not self.remeasured and not self.recovered:
            return ""
        parts = [f"{name} of {count} cell{'s' if count != 1 else ''}"
                 for name, count in sorted(self.remeasured.items(),
                                           key=lambda item: MEASURES.index(item[0]))]
        text = ""
        if parts:
            text = f"measured in more than one run, the later run's kept: {', '.join(parts)}"
        if self.recovered:
            text += "; " if text else ""
            text += (f"{self.recovered} cell{'s' if self.recovered != 1 else ''} failed in "
                     "one run and shown from another that measured it")
        return text


def merge(runs: Iterable[Run]) -> Run:
    """Several runs (of one machine or several) as one, whole cells at a time.

    Later cells of the same id win, keeping the position of the first; scenarios and
    environments are unioned (later wins); `machines` keeps each source run's machine with
    its run_id, created and mode. `machine`, `created` and `mode` are the last run's, or
    "mixed" for a mode that differs. `merge_figures` keeps each measure instead.
    """
    return _merge(list(runs), lambda old, new, counts: copy.deepcopy(new))


def merge_figures(runs: Iterable[Run]) -> Merged:
    """Several runs as one, measure by measure: a cell in more than one run keeps each
    measure (`MEASURES`) from the run that measured it (the times of a timed run, the counts
    of a later allocation-only one); where two measured the same, the later wins and
    `Merged.remeasured` counts it. A failed cell never hides another run's figures."""
    counts: Counter[str] = Counter()
    run = _merge(list(runs), _combine, counts)
    recovered = counts.pop(_RECOVERED, 0)
    return Merged(run, counts, recovered)


_RECOVERED = "recovered"
_Combine = Callable[[Cell, Cell, "Counter[str]"], Cell]


def _combine(old: Cell, new: Cell, counts: Counter[str]) -> Cell:
    """`old` and `new` (a later run's) of one id as one cell, counting re-measured measures."""
    if new["status"] != "ok":
        if old["status"] == "ok":
            counts[_RECOVERED] += 1
            return copy.deepcopy(old)
        return copy.deepcopy(new)
    if old["status"] != "ok":
        counts[_RECOVERED] += 1
        return copy.deepcopy(new)
    cell = copy.deepcopy(old)
    for measure in MEASURES:
        figures = new.get(measure)
        if figures is None:
            continue
        if cell.get(measure) is not None:
            counts[measure] += 1
        cell[measure] = copy.deepcopy(figures)  # type: ignore[literal-required]
    cell["extra"] = {**cell.get("extra", {}), **copy.deepcopy(new.get("extra", {}))}
    if "deterministic" in new:
        cell["deterministic"] = new["deterministic"]
    return cell


def _merge(sources: list[Run], combine: _Combine, counts: Counter[str] | None = None) -> Run:
    if not sources:
        raise ValueError("merge needs at least one run")
    if len(sources) == 1:
        return copy.deepcopy(sources[0])
    counts = Counter() if counts is None else counts
    machines: list[dict[str, Any]] = []
    scenarios: dict[str, Any] = {}
    environments: dict[str, Any] = {}
    cells: dict[str, Cell] = {}
    for run in sources:
        machines.extend(machines_of(run))
        scenarios.update(copy.deepcopy(run["scenarios"]))
        environments.update(copy.deepcopy(run["environments"]))
        for cell in run["cells"]:
            old = cells.get(cell["id"])
            cells[cell["id"]] = copy.deepcopy(cell) if old is None else combine(old, cell, counts)
    modes = {run["mode"] for run in sources}
    last = sources[-1]
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": "+".join(dict.fromkeys(run["run_id"] for run in sources)),
        "created": last["created"],
        "mode": last["mode"] if len(modes) == 1 else "mixed",
        "machine": copy.deepcopy(last["machine"]),
        "machines": machines,
        "instruction_counter": next((run["instruction_counter"] for run in reversed(sources)
                                     if run.get("instruction_counter")), None),
        "jobs": max(run.get("jobs", 1) for run in sources),
        "scenarios": scenarios,
        "environments": environments,
        "builds": {key: value for run in sources for key, value in run.get("builds", {}).items()},
        "cells": list(cells.values()),
    }


def machines_of(run: Run) -> list[dict[str, Any]]:
    """One entry per source run: the machine plus run_id, created, mode and jobs."""
    if "machines" in run:
        return copy.deepcopy(list(run["machines"]))
    return [
        {"run_id": run["run_id"], "created": run["created"], "mode": run["mode"],
         "jobs": run.get("jobs", 1), **copy.deepcopy(run["machine"])}
    ]


def rebase(run: Run, from_dir: str | os.PathLike[str], to_dir: str | os.PathLike[str]) -> Run:
    """A copy of `run` whose relative paths (pyperf JSON, flamegraph) are relative to `to_dir`.

    Paths in a results file are relative to its directory; before runs from different
    directories are merged, or linked from a report elsewhere, rebase them.
    """
    source = Path(os.path.abspath(from_dir))
    target = Path(os.path.abspath(to_dir))
    rebased = copy.deepcopy(run)
    for cell in rebased["cells"]:
        for section, key in _PATH_FIELDS:
            block = cell.get(section)
            if isinstance(block, dict) and isinstance(block.get(key), str):
                old = Path(block[key])
                if not old.is_absolute():
                    block[key] = Path(os.path.relpath(source / old, target)).as_posix()
    return rebased
