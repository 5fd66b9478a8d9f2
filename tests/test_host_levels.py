"""scripts/host_levels.py: how far and how long the host slowed each CPU."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "host_levels.py"
_spec = importlib.util.spec_from_file_location("host_levels", SCRIPT)
assert _spec and _spec.loader
levels = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(levels)


def _probes(per_second: list[float], fastest: float = 0.001) -> list[tuple[float, float]]:
    """Ten probes a second, each second at its level (a ratio to `fastest`)."""
    return [(second + tenth / 10, fastest * level)
            for second, level in enumerate(per_second) for tenth in range(10)]


def test_slow_share_and_stretches_are_counted_against_the_fastest_probe_of_any_cpu() -> None:
    summary = levels.summarise({
        0: _probes([1.0, 1.9, 1.9, 1.0, 1.8, 1.0]),
        1: _probes([1.1, 1.1, 1.9, 1.1, 1.1, 1.1]),
    })
    first, second = summary["cpus"]["0"], summary["cpus"]["1"]
    assert first["slow_share"] == pytest.approx(3 / 6)
    assert (first["slow_stretches"], first["longest_stretch_s"]) == (2, 2)
    assert second["slow_share"] == pytest.approx(1 / 6)
    assert second["second_medians"] == [1.1, 1.1, 1.9, 1.1, 1.1, 1.1]
    assert first["bands"]["1.7-2x"] == pytest.approx(3 / 6)
    assert summary["all_slow_share"] == pytest.approx(1 / 6)  # second 2 only


def test_a_steady_machine_shows_no_slow_stretch() -> None:
    summary = levels.summarise({0: _probes([1.0, 1.05, 1.0]), 1: _probes([1.02, 1.0, 1.1])})
    assert all(cpu["slow_share"] == 0 and cpu["slow_stretches"] == 0
               for cpu in summary["cpus"].values())
    assert "every CPU slow at once: 0%" in levels.render(summary)


def test_it_probes_every_cpu_for_real(tmp_path: Path) -> None:
    out = tmp_path / "levels.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--seconds", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    summary = json.loads(out.read_text())
    assert len(summary["cpus"]) == len(__import__("os").sched_getaffinity(0))
    assert all(cpu["probes"] > 20 for cpu in summary["cpus"].values())
    assert done.stdout.startswith("fastest probe ")


def test_a_duration_of_zero_is_refused() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--seconds", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --seconds must be above 0"


def test_follow_reads_a_cells_values_by_the_probe_around_them() -> None:
    # (start, probe before, seconds per op, probe after): slow probes, slow values.
    values = [(0.0, 1.0, 10.0, 1.0), (0.1, 1.1, 10.5, 1.0), (0.2, 1.9, 19.0, 1.8),
              (0.3, 1.0, 10.2, 1.3), (0.4, 1.8, 18.0, 1.9)]
    followed = levels.follow(values)
    assert followed["values"] == 5
    by_level = followed["by_probe_level"]
    assert by_level["under 1.2x"] == {"values": 2, "median": 1.025}
    assert by_level["1.2-1.4x"] == {"values": 1, "median": 1.02}
    assert by_level["1.4x up"] == {"values": 2, "median": 1.85}
    assert followed["correlation"] > 0.9


def test_a_cell_is_timed_for_real_between_probes(tmp_path: Path) -> None:
    out = tmp_path / "levels.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--seconds", "1", "--json", str(out),
                           "--cell", "pooled/fresh/asyncio"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    cell = json.loads(out.read_text())["cell"]
    assert cell["name"] == "pooled/fresh/asyncio" and cell["values"] > 5
    assert sum(level["values"] for level in cell["by_probe_level"].values()) == cell["values"]
    assert "pooled/fresh/asyncio on CPU" in done.stdout


@pytest.mark.parametrize(("cell", "error"), [
    ("pooled", "error: --cell takes STRATEGY/SCENARIO/LOOP, not 'pooled'"),
    ("nope/fresh/asyncio", "error: unknown strategy 'nope' in fresh; choose from: "),
    ("pooled/nope/asyncio", "error: unknown scenario 'nope'; choose from: "),
    ("pooled/fresh/nope", "error: unknown event loop 'nope'; choose from: "),
])
def test_an_unknown_cell_is_one_line_and_exit_2(cell: str, error: str) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--seconds", "1", "--cell", cell],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(error) and done.stderr.count("\n") == 1
