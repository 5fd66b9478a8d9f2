"""vts.channels against asyncio.Queue, its model: generated sequences of operations run
on both, with the same outcomes expected step by step.

Each world has its own loop of the same kind. An operation is a non-waiting call
(`try_send` / `put_nowait`, `try_receive` / `get_nowait`), a task started around a
waiting call (`send` / `put`, `receive` / `get`; the call itself runs at the task's first
step, as a coroutine's does), a pending task cancelled, one loop iteration, or enough of them
for everything scheduled to run. What is compared after each one: what the call
returned or raised, the state of every task (pending, cancelled, its result or its
error's type) and the number of items buffered. Completion is left out (asyncio.Queue
has `shutdown()` on 3.13 only, with other rules: the module docstring lists them);
tests/test_channels.py pins it.

`VTS_FUZZ_EXAMPLES` sets the number of examples per strategy and loop, as for the
differential fuzz (60 by default).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from conftest import LOOP_KINDS, UVLOOP_MISSING, new_loop
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vts.channels import Channel, ChannelEmpty
from vts.strategies import STRATEGIES

EXAMPLES = int(os.environ.get("VTS_FUZZ_EXAMPLES", "60"))
SETTLE_STEPS = 10

Op = tuple[Any, ...]

OPS = st.one_of(
    st.tuples(st.just("try_send"), st.integers(0, 99)),
    st.tuples(st.just("try_receive")),
    st.tuples(st.just("send"), st.integers(0, 99)),
    st.tuples(st.just("receive")),
    st.tuples(st.just("cancel"), st.integers(0, 3)),  # which of the pending tasks
    st.tuples(st.just("step")),
    st.tuples(st.just("settle")),
)


class World:
    """One side: the calls named as the channel names them, on its own loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.tasks: list[asyncio.Task[Any]] = []

    def try_send(self, item: int) -> bool:
        raise NotImplementedError

    def try_receive(self) -> object:
        raise NotImplementedError

    def send(self, item: int) -> Awaitable[Any]:
        raise NotImplementedError

    def receive(self) -> Awaitable[Any]:
        raise NotImplementedError

    def size(self) -> int:
        raise NotImplementedError

    def start(self, call: Callable[[], Awaitable[Any]]) -> None:
        async def task() -> Any:
            return await call()

        self.tasks.append(self.loop.create_task(task()))

    def apply(self, op: Op) -> object:
        """Do `op` on the loop's thread while it runs, as a task does (outside a running
        loop, a call counts as one from another thread)."""
        name = op[0]
        if name in ("step", "settle"):
            steps = 1 if name == "step" else SETTLE_STEPS
            for _ in range(steps):
                self.loop.run_until_complete(asyncio.sleep(0))
            return None

        async def in_the_loop() -> object:
            return self.call(op)

        return self.loop.run_until_complete(in_the_loop())

    def call(self, op: Op) -> object:
        name = op[0]
        if name == "try_send":
            return self.try_send(op[1])
        if name == "try_receive":
            return self.try_receive()
        if name == "send":
            item = op[1]
            self.start(lambda: self.send(item))
        elif name == "receive":
            self.start(self.receive)
        elif name == "cancel":
            pending = [task for task in self.tasks if not task.done()]
            if pending:
                pending[op[1] % len(pending)].cancel()
        return None

    def state(self) -> list[object]:
        states: list[object] = []
        for task in self.tasks:
            if not task.done():
                states.append("pending")
            elif task.cancelled():
                states.append("cancelled")
            elif task.exception() is not None:
                states.append(type(task.exception()).__name__)
            else:
                states.append(("result", task.result()))
        return [*states, ("size", self.size())]

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            self.loop.run_until_complete(
                asyncio.gather(*self.tasks, return_exceptions=True))
        self.loop.close()


class QueueWorld(World):
    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int | None) -> None:
        super().__init__(loop)
        asyncio.set_event_loop(loop)  # 3.10's Queue binds the loop it finds here
        self.queue: asyncio.Queue[int] = asyncio.Queue(capacity or 0)

    def try_send(self, item: int) -> bool:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            return False
        return True

    def try_receive(self) -> object:
        try:
            return self.queue.get_nowait()
        except asyncio.QueueEmpty:
            return "empty"

    def send(self, item: int) -> Awaitable[Any]:
        return self.queue.put(item)

    def receive(self) -> Awaitable[Any]:
        return self.queue.get()

    def size(self) -> int:
        return self.queue.qsize()


class ChannelWorld(World):
    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int | None,
                 strategy: str) -> None:
        super().__init__(loop)
        self.channel: Channel[int] = Channel(capacity, strategy=strategy)

    def try_send(self, item: int) -> bool:
        return self.channel.try_send(item)

    def try_receive(self) -> object:
        try:
            return self.channel.try_receive()
        except ChannelEmpty:
            return "empty"

    def send(self, item: int) -> Awaitable[Any]:
        return self.channel.send(item)

    def receive(self) -> Awaitable[Any]:
        return self.channel.receive()

    def size(self) -> int:
        return len(self.channel)


@pytest.mark.parametrize("loop_kind", LOOP_KINDS)
@pytest.mark.parametrize("strategy", list(STRATEGIES))
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(capacity=st.one_of(st.none(), st.integers(1, 3)),
       ops=st.lists(OPS, min_size=10, max_size=40))
# Always run: the woken waiter cancelled before it runs (its wake-up must pass on).
@example(capacity=None, ops=[("receive",), ("receive",), ("settle",), ("try_send", 1),
                             ("cancel", 0), ("settle",)])
@example(capacity=1, ops=[("try_send", 1), ("send", 2), ("send", 3), ("settle",),
                          ("try_receive",), ("cancel", 0), ("settle",)])
def test_a_channel_behaves_as_asyncio_queue(
        strategy: str, loop_kind: str, capacity: int | None, ops: list[Op]) -> None:
    if loop_kind == "uvloop" and UVLOOP_MISSING:
        pytest.skip(UVLOOP_MISSING)
    model = QueueWorld(new_loop(loop_kind), capacity)
    channel = ChannelWorld(new_loop(loop_kind), capacity, strategy)
    try:
        for number, op in enumerate(ops):
            assert channel.apply(op) == model.apply(op), (number, op)
            assert channel.state() == model.state(), (number, op)
    finally:
        model.close()
        channel.close()
        asyncio.set_event_loop(None)
