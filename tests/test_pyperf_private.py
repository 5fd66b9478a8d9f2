"""The two private pyperf functions the suite calls are there and behave as it expects.

Why private: pyperf has no public form of the checks `pyperf check` prints
(`pyperf._cli.format_checks`, used for a cell's `timing.checks`) nor of the t-test
`pyperf compare_to` applies (`pyperf._compare.is_significant_benchs`, used by the timing
gate). pyproject.toml pins the pyperf releases tested; this test is what to run before
widening that pin.
"""

from __future__ import annotations

import inspect
import re

import pyperf

from vts.suite.environments import ROOT


def _bench(mean_s: float, spread: float, name: str = "cell") -> pyperf.Benchmark:
    values = [mean_s * (1 + spread * (i % 5 - 2) / 2) for i in range(20)]
    runs = [pyperf.Run(values[i:i + 5], warmups=None, metadata={"name": name, "loops": 1},
                       collect_metadata=False) for i in range(0, 20, 5)]
    return pyperf.Benchmark(runs)


def test_format_checks_is_there_and_lists_checks_as_bullets() -> None:
    from pyperf._cli import format_checks

    assert list(inspect.signature(format_checks).parameters)[:1] == ["bench"]
    unstable = format_checks(_bench(1e-3, 0.9))
    bullets = [line for line in unstable if line.startswith("* ")]
    assert bullets, unstable  # a spread of 90% is called unstable
    assert any("standard deviation" in line for line in bullets)


def test_is_significant_benchs_is_there_and_returns_a_verdict_and_a_score() -> None:
    from pyperf._compare import is_significant_benchs

    significant, t_score = is_significant_benchs(_bench(1e-3, 0.01), _bench(2e-3, 0.01))
    assert significant is True and t_score < -100  # before faster: a negative score
    same, _ = is_significant_benchs(_bench(1e-3, 0.01), _bench(1e-3, 0.01))
    assert same is False


def test_the_installed_pyperf_is_within_the_pin() -> None:
    # What runs these tests is what the pin says was tested.
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.findall(r'"(pyperf[<>=][^"]*)"', pyproject) == ["pyperf>=2.11,<2.12"]
    assert pyperf.__version__.startswith("2.11.")
