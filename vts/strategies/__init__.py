"""The strategies behind one interface, by name: the built-in ones in `STRATEGIES`, and the
ones installed distributions add through the `vts.strategies` entry-point group.

Each built-in source strategy is registered twice where the C accelerator is built: on
the Python pieces (`pooled`) and on the C ones (`pooled[c]`, vts.strategies.accelerated),
next to each other, so design and implementation language are measured apart.

An entry point names a `Strategy` subclass whose `name` is the entry point's name, e.g.
`event_per_publish = "vts_event_strategy.strategy:EventPerPublish"`. Entry points load
at the first lookup (`all_strategies`, `strategy_class`), not at import; one that fails
to import or to implement the interface is kept aside as broken (`strategy_registry()`),
and asking for it by name raises its one-line error.
"""

from __future__ import annotations

import inspect
from typing import Any

from vts.entry_points import Loaded, Registry
from vts.errors import UnknownNameError
from vts.strategies.base import Freshness, SourceStrategy, Strategy
from vts.strategies.cached_result import CachedResult
from vts.strategies.future_per_call import FuturePerCall
from vts.strategies.handwritten import Handwritten
from vts.strategies.manual_reset import ManualReset
from vts.strategies.pooled import Pooled
from vts.strategies.recycled_future import RecycledFuture

GROUP = "vts.strategies"

try:
    from vts.strategies.accelerated import HandwrittenC, ManualResetC, PooledC
except ImportError:  # the accelerator is not built: the Python strategies only
    _C_VARIANTS: dict[type[Strategy[Any]], type[Strategy[Any]]] = {}
else:
    _C_VARIANTS = {Handwritten: HandwrittenC, ManualReset: ManualResetC, Pooled: PooledC}

# Name -> class, in the order reports list them (the reference first, each [c] variant
# right after its Python form).
_ORDER: tuple[type[Strategy[Any]], ...] = tuple(
    variant
    for cls in (FuturePerCall, CachedResult, Handwritten, ManualReset, Pooled, RecycledFuture)
    for variant in (cls, _C_VARIANTS.get(cls))
    if variant is not None
)
STRATEGIES: dict[str, type[Strategy[Any]]] = {cls.name: cls for cls in _ORDER}


def _check(name: str, obj: object) -> type[Strategy[Any]]:
    """`obj` if it is a concrete Strategy subclass named `name`; else TypeError saying why."""
    if not (isinstance(obj, type) and issubclass(obj, Strategy)):
        raise TypeError(f"is {obj!r}, not a subclass of vts.Strategy")
    if inspect.isabstract(obj):
        missing = ", ".join(sorted(obj.__abstractmethods__))
        raise TypeError(f"is {obj.__qualname__}, which does not implement {missing} "
                        "of vts.Strategy")
    declared = getattr(obj, "name", None)
    if declared != name:
        raise TypeError(f"is {obj.__qualname__}, whose name is {declared!r}; set "
                        f"name = {name!r} to match the entry point")
    return obj


_REGISTRY: Registry[type[Strategy[Any]]] = Registry(GROUP, "strategy", STRATEGIES, _check)


def strategy_registry() -> Loaded[type[Strategy[Any]]]:
    """Every strategy with its origin (built-in or a distribution), and the broken ones."""
    return _REGISTRY.loaded()


def all_strategies() -> dict[str, type[Strategy[Any]]]:
    """Name -> class: the built-in strategies, then the installed ones by name."""
    return {name: entry.value for name, entry in _REGISTRY.loaded().entries.items()}


def strategy_class(name: str) -> type[Strategy[Any]]:
    """The strategy registered as `name`; an UnknownNameError lists the valid names, or
    says why an installed one named so is broken."""
    loaded = _REGISTRY.loaded()
    if name in loaded.entries:
        return loaded.entries[name].value
    if name in loaded.broken:
        raise UnknownNameError(loaded.broken[name].message)
    raise UnknownNameError(
        f"unknown strategy {name!r}; choose from: {', '.join(loaded.entries)}")


__all__ = ["GROUP", "STRATEGIES", "Freshness", "SourceStrategy", "Strategy", "all_strategies",
           "strategy_class", "strategy_registry"]
