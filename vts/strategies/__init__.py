"""The five strategies behind one interface, selected by name from `STRATEGIES`."""

from __future__ import annotations

from vts.errors import UsageError
from vts.strategies.base import Freshness, Strategy
from vts.strategies.cached_result import CachedResult
from vts.strategies.future_per_call import FuturePerCall
from vts.strategies.handwritten import Handwritten
from vts.strategies.manual_reset import ManualReset
from vts.strategies.pooled import Pooled

# Name -> class, in the order reports list them (the reference first).
STRATEGIES: dict[str, type[Strategy[object]]] = {
    cls.name: cls for cls in (FuturePerCall, CachedResult, Handwritten, ManualReset, Pooled)
}


def strategy_class(name: str) -> type[Strategy[object]]:
    """The strategy registered as `name`; a UsageError lists the valid names."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise UsageError(
            f"unknown strategy {name!r}; choose from: {', '.join(STRATEGIES)}"
        ) from None


__all__ = ["STRATEGIES", "Freshness", "Strategy", "strategy_class"]
