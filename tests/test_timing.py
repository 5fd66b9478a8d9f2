"""Timing judged: the stability marks (the median's stated precision, and pyperf's checks
that do not judge the mean) and the t-test the report's Ratio and the gate use."""

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


def test_one_slow_process_of_five_moves_the_mean_not_the_median() -> None:
    """What a shared VM does: one worker runs 1.6x slower, its values agreeing. pyperf's
    checks of the mean fire; the median, and so the mark, do not move."""
    from pyperf._cli import format_checks

    bench = _bench(1.0e-4, 1.0e-4, 1.6e-4, 1.0e-4, 1.0e-4, per_process=2)
    assert any(line.startswith("* the standard deviation") for line in format_checks(bench))
    assert bench.median() == 1.0e-4
    assert timing.median_precision(bench) == 0.0
    assert timing.unstable_checks(bench) == []


def test_a_median_known_to_worse_than_five_percent_is_marked_with_its_width() -> None:
    bench = _bench(0.8e-4, 0.9e-4, 1.0e-4, 1.1e-4, 1.2e-4, per_process=2)
    # MAD 1e-5 of a median of 1e-4: 1.96 * 1.2533 * 1.4826 * 0.1 / sqrt(10) = 11.5%
    assert timing.median_precision(bench) == pytest.approx(0.1152, abs=1e-4)
    assert timing.unstable_checks(bench) == [
        "its 10 values from 5 processes spread so widely that the median is known to "
        "+-12% only "
        "(95% confidence)"]


def test_pyperfs_check_of_the_shortest_raw_value_stays() -> None:
    runs = [pyperf.Run([1e-6, 1e-6], warmups=None, metadata={"name": "cell", "loops": 10},
                       collect_metadata=False) for _ in range(3)]
    (check,) = timing.unstable_checks(pyperf.Benchmark(runs))
    assert check.startswith("the shortest raw value is only")


def test_one_value_has_no_precision() -> None:
    assert timing.median_precision(_bench(1e-4, per_process=1)) is None
