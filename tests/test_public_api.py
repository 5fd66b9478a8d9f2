"""The public surface of `vts` is pinned: a change to it is a deliberate change here."""

import pytest

import vts
from vts.strategies import all_strategies

EXPECTED = [
    "STRATEGIES", "AlreadyAwaitedError", "AlreadyCompletedError", "CancellableSource",
    "CompletionFlags", "DoubleReturnError", "Freshness", "ManualResetCore",
    "MultipleAwaitError", "NotCompletedError", "PcMonitor", "PcStatistics", "Pool",
    "SourceAwaiter", "SourceStatus", "Strategy", "TokenMismatchError", "UnknownNameError",
    "ValueTask", "ValueTaskError", "ValueTaskSource", "strategy_class",
]


def test_all_is_pinned() -> None:
    assert vts.__all__ == EXPECTED


def test_every_public_name_resolves() -> None:
    for name in vts.__all__:
        assert getattr(vts, name) is not None, name


def test_strategy_registry_names() -> None:
    assert list(vts.STRATEGIES) == [
        "future_per_call", "cached_result", "handwritten", "manual_reset", "pooled",
        "recycled_future"]


def test_unknown_strategy_is_a_lookup_error_naming_the_choices() -> None:
    with pytest.raises(vts.UnknownNameError) as caught:
        vts.strategy_class("nope")
    assert isinstance(caught.value, LookupError)
    # The built-in strategies, then the installed ones (the example, here).
    assert str(caught.value) == (
        "unknown strategy 'nope'; choose from: " + ", ".join(all_strategies()))
