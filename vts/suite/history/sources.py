"""Where a history's snapshots come from: the baseline's versions in git, results files.

The baseline is read as git holds it, version by version (`git log --follow`, then
`git show <commit>:<path>`), each through the results loader, so every schema version it
ever had (1-4) reads as today's. A version that does not load is left out and said, not
fatal: an old commit cannot be fixed. A results file given by the user must load (a
`UsageError` otherwise) and sits at the commit its run recorded (`machine.git_commit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vts.suite import results
from vts.suite.errors import UsageError
from vts.suite.history.git import Commit, Repository
from vts.suite.history.series import BASELINE, Snapshot, make_stop


@dataclass(frozen=True)
class Timeline:
    """The repository, HEAD's commits numbered oldest first, and where `--since` starts
    (None: the whole history)."""

    repo: Repository
    order: dict[str, int]
    since: str | None = None

    def keeps(self, commit: Commit | None) -> bool:
        """Whether `commit` is at or after `--since` (a commit HEAD lacks is kept)."""
        if self.since is None or commit is None or commit.sha not in self.order:
            return True
        return self.order[commit.sha] >= self.order[self.since]


def baseline_snapshots(timeline: Timeline, path: Path) -> tuple[list[Snapshot], list[str]]:
    """Each version of the baseline at `path` since `--since`, and one line per version
    left out. The first is the version in effect at `--since` (committed at or before it)."""
    repo = timeline.repo
    name = repo.relative(path)
    if timeline.since is None:
        versions = repo.versions(name)
    else:
        versions = (repo.versions(name, "-n", "1", timeline.since)
                    + repo.versions(name, f"{timeline.since}..HEAD"))
    snapshots, skipped = [], []
    for commit, at in versions:
        text = repo.show(commit.sha, at)
        stop = make_stop(commit, BASELINE, timeline.order)
        if text is None:  # deleted in this commit: a snapshot of nothing
            snapshots.append(Snapshot(stop, []))
            continue
        try:
            run = results.parse(text, f"{at} at {commit.short}", kind="baseline")
        except UsageError as exc:
            skipped.append(f"left out: {exc}")
            continue
        snapshots.append(Snapshot(stop, run["cells"]))
    return snapshots, skipped


def results_snapshot(timeline: Timeline, path: Path) -> Snapshot | None:
    """The results file at `path` as a snapshot at its run's commit; None when that
    commit is before `--since`."""
    run = results.load(path)
    revision = run["machine"].get("git_commit") or ""
    commit = timeline.repo.commit(revision) if isinstance(revision, str) and revision else None
    if not timeline.keeps(commit):
        return None
    note = "dirty tree" if run["machine"].get("git_dirty") else ""
    stop = make_stop(commit, f"run {run['run_id']}", timeline.order, created=run["created"],
                     note=note)
    return Snapshot(stop, run["cells"])
