"""The loop scenarios: fresh, wait, thread, fanout-K and monitor, each over any variant.

Every workload drives the same two methods (`get`, `publish`) of a strategy or a floor
(`vts.suite.scenarios.floors`); the rules of a measured loop are in
`vts.suite.scenarios.base`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from itertools import repeat
from typing import Any

from vts.strategies import Freshness, Strategy, strategy_class
from vts.suite.scenarios.base import FLOOR, VALUE, GetPublish, Scenario, Workload, perf_ns
from vts.suite.scenarios.floors import DoneFutureFloor, SharedFutureFloor, ThreadFloor, WaitFloor

FANOUT_KS = (1, 10, 100, 1000)


class AwaitLoop:
    """One operation: `await get()`, nothing else (the fresh and monitor workloads)."""

    def __init__(self, get: Callable[[], Any]) -> None:
        self.get = get

    async def run(self, n: int) -> None:
        get = self.get
        for _ in repeat(None, n):
            await get()

    async def run_timed(self, n: int) -> list[int]:
        get, perf, samples = self.get, perf_ns, []
        for _ in repeat(None, n):
            start = perf()
            await get()
            samples.append(perf() - start)
        return samples

    def close(self) -> None:
        pass


class FreshWorkload(AwaitLoop):
    """One operation: `await get()` of a value that is always fresh."""

    def __init__(self, target: GetPublish) -> None:
        target.publish(VALUE)
        super().__init__(target.get)


class WaitWorkload:
    """One operation: `await get()` suspends until a same-loop publish resumes it."""

    def __init__(self, target: GetPublish, loop: asyncio.AbstractEventLoop) -> None:
        self.target = target
        self.loop = loop

    async def run(self, n: int) -> None:
        get, publish, call_soon = self.target.get, self.target.publish, self.loop.call_soon
        for _ in repeat(None, n):
            call_soon(publish, VALUE)
            await get()

    async def run_timed(self, n: int) -> list[int]:
        get, publish, call_soon = self.target.get, self.target.publish, self.loop.call_soon
        perf, samples = perf_ns, []
        for _ in repeat(None, n):
            start = perf()
            call_soon(publish, VALUE)
            await get()
            samples.append(perf() - start)
        return samples

    def close(self) -> None:
        pass


class ThreadWorkload:
    """One operation: `await get()` completed by a publish from a producer thread.

    The waiter registers first, then signals the producer through a plain Lock used as
    a binary semaphore (no allocation, unlike threading.Semaphore's Condition).
    """

    def __init__(self, target: GetPublish) -> None:
        self.target = target
        self._go = threading.Lock()
        self._go.acquire()
        self._stopping = False
        self._thread = threading.Thread(target=self._produce, name="vts-producer", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        acquire, publish = self._go.acquire, self.target.publish
        while True:
            acquire()
            if self._stopping:
                return
            publish(VALUE)

    async def run(self, n: int) -> None:
        get, go = self.target.get, self._go.release
        for _ in repeat(None, n):
            waiter = get()
            go()
            await waiter

    async def run_timed(self, n: int) -> list[int]:
        get, go = self.target.get, self._go.release
        perf, samples = perf_ns, []
        for _ in repeat(None, n):
            start = perf()
            waiter = get()
            go()
            await waiter
            samples.append(perf() - start)
        return samples

    def close(self) -> None:
        self._stopping = True
        self._go.release()
        self._thread.join(5)


class FanoutWorkload:
    """One operation: one publish that wakes K waiting tasks (all resumed before the next).

    After a publish the driver yields once (`sleep(0)`): the K wake-ups were queued
    before it, so they all run, take the value and wait again before the driver resumes.
    """

    def __init__(self, target: GetPublish, loop: asyncio.AbstractEventLoop, k: int) -> None:
        self.target = target
        self.loop = loop
        self.k = k

    async def _consume(self, n: int) -> None:
        get = self.target.get
        for _ in repeat(None, n):
            await get()

    async def _drive(self, n: int, timed: bool) -> tuple[list[int], int]:
        consumers = [self.loop.create_task(self._consume(n)) for _ in repeat(None, self.k)]
        await asyncio.sleep(0)  # let every consumer start waiting
        publish, sleep, perf = self.target.publish, asyncio.sleep, perf_ns
        samples: list[int] = []
        start_all = perf()
        if timed:
            for _ in repeat(None, n):
                start = perf()
                publish(VALUE)
                await sleep(0)
                samples.append(perf() - start)
        else:
            for _ in repeat(None, n):
                publish(VALUE)
                await sleep(0)
        elapsed = perf() - start_all
        await asyncio.gather(*consumers)
        return samples, elapsed

    async def run(self, n: int) -> int:
        """The n publishes; returns their time in ns, without starting and finishing the K
        consumers (for K = 1000 that fixed cost is about one publish's worth, and pyperf,
        which divides a run's time by n with n as small as 1 or 2, counted it as per-op)."""
        return (await self._drive(n, timed=False))[1]

    async def run_timed(self, n: int) -> list[int]:
        return (await self._drive(n, timed=True))[0]

    def close(self) -> None:
        pass


class MonitorWorkload(AwaitLoop):
    """One operation: `await monitor.get_statistics()` with the real psutil sampler thread
    (every 2 ms, values fresh for 1 ms): a mix of cached and waiting calls, end to end.
    Not deterministic in allocations (it depends on timing), so the gate skips it."""

    def __init__(self, strategy: str, loop: asyncio.AbstractEventLoop) -> None:
        from vts.monitor import PcMonitor

        self.monitor = PcMonitor(strategy, interval=0.002, max_age=0.001, loop=loop)
        super().__init__(self.monitor.get_statistics)

    def close(self) -> None:
        self.monitor.close()


def _target(variant: str, freshness: Freshness, loop: asyncio.AbstractEventLoop,
            floor: Callable[[asyncio.AbstractEventLoop], GetPublish]) -> GetPublish:
    if variant == FLOOR:
        return floor(loop)
    strategy: Strategy[object] = strategy_class(variant)(freshness, loop=loop)
    return strategy


def _fresh(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    return FreshWorkload(_target(variant, Freshness.always(), loop, DoneFutureFloor))


def _wait(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    return WaitWorkload(_target(variant, Freshness.never(), loop, WaitFloor), loop)


def _thread(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    return ThreadWorkload(_target(variant, Freshness.never(), loop, ThreadFloor))


def _fanout(k: int) -> Callable[[str, asyncio.AbstractEventLoop], Workload]:
    def open_fanout(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
        target = _target(variant, Freshness.never(), loop, SharedFutureFloor)
        return FanoutWorkload(target, loop, k)

    return open_fanout


def _monitor(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    return MonitorWorkload(variant, loop)


# Measured: the medians of the 20 monitor cells of two make bench runs 35 minutes apart
# (3.11, 4 x 2 values each) differed by 0.83-4.22x, half of them by more than 1.85x; no other
# scenario's moved by more than 2.07x.
MONITOR_UNTIMED = ("its time per call is the sampler's 2 ms period shared among the calls "
                   "that find a fresh value, so it follows the machine's timer and thread "
                   "wake-ups more than the strategy (one cell's median moved up to 4x "
                   "between two runs)")

# The floor, then every registered strategy (`every_strategy=True`).
WITH_FLOOR = (FLOOR,)

LOOP_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("fresh", "one await of get() whose cached value is fresh", WITH_FLOOR, _fresh,
             every_strategy=True),
    Scenario("wait", "one await of get() that suspends until a same-loop publish",
             WITH_FLOOR, _wait, every_strategy=True),
    # Not deterministic: whether the loop sleeps in select() when the producer
    # publishes (and so needs its self-pipe written) depends on timing.
    Scenario("thread", "one await of get() completed by a producer thread's publish",
             WITH_FLOOR, _thread, deterministic=False, default_ops=(5_000, 10_000),
             every_strategy=True, cpus=2),
    *(
        Scenario(f"fanout-{k}", f"one publish that wakes {k} waiting task(s)", WITH_FLOOR,
                 _fanout(k), default_ops=(max(20, 10_000 // k), max(40, 20_000 // k)),
                 every_strategy=True)
        for k in FANOUT_KS
    ),
    Scenario("monitor", "one await of PcMonitor.get_statistics() with the psutil sampler",
             (), _monitor, deterministic=False, default_ops=(2_000, 4_000),
             every_strategy=True, untimed_fast=MONITOR_UNTIMED),
)
