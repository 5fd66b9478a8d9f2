"""scripts/value_gaps.py: one cell's values back to back, then after idle gaps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "value_gaps.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=120)


def test_it_times_three_blocks_of_a_real_cell() -> None:
    done = _run("pooled/wait/asyncio", "--values", "3", "--gap", "0.01", "--prime", "1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("pooled/wait/asyncio: ") and "operations a value" in lines[0]
    labels = [line.split(":")[0].strip() for line in lines[1:]]
    assert labels == ["back to back", "after 0.01 s idle, 1 primed", "back to back"]
    ratios = [float(r) for line in lines[1:] for r in line.split("; ")[1].split()]
    assert len(ratios) == 9 and min(ratios) == 1.0  # over the fastest of all three blocks


def test_bad_input_is_one_line_and_exit_2() -> None:
    for args, start in ((["pooled/nope/asyncio"], "error: unknown scenario 'nope'"),
                        (["nope/wait/asyncio"], "error: unknown strategy 'nope' in wait"),
                        (["pooled/wait"], "error: give STRATEGY/SCENARIO/LOOP"),
                        (["pooled/wait/asyncio", "--gap", "-1"], "error: give")):
        done = _run(*args)
        assert done.returncode == 2
        assert done.stderr.startswith(start) and done.stderr.count("\n") == 1
