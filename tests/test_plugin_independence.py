"""Installing a plugin changes no test result: the tests that read the registries, run
again with a third-party plugin installed (tests/plugins/vts-third-party-plugin: one
working strategy and one scenario, which `make test` installs off the venv's path), pass
as they do without it. They name the built-in strategies and scenarios they expect and
let installed ones follow."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from vts.strategies import all_strategies
from vts.suite.scenarios import all_scenarios

ROOT = Path(__file__).resolve().parents[1]

REGISTRY_TESTS = [
    "tests/test_entry_points.py",
    "tests/test_scenarios.py",
    "tests/test_public_api.py",
    "tests/test_strategies.py::test_the_registry_lists_the_strategies_reference_first_each_c_"
    "variant_after_its_own",
    "tests/test_strategies.py::test_an_unknown_strategy_name_is_a_lookup_error",
    "tests/test_bench_command.py::test_a_bad_strategy_name_lists_every_choice_in_one_line",
    "tests/test_bench_command.py::test_a_bad_scenario_name_lists_every_choice_in_one_line",
]


@pytest.mark.slow
def test_the_registry_tests_pass_with_a_third_party_plugin_installed(
    installed_plugin: Callable[[str], None],
) -> None:
    installed_plugin("third-party")  # on sys.path here, on PYTHONPATH for the run below
    assert "third_party" in all_strategies()
    assert "third-party-wait" in all_scenarios()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", *REGISTRY_TESTS],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:]
    # The run saw the plugin: its strategy is one more variant of every loop scenario.
    assert "test_every_loop_scenario_runs_every_variant[third_party-wait] PASSED" in run.stdout
