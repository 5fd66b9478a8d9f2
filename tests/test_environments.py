"""Building the extensions per interpreter: a failed build says why in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
