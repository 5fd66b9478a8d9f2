"""The channel scenarios: `vts.channels.Channel` on every strategy against asyncio.Queue.

One operation is one item through the channel, producer to consumer:

- `channel-pingpong`: the consumer awaits `receive()`; the producer is a loop callback
  queued just before it (`call_soon(try_send, VALUE)`, as `wait` queues its publish), so
  each item is sent once the previous one was taken, and every receive suspends and
  resumes once. Its floor is `wait`'s, driven by the same code (`WaitWorkload`).
- `channel-burst`: a loop callback sends BURST items at once (`try_send`), the consumer
  takes them: the first receive of a burst waits, the others find their item there.
- `channel-fanin`: FANIN_PRODUCERS producer tasks `await send(VALUE)` into a channel
  bounded to FANIN_CAPACITY items, one consumer takes them all: sends wait for room,
  the receive waits when the producers fall behind.

Variants: `floor` (channel-pingpong only: burst and fan-in mix waiting and ready calls,
for which no one bare Future is the floor), `asyncio_queue` (the reference: an
`asyncio.Queue` with the same bound, `put_nowait` for `try_send`, `put` for `send`, `get`
for `receive`), then every registered strategy whose waiting calls are independent
(`Strategy.independent_waiters`; a plugin may opt out). Each scenario makes its channel
with the options its shape allows: one consumer (`single_reader=True`) and, but for
fan-in, one producer (`single_writer=True`).

Trades: the producer is a loop callback in two of three shapes (as in `wait`: counts
that repeat exactly, no thread), so cross-thread sends are the stress test's, not measured
here; the fan-in's interleaving is whatever the loop's FIFO order makes of it, the same
for every variant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from itertools import repeat
from typing import Any

from vts.strategies import strategy_class
from vts.suite.scenarios.base import FLOOR, VALUE, Scenario, Workload, perf_ns
from vts.suite.scenarios.floors import WaitFloor
from vts.suite.scenarios.workloads import WaitWorkload

ASYNCIO_QUEUE = "asyncio_queue"
BURST = 16  # items per burst
FANIN_PRODUCERS = 4
FANIN_CAPACITY = 4


class Ends:
    """The three calls a workload makes, bound once: a Channel's or an asyncio.Queue's.
    `get` and `publish` are `receive` and `try_send`, so `WaitWorkload` drives it."""

    def __init__(self, receive: Callable[[], Awaitable[Any]],
                 try_send: Callable[[Any], object],
                 send: Callable[[Any], Awaitable[Any]]) -> None:
        self.receive = self.get = receive
        self.try_send = self.publish = try_send
        self.send = send


def open_ends(variant: str, capacity: int | None, loop: asyncio.AbstractEventLoop, *,
              single_writer: bool) -> Ends:
    """A channel of `variant` (a strategy, or ASYNCIO_QUEUE) with this bound, on `loop`."""
    if variant == ASYNCIO_QUEUE:
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=capacity or 0)
        return Ends(queue.get, queue.put_nowait, queue.put)
    from vts.channels import Channel

    channel: Channel[Any] = Channel(capacity, strategy=variant, single_reader=True,
                                    single_writer=single_writer, loop=loop)
    return Ends(channel.receive, channel.try_send, channel.send)


def serves_a_channel(strategy: str) -> bool:
    """Whether a channel can run on `strategy` (each waiting call wakes alone)."""
    return bool(strategy_class(strategy).independent_waiters)


class BurstWorkload:
    """One operation: one item of a burst of BURST, sent by a loop callback at once and
    taken by the consumer (the burst's first receive waits, the rest do not)."""

    def __init__(self, ends: Ends, loop: asyncio.AbstractEventLoop, burst: int = BURST) -> None:
        self.ends = ends
        self.loop = loop
        self.burst = burst

    def _send(self, count: int) -> None:
        try_send = self.ends.try_send
        for _ in repeat(None, count):
            try_send(VALUE)

    async def run(self, n: int) -> None:
        receive, call_soon, send, burst = (self.ends.receive, self.loop.call_soon,
                                           self._send, self.burst)
        bursts, rest = divmod(n, burst)
        for _ in repeat(None, bursts):
            call_soon(send, burst)
            for _ in repeat(None, burst):
                await receive()
        if rest:
            call_soon(send, rest)
            for _ in repeat(None, rest):
                await receive()

    async def run_timed(self, n: int) -> list[int]:
        receive, call_soon, send = self.ends.receive, self.loop.call_soon, self._send
        perf, samples = perf_ns, []
        bursts, rest = divmod(n, self.burst)
        for size in [self.burst] * bursts + ([rest] if rest else []):
            call_soon(send, size)
            for _ in repeat(None, size):
                start = perf()
                await receive()
                samples.append(perf() - start)
        return samples

    def close(self) -> None:
        pass


class FaninWorkload:
    """One operation: one item from one of `producers` tasks (each `await send(VALUE)` into
    the bounded channel) taken by the consumer's `await receive()`."""

    def __init__(self, ends: Ends, loop: asyncio.AbstractEventLoop,
                 producers: int = FANIN_PRODUCERS) -> None:
        self.ends = ends
        self.loop = loop
        self.producers = producers

    async def _produce(self, count: int) -> None:
        send = self.ends.send
        for _ in repeat(None, count):
            await send(VALUE)

    async def _drive(self, n: int, timed: bool) -> tuple[list[int], int]:
        share, extra = divmod(n, self.producers)
        tasks = [self.loop.create_task(self._produce(share + (i < extra)))
                 for i in range(self.producers)]
        receive, perf = self.ends.receive, perf_ns
        samples: list[int] = []
        start_all = perf()
        if timed:
            for _ in repeat(None, n):
                start = perf()
                await receive()
                samples.append(perf() - start)
        else:
            for _ in repeat(None, n):
                await receive()
        elapsed = perf() - start_all
        await asyncio.gather(*tasks)
        return samples, elapsed

    async def run(self, n: int) -> int:
        """The n items; returns their time in ns, without starting and ending the
        producers (a fixed cost pyperf, which times whole runs, must not count per item)."""
        return (await self._drive(n, timed=False))[1]

    async def run_timed(self, n: int) -> list[int]:
        return (await self._drive(n, timed=True))[0]

    def close(self) -> None:
        pass


def _pingpong(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    if variant == FLOOR:
        return WaitWorkload(WaitFloor(loop), loop)
    return WaitWorkload(open_ends(variant, None, loop, single_writer=True), loop)


def _burst(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    return BurstWorkload(open_ends(variant, BURST, loop, single_writer=True), loop)


def _fanin(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
    return FaninWorkload(open_ends(variant, FANIN_CAPACITY, loop, single_writer=False), loop)


CHANNEL_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("channel-pingpong", "one item, sent by a loop callback while receive() waits",
             (FLOOR, ASYNCIO_QUEUE), _pingpong, reference=ASYNCIO_QUEUE, every_strategy=True,
             strategy_filter=serves_a_channel),
    Scenario("channel-burst", f"one item of {BURST} sent at once (one receive in {BURST} "
             "waits)", (ASYNCIO_QUEUE,), _burst, reference=ASYNCIO_QUEUE,
             every_strategy=True, strategy_filter=serves_a_channel),
    Scenario("channel-fanin", f"one item from {FANIN_PRODUCERS} producer tasks, the "
             f"channel bounded to {FANIN_CAPACITY}",
             (ASYNCIO_QUEUE,), _fanin, reference=ASYNCIO_QUEUE, every_strategy=True,
             strategy_filter=serves_a_channel),
)


__all__ = ["ASYNCIO_QUEUE", "BURST", "CHANNEL_SCENARIOS", "FANIN_CAPACITY", "FANIN_PRODUCERS",
           "BurstWorkload", "Ends", "FaninWorkload", "open_ends", "serves_a_channel"]
