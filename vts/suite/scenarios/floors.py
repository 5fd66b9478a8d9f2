"""Floors: the barest code that performs each scenario's wake-up, with no strategy at all.

A floor is what the event loop itself costs for the operation (a done or reused C Future);
the report shows every strategy's allocations *above* it. A floor must do nothing that a
strategy does not have to do, or every "above floor" figure comes out too low.

The floor uses the loop and its Future as they are, and so may cost what a source avoids:
a `[c]` strategy can land 1 below it (-1 above the floor), for a reason that depends on
the interpreter (counted with `vts bench --allocs-only -s 'floor,pooled[c]' -c wait`):
- 3.11: a C Future looks `loop.call_soon` up for every callback it schedules, a new
  bound method (1 allocation) per wake-up; the C core calls it without binding. A wait
  floor whose loop has `call_soon` bound once (an instance attribute the lookup finds)
  counts 21.2 | 3.2 (asyncio | uvloop), as pooled[c] does, against 22.2 | 4.2.
- 3.10: the same bound method (binding it once: 22 | 4 against 23 | 5), and pooled[c]
  lands 2 below (21 | 3); the second one is not traced here.
- 3.12+: the Future calls `call_soon` without binding it (binding it once changes
  nothing: 22.2 | 4.2), and the saving is the StopIteration the C ValueTask keeps and
  reuses; with that reuse off, pooled[c] counts exactly the floor's 22.2 | 4.2, and a
  fresh C ValueTask 1, as a done Future does.
The floor does not bind `call_soon` once on 3.10 or 3.11, by decision: doing so means replacing an
attribute of the event loop (the Future looks the method up on the loop itself), which
changes what every Future on that loop costs, the reference's included, and no code
using the loop's own Future can do it otherwise. The floor stays "what the loop itself
costs"; a strategy below it has avoided a cost every Future on that loop pays, and the
report says which.
"""

from __future__ import annotations

import asyncio
from typing import Any

from vts.suite.scenarios.base import VALUE


class DoneFutureFloor:
    """fresh: await one already-done C future; the await itself and nothing else."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._future = loop.create_future()
        self._future.set_result(VALUE)

    def get(self) -> asyncio.Future[Any]:
        return self._future

    def publish(self, value: Any) -> None:
        pass


class WaitFloor:
    """wait: one C future, re-initialised in place (`fut.__init__(loop=loop)`) once its
    result was taken, completed by `set_result` on the loop's own thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._future: asyncio.Future[Any] = loop.create_future()

    def get(self) -> asyncio.Future[Any]:
        future = self._future
        if future.done():
            future.__init__(loop=self._loop)  # type: ignore[misc]
        return future

    def publish(self, value: Any) -> None:
        self._future.set_result(value)


class ThreadFloor(WaitFloor):
    """thread: the wait floor's future, completed from the producer thread through
    `call_soon_threadsafe` (asyncio futures are not thread-safe). It always takes that
    path: a check of the calling thread would cost what no strategy pays (a thread id is
    a new int, 1 allocation per publish)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        # Bound once: the future is re-initialised in place, so this stays its method.
        self._set_result = self._future.set_result
        self._threadsafe = loop.call_soon_threadsafe

    def publish(self, value: Any) -> None:
        self._threadsafe(self._set_result, value)


class SharedFutureFloor:
    """fanout: all K waiters await one C future; each publish starts a new one."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._future: asyncio.Future[Any] = loop.create_future()

    def get(self) -> asyncio.Future[Any]:
        return self._future

    def publish(self, value: Any) -> None:
        future, self._future = self._future, self._loop.create_future()
        future.set_result(value)
