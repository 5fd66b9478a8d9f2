"""Building the extensions per interpreter: a failed build says why in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vts.suite.environments import ROOT, _build_error


def test_a_failed_build_is_named_by_its_error_line(tmp_path: Path) -> None:
    # A real build whose compiler fails, into a scratch directory (the checkout's builds
    # are left alone).
    env = {**os.environ, "CC": "/bin/false", "LDSHARED": "/bin/false"}
    done = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--force", "--build-lib",
         str(tmp_path / "lib"), "--build-temp", str(tmp_path / "temp")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    reason = _build_error(done.stderr or done.stdout)
    assert reason.startswith("error: Command '['/bin/false'"), reason
    assert reason.endswith("returned non-zero exit status 1.")


def test_the_error_line_is_the_last_that_names_an_error() -> None:
    output = ("configuration error: ...\nTraceback (most recent call last):\n"
              "ValueError: invalid pyproject.toml config: `project.license`.\n"
              "      required: ['text']\n")
    assert _build_error(output) == (
        "ValueError: invalid pyproject.toml config: `project.license`.")
    assert _build_error("  first\n  last  \n") == "last"
    assert _build_error("") == "no output"


def test_an_installed_vts_measures_other_interpreters_from_a_copy_in_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a checkout, another interpreter imports a copy of the installed package (its
    .py files and C sources, no builds) from the user cache, named by its content; the
    running interpreter imports the installed package; nothing is written beside it."""
    import shutil

    from vts.suite import environments

    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "vts", site / "vts", ignore=shutil.ignore_patterns("__pycache__"))
    installed = sorted(site.rglob("*"))
    monkeypatch.setattr(environments, "ROOT", site)
    monkeypatch.setattr(environments, "CHECKOUT", False)
    monkeypatch.setattr(environments, "_cache", lambda: tmp_path / "cache")
    environments.source.cache_clear()
    try:
        copy = environments.source()
        assert copy.parent == tmp_path / "cache" and copy.name.startswith("source-")
        assert (copy / "setup.py").is_file() and (copy / "vts" / "_speedups.c").is_file()
        assert list(copy.rglob("*.so")) == []
        assert environments.venvs() == tmp_path / "cache" / "venvs"
        assert environments.source_of(Path(sys.executable)) == site
        assert environments.source_of(tmp_path / "venv" / "bin" / "python") == copy
        environments.source.cache_clear()
        assert environments.source() == copy  # the same content: the same copy
        (site / "vts" / "core.py").write_text("# another release\n", encoding="utf-8")
        environments.source.cache_clear()
        assert environments.source() != copy
        assert sorted(site.rglob("*")) == installed
    finally:
        environments.source.cache_clear()
