"""What the commands print, where a new user met it: paths with [c] in them, `vts list` at
80 columns, the strategy count, the synopsis' defaults, Ctrl-C in `vts monitor`."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from vts.strategies import STRATEGIES
from vts.suite.cli import build_parser, main
from vts.suite.commands import list_ as list_command
from vts.suite.gate import DEFAULT_INSTRUCTION_THRESHOLD

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
NUMBERS = {3: "three", 5: "five", 6: "six", 7: "seven"}


def test_profile_prints_the_flamegraph_path_as_it_is(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    from vts.suite.commands import profile

    name = "memray/pooled[c]__wait__asyncio.html"
    summary = {"top_sites": [], "allocations_per_op": 1.0, "peak_bytes": 10,
               "flamegraph": name}
    monkeypatch.setattr(profile, "run_python", lambda *args: json.dumps(summary))
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["profile", "pooled[c]", "wait", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"flamegraph: {tmp_path / name}\n" in out


def test_list_fits_80_columns_in_few_lines(capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    main(["list"])
    out = capsys.readouterr().out
    assert len(out.splitlines()) <= 70  # 57 before the 5 channel and stdlib scenarios
    # whole descriptions, and the variants every scenario runs said once, not per scenario
    assert "pooled[c]           pooled on the C accelerator (vts._speedups)" in out
    assert out.count("recycled_future") == 1
    assert "Variants: floor + every strategy, unless named." in out


def test_list_describes_a_strategy_by_its_first_sentence() -> None:
    doc = "pooled: sources from a pool,\nreturned in get_result. More text.\n\nDetails."
    assert list_command.describe_strategy("pooled", doc) == (
        "sources from a pool, returned in get_result.")
    assert list_command.describe_strategy("pooled[c]", doc) == (
        "pooled on the C accelerator (vts._speedups)")


def test_the_strategy_count_is_said_right_everywhere() -> None:
    accelerated = [name for name in STRATEGIES if name.endswith("[c]")]
    said = ("six awaitable strategies (three also in C)"
            .replace("six", NUMBERS[len(STRATEGIES) - len(accelerated)])
            .replace("three", NUMBERS[len(accelerated)]))
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    description = re.search(r'^description = "(.*)"$', pyproject, re.MULTILINE)
    assert description is not None and said in description.group(1)
    assert said in str(build_parser().description)
    assert said in " ".join(README.split())


def test_the_readme_synopsis_shows_the_gate_defaults() -> None:
    synopsis = re.search(r"vts gate RESULTS .*", README)
    assert synopsis is not None
    assert f"[--instructions {DEFAULT_INSTRUCTION_THRESHOLD:.2f}]" in synopsis.group(0)


def test_ctrl_c_ends_a_monitor_quietly(capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from vts.suite.commands import monitor

    async def interrupted(args: argparse.Namespace) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(monitor, "_watch", interrupted)
    assert main(["monitor"]) == 0
    assert capsys.readouterr().err == ""


def test_reports_show_paths_relative_to_the_working_directory(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    fixtures = Path(__file__).parent / "fixtures"
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_bytes((fixtures / "gate_run.json").read_bytes())
    (tmp_path / "base.json").write_bytes((fixtures / "gate_baseline_lower.json").read_bytes())
    monkeypatch.chdir(tmp_path)
    assert main(["report", "run/results.json", "--baseline", "base.json"]) == 0
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "<code>run/results.json</code>" in page and "(base.json): FAIL" in page
    capsys.readouterr()
    assert main(["report", str(tmp_path / "run" / "results.json"), "--format", "markdown",
                 "--baseline", str(tmp_path / "base.json")]) == 0
    markdown = capsys.readouterr().out
    assert "### Gate: allocations per op vs base.json" in markdown
    assert str(tmp_path) not in page + markdown
