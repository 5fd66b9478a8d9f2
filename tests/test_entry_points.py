"""Strategies and scenarios from installed distributions (vts.entry_points and the two
registries), with real installed distributions:

- `vts-event-strategy` (examples/), installed into the venv by `make test`: a working
  strategy and scenario, treated like the built-in ones;
- `vts-broken-plugin` (tests/plugins/), installed by `make test` off the venv's path
  (`.venv/test-plugins/broken`): every way an entry point can be broken.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from vts.entry_points import BUILT_IN
from vts.errors import UnknownNameError
from vts.strategies import STRATEGIES, all_strategies, strategy_class, strategy_registry
from vts.strategies.future_per_call import FuturePerCall
from vts.suite import results
from vts.suite.cli import main
from vts.suite.environments import Interpreter, current_version
from vts.suite.measure.planning import measured_on
from vts.suite.scenarios import all_scenarios, scenario, scenario_registry
from vts.suite.selection import installed_in

EXAMPLE = "vts-event-strategy"

BROKEN_STRATEGIES = {
    "fails_to_import": "strategy 'fails_to_import' from vts-broken-plugin "
                       "(vts_broken_plugin.raises:Anything) failed to import: RuntimeError: "
                       "this plugin module fails to import",
    "half_done": "strategy 'half_done' from vts-broken-plugin (vts_broken_plugin:HalfDone) "
                 "is HalfDone, which does not implement deliver, wait of vts.Strategy",
    "misnamed": "strategy 'misnamed' from vts-broken-plugin (vts_broken_plugin:Misnamed) is "
                "Misnamed, whose name is 'something_else'; set name = 'misnamed' to match "
                "the entry point",
    "not_a_strategy": "strategy 'not_a_strategy' from vts-broken-plugin "
                      "(vts_broken_plugin:NotAStrategy) is <class "
                      "'vts_broken_plugin.NotAStrategy'>, not a subclass of vts.Strategy",
    "pooled": "strategy 'pooled' from vts-broken-plugin: the name is taken by the built-in "
              "one; rename the entry point in vts.strategies",
}
BROKEN_SCENARIOS = {
    "not-a-scenario": "scenario 'not-a-scenario' from vts-broken-plugin "
                      "(vts_broken_plugin:NOT_A_SCENARIO) is 42, not a "
                      "vts.suite.scenarios.Scenario",
    "scenario-fails-to-import": "scenario 'scenario-fails-to-import' from vts-broken-plugin "
                                "(vts_broken_plugin.raises:ANYTHING) failed to import: "
                                "RuntimeError: this plugin module fails to import",
}


# --- the example, installed into the venv ------------------------------------------------


def test_the_examples_strategy_is_registered_after_the_built_ins() -> None:
    registry = strategy_registry()
    assert list(registry.entries)[:len(STRATEGIES)] == list(STRATEGIES)
    entry = registry.entries["event_per_publish"]
    assert entry.origin == EXAMPLE
    assert strategy_class("event_per_publish") is entry.value is all_strategies()[
        "event_per_publish"]
    assert all(registry.entries[name].origin == "built-in" for name in STRATEGIES)


def test_every_strategy_scenario_runs_the_installed_strategy_too() -> None:
    scenarios = all_scenarios()
    for name in ("fresh", "wait", "thread", "fanout-10", "monitor"):
        assert scenarios[name].variants[-1] == list(all_strategies())[-1], name
        assert "event_per_publish" in scenarios[name].variants, name
    assert "event_per_publish" not in scenarios["socket-4k"].variants


def test_the_examples_scenario_is_registered_with_every_strategy() -> None:
    entry = scenario_registry().entries["wait-timeout"]
    assert entry.origin == EXAMPLE
    assert scenario("wait-timeout").variants == ("floor", *all_strategies())


def test_vts_list_says_where_each_comes_from(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.rstrip() for line in out.splitlines() if line.strip()}
    assert "installed by" not in rows["pooled"] + rows["wait"]  # built in
    assert rows["event_per_publish"].endswith(f"(installed by {EXAMPLE})")
    assert rows["wait-timeout"].endswith(f"(installed by {EXAMPLE})")


@pytest.mark.parametrize(("scenario_name", "variant", "elsewhere"), [
    ("wait", "pooled", True),
    ("wait", "event_per_publish", False),
    ("wait-timeout", "pooled", False),
    ("socket-4k", "streams", True),
])
def test_installed_ones_are_measured_on_this_interpreter_only(
        scenario_name: str, variant: str, elsewhere: bool) -> None:
    here = Interpreter(current_version(), Path(sys.executable))
    other = Interpreter("3.99", Path("/nonexistent/python3.99"))
    assert measured_on(here, scenario(scenario_name), variant) is True
    assert measured_on(other, scenario(scenario_name), variant) is elsewhere


def test_bench_names_the_installed_ones_of_a_slice() -> None:
    scenarios = [scenario("wait"), scenario("wait-timeout"), scenario("socket-4k")]
    installed = sorted(name for name, entry in strategy_registry().entries.items()
                       if entry.origin != BUILT_IN)
    assert "event_per_publish" in installed  # and whatever other plugins are installed
    assert installed_in(scenarios, None) == [*installed, "wait-timeout"]
    assert installed_in(scenarios, ["pooled"]) == ["wait-timeout"]
    assert installed_in([scenario("wait")], ["pooled", "floor"]) == []


@pytest.mark.slow
def test_bench_report_and_gate_treat_installed_ones_like_built_ins(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "-s", "event_per_publish,pooled", "-c", "wait,wait-timeout",
                 "-l", "asyncio", "--allocs-only", "-o", str(tmp_path)]) == 0
    run = results.load(tmp_path / "results.json")
    version = current_version()
    cells = {cell["id"]: cell for cell in run["cells"]}
    assert f"floor/wait/{version}/asyncio" in cells  # the floor goes with any choice
    assert sorted(i for i in cells if not i.startswith("floor/")) == sorted(
        f"{s}/{c}/{version}/asyncio" for s in ("event_per_publish", "pooled")
        for c in ("wait", "wait-timeout"))
    assert all(cell["status"] == "ok" for cell in cells.values())
    report = (tmp_path / "report.html").read_text()
    assert "event_per_publish" in report and "wait-timeout" in report
    # The gate: a baseline that has the installed strategy's cells gates them like any.
    baseline = json.loads((tmp_path / "results.json").read_text())
    for cell in baseline["cells"]:
        if cell["strategy"] == "event_per_publish":
            cell["allocs"]["allocs_per_op"] -= 1
    results.write_atomic(tmp_path / "baseline.json", baseline)
    capsys.readouterr()
    assert main(["gate", str(tmp_path / "results.json"), "--baseline",
                 str(tmp_path / "baseline.json")]) == 1
    out = capsys.readouterr().out
    assert f"event_per_publish/wait/{version}/asyncio" in out


# --- broken distributions -------------------------------------------------------------------


@pytest.fixture
def broken(installed_plugin: Callable[[str], None]) -> None:
    installed_plugin("broken")


@pytest.mark.usefixtures("broken")
def test_each_broken_entry_point_is_named_in_one_line() -> None:
    strategies, scenarios = strategy_registry(), scenario_registry()
    assert {name: b.message for name, b in strategies.broken.items()} == BROKEN_STRATEGIES
    assert {name: b.message for name, b in scenarios.broken.items()} == BROKEN_SCENARIOS
    # The rest still registers: the built-ins (pooled stays the built-in one), the
    # example, and the broken distribution's one working strategy.
    assert strategy_class("pooled") is STRATEGIES["pooled"]
    assert issubclass(strategy_class("still_listed"), FuturePerCall)
    assert "event_per_publish" in all_strategies()


@pytest.mark.usefixtures("broken")
@pytest.mark.parametrize("name", ["half_done", "fails_to_import"])
def test_asking_for_a_broken_strategy_raises_its_line(name: str) -> None:
    with pytest.raises(UnknownNameError) as caught:
        strategy_class(name)
    assert str(caught.value) == BROKEN_STRATEGIES[name]


@pytest.mark.usefixtures("broken")
def test_vts_list_lists_the_rest_then_the_errors(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["list"]) == 2
    out, err = capsys.readouterr()
    assert "still_listed" in out and "event_per_publish" in out and "pooled" in out
    assert err.splitlines() == [f"error: {message}" for message in
                                (*BROKEN_STRATEGIES.values(), *BROKEN_SCENARIOS.values())]


@pytest.mark.usefixtures("broken")
@pytest.mark.parametrize(("args", "message"), [
    ([], f"error: {BROKEN_SCENARIOS['not-a-scenario']} (and 1 more broken scenarios; see "
         "vts list)"),
    (["-c", "wait"], f"error: {BROKEN_STRATEGIES['fails_to_import']} (and 4 more broken "
                     "strategies; see vts list)"),
    (["-c", "wait", "-s", "misnamed"], f"error: {BROKEN_STRATEGIES['misnamed']}"),
    (["-c", "not-a-scenario"], f"error: {BROKEN_SCENARIOS['not-a-scenario']}"),
])
def test_bench_refuses_a_selection_with_a_broken_one(
        args: list[str], message: str, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    assert main(["bench", *args, "--allocs-only", "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err == message + "\n"
    assert not (tmp_path / "results.json").exists()
