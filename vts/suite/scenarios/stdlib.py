"""The standard library's awaits: `stdlib-ready` and `stdlib-suspend`, one variant per await.

What users await every day, each in one steady state, so its cost sits beside the
strategies': in `stdlib-ready` the await finds what it waits for and does not suspend; in
`stdlib-suspend` it suspends once and is woken as `wait` wakes a strategy, by a loop
callback queued just before it (`call_soon(wake, VALUE)`). Each scenario's floor is the
matching loop scenario's (`fresh`'s done Future, `wait`'s reused Future), driven by the same
code, so Above floor is what the primitive adds to the loop's own wake-up.

One operation per variant is `READY_OPERATIONS` / `SUSPEND_OPERATIONS` (recorded with the
run, shown in the report's "How to read this"; `v` is the preallocated VALUE, `m` a
64-byte message).

A wake that takes no value is a one-argument Python function around the call, as the
floor's `publish(value)` is, so every suspending variant queues its wake-up exactly as the
floor does. The StreamReader runs on `asyncio.open_connection` over a loopback TCP pair.

Trades: one fixed shape per await (the ready one a user's fast path, the suspending one a
single hand-off) instead of a workload of each primitive's own; Condition's round trip
counts two suspensions per operation because a notify needs the lock a callback cannot take.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from itertools import repeat
from typing import Any

from vts.suite.scenarios.base import FLOOR, VALUE, Scenario, Workload, perf_ns
from vts.suite.scenarios.floors import DoneFutureFloor, WaitFloor
from vts.suite.scenarios.socket_harness import SEND_TIMEOUT, connected_pair, payload_block
from vts.suite.scenarios.workloads import FreshWorkload, WaitWorkload

READY = "stdlib-ready"
SUSPEND = "stdlib-suspend"
MESSAGE_BYTES = 64

Op = Callable[[], Awaitable[Any]]
Step = Callable[[], object]


class Steps:
    """One operation: `await op()`, with at most one plain call before it or after it."""

    def __init__(self, op: Op, before: Step | None = None, after: Step | None = None,
                 close: Step | None = None) -> None:
        if before is not None and after is not None:
            raise ValueError("Steps: a call before or a call after the await, not both")
        self.op, self.before, self.after, self._close = op, before, after, close

    async def run(self, n: int) -> None:
        op, before, after = self.op, self.before, self.after
        if before is not None:
            for _ in repeat(None, n):
                before()
                await op()
        elif after is not None:
            for _ in repeat(None, n):
                await op()
                after()
        else:
            for _ in repeat(None, n):
                await op()

    async def run_timed(self, n: int) -> list[int]:
        op, before, after = self.op, self.before, self.after
        perf, samples = perf_ns, []
        for _ in repeat(None, n):
            start = perf()
            if before is not None:
                before()
            await op()
            if after is not None:
                after()
            samples.append(perf() - start)
        return samples

    def close(self) -> None:
        if self._close is not None:
            self._close()


class Woken:
    """What `WaitWorkload` drives: `get` awaits, `publish(value)` is the wake-up."""

    def __init__(self, get: Op, publish: Callable[[Any], object]) -> None:
        self.get = get
        self.publish = publish


class ConditionRoundTrip:
    """One operation: holding the lock, `notify(); await wait()`, answered by a partner task
    that does the same: each operation suspends both tasks once."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.condition = asyncio.Condition()

    async def _partner(self) -> None:
        condition = self.condition
        await condition.acquire()
        notify, wait = condition.notify, condition.wait
        try:
            while True:
                notify()
                await wait()
        finally:  # cancelled in wait(), which takes the lock back first
            condition.release()

    async def _drive(self, n: int, timed: bool) -> tuple[list[int], int]:
        condition = self.condition
        await condition.acquire()
        partner = self.loop.create_task(self._partner())
        notify, wait, perf = condition.notify, condition.wait, perf_ns
        samples: list[int] = []
        start_all = perf()
        if timed:
            for _ in repeat(None, n):
                start = perf()
                notify()
                await wait()
                samples.append(perf() - start)
        else:
            for _ in repeat(None, n):
                notify()
                await wait()
        elapsed = perf() - start_all
        partner.cancel()  # it waits in wait(): it takes the lock back, then lets it go
        condition.release()
        await asyncio.wait((partner,))
        return samples, elapsed

    async def run(self, n: int) -> int:
        """The n round trips; returns their time in ns, without starting the partner."""
        return (await self._drive(n, timed=False))[1]

    async def run_timed(self, n: int) -> list[int]:
        return (await self._drive(n, timed=True))[0]

    def close(self) -> None:
        pass


def _held(loop: asyncio.AbstractEventLoop, lock: asyncio.Lock | asyncio.Semaphore) -> None:
    loop.run_until_complete(lock.acquire())


def _stream(loop: asyncio.AbstractEventLoop, ready: bool) -> Workload:
    client, peer = connected_pair()
    try:
        reader, writer = loop.run_until_complete(asyncio.open_connection(sock=client))
    except BaseException:
        client.close()
        peer.close()
        raise
    peer.settimeout(SEND_TIMEOUT)
    message = payload_block(MESSAGE_BYTES)[:MESSAGE_BYTES]

    def close() -> None:
        writer.close()
        try:
            loop.run_until_complete(writer.wait_closed())
        finally:
            peer.close()

    before = partial(reader.feed_data if ready else peer.sendall, message)
    return Steps(partial(reader.read, MESSAGE_BYTES), before=before, close=close)


def _ready(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    if variant == FLOOR:
        return FreshWorkload(DoneFutureFloor(loop))
    if variant == "Queue.get":
        queue: asyncio.Queue[Any] = asyncio.Queue()
        return Steps(queue.get, before=partial(queue.put_nowait, VALUE))
    if variant == "Queue.put":
        queue = asyncio.Queue()
        return Steps(partial(queue.put, VALUE), after=queue.get_nowait)
    if variant == "Event.wait":
        event = asyncio.Event()
        event.set()
        return Steps(event.wait)
    if variant in ("Lock", "Semaphore"):
        lock = asyncio.Lock() if variant == "Lock" else asyncio.Semaphore(1)
        return Steps(lock.acquire, after=lock.release)
    if variant == "Condition":
        condition = asyncio.Condition()
        loop.run_until_complete(condition.acquire())
        return Steps(partial(condition.wait_for, lambda: True))
    if variant == "StreamReader.read":
        return _stream(loop, ready=True)
    raise ValueError(f"{READY}: no variant {variant!r}")


def _suspend(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    if variant == FLOOR:
        return WaitWorkload(WaitFloor(loop), loop)
    if variant == "Queue.get":
        queue: asyncio.Queue[Any] = asyncio.Queue()
        return WaitWorkload(Woken(queue.get, queue.put_nowait), loop)
    if variant == "Queue.put":
        queue = asyncio.Queue(maxsize=1)
        queue.put_nowait(VALUE)
        take = queue.get_nowait

        def take_one(value: object) -> None:
            take()

        return WaitWorkload(Woken(partial(queue.put, VALUE), take_one), loop)
    if variant == "Event.wait":
        event = asyncio.Event()
        set_, clear = event.set, event.clear

        def pulse(value: object) -> None:
            set_()
            clear()

        return WaitWorkload(Woken(event.wait, pulse), loop)
    if variant in ("Lock", "Semaphore"):
        lock = asyncio.Lock() if variant == "Lock" else asyncio.Semaphore(1)
        _held(loop, lock)
        release = lock.release

        def let_go(value: object) -> None:
            release()

        return WaitWorkload(Woken(lock.acquire, let_go), loop)
    if variant == "Condition":
        return ConditionRoundTrip(loop)
    if variant == "sleep":
        return Steps(partial(asyncio.sleep, 0))
    if variant == "StreamReader.read":
        return _stream(loop, ready=False)
    raise ValueError(f"{SUSPEND}: no variant {variant!r}")


AWAITS = ("Queue.get", "Queue.put", "Event.wait", "Lock", "Semaphore", "Condition")
READY_OPERATIONS = (
    (FLOOR, "await a done Future (fresh's floor)"),
    ("Queue.get", "q.put_nowait(v); await q.get()"),
    ("Queue.put", "await q.put(v); q.get_nowait()"),
    ("Event.wait", "await e.wait() of a set Event"),
    ("Lock", "await lock.acquire(); lock.release()"),
    ("Semaphore", "await s.acquire(); s.release() of a Semaphore(1)"),
    ("Condition", "await c.wait_for(pred), the lock held and pred() already true"),
    ("StreamReader.read", "reader.feed_data(m); await reader.read(64): the message is in the "
                          "reader's buffer, where the transport puts it"),
)
SUSPEND_OPERATIONS = (
    (FLOOR, "call_soon(publish, v); await a reused Future (wait's floor)"),
    ("Queue.get", "call_soon(q.put_nowait, v); await q.get()"),
    ("Queue.put", "call_soon(take, v); await q.put(v) of a full Queue(maxsize=1); take(v) "
                  "calls q.get_nowait()"),
    ("Event.wait", "call_soon(pulse, v); await e.wait(); pulse(v) sets and clears the Event"),
    ("Lock", "call_soon(let_go, v); await lock.acquire() of a held Lock; let_go(v) releases it"),
    ("Semaphore", "as Lock, with a Semaphore(1) at 0"),
    ("Condition", "the lock held, c.notify(); await c.wait(), a partner task doing the same: a "
                  "round trip, two suspensions"),
    ("sleep", "await asyncio.sleep(0)"),
    ("StreamReader.read", "peer.sendall(m); await reader.read(64): the message is in the "
                          "socket and the transport reads it on the next loop pass "
                          "(asyncio.open_connection over loopback TCP)"),
)

STDLIB_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(READY, "one await of an asyncio primitive that does not suspend",
             tuple(name for name, _ in READY_OPERATIONS), _ready, reference=FLOOR,
             variant_operations=READY_OPERATIONS),
    Scenario(SUSPEND, "one await of an asyncio primitive that a loop callback wakes",
             tuple(name for name, _ in SUSPEND_OPERATIONS), _suspend, reference=FLOOR,
             variant_operations=SUSPEND_OPERATIONS),
)


__all__ = ["AWAITS", "MESSAGE_BYTES", "READY", "READY_OPERATIONS", "STDLIB_SCENARIOS",
           "SUSPEND", "SUSPEND_OPERATIONS", "ConditionRoundTrip", "Steps", "Woken"]
