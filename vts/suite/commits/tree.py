"""One commit's tree measured by its own code: what the tree holds, its build, its cells.

Which code measures an old commit: its own suite (docs/measuring-commits.md says why:
a change to a scenario or to the counter is part of what a commit changed, and today's
suite over an old library would hide it). What this module adds is an adapter per era,
chosen by what the tree contains, never by commit:

- the suite's package: `vts.suite` (from the layout move, 2d61ee2) or `vts` (before);
- allocations: the tree's own cell process, `python -m <suite>.measure.cell --scenario S
  --variant V --loop L --no-latency` (the same flags and JSON since the first commit);
- sites: the tree's own counter attribution (`<suite>.measure.sites.top_sites(...,
  source="counter")`, from be9dd97) driven by `_SITES` below; a tree without it has none;
- instructions: the tree's own callgrind server (`vts.suite.measure.instructions
  --serve`, from a63c7f8), started by today's `InstructionServer`; a tree without it has
  none.

The build is the tree's own too: `python setup.py build_ext --inplace` (whatever that
commit's setup.py builds: the counter from the start, the accelerator from 5b3c10a), with
the interpreter of the cells. A tree whose counter does not import after it is a
`BuildError`.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vts.suite.commits.worktree import ProcessFailed, run
from vts.suite.environments import cell_environment
from vts.suite.measure.sites import Site

CELL_TIMEOUT = 300.0  # seconds per measuring process
BUILD_TIMEOUT = 600.0
SITES_LIMIT = 500  # sites kept per cell (those of 0.01/op or more): all, for the difference

# Run by the tree's interpreter in the tree: its counter attribution of one cell, as JSON
# [function, path relative to the tree (or absolute outside it), line, per op, line text].
# The harness's own lines (this string's) are left out.
_SITES = r"""
import importlib, json, linecache, os, sys
suite, scenario_name, variant, loop_kind, limit = sys.argv[1:6]
scenarios = importlib.import_module(suite + ".scenarios")
loops = importlib.import_module(suite + ".loops")
sites = importlib.import_module(suite + ".measure.sites")
definition = scenarios.scenario(scenario_name)
loop = loops.new_event_loop(loop_kind)
workload = definition.open(variant, loop)
try:
    ops = min(definition.default_ops[0], 1000)
    found = sites.top_sites(lambda n: loop.run_until_complete(workload.run(n)), ops,
                            limit=int(limit), source="counter")[1]
finally:
    workload.close()
    loop.close()
root = os.getcwd() + os.sep
json.dump([[s.function, s.filename[len(root):] if s.filename.startswith(root) else s.filename,
            s.line, s.per_op, linecache.getline(s.filename, s.line).strip()]
           for s in found if not s.filename.startswith("<")], sys.stdout)
"""


class BuildError(Exception):
    """A commit that cannot be measured at all: it does not build, or holds no suite.
    Callers skip it (as `git bisect skip`); the message says why in one line."""


@dataclass(frozen=True)
class Era:
    """What a tree holds, as far as measuring it goes."""

    suite: str  # the suite's package: "vts.suite", or "vts" before the layout move
    sites: bool  # it has the counter's own site attribution
    instructions: bool  # it has the callgrind server

    @classmethod
    def of(cls, tree: Path) -> Era:
        for suite in ("vts.suite", "vts"):
            measure = tree / suite.replace(".", "/") / "measure"
            if (measure / "cell.py").is_file():
                return cls(suite, (measure / "sites.py").is_file(),
                           (measure / "instructions.py").is_file())
        raise BuildError("no vts suite in this tree (no measure/cell.py)")


def build(tree: Path, python: Path, kept: Path | None = None) -> tuple[Era, float]:
    """Build the tree's extensions in place for `python`: (its era, the seconds it took).

    `kept` is a directory of earlier builds for `python`'s build, by content: a tree whose
    setup.py and C sources match one gets a copy of its extensions instead of a compile
    (most commits change no C), and a tree that compiles is kept there."""
    era = Era.of(tree)
    started = time.monotonic()
    store = None if kept is None else kept / _sources_digest(tree)
    try:
        if store is not None and store.is_dir():
            for built in store.rglob("*.so"):
                shutil.copy2(built, tree / built.relative_to(store))
        else:
            run([str(python), "setup.py", "-q", "build_ext", "--inplace"], cwd=tree,
                env=cell_environment(python, tree), timeout=BUILD_TIMEOUT)
            if store is not None:
                _keep(tree, store)
        run([str(python), "-c", f"import {era.suite}.measure._alloccount"], cwd=tree,
            env=cell_environment(python, tree), timeout=CELL_TIMEOUT)
    except ProcessFailed as exc:
        raise BuildError(f"does not build: {_first_error(exc)}") from None
    return era, time.monotonic() - started


def _sources_digest(tree: Path) -> str:
    """What decides a build's output, by content: setup.py and every C source and header."""
    digest = hashlib.sha256()
    for path in [tree / "setup.py", *sorted((tree / "vts").rglob("*.[ch]")),
                 *sorted((tree / "vts").rglob("extensions.py"))]:
        if path.is_file():
            digest.update(path.relative_to(tree).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def _keep(tree: Path, store: Path) -> None:
    """Copy the tree's built extensions to `store` (whole or not at all: a rename)."""
    store.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=store.parent))
    for built in (tree / "vts").rglob("*.so"):
        copy = staging / built.relative_to(tree)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, copy)
    try:
        staging.rename(store)
    except OSError:  # another process kept the same build first
        shutil.rmtree(staging, ignore_errors=True)


def _first_error(exc: ProcessFailed) -> str:
    """The line of a failed build that says why: the compiler's first `error:` line (the
    last one is setuptools' 'command ... failed'), else the last line."""
    said = [line.strip() for line in exc.output.splitlines() if re.search(r"\berror\b", line)]
    return said[0] if said else str(exc)


def _python_in(tree: Path, python: Path, args: list[str]) -> str:
    return run([str(python), *args], cwd=tree, env=cell_environment(python, tree),
               timeout=CELL_TIMEOUT)


def allocations(tree: Path, era: Era, python: Path, scenario: str, variant: str,
                loop: str) -> dict[str, Any]:
    """The cell's `allocs` figures from the tree's own cell process (ProcessFailed when
    the tree cannot measure it: the cell does not exist there, or crashes)."""
    out = _python_in(tree, python, ["-m", f"{era.suite}.measure.cell", "--scenario", scenario,
                                    "--variant", variant, "--loop", loop, "--no-latency"])
    figures: dict[str, Any] = json.loads(out)["allocs"]
    return figures


def sites(tree: Path, era: Era, python: Path, scenario: str, variant: str,
          loop: str) -> list[Site] | None:
    """The cell's allocation sites by the tree's own counter attribution; None where the
    tree has none."""
    if not era.sites:
        return None
    out = _python_in(tree, python, ["-c", _SITES, era.suite, scenario, variant, loop,
                                    str(SITES_LIMIT)])
    return [Site(function, filename, line, per_op, text)
            for function, filename, line, per_op, text in json.loads(out)]


def instructions(tree: Path, era: Era, python: Path, scenario: str, variant: str,
                 loop: str) -> float | str:
    """The cell's instructions per op by the tree's own callgrind server, or why there
    are none (one line)."""
    from vts.suite.measure import valgrind

    missing = valgrind.unavailable()
    if missing or not era.instructions:
        return missing or "this commit has no instruction counter"
    if not any((tree / "vts/suite/measure").glob(f"_instrcount*{_suffix(python)}")):
        return "this commit's instruction counter did not build"
    try:
        server = valgrind.InstructionServer(python, tree)
    except valgrind.InstructionError as exc:
        return f"the instruction counter did not start: {exc}"
    try:
        counted = server.measure(scenario, variant, loop, CELL_TIMEOUT).get(
            "instructions_per_op")
    except valgrind.InstructionError as exc:
        return f"instructions: {exc}"
    finally:
        server.close()
    return "no instruction count" if counted is None else float(counted)


def _suffix(python: Path) -> str:
    """The extension suffix of `python`'s builds ('.cpython-311-x86_64-linux-gnu.so')."""
    return run([str(python), "-c", "import sysconfig; "
                "print(sysconfig.get_config_var('EXT_SUFFIX'))"]).strip()


__all__ = ["BuildError", "Era", "allocations", "build", "instructions", "sites"]
