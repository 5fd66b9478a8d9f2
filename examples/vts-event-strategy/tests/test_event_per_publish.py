"""The example's allocations, pinned with vts's `allocations` fixture (a pytest plugin that
installing vts registers: no import, no conftest)."""

from __future__ import annotations

import asyncio

import pytest
from vts_event_strategy.strategy import EventPerPublish

from vts import Freshness


def test_a_fresh_get_costs_one_coroutine(allocations):
    strategy = EventPerPublish(Freshness.always())
    strategy.publish(7)
    # get() returns a coroutine, so the fixture awaits it once per operation.
    assert allocations(strategy.get).allocs_per_op == 1


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_wait_costs_an_event_per_publish(allocations, loop):
    strategy = EventPerPublish(Freshness.never())
    publish, get = strategy.publish, strategy.get

    async def wait_for_a_publish():
        asyncio.get_running_loop().call_soon(publish, 7)
        await get()

    figures = allocations(wait_for_a_publish, loop=loop)
    assert figures.allocs_per_op <= 45  # 3.11: 41.2 on asyncio, 23.2 on uvloop
    assert figures.gc_per_1k_ops == 0


def test_a_channel_refuses_it_its_waiters_are_shared():
    from vts.channels import Channel

    with pytest.raises(ValueError, match=r"^strategy 'event_per_publish' cannot serve a "
                       r"channel: its waiting calls share a waiter \(independent_waiters "
                       r"= False\)$"):
        Channel(strategy="event_per_publish")
