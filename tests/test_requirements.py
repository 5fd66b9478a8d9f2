"""The library installs alone; the suite is the `suite` extra, and says so where it is
missing (vts.suite.requirements)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from vts.suite import requirements
from vts.suite.cli import main
from vts.suite.environments import ROOT


def _pyproject_list(name: str) -> list[str]:
    """The quoted requirements of `name = [...]` in pyproject.toml (3.10 has no tomllib)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (body,) = re.findall(rf"^{name} = \[(.*?)\]$", text, flags=re.MULTILINE | re.DOTALL)
    body = "\n".join(line.split("#")[0] for line in body.splitlines())
    return re.findall(r'"([^"]+)"', body)


def _names(requirement_list: list[str]) -> list[str]:
    return [re.split(r"[<>=;\[ ]", requirement)[0] for requirement in requirement_list]


def test_the_library_needs_psutil_only() -> None:
    assert _pyproject_list("dependencies") == ["psutil>=5.9"]
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, vts, vts.sockets, vts.monitor, vts.strategies; "
         f"print(sorted(set(sys.modules) & {set(requirements.MODULES.values())!r}))"],
        capture_output=True, text=True, check=True).stdout
    assert imported == "[]\n"


def test_the_check_names_every_package_of_the_suite_extra() -> None:
    # pytest is in the extra for the fixture, which runs inside it: nothing to check.
    assert sorted(_names(_pyproject_list("suite"))) == sorted([*requirements.MODULES,
                                                               "pytest"])


def test_without_the_suite_the_command_says_what_to_install(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(requirements.MODULES, "vts-missing", "vts_no_such_module")
    assert main(["list"]) == 2
    assert capsys.readouterr() == ("", "error: the vts command needs the measuring suite "
                                   "(vts-missing not installed): pip install 'vts[suite]'\n")
