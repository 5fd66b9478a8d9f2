"""The scenario registry: every scenario by name, for every runner and command.

A scenario is one definition of a workload (`base.Scenario`), used by every runner
(allocation counter, pyperf, memray, pytest-benchmark). The loop scenarios live in
`workloads` (over the floors of `floors`), the socket scenarios in `sockets`, the channel
scenarios in `channels`, the standard library's awaits in `stdlib`; installed
distributions add theirs through the `vts.scenarios` entry-point group (a `Scenario` whose
name is the entry point's name). A scenario with `every_strategy` runs every registered
strategy (those its `strategy_filter` accepts), installed ones included, after its own
variants.
"""

from __future__ import annotations

import dataclasses

from vts.entry_points import Loaded, Registry
from vts.strategies import all_strategies
from vts.suite.errors import UsageError
from vts.suite.scenarios.base import FLOOR, VALUE, GetPublish, Scenario, Workload, run_seconds
from vts.suite.scenarios.channels import CHANNEL_SCENARIOS
from vts.suite.scenarios.sockets import READY_SCENARIOS, SOCKET_SCENARIOS
from vts.suite.scenarios.stdlib import STDLIB_SCENARIOS
from vts.suite.scenarios.workloads import FANOUT_KS, LOOP_SCENARIOS

GROUP = "vts.scenarios"

BUILT_IN: dict[str, Scenario] = {
    s.name: s for s in (*LOOP_SCENARIOS, *SOCKET_SCENARIOS, *READY_SCENARIOS,
                        *CHANNEL_SCENARIOS, *STDLIB_SCENARIOS)
}


def _check(name: str, obj: object) -> Scenario:
    """`obj` if it is a Scenario named `name`; else TypeError saying why."""
    if not isinstance(obj, Scenario):
        raise TypeError(f"is {obj!r}, not a vts.suite.scenarios.Scenario")
    if obj.name != name:
        raise TypeError(f"is a Scenario whose name is {obj.name!r}; name it {name!r} to "
                        "match the entry point")
    if not callable(obj.open):
        raise TypeError(f"is a Scenario whose open ({obj.open!r}) is not callable")
    return obj


_REGISTRY: Registry[Scenario] = Registry(GROUP, "scenario", BUILT_IN, _check)


def scenario_registry() -> Loaded[Scenario]:
    """Every scenario with its origin (built-in or a distribution), and the broken ones;
    variants as they are declared (see `all_scenarios` for the ones that run)."""
    return _REGISTRY.loaded()


def all_scenarios() -> dict[str, Scenario]:
    """Name -> scenario, built-in first; `every_strategy` scenarios list every strategy."""
    strategies = tuple(all_strategies())
    return {name: _resolved(entry.value, strategies)
            for name, entry in _REGISTRY.loaded().entries.items()}


def _resolved(declared: Scenario, strategies: tuple[str, ...]) -> Scenario:
    if not declared.every_strategy:
        return declared
    fits = declared.strategy_filter or (lambda name: True)
    more = tuple(name for name in strategies if name not in declared.variants and fits(name))
    return dataclasses.replace(declared, variants=declared.variants + more)


def scenario(name: str) -> Scenario:
    """The scenario registered as `name`; a UsageError lists the valid names, or says why
    an installed one named so is broken."""
    scenarios = all_scenarios()
    if name in scenarios:
        return scenarios[name]
    broken = _REGISTRY.loaded().broken
    if name in broken:
        raise UsageError(broken[name].message)
    raise UsageError(f"unknown scenario {name!r}; choose from: {', '.join(scenarios)}")


__all__ = [
    "BUILT_IN",
    "FANOUT_KS",
    "FLOOR",
    "GROUP",
    "VALUE",
    "GetPublish",
    "Scenario",
    "Workload",
    "all_scenarios",
    "run_seconds",
    "scenario",
    "scenario_registry",
]
