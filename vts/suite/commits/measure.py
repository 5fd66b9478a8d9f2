"""Cells measured at a commit: `measure_at` (what `vts history --measure` calls) and
`measure_commit` (the same, with its build and wall times, for `vts bisect`).

Theory of operation: the cells' interpreters are found as `vts bench -p X.Y` finds them
(`vts.suite.environments`) and each is asked its build key once; whatever the cache
(`vts.suite.commits.cache`) holds for (build, commit) is taken as it is. Only when a cell
is missing is the commit checked out (`worktree.checked_out`), its extensions built for
each interpreter needed and the missing cells measured by the commit's own code
(`vts.suite.commits.tree`); what was measured is kept before the tree goes.

A commit that cannot be measured at all (it does not build, or holds no suite) raises
`BuildError`, and callers skip it; a cell the commit cannot measure (it does not exist
there yet, or fails) is `Unmeasurable` (None from `measure_at`), with the reason.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from vts.suite import environments
from vts.suite.commits import cache, tree
from vts.suite.commits.tree import BuildError
from vts.suite.commits.worktree import ProcessFailed, checked_out, git
from vts.suite.errors import UsageError
from vts.suite.measure.sites import Site
from vts.suite.schema import FIXED_COST_JITTER


class CellName(NamedTuple):
    strategy: str
    scenario: str
    python: str
    loop: str

    @classmethod
    def parse(cls, cell: str) -> CellName:
        parts = cell.split("/")
        if len(parts) != 4 or not all(parts):
            raise UsageError(f"a cell is strategy/scenario/python/loop (e.g. "
                             f"pooled/wait/3.11/asyncio), not {cell!r}")
        return cls(*parts)


@dataclass(frozen=True)
class CellFigures:
    """One cell at one commit, measured exactly by that commit's own code."""

    allocs_per_op: float
    bytes_per_op: float
    gc_per_1k_ops: float
    ops: tuple[int, int]  # the (short, long) run lengths of the allocation counter
    # Where the commit has the counter's attribution: its sites, most allocations first.
    sites: tuple[Site, ...] | None = None
    instructions_per_op: float | None = None  # where asked and counted
    instructions_missing: str | None = None  # where asked and not counted: why

    @property
    def resolution(self) -> float:
        """The smallest change of allocs/op this measurement tells from a fixed cost's
        jitter (`vts.suite.schema.resolution`)."""
        return FIXED_COST_JITTER / (self.ops[1] - self.ops[0])


@dataclass(frozen=True)
class Unmeasurable:
    """A cell this commit cannot measure, and why (one line)."""

    reason: str


@dataclass(frozen=True)
class CommitFigures:
    commit: str  # the full hash
    cells: dict[str, CellFigures | Unmeasurable]
    build_seconds: float | None  # None: all from the cache, nothing checked out or built
    seconds: float  # the whole call


def measure_at(repo: Path, commit: str, cells: Sequence[str], *,
               instructions: bool = False) -> dict[str, CellFigures | None]:
    """Each cell's figures at `commit` of `repo` (None: that commit cannot measure it).

    Raises BuildError when the commit cannot be measured at all (skip it), UsageError for
    a bad cell name, an unknown revision or an interpreter that is not installed.
    """
    measured = measure_commit(repo, commit, cells, instructions=instructions)
    return {cell: figures if isinstance(figures, CellFigures) else None
            for cell, figures in measured.cells.items()}


def measure_commit(repo: Path, commit: str, cells: Sequence[str], *,
                   instructions: bool = False) -> CommitFigures:
    """`measure_at` with the reasons of unmeasurable cells and the times taken."""
    started = time.monotonic()
    if instructions:
        from vts.suite.measure import valgrind

        if valgrind.unavailable():
            raise UsageError(f"instructions: {valgrind.unavailable()}")
    sha = resolve(repo, commit)
    names = {cell: CellName.parse(cell) for cell in cells}
    keys = {name.python: build_key(name.python) for name in names.values()}
    entries = {cell: dict(cache.load(keys[name.python], sha).get(cell) or {})
               for cell, name in names.items()}
    todo = [cell for cell, entry in entries.items() if not _complete(entry, instructions)]
    build_seconds = None
    if todo:
        with checked_out(repo, sha) as where:
            build_seconds = 0.0
            eras = {}
            for version in sorted({names[cell].python for cell in todo}):
                eras[version], seconds = tree.build(where, python_for(version),
                                                    cache.builds(keys[version]))
                build_seconds += seconds
            for cell in todo:
                name = names[cell]
                entries[cell] = _measure(where, eras[name.python], name, entries[cell],
                                         instructions)
                cache.store(keys[name.python], sha, {cell: entries[cell]})
    return CommitFigures(sha, {cell: _figures(entries[cell]) for cell in cells},
                         build_seconds, time.monotonic() - started)


def resolve(repo: Path, revision: str) -> str:
    """The full hash of `revision` in `repo` (UsageError when it names no commit)."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").strip()
    except UsageError:
        raise UsageError(f"{revision!r} is not a commit of {repo}") from None


@functools.cache
def python_for(version: str) -> Path:
    """The python of a ready environment for "X.Y" (as `vts bench -p X.Y` uses)."""
    return environments.ensure(environments.select([version])[0])


@functools.cache
def build_key(version: str) -> str:
    """The interpreter build key of "X.Y"'s python, which the cache is keyed by."""
    from vts.suite.measure.planning import build_of

    return str(build_of(python_for(version))["key"])


def _complete(entry: dict[str, Any], instructions: bool) -> bool:
    if "unmeasurable" in entry:
        return True
    return "allocs" in entry and (not instructions or "instructions" in entry)


def _measure(where: Path, era: tree.Era, name: CellName, entry: dict[str, Any],
             instructions: bool) -> dict[str, Any]:
    python = python_for(name.python)
    cell = (name.scenario, name.strategy, name.loop)
    try:
        if "allocs" not in entry:
            entry["allocs"] = tree.allocations(where, era, python, *cell)
            found = tree.sites(where, era, python, *cell)
            entry["sites"] = None if found is None else [
                [site.function, site.filename, site.line, site.per_op, site.text]
                for site in found]
        if instructions and "instructions" not in entry:
            entry["instructions"] = tree.instructions(where, era, python, *cell)
    except ProcessFailed as exc:
        return {"unmeasurable": str(exc)}
    return entry


def _figures(entry: dict[str, Any]) -> CellFigures | Unmeasurable:
    if "unmeasurable" in entry:
        return Unmeasurable(str(entry["unmeasurable"]))
    allocs = entry["allocs"]
    counted = entry.get("instructions")
    sites = entry.get("sites")
    return CellFigures(
        float(allocs["allocs_per_op"]), float(allocs["bytes_per_op"]),
        float(allocs["gc_per_1k_ops"]), (int(allocs["ops"][0]), int(allocs["ops"][1])),
        None if sites is None else tuple(Site(*site) for site in sites),
        counted if isinstance(counted, float) else None,
        counted if isinstance(counted, str) else None)


__all__ = ["BuildError", "CellFigures", "CellName", "CommitFigures", "Unmeasurable",
           "measure_at", "measure_commit", "resolve"]
