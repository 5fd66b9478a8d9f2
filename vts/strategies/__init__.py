"""The five strategies behind one interface, selected by name from `STRATEGIES`."""

from __future__ import annotations

from typing import Any

from vts.errors import UnknownNameError
from vts.strategies.base import Freshness, Strategy
from vts.strategies.cached_result import CachedResult
from vts.strategies.future_per_call import FuturePerCall
from vts.strategies.handwritten import Handwritten
from vts.strategies.manual_reset import ManualReset
from vts.strategies.pooled import Pooled

# Name -> class, in the order reports list them (the reference first).
_ORDER: tuple[type[Strategy[Any]], ...] = (
    FuturePerCall, CachedResult, Handwritten, ManualReset, Pooled)
STRATEGIES: dict[str, type[Strategy[Any]]] = {cls.name: cls for cls in _ORDER}


def strategy_class(name: str) -> type[Strategy[Any]]:
    """The strategy registered as `name`; an UnknownNameError lists the valid names."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown strategy {name!r}; choose from: {', '.join(STRATEGIES)}"
        ) from None


__all__ = ["STRATEGIES", "Freshness", "Strategy", "strategy_class"]
