"""`wait-timeout`: one `await asyncio.wait_for(get(), 1.0)` that a same-loop publish
completes, for every strategy (installed ones included) and the floor.

What it shows: the price of a timeout around each wait (a timer handle per wait, and on
3.10-3.11 a Task wrapping anything that is not a Future).
"""

from __future__ import annotations

import asyncio
from itertools import repeat
from time import perf_counter_ns

from vts.strategies import Freshness, strategy_class
from vts.suite.scenarios import FLOOR, VALUE, GetPublish, Scenario, Workload
from vts.suite.scenarios.floors import WaitFloor

TIMEOUT = 1.0  # seconds; never reached: the publish is already scheduled


class WaitTimeoutWorkload:
    def __init__(self, target: GetPublish, loop: asyncio.AbstractEventLoop) -> None:
        self.target = target
        self.loop = loop

    async def run(self, n: int) -> None:
        get, publish, call_soon = self.target.get, self.target.publish, self.loop.call_soon
        wait_for = asyncio.wait_for
        for _ in repeat(None, n):
            call_soon(publish, VALUE)
            await wait_for(get(), TIMEOUT)

    async def run_timed(self, n: int) -> list[int]:
        get, publish, call_soon = self.target.get, self.target.publish, self.loop.call_soon
        wait_for, perf, samples = asyncio.wait_for, perf_counter_ns, []
        for _ in repeat(None, n):
            start = perf()
            call_soon(publish, VALUE)
            await wait_for(get(), TIMEOUT)
            samples.append(perf() - start)
        return samples

    def close(self) -> None:
        pass


def open_wait_timeout(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    if variant == FLOOR:
        target: GetPublish = WaitFloor(loop)
    else:
        target = strategy_class(variant)(Freshness.never(), loop=loop)
    return WaitTimeoutWorkload(target, loop)


WAIT_TIMEOUT = Scenario(
    "wait-timeout", "one await of wait_for(get(), 1.0) that a same-loop publish completes",
    (FLOOR,), open_wait_timeout, every_strategy=True)
