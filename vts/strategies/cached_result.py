"""cached_result: a fresh call returns the cached result with no per-call object.

.NET's `new ValueTask<T>(result)` for the cached case, and `ValueTask(Task)` otherwise.
On CPython the cheapest awaitable that carries a value is an already-done C Future: the
strategy makes one per *published value* (lazily, on the consumer's loop thread) and
hands the same one to every fresh call. Awaiting a done future costs nothing on 3.10 and
3.11 and one `StopIteration` on 3.12+ (`vts bench -c fresh -s floor`); a `ValueTask.from_result`
would cost an object and a generator per call.

Trades: nothing per fresh call; a stale call falls back to a Future per call, exactly as
`future_per_call` (a shared pending future cannot be used: cancelling one waiter would
cancel them all). Pick it when most calls hit the cache.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

from vts.strategies.base import Freshness
from vts.strategies.future_per_call import FuturePerCall

T = TypeVar("T")


class CachedResult(FuturePerCall[T]):
    name = "cached_result"

    def __init__(
        self, freshness: Freshness | None = None, *, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        super().__init__(freshness, loop=loop)
        # The done future of the sample it was made for; both read and written only on
        # the loop thread (get() runs there), so no lock.
        self._done: tuple[object, asyncio.Future[T]] | None = None

    def get(self) -> asyncio.Future[T]:
        sample = self.sample
        if sample is not None and self._clock() - sample[1] < self._max_age:
            done = self._done
            if done is not None and done[0] is sample:
                return done[1]
            future = self.fresh(sample[0])
            self._done = (sample, future)
            return future
        return self.wait()


__all__ = ["CachedResult"]
