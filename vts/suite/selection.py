"""The slice options every measuring subcommand shares (strategies, scenarios, loops...).

`Slice` is the typed form of those options: commands that measure on another's behalf
(`vts gate --measure`) build one directly instead of a hand-made argparse.Namespace.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from vts.entry_points import BUILT_IN, Broken
from vts.strategies import strategy_registry
from vts.suite.errors import UsageError
from vts.suite.loops import LOOPS
from vts.suite.scenarios import FLOOR, Scenario, all_scenarios, scenario, scenario_registry

# What each option names, for the message when it is given an empty name.
_WHAT = {"-s/--strategy": "strategy names", "-c/--scenario": "scenario names",
         "-l/--loop": "event loop names", "-p/--python": "interpreter versions like 3.12, or "
         "'all'"}


def names(values: list[str] | None, option: str) -> list[str] | None:
    """The names given to `option` (repeated or comma-separated), each once, in order;
    None when it was not given. An empty name (`-p ""`, `-p 3.11,`) is an error: it
    would otherwise silently mean "the default"."""
    if values is None:
        return None
    names = [name.strip() for value in values for name in value.split(",")]
    if not all(names):
        raise UsageError(f"{option} got an empty name; give {_WHAT[option]}")
    return list(dict.fromkeys(names))


def add_slice_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--strategy", action="append", metavar="NAME",
                        help="strategies (repeat or comma-separate; 'floor' is the bare "
                             "reference); default: all")
    parser.add_argument("-c", "--scenario", action="append", metavar="NAME",
                        help="scenarios (repeat or comma-separate); default: all")
    parser.add_argument("-l", "--loop", action="append", metavar="NAME",
                        help=f"event loops ({', '.join(LOOPS)}); default: both where installed")
    parser.add_argument("-p", "--python", action="append", metavar="X.Y",
                        help="interpreters (versions like 3.12, or 'all'); default: this one")


@dataclass(frozen=True)
class Slice:
    """Which cells to measure; None means every one there is (this interpreter, for
    `pythons`)."""

    strategies: list[str] | None = None
    scenarios: list[str] | None = None
    loops: list[str] | None = None
    pythons: list[str] | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Slice:
        return cls(names(args.strategy, "-s/--strategy"),
                   names(args.scenario, "-c/--scenario"), names(args.loop, "-l/--loop"),
                   names(args.python, "-p/--python"))


def _refuse_broken(kind: str, broken: dict[str, Broken]) -> None:
    """Every one of `kind` was asked for (no names given): a broken one is bad input."""
    if broken:
        first, *more = broken.values()
        also = f" (and {len(more)} more broken {kind}; see vts list)" if more else ""
        raise UsageError(first.message + also)


def selected_scenarios(chosen: Slice) -> list[Scenario]:
    names = chosen.scenarios
    if names is None:
        _refuse_broken("scenarios", scenario_registry().broken)
        return list(all_scenarios().values())
    return [scenario(name) for name in names]


def selected_variants(chosen: Slice, scenarios: list[Scenario]) -> list[str] | None:
    registry = strategy_registry()
    names = chosen.strategies
    if names is None:
        _refuse_broken("strategies", registry.broken)
        return None
    known = {FLOOR, *registry.entries} | {v for s in scenarios for v in s.variants}
    for name in names:
        if name in registry.broken:
            raise UsageError(registry.broken[name].message)
        if name not in known:
            raise UsageError(f"unknown strategy {name!r}; choose from: {', '.join(sorted(known))}")
    # The floor goes with every choice: Above floor needs it wherever a scenario has one
    # (plan leaves it out of the scenarios that do not).
    return names if FLOOR in names else [*names, FLOOR]


def installed_in(scenarios: list[Scenario], variants: list[str] | None) -> list[str]:
    """The installed (not built-in) strategies and scenarios of a slice: measured on this
    interpreter only, since the other interpreters' environments do not have them."""
    strategies = strategy_registry().entries
    in_slice = {v for s in scenarios for v in s.variants if variants is None or v in variants}
    from_strategies = [name for name in in_slice
                       if name in strategies and strategies[name].origin != BUILT_IN]
    registered = scenario_registry().entries
    from_scenarios = [s.name for s in scenarios
                      if s.name in registered and registered[s.name].origin != BUILT_IN]
    return sorted(from_strategies) + from_scenarios


def selected_loops(chosen: Slice) -> list[str]:
    names = chosen.loops or list(LOOPS)
    for name in names:
        if name not in LOOPS:
            raise UsageError(f"unknown event loop {name!r}; choose from: {', '.join(LOOPS)}")
    return names


def selected_pythons(chosen: Slice) -> list[str] | None:
    return chosen.pythons
