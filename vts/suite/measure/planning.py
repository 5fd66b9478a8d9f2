"""Planning: each interpreter resolved once into a ready environment, then the cells of
the slice.

Owns `Environment` (an interpreter with its environment built, the asked-for loops that
import there, the allocation counter's calibration check and whether the C accelerator
is built) and `CellSpec` (one cell to measure, in one environment). `prepare` resolves
every interpreter once, before anything is measured; `plan` and the scheduler
(`vts.suite.measure.scheduling`) both take what it returns, so nothing is built or checked
twice.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vts.entry_points import BUILT_IN
from vts.strategies import strategy_registry
from vts.suite import results
from vts.suite.environments import Interpreter, build
from vts.suite.measure.processes import CELL_TIMEOUT, CellError, run_python
from vts.suite.scenarios import Scenario, scenario_registry


@dataclass(frozen=True)
class Environment:
    """One interpreter, ready to measure: every cell on it runs `python`."""

    interpreter: Interpreter
    python: Path
    loops: tuple[str, ...]  # the loops asked for that import under `python`
    # The counter's calibration check (`vts.suite.measure.calibration`), recorded with the
    # run's environments: counts are trusted only where it says calibrated.
    calibration: dict[str, Any] = field(compare=False, hash=False)
    accelerator: bool = True  # vts._speedups is built for it
    # Its build (`vts.suite.builds.describe()` under `python`): the key its cells carry.
    build: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def version(self) -> str:
        return self.interpreter.version


@dataclass(frozen=True)
class CellSpec:
    scenario: Scenario
    variant: str
    environment: Environment
    loop: str

    @property
    def interpreter(self) -> Interpreter:
        return self.environment.interpreter

    @property
    def id(self) -> str:
        return results.cell_id(self.variant, self.scenario.name, self.environment.version,
                               self.loop)

    @property
    def stem(self) -> str:
        return f"{self.variant}__{self.scenario.name}__{self.environment.version}__{self.loop}"


def prepare(interpreters: list[Interpreter], loops: list[str]) -> list[Environment]:
    """Each interpreter ready, one at a time: its environment built, its loops found, its
    counter checked, its build described."""
    ready = []
    for interpreter in interpreters:
        built = build(interpreter)
        ready.append(Environment(interpreter, built.python,
                                 tuple(loops_in(built.python, loops)),
                                 calibration(built.python), built.accelerator,
                                 build_of(built.python)))
    return ready


def build_of(python: Path) -> dict[str, Any]:
    """The interpreter build of `python` (`vts.suite.builds`), asked of it once per run."""
    described: dict[str, Any] = json.loads(
        run_python([str(python), "-m", "vts.suite.builds"], CELL_TIMEOUT))
    return described


def loops_in(python: Path, loops: list[str]) -> list[str]:
    """The loops of `loops` that import under `python` (uvloop may not install)."""
    available = []
    for loop in loops:
        ok = subprocess.run([str(python), "-c", f"import {loop}"], capture_output=True)
        if ok.returncode == 0:
            available.append(loop)
    return available


def calibration(python: Path) -> dict[str, Any]:
    """The counter's calibration check under `python`."""
    try:
        result: dict[str, Any] = json.loads(
            run_python([str(python), "-m", "vts.suite.measure.calibration"], CELL_TIMEOUT))
    except CellError as exc:
        return {"calibrated": False, "mismatches": {}, "reason": str(exc)}
    return result


def plan(scenarios: list[Scenario], variants: list[str] | None,
         environments: list[Environment]) -> Iterator[CellSpec]:
    """Every cell of the slice, environment by environment, loop by loop.

    A strategy or scenario from an installed distribution is measured on this interpreter
    only: the other interpreters' environments (`.venvs/X.Y`) hold the cell dependencies,
    not the distributions installed here.
    """
    for environment in environments:
        for loop in environment.loops:
            for scenario in scenarios:
                for variant in scenario.variants:
                    if variants is not None and variant not in variants:
                        continue
                    if measured_on(environment.interpreter, scenario, variant):
                        yield CellSpec(scenario, variant, environment, loop)


def measured_on(interpreter: Interpreter, scenario: Scenario, variant: str) -> bool:
    """False for a cell of an installed strategy or scenario on another interpreter."""
    if interpreter.is_current:
        return True
    installed = [entry.origin != BUILT_IN for entry in (
        scenario_registry().entries.get(scenario.name),
        strategy_registry().entries.get(variant)) if entry is not None]
    return not any(installed)


__all__ = ["CellSpec", "Environment", "calibration", "loops_in", "measured_on", "plan",
           "prepare"]
