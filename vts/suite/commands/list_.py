"""`vts list`: the strategies, scenarios, loops and interpreters a run can select.

Each strategy and scenario says where it comes from: built-in, or the distribution that
installed it. An installed one that is broken is left out of the tables and named in
an `error:` line at the end (exit 2), after everything that did load.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vts.strategies import strategy_registry
from vts.suite.environments import discover
from vts.suite.loops import LOOPS, loop_available
from vts.suite.scenarios import all_scenarios, scenario_registry

help = "list strategies, scenarios, event loops and interpreters"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    console = Console()
    strategies = strategy_registry()
    table = Table("strategy", "from", "what it trades", title="Strategies")
    for name, strategy in strategies.entries.items():
        doc = sys.modules[strategy.value.__module__].__doc__ or ""
        # escape(): a name like pooled[c] is not rich markup
        table.add_row(escape(name), strategy.origin,
                      escape((doc.strip().splitlines() or [""])[0]))
    console.print(table)
    scenarios = scenario_registry()
    resolved = all_scenarios()
    table = Table("scenario", "from", "one operation is", "variants", title="Scenarios")
    for name, entry in scenarios.entries.items():
        table.add_row(escape(name), entry.origin, escape(entry.value.operation),
                      escape(", ".join(resolved[name].variants)))
    console.print(table)
    loops = ", ".join(f"{kind}{'' if loop_available(kind) else ' (not installed)'}"
                      for kind in LOOPS)
    console.print(f"Event loops: {loops}")
    console.print(f"Interpreters: {', '.join(discover())}")
    broken = [*strategies.broken.values(), *scenarios.broken.values()]
    for each in broken:
        print(f"error: {each.message}", file=sys.stderr)
    return 2 if broken else 0
