"""`vts list`: the strategies, scenarios, loops and interpreters a run can select.

An installed strategy or scenario names the distribution that installed it (the rest are
built in). An installed one that is broken is left out of the tables and named in
an `error:` line at the end (exit 2), after everything that did load. Compact on purpose
(about 50 lines at 80 columns): a strategy is described by its module docstring's first
sentence, and only a scenario whose variants are not "floor + every strategy" names them.
"""

from __future__ import annotations

import argparse
import re
import sys

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vts.strategies import strategy_registry
from vts.suite.environments import discover
from vts.suite.loops import LOOPS, loop_available
from vts.suite.scenarios import Scenario, scenario_registry

help = "list strategies, scenarios, event loops and interpreters"

ACCELERATED = "[c]"
BUILT_IN = "built-in"
EVERY_STRATEGY = "every strategy"
USUAL_VARIANTS = f"floor + {EVERY_STRATEGY}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def describe_strategy(name: str, doc: str) -> str:
    """What a strategy trades, in one sentence: its module docstring's first sentence
    (without a leading "name: "); a `name[c]` is its design on the C accelerator."""
    if name.endswith(ACCELERATED):
        return f"{name.removesuffix(ACCELERATED)} on the C accelerator (vts._speedups)"
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    sentence = re.split(r"(?<=\.)\s", paragraph, maxsplit=1)[0]
    return sentence.removeprefix(f"{name}: ").removeprefix(f"`{name}`: ")


def describe_variants(declared: Scenario) -> str:
    """A scenario's variants: its own, then "every strategy" where it runs them all ("that
    fits" where its `strategy_filter` leaves some out)."""
    own = ", ".join(declared.variants)
    if not declared.every_strategy:
        return own
    every = EVERY_STRATEGY if declared.strategy_filter is None else f"{EVERY_STRATEGY} that fits"
    return f"{own} + {every}" if own else every


def _from(text: str, origin: str) -> str:
    """`text`, with the distribution that installed it where it is not built in."""
    return text if origin == BUILT_IN else f"{text} (installed by {origin})"


def run(args: argparse.Namespace) -> int:
    console = Console()
    strategies = strategy_registry()
    table = Table("strategy", "what it trades", title="Strategies", box=box.SIMPLE_HEAD)
    for name, strategy in strategies.entries.items():
        doc = sys.modules[strategy.value.__module__].__doc__ or ""
        # escape(): a name like pooled[c] is not rich markup
        table.add_row(escape(name), escape(_from(describe_strategy(name, doc), strategy.origin)))
    console.print(table)
    scenarios = scenario_registry()
    table = Table("scenario", "one operation is", title="Scenarios", box=box.SIMPLE_HEAD,
                  caption=f"Variants: {USUAL_VARIANTS}, unless named.")
    for name, entry in scenarios.entries.items():
        operation = _from(entry.value.operation, entry.origin)
        variants = describe_variants(entry.value)
        if variants != USUAL_VARIANTS:
            operation += f"; variants: {variants}"
        table.add_row(escape(name), escape(operation))
    console.print(table)
    loops = ", ".join(f"{kind}{'' if loop_available(kind) else ' (not installed)'}"
                      for kind in LOOPS)
    console.print(f"Event loops: {loops}")
    console.print(f"Interpreters: {', '.join(discover())}")
    broken = [*strategies.broken.values(), *scenarios.broken.values()]
    for each in broken:
        print(f"error: {each.message}", file=sys.stderr)
    return 2 if broken else 0
