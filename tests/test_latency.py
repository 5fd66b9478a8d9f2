"""vts.suite.measure.latency: the suite's one percentile and the latency summary."""

from __future__ import annotations

import pytest

from vts.suite.measure.latency import percentile, summarise


def test_nearest_rank_on_1_to_100() -> None:
    samples = list(range(1, 101))
    assert percentile(samples, 0.50) == 50.0
    assert percentile(samples, 0.99) == 99.0
    assert percentile(samples, 1.0) == 100.0
    assert percentile(samples, 0.0) == 1.0


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"^no samples$"):
        percentile([], 0.5)


def test_summary_counts_every_sample_once_in_increasing_bins() -> None:
    samples = [40, 41, 90, 1_000, 1_000, 25_000, 3]
    summary = summarise(samples)
    assert summary["samples"] == len(samples)
    assert summary["p50_ns"] == 90.0  # sorted: 3 40 41 [90] 1000 1000 25000
    assert summary["p99_ns"] == summary["max_ns"] == 25_000.0
    histogram = summary["histogram"]
    assert sum(histogram["counts"]) == len(samples)
    edges = histogram["edges_ns"]
    assert len(edges) == len(histogram["counts"]) + 1
    assert edges == sorted(edges) and len(set(edges)) == len(edges)
    assert edges[0] <= 3 and edges[-1] >= 25_000


def test_summary_of_one_repeated_value() -> None:
    summary = summarise([500] * 10)
    assert summary["p50_ns"] == summary["p99_ns"] == summary["max_ns"] == 500.0
    assert summary["histogram"]["counts"] == [10]


def test_the_samples_span_long_enough_for_their_mean_to_set_the_loops() -> None:
    """5,000 operations of ~100 ns span 0.5 ms, which one preemption multiplies: the
    counter's process samples again until they span LATENCY_MIN_SECONDS."""
    from vts.suite.measure.cell import LATENCY_MAX_SAMPLES, LATENCY_MIN_SECONDS, measure_cell

    latency = measure_cell("fresh", "floor", "asyncio")["latency"]
    assert latency["samples"] > 5_000
    assert (latency["samples"] * latency["mean_ns"] >= LATENCY_MIN_SECONDS * 1e9
            or latency["samples"] >= LATENCY_MAX_SAMPLES)
    told = measure_cell("fresh", "floor", "asyncio", latency_ops=300)["latency"]
    assert told["samples"] == 300
