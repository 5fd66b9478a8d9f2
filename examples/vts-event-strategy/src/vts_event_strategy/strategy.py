"""`event_per_publish`: the waiters of one publish share one asyncio.Event.

Trades: the plainest asyncio code (an Event and a coroutine per waiting call, no futures
or sources by hand) for a coroutine and an Event wake-up per wait, and a hop through
`call_soon_threadsafe` when the publish comes from another thread (an asyncio.Event is
not thread-safe). Pick it when clarity matters more than the allocations of a wake-up.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable
from typing import Any, Generic, TypeVar

from vts import Strategy

T = TypeVar("T")


class Publication(Generic[T]):
    """What one publish delivers to everyone waiting for it."""

    __slots__ = ("error", "event", "value")

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.value: T | None = None
        self.error: BaseException | None = None

    async def wait(self) -> T:
        await self.event.wait()
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # set with error None


async def _ready(value: T) -> T:
    return value


class EventPerPublish(Strategy[T]):
    """The waiter list holds at most one Publication: the first waiting call after a
    publish makes it, the calls after it share it, the next publish takes it."""

    name = "event_per_publish"
    independent_waiters = False  # one Publication wakes every waiter: no channel on it

    def fresh(self, value: T) -> Awaitable[T]:
        return _ready(value)

    def wait(self) -> Awaitable[T]:
        self.loop  # noqa: B018  # binds the consumer's loop on the first call
        self.lock.acquire()  # the base's lock: a publish takes the waiter list under it
        try:
            sample = self.sample
            if sample is not None and self.is_fresh():  # published since get() looked
                return _ready(sample[0])
            waiters = self.waiters
            if not waiters:
                waiters.append(Publication[T]())
            publication: Publication[T] = waiters[0]
        finally:
            self.lock.release()
        return publication.wait()

    def deliver(self, waiters: deque[Any], value: T | None, error: BaseException | None) -> None:
        publication = waiters.popleft()  # the only one; popleft drains without an iterator
        self.recycle(waiters)  # the drained container is the next publish's spare
        publication.value, publication.error = value, error
        if self.on_loop_thread():
            publication.event.set()
        else:
            self.loop.call_soon_threadsafe(publication.event.set)
