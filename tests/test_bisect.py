"""`vts bisect` over a real git repository: a clone of this one with commits added, the
middle one planting one allocation in pooled's waiting path; run as users run it (the
`vts` command in a subprocess). Also: an interrupted bisect leaves no worktree, and bad
input is one `error:` line with exit 2. And the gate, run by the clone's own code with the
planted allocation, names the planted line.

The clone's commits are measured once per module (a cache of its own, under tmp), so the
tests after the first take their figures from it where they ask for the same commits.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vts.suite.environments import ROOT, current_version

pytestmark = pytest.mark.slow

CELL = f"pooled/wait/{current_version()}/asyncio"
PLANTED = "        _ = object()  # planted: one more allocation per waiting call\n"
VTS = Path(sys.executable).parent / "vts"  # imports the vts under test, whatever the cwd


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


class Clone:
    """The clone and its added commits: original, docs (the baseline's commit), planted
    (the middle one), docs2, broken (the counter does not compile), fixed."""

    def __init__(self, root: Path, cache: Path) -> None:
        self.root, self.cache = root, cache
        self.commits: dict[str, str] = {}
        self.planted_line = 0

    def add(self, name: str, path: str, text: str, message: str) -> None:
        (self.root / path).write_text(text, encoding="utf-8")
        git(self.root, "commit", "-qam", message)
        self.commits[name] = git(self.root, "rev-parse", "HEAD")

    def vts(self, *args: str, cache: Path | None = None,
            tmpdir: Path | None = None) -> subprocess.Popen[str]:
        env = {**os.environ, "XDG_CACHE_HOME": str(cache or self.cache)}
        if tmpdir is not None:  # its temporary worktrees there, apart from other processes'
            env["TMPDIR"] = str(tmpdir)
        env.pop("PYTHONPATH", None)
        return subprocess.Popen([str(VTS), *args], cwd=self.root, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run(self, *args: str) -> tuple[int, str, str]:
        process = self.vts(*args)
        out, err = process.communicate(timeout=600)
        return process.returncode, out, err


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clone]:
    base = tmp_path_factory.mktemp("bisect")
    root = base / "repo"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(root)],
                   check=True)
    git(root, "config", "user.name", "test")
    git(root, "config", "user.email", "test@example.invalid")
    made = Clone(root, base / "cache")
    made.commits["original"] = git(root, "rev-parse", "HEAD")
    readme = (root / "README.md").read_text(encoding="utf-8")
    # The baseline file changes here too (a blank line), so this commit, which the
    # bisection measures, is the baseline's commit the gate looks at.
    baseline = root / "reports/baseline.json"
    baseline.write_text(baseline.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    made.add("docs", "README.md", readme + "\nA line.\n", "docs: a line")
    pooled = (root / "vts/strategies/pooled.py").read_text(encoding="utf-8")
    anchor = "    def _new_source(self) -> Any:\n"
    assert pooled.count(anchor) == 1
    made.planted_line = pooled[:pooled.index(anchor)].count("\n") + 2
    made.add("planted", "vts/strategies/pooled.py",
             pooled.replace(anchor, anchor + PLANTED), "pooled: one more allocation")
    made.add("docs2", "README.md", readme + "\nA line.\nAnother.\n", "docs: another line")
    counter = (root / "vts/suite/measure/_alloccount.c").read_text(encoding="utf-8")
    made.add("broken", "vts/suite/measure/_alloccount.c", counter + "\n#error broken\n",
             "counter: does not compile")
    made.add("fixed", "vts/suite/measure/_alloccount.c", counter, "counter: compiles again")
    yield made
    assert git(root, "worktree", "list").count("\n") == 0  # nothing left by any test


def test_bisect_names_the_planted_commit_the_change_and_the_line(clone: Clone) -> None:
    code, out, err = clone.run("bisect", CELL, clone.commits["original"][:10],
                               clone.commits["docs2"][:10])
    assert (code, err) == (0, ""), out
    planted = clone.commits["planted"][:7]
    assert f"\nfirst change: {planted} pooled: one more allocation\n" in out
    assert re.search(r"  allocations/op [\d.]+ -> [\d.]+ \(\+1\); bytes/op", out), out
    assert (f"    +1.00/op  _new_source at vts/strategies/pooled.py:{clone.planted_line}  "
            f"{PLANTED.strip()}\n") in out
    # 4 commits (GOOD and three): at most ceil(log2 4) + 1 = 3 measurements
    assert "\n3 measurements (at most 3 for 4 commits); 3 builds, " in out
    assert "the commit before it: " + clone.commits["docs"][:7] in out


def test_a_commit_that_does_not_build_is_skipped_and_said(clone: Clone) -> None:
    code, out, err = clone.run("bisect", CELL, clone.commits["planted"],
                               clone.commits["fixed"])
    assert (code, err) == (0, ""), out
    broken = clone.commits["broken"][:7]
    assert re.search(rf"\n  skip  {broken}  does not build: .*broken", out), out
    assert f"\nno change from {clone.commits['planted'][:7]} to " in out
    assert ", 1 skipped;" in out


def test_a_second_bisect_takes_its_figures_from_the_cache(clone: Clone) -> None:
    code, out, _ = clone.run("bisect", CELL, clone.commits["original"],
                             clone.commits["docs2"])
    assert code == 0
    assert out.count("from the cache") == 3
    assert "; 0 builds, 0.0 s in all;" in out


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_bisect_leaves_no_worktree(clone: Clone, tmp_path: Path,
                                                  how: signal.Signals) -> None:
    # a cache of its own: it builds, and is interrupted while it does
    own_tmp = tmp_path / "tmp"
    own_tmp.mkdir()
    process = clone.vts("bisect", CELL, clone.commits["original"], clone.commits["fixed"],
                        cache=tmp_path, tmpdir=own_tmp)
    deadline = time.monotonic() + 120
    while git(clone.root, "worktree", "list").count("\n") == 0:  # wait for the checkout
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # into the build
    assert list(own_tmp.glob("vts-commit-*"))  # the tree being built is there
    process.send_signal(how)
    _, err = process.communicate(timeout=60)
    assert (process.returncode, err) == (130, "error: interrupted\n")
    assert git(clone.root, "worktree", "list").count("\n") == 0
    assert not list(own_tmp.glob("vts-commit-*"))


@pytest.mark.parametrize(("args", "message"), [
    (("nosuch/wait/{py}/asyncio", "original", "docs"),
     "error: unknown cell 'nosuch/wait/{py}/asyncio': scenario 'wait' has no strategy "
     "'nosuch'; choose from: "),
    (("pooled/wait", "original", "docs"),
     "error: a cell is strategy/scenario/python/loop (e.g. pooled/wait/3.11/asyncio), not "
     "'pooled/wait'\n"),
    (("pooled/nosuch/{py}/asyncio", "original", "docs"),
     "error: unknown cell 'pooled/nosuch/{py}/asyncio': unknown scenario 'nosuch'; choose "
     "from: "),
    (("pooled/wait/{py}/nosuch", "original", "docs"),
     "error: unknown cell 'pooled/wait/{py}/nosuch': unknown loop 'nosuch'; choose from: "
     "asyncio, uvloop\n"),
    (("pooled/wait/2.7/asyncio", "original", "docs"),
     "error: unknown cell 'pooled/wait/2.7/asyncio': interpreter 2.7 not found; installed: "),
    (("{cell}", "docs", "original"),
     "error: GOOD '{docs_sha}' ({docs}) is not an ancestor of BAD '{original_sha}' "
     "({original})\n"),
    (("{cell}", "docs", "docs"), "error: GOOD and BAD are the same commit ({docs})\n"),
    (("{cell}", "nosuch-revision", "docs"),
     "error: 'nosuch-revision' is not a commit of {root}\n"),
])
def test_bad_input_is_one_error_line_and_exit_2(clone: Clone, args: tuple[str, ...],
                                                message: str) -> None:
    names = {name: sha[:7] for name, sha in clone.commits.items()}
    argv = [clone.commits.get(a, a).format(py=current_version(), cell=CELL) for a in args]
    code, out, err = clone.run("bisect", *argv)
    expected = message.format(py=current_version(), root=clone.root, **names,
                              docs_sha=clone.commits["docs"],
                              original_sha=clone.commits["original"])
    assert (code, out) == (2, "")
    assert err.startswith(expected) and err.count("\n") == 1, err


def test_a_dirty_tree_is_refused(clone: Clone) -> None:
    readme = clone.root / "README.md"
    kept = readme.read_text(encoding="utf-8")
    readme.write_text(kept + "uncommitted\n", encoding="utf-8")
    try:
        code, out, err = clone.run("bisect", CELL, clone.commits["original"],
                                   clone.commits["docs"])
    finally:
        readme.write_text(kept, encoding="utf-8")
    assert (code, out) == (2, "")
    assert err == ("error: the working tree has uncommitted changes: commit or stash them "
                   "(bisect measures commits, and BAD should be what you see)\n")


def test_the_gate_names_the_planted_line(clone: Clone, tmp_path: Path) -> None:
    from vts.suite import builds

    key = builds.describe()["key"]
    if f'"{key}"' not in (clone.root / "reports/baseline.json").read_text(encoding="utf-8"):
        pytest.skip(f"the baseline has no cells of this interpreter's build ({key})")
    summary = tmp_path / "summary.md"
    env = {**os.environ, "XDG_CACHE_HOME": str(clone.cache)}
    env.pop("PYTHONPATH", None)
    # `python -m vts` in the clone runs the clone's code (the planted line included)
    gated = subprocess.run([sys.executable, "-m", "vts", "gate", "--measure", "-s", "pooled",
                            "-c", "wait", "-l", "asyncio", "--markdown", str(summary)],
                           cwd=clone.root, env=env, capture_output=True, text=True,
                           timeout=600)
    out = gated.stdout
    assert gated.returncode == 1, gated.stderr
    assert re.search(rf"  REGRESSION {re.escape(CELL)}: baseline [\d.]+, now [\d.]+ \(\+1\)",
                     out), out
    planted = (f"        +1.00/op  _new_source at vts/strategies/pooled.py:{clone.planted_line}  "
               f"{PLANTED.strip()}\n")
    assert (f"  {CELL}\n    now:\n") in out
    assert f"    at the baseline's commit {clone.commits['docs'][:7]}:\n" in out
    assert "    changed since (sites matched by their line's text):\n" + planted in out
    assert planted in summary.read_text(encoding="utf-8")


def test_measure_at_gives_figures_none_or_build_error(clone: Clone,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The entry point `vts history --measure` calls, in-process, on the module's cache."""
    from vts.suite.commits import BuildError, CellFigures, measure_at, measure_commit

    monkeypatch.setenv("XDG_CACHE_HOME", str(clone.cache))
    unknown = f"nosuch/wait/{current_version()}/asyncio"
    before = measure_at(clone.root, clone.commits["docs"], [CELL])[CELL]
    after = measure_at(clone.root, clone.commits["planted"], [CELL, unknown])
    assert isinstance(before, CellFigures) and isinstance(after[CELL], CellFigures)
    assert after[CELL].allocs_per_op == pytest.approx(before.allocs_per_op + 1)
    assert after[unknown] is None
    again = measure_commit(clone.root, clone.commits["planted"], [CELL, unknown])
    assert again.build_seconds is None  # all from the cache
    assert str(again.cells[unknown]).startswith("Unmeasurable(reason=")
    with pytest.raises(BuildError, match=r"^does not build: .*#error broken"):
        measure_at(clone.root, clone.commits["broken"], [CELL])
