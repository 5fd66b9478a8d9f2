"""`vts bisect CELL GOOD BAD`: the first commit where a cell's allocations per op changed.

Each commit asked is checked out in a temporary git worktree, built, and measured by its
own code (`vts.suite.commits`; docs/measuring-commits.md), exactly, once: counts need no
statistics (`vts.suite.bisection`). The commits are BAD's first-parent line back to GOOD
(`git rev-list --first-parent --ancestry-path`): on a branch that merges others, each
commit of that line is a state the branch was in; a change that came in through a merge
is found at the merge, and the command says how to look inside it. Exit 0 with an
answer (a commit, or no change); 2 for unusable input, printed as one `error:` line.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from vts.suite.bisection import Search, first_change
from vts.suite.commits import BuildError, CellFigures, CellName, measure_commit
from vts.suite.commits.measure import resolve
from vts.suite.commits.worktree import git
from vts.suite.errors import UsageError
from vts.suite.formatting import fmt_count, fmt_instructions, fmt_signed
from vts.suite.gate import DEFAULT_INSTRUCTION_THRESHOLD
from vts.suite.measure.sites import changed_line, difference

help = "find the first commit where a cell's allocations per op changed (exact, no statistics)"
SITES_SHOWN = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cell", metavar="CELL",
                        help="strategy/scenario/python/loop, e.g. pooled/wait/3.11/asyncio")
    parser.add_argument("good", metavar="GOOD", help="a commit with the old figure")
    parser.add_argument("bad", metavar="BAD", help="a later commit with the new figure")
    parser.add_argument("--instructions", action="store_true",
                        help="bisect on instructions per op (callgrind), changed beyond the "
                        f"gate's threshold ({DEFAULT_INSTRUCTION_THRESHOLD:.0%})")


class _Bisect:
    """One bisection: its commits, what each measured, and the times it took."""

    def __init__(self, repo: Path, cell: str, commits: list[str], instructions: bool) -> None:
        self.repo, self.cell, self.commits = repo, cell, commits
        self.instructions = instructions
        self.figures: dict[int, CellFigures] = {}
        self.builds: list[float] = []

    def value(self, figures: CellFigures) -> float | None:
        return figures.instructions_per_op if self.instructions else figures.allocs_per_op

    def changed(self, good: CellFigures, now: CellFigures) -> bool:
        if self.instructions:
            assert good.instructions_per_op and now.instructions_per_op is not None
            change = abs(now.instructions_per_op / good.instructions_per_op - 1.0)
            return change > DEFAULT_INSTRUCTION_THRESHOLD
        slack = max(good.resolution, now.resolution) + 1e-9
        return abs(now.allocs_per_op - good.allocs_per_op) > slack

    def measure(self, index: int) -> CellFigures | str:
        """Commit `index`'s figures, or why it is skipped; one progress line either way."""
        commit = self.commits[index]
        short = commit[:7]
        try:
            measured = measure_commit(self.repo, commit, [self.cell],
                                      instructions=self.instructions)
        except BuildError as exc:
            print(f"  skip  {short}  {exc}", flush=True)
            return str(exc)
        figures = measured.cells[self.cell]
        if measured.build_seconds is None:
            took = "from the cache"
        else:
            self.builds.append(measured.build_seconds)
            took = (f"built in {measured.build_seconds:.1f} s, measured in "
                    f"{measured.seconds - measured.build_seconds:.1f} s")
        missing = (figures.reason if not isinstance(figures, CellFigures)
                   else figures.instructions_missing if self.value(figures) is None else None)
        if missing is not None:
            print(f"  skip  {short}  {took}; cannot measure it: {missing}", flush=True)
            return missing
        assert isinstance(figures, CellFigures)
        self.figures[index] = figures
        print(f"  {len(self.figures):>4}  {short}  {self.figure(figures):>22}  {took}  "
              f"{_subject(self.repo, commit, 50)}", flush=True)
        return figures

    def figure(self, figures: CellFigures) -> str:
        if self.instructions:
            return f"{fmt_instructions(figures.instructions_per_op)} instructions/op"
        return f"{fmt_count(figures.allocs_per_op)} allocs/op"


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    repo = Path(_toplevel())
    name = _known_cell(args.cell)
    good, bad = resolve(repo, args.good), resolve(repo, args.bad)
    _check_range(repo, args.good, good, args.bad, bad)
    if git(repo, "status", "--porcelain", "--untracked-files=no").strip():
        raise UsageError("the working tree has uncommitted changes: commit or stash them "
                         "(bisect measures commits, and BAD should be what you see)")
    line = git(repo, "rev-list", "--first-parent", "--ancestry-path", "--reverse",
               f"{good}..{bad}").split()
    bisect = _Bisect(repo, args.cell, [good, *line], args.instructions)
    measure = "instructions per op" if args.instructions else "allocations per op"
    print(f"bisect {args.cell} ({measure}): {len(bisect.commits)} commits from "
          f"{good[:7]} to {bad[:7]} on the first-parent line, at most "
          f"{Search(bisect.commits).bound} measurements", flush=True)
    reference = bisect.measure(0)
    if not isinstance(reference, CellFigures):
        raise UsageError(f"GOOD ({good[:7]}) cannot measure {args.cell}: {reference}")

    def changed(index: int) -> bool | None:
        figures = bisect.measure(index)
        if not isinstance(figures, CellFigures):
            return None
        return bisect.changed(reference, figures)

    search = first_change(bisect.commits, changed)
    _report(bisect, search, name, time.monotonic() - started)
    return 0


def _toplevel() -> str:
    try:
        return git(Path.cwd(), "rev-parse", "--show-toplevel").strip()
    except UsageError:
        raise UsageError(f"{Path.cwd()} is not in a git repository") from None


def _known_cell(cell: str) -> CellName:
    """The cell's name, checked against today's registries and installed interpreters."""
    from vts.suite.environments import select
    from vts.suite.loops import LOOPS
    from vts.suite.scenarios import scenario

    name = CellName.parse(cell)
    try:
        variants = scenario(name.scenario).variants
    except UsageError as exc:
        raise UsageError(f"unknown cell {cell!r}: {exc}") from None
    if name.strategy not in variants:
        raise UsageError(f"unknown cell {cell!r}: scenario {name.scenario!r} has no strategy "
                         f"{name.strategy!r}; choose from: {', '.join(variants)}")
    if name.loop not in LOOPS:
        raise UsageError(f"unknown cell {cell!r}: unknown loop {name.loop!r}; choose from: "
                         f"{', '.join(LOOPS)}")
    try:
        select([name.python])
    except UsageError as exc:
        raise UsageError(f"unknown cell {cell!r}: {exc}") from None
    return name


def _check_range(repo: Path, good_name: str, good: str, bad_name: str, bad: str) -> None:
    if good == bad:
        raise UsageError(f"GOOD and BAD are the same commit ({good[:7]})")
    try:
        git(repo, "merge-base", "--is-ancestor", good, bad)
    except UsageError:
        raise UsageError(f"GOOD {good_name!r} ({good[:7]}) is not an ancestor of BAD "
                         f"{bad_name!r} ({bad[:7]})") from None


def _subject(repo: Path, commit: str, width: int | None = None) -> str:
    subject = git(repo, "log", "-1", "--format=%s", commit).strip()
    if width is not None and len(subject) > width:
        return subject[:width - 1] + "…"
    return subject


def _report(bisect: _Bisect, search: Search, name: CellName, seconds: float) -> None:
    commits, repo = bisect.commits, bisect.repo
    before = bisect.figures[search.last_same]
    print()
    if search.first_changed is None:
        print(f"no change from {commits[0][:7]} to {commits[search.last_same][:7]}: "
              f"{bisect.figure(before)} at both")
    else:
        after = bisect.figures[search.first_changed]
        commit = commits[search.first_changed]
        if search.undecided:
            print("the change is in one of these commits (the others between were skipped):")
            for index in [*search.undecided, search.first_changed]:
                print(f"  {commits[index][:7]} {_subject(repo, commits[index])}")
        else:
            print(f"first change: {commit[:7]} {_subject(repo, commit)}")
        print(f"  {_change(before, after, bisect.instructions)}")
        print(f"  the commit before it: {commits[search.last_same][:7]} "
              f"{_subject(repo, commits[search.last_same])}")
        _merge_hint(repo, commit, bisect.cell)
        _sites(commits[search.last_same], before, commit, after)
    skipped = f", {len(search.skipped)} skipped" if search.skipped else ""
    builds = bisect.builds
    built = (f"{len(builds)} builds, {sum(builds):.1f} s in all"
             + (f" ({', '.join(f'{b:.1f}' for b in builds)} s)" if builds else ""))
    print(f"\n{len(search.measured) + 1} measurements (at most {search.bound} for "
          f"{len(commits)} commits){skipped}; {built}; {seconds:.1f} s in all")


def _change(before: CellFigures, after: CellFigures, instructions: bool) -> str:
    said = (f"allocations/op {fmt_count(before.allocs_per_op)} -> "
            f"{fmt_count(after.allocs_per_op)} "
            f"({fmt_signed(after.allocs_per_op - before.allocs_per_op)}); bytes/op "
            f"{fmt_count(before.bytes_per_op)} -> {fmt_count(after.bytes_per_op)}; GC/1k ops "
            f"{fmt_count(before.gc_per_1k_ops)} -> {fmt_count(after.gc_per_1k_ops)}")
    if instructions and before.instructions_per_op and after.instructions_per_op:
        change = after.instructions_per_op / before.instructions_per_op - 1.0
        said = (f"instructions/op {fmt_instructions(before.instructions_per_op)} -> "
                f"{fmt_instructions(after.instructions_per_op)} ({change:+.1%}); {said}")
    return said


def _merge_hint(repo: Path, commit: str, cell: str) -> None:
    parents = git(repo, "rev-list", "--parents", "-n", "1", commit).split()[1:]
    if len(parents) < 2:
        return
    base = git(repo, "merge-base", parents[0], parents[1]).strip()
    print(f"  it is a merge: the change came in with the branch it merged; to find the "
          f"commit inside it: vts bisect {cell} {base[:7]} {parents[1][:7]}")


def _sites(before_commit: str, before: CellFigures, after_commit: str,
           after: CellFigures) -> None:
    """The top sites before and after, and what changed, by the counter's attribution."""
    print("\ntop allocation sites (the counter's own attribution, per op; its tracer "
          "allocates frames, so these run higher than the exact counts):")
    for commit, figures in ((before_commit, before), (after_commit, after)):
        if figures.sites is None:
            print(f"  {commit[:7]}: this commit has no site attribution of its own")
            continue
        print(f"  {commit[:7]}:")
        for site in figures.sites[:SITES_SHOWN]:
            print(f"    {site}")
    if before.sites is not None and after.sites is not None:
        moved = difference(before.sites, after.sites)
        print("  changed (sites matched by their line's text):" if moved else
              "  no site changed by 0.01/op or more")
        for site in moved[:SITES_SHOWN]:
            print(f"    {changed_line(site)}")
