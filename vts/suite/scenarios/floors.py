"""Floors: the barest code that performs each scenario's wake-up, with no strategy at all.

A floor is what the event loop itself costs for the operation (a done or reused C Future);
the report shows every strategy's allocations *above* it. A floor must do nothing that a
strategy does not have to do, or every "above floor" figure comes out too low.
"""

from __future__ import annotations

import asyncio
import threading
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


class ReusedFutureFloor:
    """wait / thread: one C future, re-initialised in place (`fut.__init__(loop=loop)`)
    once its result was taken, completed on the loop or through call_soon_threadsafe."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._future: asyncio.Future[Any] = loop.create_future()
        self._thread_id = threading.get_ident()

    def get(self) -> asyncio.Future[Any]:
        future = self._future
        if future.done():
            future.__init__(loop=self._loop)  # type: ignore[misc]
        return future

    def publish(self, value: Any) -> None:
        if threading.get_ident() == self._thread_id:
            self._future.set_result(value)
        else:
            self._loop.call_soon_threadsafe(self._future.set_result, value)


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
