"""`vts list`: the strategies, scenarios, loops and interpreters a run can select."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

from vts.strategies import STRATEGIES
from vts.suite.environments import discover
from vts.suite.loops import LOOPS, loop_available
from vts.suite.scenarios import all_scenarios

help = "list strategies, scenarios, event loops and interpreters"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    console = Console()
    strategies = Table("strategy", "what it trades", title="Strategies")
    for name, cls in STRATEGIES.items():
        doc = sys.modules[cls.__module__].__doc__ or ""
        strategies.add_row(name, doc.strip().splitlines()[0])
    console.print(strategies)
    scenarios = Table("scenario", "one operation is", "variants", title="Scenarios")
    for scenario in all_scenarios().values():
        scenarios.add_row(scenario.name, scenario.operation, ", ".join(scenario.variants))
    console.print(scenarios)
    loops = ", ".join(f"{kind}{'' if loop_available(kind) else ' (not installed)'}"
                      for kind in LOOPS)
    console.print(f"Event loops: {loops}")
    console.print(f"Interpreters: {', '.join(discover())}")
    return 0
