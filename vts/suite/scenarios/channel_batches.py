"""One item through a Channel (or asyncio.Queue) per operation, as batches for the exact
counter (`vts.suite.measure.allocs.measure_async`, the pytest `allocations` fixture):
what scripts/channel_figures.py counts for docs/channels.md, and what
tests/test_channel_allocs.py pins.

Each builder takes the channel and returns `run(n)`, n operations on the running loop;
the ends are bound once, outside the loop, so the batch allocates only what the channel
does. `wait_floor` is the `wait` scenario's floor driven the same way (one C Future reset
in place, completed by a `call_soon` of `set_result`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from itertools import repeat
from typing import Any

from vts.channels import Channel
from vts.suite.scenarios.floors import WaitFloor

ITEM = 7
Batch = Callable[[int], Coroutine[Any, Any, None]]
Either = Channel[int] | asyncio.Queue[int]


def _ends(channel: Either) -> tuple[Callable[[int], object], Callable[[], Awaitable[object]]]:
    """The non-waiting send and the receive of a channel, or of asyncio.Queue."""
    if isinstance(channel, asyncio.Queue):
        return channel.put_nowait, channel.get
    return channel.try_send, channel.receive


def waiting_receive(channel: Either) -> Batch:
    """`call_soon(try_send, item); await receive()`: the receive suspends and a loop
    callback sends (asyncio.Queue: `put_nowait` / `get()`)."""
    send, receive = _ends(channel)

    async def run(n: int) -> None:
        call_soon = asyncio.get_running_loop().call_soon
        for _ in repeat(None, n):
            call_soon(send, ITEM)
            await receive()

    return run


def ready_receive(channel: Either) -> Batch:
    """`try_send(item); await receive()`: the item is there."""
    send, receive = _ends(channel)

    async def run(n: int) -> None:
        for _ in repeat(None, n):
            send(ITEM)
            await receive()

    return run


def ready_send(channel: Channel[int]) -> Batch:
    """`await send(item); try_receive()`: the channel has room."""
    send, take = channel.send, channel.try_receive

    async def run(n: int) -> None:
        for _ in repeat(None, n):
            await send(ITEM)
            take()

    return run


def waiting_send(channel: Either) -> Batch:
    """On a full channel of capacity 1: `call_soon(try_receive); await send(item)`
    (asyncio.Queue: `get_nowait` / `put()`)."""
    take: Callable[[], object]
    send: Callable[[int], Awaitable[None]]
    if isinstance(channel, asyncio.Queue):
        channel.put_nowait(ITEM)
        take, send = channel.get_nowait, channel.put
    else:
        channel.try_send(ITEM)
        take, send = channel.try_receive, channel.send

    async def run(n: int) -> None:
        call_soon = asyncio.get_running_loop().call_soon
        for _ in repeat(None, n):
            call_soon(take)
            await send(ITEM)

    return run


async def wait_floor(n: int) -> None:
    """The `wait` floor, n operations driven as `waiting_receive` drives a channel."""
    loop = asyncio.get_running_loop()
    target = WaitFloor(loop)
    get, publish, call_soon = target.get, target.publish, loop.call_soon
    for _ in repeat(None, n):
        call_soon(publish, ITEM)
        await get()


__all__ = ["ITEM", "Batch", "ready_receive", "ready_send", "wait_floor", "waiting_receive",
           "waiting_send"]
