"""vts.suite.commits' pieces that need no build: the worktree's clean-up and SIGTERM
handler, a process group killed on interrupt, the era a tree is read as, the cell name,
the merge hint of `vts bisect`, and sites matched across commits
(vts.suite.measure.sites.difference). The measuring path is in tests/test_bisect.py."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vts.suite.commits import CellName, tree, worktree
from vts.suite.errors import UsageError
from vts.suite.measure.sites import Site, changed_line, difference


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "test")
    git(root, "config", "user.email", "test@example.invalid")
    (root / "a.txt").write_text("a\n", encoding="utf-8")
    git(root, "add", "a.txt")
    git(root, "commit", "-qm", "first")
    return root


def test_a_worktree_is_removed_and_sigterm_restored(repo: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with worktree.checked_out(repo, "HEAD") as where:
        assert (where / "a.txt").read_text(encoding="utf-8") == "a\n"
        assert signal.getsignal(signal.SIGTERM) is worktree._terminate
        assert git(repo, "worktree", "list").count("\n") == 1
    assert signal.getsignal(signal.SIGTERM) is before
    assert git(repo, "worktree", "list").count("\n") == 0
    assert not where.parent.exists()


def test_a_worktree_is_removed_when_its_user_raises(repo: Path) -> None:
    with pytest.raises(KeyboardInterrupt), worktree.checked_out(repo, "HEAD") as where:
        raise KeyboardInterrupt
    assert git(repo, "worktree", "list").count("\n") == 0
    assert not where.parent.exists()


def test_an_interrupted_process_takes_its_group_with_it(tmp_path: Path) -> None:
    marker = tmp_path / "child"
    child = tmp_path / "child.py"  # outlives its parent unless the whole group is killed
    child.write_text(f"import time\ntime.sleep(1)\nopen({str(marker)!r}, 'w').close()\n",
                     encoding="utf-8")
    script = (f"import subprocess, sys, time\n"
              f"subprocess.Popen([sys.executable, {str(child)!r}])\ntime.sleep(30)\n")
    previous = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(
        KeyboardInterrupt()))
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            worktree.run([sys.executable, "-c", script])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    time.sleep(1.5)
    assert not marker.exists()


def test_a_failed_process_says_its_last_line() -> None:
    with pytest.raises(worktree.ProcessFailed, match=r"^ValueError: no$"):
        worktree.run([sys.executable, "-c", "raise ValueError('no')"])
    with pytest.raises(worktree.ProcessFailed, match=r"^timed out after 0.2 s$"):
        worktree.run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.2)


def test_the_era_is_read_from_what_the_tree_holds(tmp_path: Path) -> None:
    (tmp_path / "vts/measure").mkdir(parents=True)
    (tmp_path / "vts/measure/cell.py").touch()
    assert tree.Era.of(tmp_path) == tree.Era("vts", sites=False, instructions=False)
    (tmp_path / "vts/suite/measure").mkdir(parents=True)
    for name in ("cell.py", "sites.py", "instructions.py"):
        (tmp_path / "vts/suite/measure" / name).touch()
    assert tree.Era.of(tmp_path) == tree.Era("vts.suite", sites=True, instructions=True)
    with pytest.raises(tree.BuildError, match=r"^no vts suite in this tree"):
        tree.Era.of(tmp_path / "vts")


def test_a_cell_name_has_four_parts() -> None:
    assert CellName.parse("pooled[c]/wait/3.11/uvloop") == ("pooled[c]", "wait", "3.11",
                                                           "uvloop")
    for bad in ("pooled/wait/3.11", "pooled//3.11/asyncio", "a/b/c/d/e"):
        with pytest.raises(UsageError, match=r"^a cell is strategy/scenario/python/loop "):
            CellName.parse(bad)


def test_a_merge_found_says_how_to_look_inside_it(repo: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from vts.suite.commands import bisect

    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-qb", "side")
    (repo / "b.txt").write_text("b\n", encoding="utf-8")
    git(repo, "add", "b.txt")
    git(repo, "commit", "-qm", "side")
    side = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    (repo / "a.txt").write_text("a2\n", encoding="utf-8")
    git(repo, "commit", "-qam", "main")
    git(repo, "merge", "-q", "--no-edit", "side")
    bisect._merge_hint(repo, git(repo, "rev-parse", "HEAD"), "pooled/wait/3.11/asyncio")
    assert capsys.readouterr().out == (
        "  it is a merge: the change came in with the branch it merged; to find the commit "
        f"inside it: vts bisect pooled/wait/3.11/asyncio {base[:7]} {side[:7]}\n")
    bisect._merge_hint(repo, side, "pooled/wait/3.11/asyncio")
    assert capsys.readouterr().out == ""


def test_sites_match_across_commits_by_their_lines_text() -> None:
    before = [Site("_run", "events.py", 80, 8.0, "self._context.run(...)"),
              Site("get", "pooled.py", 40, 1.0, "return self.pool.rent()")]
    after = [Site("_run", "events.py", 80, 8.0, "self._context.run(...)"),
             Site("get", "pooled.py", 41, 1.0, "return self.pool.rent()"),  # moved down
             Site("get", "pooled.py", 40, 1.0, "_ = object()")]  # the new line
    (changed,) = difference(before, after)
    assert changed == Site("get", "pooled.py", 40, 1.0, "_ = object()")
    assert changed_line(changed) == "  +1.00/op  get at pooled.py:40  _ = object()"
    # without the text, sites match by line number
    gone = difference([Site("f", "m.py", 3, 2.5)], [Site("f", "m.py", 3, 0.5)])
    assert [(site.line, site.per_op) for site in gone] == [(3, -2.0)]
    assert difference(after, after) == []
