"""Timing judged: the stability marks (pyperf's checks, its sample-size check replaced by
the mean's stated precision) and the t-test the report's Ratio and the gate use."""

from __future__ import annotations

import pyperf
import pytest

from vts.suite import timing


def _bench(*means: float, per_process: int = 3) -> pyperf.Benchmark:
    """A benchmark of one process per mean, each process's values all equal to it."""
    runs = [pyperf.Run([mean] * per_process, warmups=None,
                       metadata={"name": "cell", "loops": 1000}, collect_metadata=False)
            for mean in means]
    return pyperf.Benchmark(runs)


def test_pyperf_asks_three_processes_for_a_spread_under_half_a_percent() -> None:
    """Why fast mode's times were all "Not enough samples": 3 processes whose means
    differ by 1% fail pyperf's check (it wants the mean within +-0.5%, 95%)."""
    from pyperf._cli import format_checks

    bench = _bench(1.00e-4, 1.01e-4, 0.99e-4)
    assert bench.required_nprocesses() == 16  # 4 * 1.96**2 * 0.01**2 / 0.01**2, rounded up
    assert any(line.startswith("* Not enough samples") for line in format_checks(bench))
    assert timing.unstable_checks(bench) == []  # known to +-1.1%: not marked
    assert timing.mean_precision(bench) == pytest.approx(1.96 * 0.01 / 3 ** 0.5)


def test_a_mean_known_to_worse_than_five_percent_is_marked_with_its_width() -> None:
    bench = _bench(1.0e-4, 1.1e-4, 0.9e-4)
    assert timing.unstable_checks(bench) == [
        "the means of its 3 processes differ: the mean is known to +-11% only (95% confidence)"]


def test_pyperf_checks_other_than_the_sample_size_stay() -> None:
    bench = _bench(1.0e-4, 2.0e-4, 0.5e-4)
    checks = timing.unstable_checks(bench)
    assert any(check.startswith("the standard deviation") for check in checks)
    assert checks[-1].startswith("the means of its 3 processes differ: the mean is known to")


def test_one_process_has_no_precision() -> None:
    assert timing.mean_precision(_bench(1e-4)) is None
