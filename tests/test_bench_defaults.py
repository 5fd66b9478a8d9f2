"""What `vts bench` measures unless told: instructions of the fresh and wait cells in the
timed modes (where valgrind is), none in --allocs-only; the floor beside any strategy."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from vts.suite.cli import build_parser
from vts.suite.commands.bench import options_from
from vts.suite.measure import session
from vts.suite.measure.session import BenchOptions, counts_instructions
from vts.suite.scenarios import scenario
from vts.suite.selection import Slice, selected_variants


def _spec(name: str) -> Any:
    return SimpleNamespace(scenario=SimpleNamespace(name=name))


@pytest.mark.parametrize(("args", "instructions", "mode"), [
    ([], None, "fast"),
    (["--instructions"], True, "fast"),
    (["--no-instructions"], False, "fast"),
    (["--allocs-only"], None, "allocs-only"),
])
def test_bench_arguments(args: list[str], instructions: bool | None, mode: str) -> None:
    options = options_from(build_parser().parse_args(["bench", *args]))
    assert (options.instructions, options.mode) == (instructions, mode)


def test_the_timed_modes_count_fresh_and_wait_by_default(monkeypatch: pytest.MonkeyPatch,
                                                        ) -> None:
    monkeypatch.setattr(session.valgrind, "unavailable", lambda: None)
    for mode in ("fast", "full"):
        counted = counts_instructions(BenchOptions(mode=mode, instructions=None))
        assert callable(counted)
        assert [name for name in ("fresh", "wait", "thread", "fanout-10", "socket-ready-4k")
                if counted(_spec(name))] == ["fresh", "wait"]
    assert counts_instructions(BenchOptions(mode="allocs-only", instructions=None)) is False
    assert counts_instructions(BenchOptions(mode="fast", instructions=True)) is True
    assert counts_instructions(BenchOptions(mode="fast", instructions=False)) is False


def test_without_valgrind_the_default_counts_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session.valgrind, "unavailable", lambda: "valgrind not found")
    assert counts_instructions(BenchOptions(mode="fast", instructions=None)) is False


def test_the_gate_still_counts_only_when_asked() -> None:
    assert session.gate_options().instructions is False
    assert session.gate_options(instructions=True).instructions is True


def test_the_floor_goes_with_any_choice_of_strategies() -> None:
    wait = [scenario("wait")]
    assert selected_variants(Slice(strategies=["pooled"]), wait) == ["pooled", "floor"]
    assert selected_variants(Slice(strategies=["floor", "pooled"]), wait) == ["floor", "pooled"]
    assert selected_variants(Slice(), wait) is None  # every variant, the floor among them


def test_bench_closes_with_where_the_time_went() -> None:
    from vts.suite.commands.bench import time_split

    cells = [{"extra": {"seconds": {"counting": 40.0, "timing": 100.0}}},
             {"extra": {"seconds": {"counting": 30.5, "instructions": 3.25}}},
             {"extra": {}}]
    run: Any = {"cells": cells, "jobs": 2}
    assert time_split(run, 125.4) == (
        "measured 3 cells in 2 min 5 s (2 at a time; summed over the cells: counting 1 min "
        "10 s, timing 1 min 40 s, instructions 3.2 s)")
    fast: Any = {"cells": cells, "jobs": 2, "mode": "fast"}
    assert time_split(fast, 125.4).startswith(
        "measured 3 cells in 2 min 5 s (2 at a time, then timed one value at a time; summed")
    empty: Any = {"cells": [], "jobs": 1}
    assert time_split(empty, 0.25) == "measured 0 cells in 0.2 s"
