"""`--measure A..B`: the commits the baseline skipped, measured with the worktree
machinery (`vts.suite.commits`, which builds each commit and caches what it measured by
commit and interpreter build, so the next call is instant).

Theory of operation: the commits are A and those of A..B on B's first-parent line (a
merged branch counts as its merge commit). Counts are exact, so a trend can only step
between two commits whose figures differ: A and B are measured, then, like `git
bisect`, the commit in the middle of any two neighbours measured that differ, until
every difference lies between adjacent commits. So each step costs about log2(N)
measurements, not N. Trades: a change undone inside an interval whose ends agree is not
seen; `--every` measures every commit instead. A commit that does not build is skipped
and said, as `git bisect skip` does, and the nearest commit to the middle is tried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from vts.suite import results
from vts.suite.errors import UsageError
from vts.suite.history.git import Commit
from vts.suite.history.series import MEASURED, CellPattern, Snapshot, make_stop, point
from vts.suite.history.sources import Timeline
from vts.suite.history.steps import QUANTITIES, moved
from vts.suite.records import Cell

if TYPE_CHECKING:
    from vts.suite.commits.measure import CellFigures, CellName

_Measure = Callable[[Commit], "list[Cell] | None"]  # None: the commit does not build


def measured_snapshots(timeline: Timeline, span: str, pattern: CellPattern,
                       known: Sequence[Snapshot], *, every: bool = False,
                       console: Console | None = None) -> tuple[list[Snapshot], list[str]]:
    """Snapshots of the matching cells at the commits of `span` ("A..B") that were
    measured, and one line per commit skipped."""
    commits = _commits(timeline, span)
    cells = sorted({c["id"] for s in known for c in s.cells if pattern.matches(c["id"])})
    if not cells and not any(ch in pattern.text for ch in "*?") \
            and pattern.text.count("/") == 3:
        cells = [pattern.text]  # one cell named in full: measured even where never recorded
    if not cells:
        raise UsageError(f"--measure: no recorded cell matches {pattern.text!r}; name one "
                         "cell in full (strategy/scenario/python/loop) to measure it")
    console = console or Console(stderr=True)
    skipped: list[str] = []
    measure = _measurer(timeline, cells, console, skipped)
    found = {i: measure(commits[i]) for i in range(len(commits))} if every \
        else refine(commits, measure)
    snapshots = [Snapshot(make_stop(commits[i], MEASURED, timeline.order), taken)
                 for i, taken in sorted(found.items()) if taken is not None]
    return snapshots, skipped


def _commits(timeline: Timeline, span: str) -> list[Commit]:
    start, dots, end = span.partition("..")
    if not dots or not start or not end or "." in end[:1]:
        raise UsageError(f"--measure: {span!r} is not a range A..B (e.g. 4addf5a..HEAD)")
    repo = timeline.repo
    first, last = repo.resolve(start, "--measure"), repo.resolve(end, "--measure")
    head = repo.commit(first)
    assert head is not None  # resolved above
    return [head, *repo.commits("--first-parent", f"{first}..{last}")]


def _measurer(timeline: Timeline, cells: list[str], console: Console,
              skipped: list[str]) -> _Measure:
    from vts.suite.commits.measure import (
        BuildError,
        CellFigures,
        CellName,
        build_key,
        measure_commit,
    )

    def measure(commit: Commit) -> list[Cell] | None:
        try:
            taken = measure_commit(timeline.repo.root, commit.sha, cells)
        except BuildError as exc:
            skipped.append(f"{commit.short} not measured: {exc}")
            console.print(f"[yellow]{commit.short}: skipped ({escape(str(exc))})[/]",
                          no_wrap=True, overflow="ellipsis")
            return None
        how = "cached" if taken.build_seconds is None else \
            f"built in {taken.build_seconds:.1f} s, {taken.seconds:.1f} s in all"
        console.print(f"[dim]measured {commit.short} ({how}): {escape(commit.subject)}[/]",
                      no_wrap=True, overflow="ellipsis")
        named = ((CellName.parse(cell_id), figures) for cell_id, figures in taken.cells.items()
                 if isinstance(figures, CellFigures))
        return [_cell(name, figures, build_key(name.python)) for name, figures in named]

    return measure


def _cell(name: CellName, figures: CellFigures, build: str) -> Cell:
    """A measured cell in the results schema's shape, as the other sources give them."""
    counted = figures.instructions_per_op
    return {"id": results.cell_id(*name), "strategy": name.strategy,
            "scenario": name.scenario, "python": name.python, "loop": name.loop,
            "status": "ok", "build": build,
            "allocs": {"allocs_per_op": figures.allocs_per_op,
                       "bytes_per_op": figures.bytes_per_op,
                       "gc_per_1k_ops": figures.gc_per_1k_ops, "ops": list(figures.ops)},
            "instructions": None if counted is None else {"instructions_per_op": counted}}


def refine(commits: Sequence[Commit], measure: _Measure) -> dict[int, list[Cell] | None]:
    """Measure the ends, then the middle of each two measured neighbours that differ,
    until every difference is between adjacent commits (the module's theory)."""
    taken: dict[int, list[Cell] | None] = {}

    def at(index: int) -> list[Cell] | None:
        if index not in taken:
            taken[index] = measure(commits[index])
        return taken[index]

    ends = [i for i in (0, len(commits) - 1) if at(i) is not None]
    pending = [(ends[0], ends[-1])] if ends else []
    while pending:
        low, high = pending.pop()
        if high - low <= 1 or not _differ(at(low) or [], at(high) or []):
            continue
        middle = (low + high) / 2
        inside = sorted(range(low + 1, high), key=lambda i: abs(i - middle))
        split = next((i for i in inside if at(i) is not None), None)
        if split is not None:
            pending += [(split, high), (low, split)]
    return taken


def _differ(before: list[Cell], after: list[Cell]) -> bool:
    """Whether a cell is in one and not the other, or any cell's counts moved."""
    old = {c["id"]: c for c in before}
    new = {c["id"]: c for c in after}
    if old.keys() != new.keys():
        return True
    exact = [q for q in QUANTITIES if q.exact]
    stop = make_stop(None, MEASURED, {})
    return any(moved(point(stop, old[cell_id], exact), point(stop, cell, exact), q)
               for cell_id, cell in new.items() for q in exact)
