"""recycled_future: asyncio Futures from a bounded pool, reset in place and handed out again.

The Python-native analogue of a pooled IValueTaskSource: the awaitable a waiting call gets
is an exact C `asyncio.Future`, so the Task takes its C fast path (no bridge), and the
Future is one a publish completed before, reset with `Future.__init__(future, loop=loop)`
rather than allocated. A fresh call gets the one done Future made for the published value,
as in `cached_result`.

Theory of operation. A publish completes the waiting Futures (on the loop thread, hopping
there once from another thread, as `future_per_call` does) and queues each one for reuse
(a deque with `maxlen=capacity`: beyond it the oldest is dropped for the collector). A
waiting call takes the oldest queued Future and resets it only if nothing but this code
refers to it any more; otherwise it puts it back at the end and makes a new one (one check
per call, so a Future held for long costs one allocation per pass, never a scan). A Future
whose waiter was cancelled is queued too, by the publish or by the waiter list's sweep.

The hazard: a Future reset while someone still holds it shows that holder a later
operation (`done()` False again, then another call's value), and asyncio cannot tell. The
reference count detects it for free, and the pool acts on it: a Future that a stale
reference (a variable, a list, a callback not yet run, the awaiting Task before it
resumes) still reaches is never reset. That count is exact on CPython's GIL builds (the
ones vts measures); a weak reference does not count, and a free-threaded build's counts
are not exact, so there the check would not protect the holder. Resetting also forgets an
exception nobody retrieved (no "exception was never retrieved" log for it).

Trades: the allocation of a Future per waiting call, at the price of a reference-count
check per call and the hazard above, which the check closes on GIL builds only. Pick it
when waiting calls are frequent and callers await the result at once, as `await
strategy.get()` does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, TypeVar

from vts.strategies.base import _UNREFERENCED, Freshness, _references
from vts.strategies.cached_result import CachedResult

T = TypeVar("T")

DEFAULT_CAPACITY = 64

_future_init = asyncio.Future.__init__  # the C Future's own: resets every field in place


class RecycledFuture(CachedResult[T]):
    name = "recycled_future"

    def __init__(
        self,
        freshness: Freshness | None = None,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        super().__init__(freshness, loop=loop)
        self.capacity = capacity
        # Completed Futures waiting to be reused, oldest first; loop thread only.
        self._recycled: deque[asyncio.Future[Any]] = deque(maxlen=capacity)

    def _rent(self) -> asyncio.Future[T]:
        """A pending Future: a recycled one nobody else refers to, else a new one."""
        recycled = self._recycled
        if recycled:
            future = recycled.popleft()
            if _references(future) <= _UNREFERENCED:  # only this frame holds it
                _future_init(future, loop=self.loop)
                return future
            recycled.append(future)  # still held somewhere: try it again later
        return self.loop.create_future()

    def wait(self) -> asyncio.Future[T]:
        future = self._rent()
        sample = self.register(future)
        if sample is not None:  # published while we got here
            future.set_result(sample[0])
        return future

    def deliver(
        self, waiters: deque[Any], value: T | None, error: BaseException | None
    ) -> None:
        if self.on_loop_thread():
            _resolve_and_keep(self, waiters, value, error)
        else:
            self.loop.call_soon_threadsafe(_resolve_and_keep, self, waiters, value, error)

    def release_waiter(self, waiter: Any) -> None:
        # Swept from the waiter list (cancelled, or dropped unawaited): reusable later.
        self._recycled.append(waiter)


def _resolve_and_keep(
    strategy: RecycledFuture[Any],
    futures: deque[asyncio.Future[Any]],
    value: object,
    error: BaseException | None,
) -> None:
    """Complete every pending future (on the loop thread) and queue each for reuse."""
    recycled = strategy._recycled
    try:
        while futures:
            future = futures.popleft()
            if not future.done():  # a cancelled waiter's future is skipped
                if error is None:
                    future.set_result(value)
                elif isinstance(error, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(error)
            recycled.append(future)
    finally:
        strategy.recycle(futures)


__all__ = ["DEFAULT_CAPACITY", "RecycledFuture"]
