"""The public surface of `vts` is pinned: a change to it is a deliberate change here."""

import vts

EXPECTED = [
    "STRATEGIES", "AlreadyAwaitedError", "AlreadyCompletedError", "CancellableSource",
    "CompletionFlags", "DoubleReturnError", "Freshness", "ManualResetCore",
    "MultipleAwaitError", "NotCompletedError", "PcMonitor", "PcStatistics", "Pool",
    "SourceAwaiter", "SourceStatus", "Strategy", "TokenMismatchError", "UsageError",
    "ValueTask", "ValueTaskError", "ValueTaskSource", "strategy_class",
]


def test_all_is_pinned() -> None:
    assert vts.__all__ == EXPECTED


def test_every_public_name_resolves() -> None:
    for name in vts.__all__:
        assert getattr(vts, name) is not None, name


def test_strategy_registry_names() -> None:
    assert list(vts.STRATEGIES) == [
        "future_per_call", "cached_result", "handwritten", "manual_reset", "pooled"]
