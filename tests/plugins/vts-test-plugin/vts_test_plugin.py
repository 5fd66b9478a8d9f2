"""Test-only cells, added through the `vts.scenarios` entry-point group.

`test-wait` runs the real `wait` workload with `pooled` and `pooled_leaky`, a pooled
strategy that keeps one extra object per operation (the regression the gate must catch);
`test-crash` has a variant that kills its process and one that raises. `make test`
installs this distribution with `pip install --target .venv/test-plugins/good`, off the
venv's path: only tests that put that directory on sys.path and PYTHONPATH see it.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from vts.strategies import Freshness
from vts.strategies.pooled import Pooled
from vts.suite.scenarios import Scenario, Workload
from vts.suite.scenarios.workloads import WaitWorkload


class PooledLeaky(Pooled[Any]):
    name = "pooled_leaky"

    def get(self) -> Any:
        self.kept = object()  # one allocation per call, the injected regression
        return Pooled.get(self)  # not super(): its proxy would allocate too


def _open_wait(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    cls = PooledLeaky if variant == "pooled_leaky" else Pooled
    return WaitWorkload(cls(Freshness.never(), loop=loop), loop)


def _open_crash(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    if variant == "segfault_like":
        os._exit(3)
    raise RuntimeError("this cell always fails")


TEST_WAIT = Scenario("test-wait", "the wait workload, for the gate tests",
                     ("pooled", "pooled_leaky"), _open_wait)
TEST_CRASH = Scenario("test-crash", "a cell that crashes", ("segfault_like", "raises"),
                      _open_crash)
