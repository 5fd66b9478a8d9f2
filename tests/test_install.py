"""vts installed as another project installs it: from a wheel, into a fresh venv, used from
an empty directory that is no checkout.

One test, in steps (each needs the one before; building and installing is most of the
time: about 2-4 minutes here, with pip answered by the local index and cache):

- `python -m build`: a wheel and an sdist; the sdist holds the C sources;
- the wheel alone (`pip install vts`): the library imports, `vts` says in one line to
  install the suite extra (exit 2);
- the wheel with the `suite` extra, from an empty directory: `vts bench` writes into
  ./reports/runs, `vts gate --measure` says how to record a baseline, records one, gates
  against it; nothing is written next to the installed package;
- another interpreter (`-p X.Y`, where one is installed): its environment and a copy of the
  installed package in the user cache directory (here a temporary XDG_CACHE_HOME);
- pytest on a temporary project that uses the `allocations` fixture.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from vts.suite.environments import ROOT, current_version, discover

pytestmark = pytest.mark.slow

PROJECT_TEST = '''
import asyncio

async def returns_at_once():
    return None

def test_an_object_is_one_allocation(allocations):
    assert allocations(lambda: object()).allocs_per_op == 1

def test_an_await_costs_its_coroutine(allocations):
    assert allocations(returns_at_once, loop="asyncio").allocs_per_op == 1
'''


def run(cmd: list[str | Path], cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.args}: {done.stderr[-2000:] or done.stdout[-2000:]}"
    return done.stdout


def venv(path: Path, requirement: str, cwd: Path) -> Path:
    """A fresh venv at `path` with `requirement` installed; its bin directory."""
    ok(run([sys.executable, "-m", "venv", path], cwd))
    ok(run([path / "bin" / "python", "-m", "pip", "install", "--quiet",
            "--disable-pip-version-check", requirement], cwd))
    return path / "bin"


def test_a_user_installs_the_wheel_and_measures_from_any_directory(tmp_path: Path) -> None:
    dist, work = tmp_path / "dist", tmp_path / "work"
    work.mkdir()
    ok(run([sys.executable, "-m", "build", "--outdir", dist, ROOT], tmp_path))
    (wheel,) = dist.glob("vts-*.whl")
    (sdist,) = dist.glob("vts-*.tar.gz")
    with tarfile.open(sdist) as archive:
        sources = {Path(name).relative_to(Path(name).parts[0]).as_posix()
                   for name in archive.getnames() if name.endswith(".c")}
    assert sources == {"vts/_speedups.c", "vts/suite/measure/_alloccount.c",
                       "vts/suite/measure/_instrcount.c"}

    # The library alone: psutil, the package, and a command that names the extra.
    library = venv(tmp_path / "library", str(wheel), work)
    listed = ok(run([library / "python", "-m", "pip", "list", "--format=freeze",
                     "--exclude", "pip", "--exclude", "setuptools"], work)).split()
    assert sorted(line.split("==")[0].lower() for line in listed) == ["psutil", "vts"]
    ok(run([library / "python", "-c", "import vts, vts.sockets, vts.monitor, vts.pool"], work))
    refused = run([library / "vts", "list"], work)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr.endswith(" not installed): pip install 'vts[suite]'\n")
    assert refused.stderr.startswith("error: the vts command needs the measuring suite (")

    # With the suite, from an empty directory that is no checkout.
    suite = venv(tmp_path / "suite", f"{wheel}[suite]", work)
    installed = Path(ok(run([suite / "python", "-c", "import vts; print(vts.__file__)"],
                            work)).strip()).parent
    before = sorted(installed.parent.rglob("*"))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("PYTHONPATH", None)
    ok(run([suite / "vts", "bench", "-s", "pooled", "-c", "fresh,wait", "--allocs-only"],
           work, env))
    (results,) = (work / "reports" / "runs").glob("*/results.json")
    gate = run([suite / "vts", "gate", "--measure", "-s", "pooled", "-c", "fresh,wait"],
               work, env)
    assert (gate.returncode, gate.stderr) == (2, (
        "error: reports/baseline.json: no such baseline file; record one with `vts bench "
        "--allocs-only`, then `vts baseline update reports/runs/<id>/results.json`\n"))
    ok(run([suite / "vts", "baseline", "update", results.relative_to(work)], work, env))
    verdict = ok(run([suite / "vts", "gate", "--measure", "-s", "pooled", "-c", "fresh,wait"],
                     work, env))
    assert verdict.endswith("verdict: within the baseline\n")

    other = next((version for version in discover() if version != current_version()), None)
    if other is not None:
        ok(run([suite / "vts", "bench", "-s", "pooled", "-c", "fresh", "--allocs-only",
                "-p", other, "-o", "other"], work, env))
        assert (work / "other" / "results.json").is_file()
        assert [path.name for path in (tmp_path / "cache" / "vts").iterdir()
                if path.name.startswith("source-")] != []
        assert (tmp_path / "cache" / "vts" / "venvs" / other).is_dir()
    after = sorted(path for path in installed.parent.rglob("*") if "__pycache__" not in
                   path.parts)
    assert after == [path for path in before if "__pycache__" not in path.parts]

    # A project that uses the fixture.
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_costs.py").write_text(PROJECT_TEST, encoding="utf-8")
    tested = run([suite / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], project,
                 env)
    assert tested.returncode == 0, tested.stdout[-2000:]
    assert "2 passed" in tested.stdout
