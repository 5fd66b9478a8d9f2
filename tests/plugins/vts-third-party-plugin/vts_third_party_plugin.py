"""Test-only: a strategy and a scenario that work, added through entry points as any
third-party plugin adds them.

`make test` installs this distribution with `pip install --target
.venv/test-plugins/third-party`, off the venv's path; tests/test_plugin_independence.py
puts it on the path of a pytest run of the registry tests, which must pass all the same.
"""

from __future__ import annotations

import asyncio
from typing import Any

from vts.strategies import Freshness, strategy_class
from vts.strategies.future_per_call import FuturePerCall
from vts.suite.scenarios import Scenario, Workload
from vts.suite.scenarios.workloads import WaitWorkload


class ThirdParty(FuturePerCall[Any]):
    name = "third_party"


def _open_wait(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    return WaitWorkload(strategy_class(variant)(Freshness.never(), loop=loop), loop)


THIRD_PARTY_WAIT = Scenario("third-party-wait", "the wait workload, from a plugin",
                            ("third_party",), _open_wait, reference="third_party")
