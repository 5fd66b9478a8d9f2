"""The slice options every measuring subcommand shares (strategies, scenarios, loops...)."""

from __future__ import annotations

import argparse

from vts.errors import UsageError
from vts.loops import LOOPS
from vts.scenarios import FLOOR, Scenario, all_scenarios, scenario
from vts.strategies import STRATEGIES


def _names(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


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


def selected_scenarios(args: argparse.Namespace) -> list[Scenario]:
    names = _names(args.scenario)
    if names is None:
        return list(all_scenarios().values())
    return [scenario(name) for name in names]


def selected_variants(args: argparse.Namespace, scenarios: list[Scenario]) -> list[str] | None:
    names = _names(args.strategy)
    if names is None:
        return None
    known = {FLOOR, *STRATEGIES} | {v for s in scenarios for v in s.variants}
    for name in names:
        if name not in known:
            raise UsageError(f"unknown strategy {name!r}; choose from: {', '.join(sorted(known))}")
    return names


def selected_loops(args: argparse.Namespace) -> list[str]:
    names = _names(args.loop) or list(LOOPS)
    for name in names:
        if name not in LOOPS:
            raise UsageError(f"unknown event loop {name!r}; choose from: {', '.join(LOOPS)}")
    return names


def selected_pythons(args: argparse.Namespace) -> list[str] | None:
    return _names(args.python)
