"""future_per_call: every call allocates a new asyncio Future (done at once when fresh).

The plain asyncio idiom, and the reference every other strategy is compared with (the
report's Ratio column): `Task.FromResult` / a new `TaskCompletionSource` per call in .NET.

Trades: one C Future per call even when the value is cached, but a waiting Task gets the
C fast path for an exact Future. Futures are not thread-safe, so a publish from another
thread hops to the loop once (`call_soon_threadsafe`) and resolves every waiter there.
Pick it when simplicity matters more than an allocation per call.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, TypeVar

from vts.strategies.base import Strategy

T = TypeVar("T")


def resolve_futures(
    futures: deque[asyncio.Future[Any]], value: object, error: BaseException | None
) -> None:
    """Complete every future still pending (a cancelled waiter's future is skipped),
    draining `futures` (popleft: no iterator object)."""
    if error is None:
        while futures:
            future = futures.popleft()
            if not future.done():
                future.set_result(value)
    elif isinstance(error, asyncio.CancelledError):
        while futures:
            futures.popleft().cancel()
    else:
        while futures:
            future = futures.popleft()
            if not future.done():
                future.set_exception(error)


def _resolve_and_recycle(
    strategy: FuturePerCall[Any],
    futures: deque[asyncio.Future[Any]],
    value: object,
    error: BaseException | None,
) -> None:
    try:
        resolve_futures(futures, value, error)
    finally:
        strategy.recycle(futures)


class FuturePerCall(Strategy[T]):
    name = "future_per_call"

    def fresh(self, value: T) -> asyncio.Future[T]:
        future = self.loop.create_future()
        future.set_result(value)
        return future

    def wait(self) -> asyncio.Future[T]:
        future = self.loop.create_future()
        sample = self.register(future)
        if sample is not None:  # published while we got here
            future.set_result(sample[0])
        return future

    def gave_up(self, waiter: Any) -> bool:
        return bool(waiter.done())  # cancelled (a timed-out wait_for, a cancelled Task)

    def deliver(
        self, waiters: deque[Any], value: T | None, error: BaseException | None
    ) -> None:
        if self.on_loop_thread():
            _resolve_and_recycle(self, waiters, value, error)
        else:
            self.loop.call_soon_threadsafe(_resolve_and_recycle, self, waiters, value, error)
