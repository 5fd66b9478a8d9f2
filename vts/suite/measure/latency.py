"""Per-operation latency distribution: percentiles and a log-spaced histogram.

pyperf gives the mean time per operation with its statistics; what it cannot give is
the tail of single operations. This runs the scenario's timed loop (a clock read around
each operation) and summarises it. The clock reads cost about 2 x 40 ns per operation
and are not subtracted: p50/p99/max include them, the pyperf mean does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from vts.suite.records import Latency

BINS_PER_DECADE = 10


def percentile(sorted_samples: Sequence[int], fraction: float) -> float:
    """Nearest-rank percentile of already sorted samples."""
    if not sorted_samples:
        raise ValueError("no samples")
    rank = max(0, math.ceil(fraction * len(sorted_samples)) - 1)
    return float(sorted_samples[rank])


def summarise(samples_ns: Sequence[int]) -> Latency:
    """Mean, p50, p99, max and a histogram with log-spaced edges (ns)."""
    ordered = sorted(samples_ns)
    low = max(1, ordered[0])
    high = max(low + 1, ordered[-1])
    first = math.floor(math.log10(low) * BINS_PER_DECADE)
    last = math.ceil(math.log10(high) * BINS_PER_DECADE + 1e-9)
    if last <= first:
        last = first + 1
    edges = [10 ** (i / BINS_PER_DECADE) for i in range(first, last + 1)]
    counts = [0] * (len(edges) - 1)
    for sample in ordered:
        index = int(math.log10(max(1, sample)) * BINS_PER_DECADE) - first
        counts[min(max(index, 0), len(counts) - 1)] += 1
    return {
        "mean_ns": sum(ordered) / len(ordered),
        "p50_ns": percentile(ordered, 0.50),
        "p99_ns": percentile(ordered, 0.99),
        "max_ns": float(ordered[-1]),
        "samples": len(ordered),
        "histogram": {"edges_ns": [round(edge, 1) for edge in edges], "counts": counts},
    }
