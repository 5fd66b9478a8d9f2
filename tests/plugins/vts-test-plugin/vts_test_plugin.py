"""Test-only cells, added through the `vts.scenarios` entry-point group.

`test-wait` runs the real `wait` workload with `pooled`, `pooled_leaky`, a pooled
strategy that keeps one extra object per operation, and `pooled_busy`, one that does some
real extra work per operation and allocates nothing more (the regressions the gate must
catch, in allocations and in instructions); `test-crash` has a variant that kills its
process and one that raises; `test-hang` never finishes (the per-cell time limit ends
it); `test-socket-ready` runs the gated socket workload with `reusable_source` and
`reusable_source_leaky`, a receive source that keeps one extra object per receive (a
regression in vts/sockets.py). `make test` installs this distribution with `pip install
--target .venv/test-plugins/good`, off the venv's path: only tests that put that directory
on sys.path and PYTHONPATH see it.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from vts.sockets import ReceiveSource
from vts.strategies import Freshness
from vts.strategies.pooled import Pooled
from vts.suite.scenarios import Scenario, Workload
from vts.suite.scenarios.receive_paths import BUFFER_BYTES, ReusableSourceReceiver
from vts.suite.scenarios.socket_harness import SocketWorkload
from vts.suite.scenarios.workloads import WaitWorkload


class PooledLeaky(Pooled[Any]):
    name = "pooled_leaky"

    def get(self) -> Any:
        self.kept = object()  # one allocation per call, the injected regression
        return Pooled.get(self)  # not super(): its proxy would allocate too


class PooledBusy(Pooled[Any]):
    name = "pooled_busy"

    def get(self) -> Any:
        spin = 0
        while spin < 100:  # real work; small ints are cached, so nothing is allocated
            spin += 1
        return Pooled.get(self)


VARIANTS = {"pooled": Pooled, "pooled_leaky": PooledLeaky, "pooled_busy": PooledBusy}


def _open_wait(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    return WaitWorkload(VARIANTS[variant](Freshness.never(), loop=loop), loop)


def _open_crash(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    if variant == "segfault_like":
        os._exit(3)
    raise RuntimeError("this cell always fails")


TEST_WAIT = Scenario("test-wait", "the wait workload, for the gate tests",
                     tuple(VARIANTS), _open_wait)
TEST_CRASH = Scenario("test-crash", "a cell that crashes", ("segfault_like", "raises"),
                      _open_crash)


class LeakyReceiveSource(ReceiveSource):
    def receive_exactly(self, nbytes: int) -> Any:
        self.kept = object()  # one allocation per receive, the injected regression
        return ReceiveSource.receive_exactly(self, nbytes)


def _open_socket_ready(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    workload = SocketWorkload("reusable_source", 64, loop, "ready")
    if variant == "reusable_source_leaky":  # the same receiver over a leaky source
        receiver = workload.receiver
        assert isinstance(receiver, ReusableSourceReceiver)
        receiver.source.close()  # closes the source, not the socket
        receiver.source = LeakyReceiveSource(receiver._sock, max(BUFFER_BYTES, 4 * 64))
        receiver.receive = receiver.source.receive_exactly
    return workload


def _open_hang(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    time.sleep(3600)
    raise AssertionError("the cell's time limit should have ended this process")


TEST_SOCKET_READY = Scenario("test-socket-ready", "the gated socket workload, for the gate "
                             "tests", ("reusable_source", "reusable_source_leaky"),
                             _open_socket_ready, reference="reusable_source")
TEST_HANG = Scenario("test-hang", "a cell that never finishes", ("sleeps",), _open_hang)
