"""The git questions `vts history` asks, each one `git` process, each failure one line.

Rule 1: only plumbing-stable output is parsed (`--format` with NUL separators, `rev-parse`,
`rev-list`), so a user's git configuration (colours, pagers, log formats) cannot change it.
Rule 2: every error a user can cause (not a checkout, a revision that does not exist) is a
`UsageError` naming what to do, not git's own last line (`commits.worktree.git` raises
that one, and the calls here that a user can make fail replace it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vts.suite.commits.worktree import git
from vts.suite.errors import UsageError


@dataclass(frozen=True)
class Commit:
    """One commit as a history shows it."""

    sha: str
    short: str
    subject: str
    date: str  # committer date, ISO 8601


class Repository:
    """The git checkout a file lives in (`Repository.of(path)`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def of(cls, path: Path) -> Repository:
        """The checkout holding `path` (a file or a directory; it need not exist yet)."""
        where = path if path.is_dir() else path.parent
        while not where.is_dir():
            where = where.parent
        try:
            top = git(where, "rev-parse", "--show-toplevel").strip()
        except UsageError:
            raise UsageError(f"{os.path.relpath(where)}: not a git checkout; vts history "
                             "reads the baseline's history from git") from None
        return cls(Path(top))

    def git(self, *args: str) -> str:
        return git(self.root, *args)

    def relative(self, path: Path) -> str:
        """`path` as git names it: relative to the checkout's root, with '/'."""
        return Path(os.path.relpath(path.resolve(), self.root.resolve())).as_posix()

    def resolve(self, revision: str, option: str) -> str:
        """The full hash of `revision`; a UsageError naming `option` when there is none."""
        try:
            return self.git("rev-parse", "--verify", "--quiet", "--end-of-options",
                            f"{revision}^{{commit}}").strip()
        except UsageError:
            raise UsageError(f"{option}: {revision!r} is not a commit of {self.root.name} "
                             "(give a hash, a branch or a tag)") from None

    def commits(self, *args: str) -> list[Commit]:
        """`git log` of `args` (options, then a range), oldest first."""
        return [commit for commit, _ in self._log(*args)]

    def commit(self, revision: str) -> Commit | None:
        """The commit `revision` names; None where this repository has none."""
        try:
            found = self.commits("-n", "1", "--no-walk", "--end-of-options", revision)
        except UsageError:
            return None
        return found[0] if found else None

    def versions(self, path: str, *args: str) -> list[tuple[Commit, str]]:
        """The commits of `args` (options, then a range) that changed `path`, oldest
        first, each with the file's path at that commit (`--follow`: a renamed file keeps
        its history)."""
        return self._log("--follow", "--name-only", *args, path=path)

    def _log(self, *args: str, path: str | None = None) -> list[tuple[Commit, str]]:
        # Reversed here: git applies --reverse before --follow's rename tracking.
        out = self.git("log", "--format=%x01%H%x00%h%x00%s%x00%cI%x00", *args, "--",
                       *([path] if path else []))
        found = []
        for record in out.split("\1")[1:]:
            sha, short, subject, date, names = record.split("\0", 4)
            name = next((line for line in names.splitlines() if line.strip()), "")
            found.append((Commit(sha, short, subject, date), name))
        return found[::-1]

    def order(self) -> dict[str, int]:
        """Every commit reachable from HEAD, numbered oldest first (parents before children)."""
        shas = self.git("rev-list", "--topo-order", "--reverse", "HEAD").split()
        return {sha: index for index, sha in enumerate(shas)}

    def show(self, sha: str, path: str) -> str | None:
        """The text of `path` at commit `sha`; None where the commit has no such file."""
        try:
            return self.git("show", f"{sha}:{path}")
        except UsageError:
            return None
