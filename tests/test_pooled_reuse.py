"""A pooled source's awaiter is reused: an abandoned registration must not wake its next user."""

from __future__ import annotations

import asyncio
from typing import Any

from vts.strategies import Freshness
from vts.strategies.pooled import Pooled
from vts.valuetask import SourceAwaiter


def test_closing_a_suspended_coroutine_does_not_wake_the_sources_next_user() -> None:
    async def scenario() -> None:
        strategy: Pooled[int] = Pooled(Freshness.never(), capacity=1)

        async def waiter() -> int:
            return await strategy.get()

        # Drive a coroutine by hand as a Task would, then close it while it is suspended.
        abandoned = waiter()
        awaiter = abandoned.send(None)
        assert isinstance(awaiter, SourceAwaiter)
        woken: list[Any] = []
        awaiter.add_done_callback(woken.append)
        abandoned.close()  # GeneratorExit at the yield: the source is cancelled and recycled
        assert len(strategy.pool) == 1

        # The next caller gets the same source and the same (re-armed) awaiter.
        task = asyncio.ensure_future(waiter())
        await asyncio.sleep(0)
        assert strategy.pool.created == 1 and len(strategy.pool) == 0
        for _ in range(3):  # let the resume posted for the abandoned registration run
            await asyncio.sleep(0)
        assert woken == []
        assert not task.done()
        strategy.publish(5)
        assert await task == 5
        assert len(strategy.pool) == 1

    asyncio.run(scenario())


def test_task_cancel_message_reaches_the_awaiter() -> None:
    async def scenario() -> str:
        strategy: Pooled[int] = Pooled(Freshness.never())
        task = asyncio.ensure_future(strategy.get())  # type: ignore[arg-type]
        await asyncio.sleep(0)
        task.cancel("the producer went away")
        try:
            await task
        except asyncio.CancelledError as exc:
            return str(exc.args[0]) if exc.args else ""
        return "not cancelled"

    assert asyncio.run(scenario()) == "the producer went away"
