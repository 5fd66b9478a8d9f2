"""The scenario registry: every scenario by name, for every runner and command.

A scenario is one definition of a workload (`base.Scenario`), used by every runner
(allocation counter, pyperf, memray, pytest-benchmark). The loop scenarios live in
`workloads` (over the floors of `floors`), the socket scenarios in `sockets`.
"""

from __future__ import annotations

import importlib
import os

from vts.suite.errors import UsageError
from vts.suite.scenarios.base import FLOOR, VALUE, GetPublish, Scenario, Workload
from vts.suite.scenarios.sockets import SOCKET_SCENARIOS
from vts.suite.scenarios.workloads import FANOUT_KS, LOOP_SCENARIOS

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (*LOOP_SCENARIOS, *SOCKET_SCENARIOS)}


def register(scenario: Scenario) -> None:
    """Add a scenario defined elsewhere (a plugin)."""
    SCENARIOS[scenario.name] = scenario


def scenario(name: str) -> Scenario:
    """The scenario registered as `name`; a UsageError lists the valid names."""
    _load_plugins()
    try:
        return SCENARIOS[name]
    except KeyError:
        names = ", ".join(SCENARIOS)
        raise UsageError(f"unknown scenario {name!r}; choose from: {names}") from None


def all_scenarios() -> dict[str, Scenario]:
    _load_plugins()
    return SCENARIOS


def _load_plugins() -> None:
    """Import the modules named in VTS_PLUGINS (comma-separated; the tests add a crashing
    and a leaky cell)."""
    for name in filter(None, os.environ.get("VTS_PLUGINS", "").split(",")):
        importlib.import_module(name)


__all__ = [
    "FANOUT_KS",
    "FLOOR",
    "SCENARIOS",
    "VALUE",
    "GetPublish",
    "Scenario",
    "Workload",
    "all_scenarios",
    "register",
    "scenario",
]
