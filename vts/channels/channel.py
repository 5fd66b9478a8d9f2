"""Channel: a bounded or unbounded FIFO from producers (any thread) to readers on one
event loop, whose waiting calls await the strategy chosen. .NET's
`System.Threading.Channels` in asyncio's idiom: a busy channel on a pooled source
allocates nothing per item for the await beyond what the loop itself allocates.

Rule 1: one lock (`_lock`, a `threading.Lock`) guards the items, the completion and the
registration of waiters. The order is channel lock, then a strategy's lock (in its
`wait()`, and here to take waiters), then a source's: never the other way round.
Rule 2: a waiter is woken, never handed an item. An item stays in the buffer until a
receive takes it; a woken call takes the lock again and finds an item (or room), or
waits again at the back. So a cancelled receive cannot swallow an item and a cancelled
send has enqueued nothing (asyncio.Queue's rule, and the reason for it).
Rule 3: a call that gives up (cancelled, or its coroutine closed) after it was woken
passes its wake-up on to the next waiter if the item (or the room) is still there. The
channel remembers which waiters it woke (`WaitingLine.woken`), as asyncio.Queue reads it
from the Future's state: a waiter that gave up unwoken passes nothing on, so nobody loses
their place in the line to a spurious wake-up.

Theory of operation. Each direction that can wait has a strategy instance in a
`WaitingLine` (vts.channels.waiting): `_readers` (receive on empty) and, when bounded,
`_writers` (send on full). The strategy's `wait()` registers a waiter and returns what the
call awaits; the line wakes the first live waiter through the strategy's `deliver`. A
call that need not wait awaits no strategy machinery: a ready receive returns
`fresh(item)` (the C ValueTask: from a freelist), a send with room a shared awaitable
that allocates nothing. A call that must wait runs a small coroutine around `wait()`
(one allocation per waiting call: what Rule 2's retry costs).

Where it differs from asyncio.Queue:
- `try_send`, `try_receive` and `complete` may be called from any thread; the waiting
  calls (`receive`, `send`, `async for`) run on the channel's loop (given, else the first
  that waits), and `send_blocking` waits from another thread.
- `receive()` and `send()` return awaitables, not coroutines (wrap one in a coroutine
  for `create_task`), and a send on a completed channel raises at the call.
- `complete(error)` instead of `shutdown()` (3.13): later sends raise ChannelClosed;
  readers drain what is buffered, then get ChannelClosed (its `__cause__` is `error`);
  waiting sends wake and raise ChannelClosed, their items not enqueued.
- `capacity=None` is unbounded (asyncio: `maxsize <= 0`); no `task_done`/`join`.

`single_reader=True` promises one reader at a time: an unbounded channel's ready reads
then take no lock (a second waiting receive raises RuntimeError). `single_writer` is
accepted, as .NET's is, and changes nothing: every write must order itself against a
reader's registration, which takes the lock.

Trades: a lock round trip per call (any thread may write) and a coroutine per waiting
call (no item is lost to cancellation) for no awaitable at all on ready calls and the
strategy's own cost on waiting ones. Pick it over asyncio.Queue when producers run on
other threads or waits are frequent enough for a pooled source to matter.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Generator
from contextlib import suppress
from typing import Any, Generic, TypeVar, cast

from vts.channels.errors import (
    BLOCKING_NO_LOOP,
    BLOCKING_ON_LOOP,
    CAPACITY,
    COMPLETED_TWICE,
    EMPTY,
    OTHER_LOOP,
    RECEIVE_CLOSED,
    SECOND_READER,
    SEND_CLOSED,
    ChannelClosed,
    ChannelEmpty,
    not_a_strategy,
    not_an_exception,
    not_independent,
)
from vts.channels.waiting import WaitingLine
from vts.strategies import STRATEGIES, strategy_class
from vts.strategies.base import Freshness, Strategy

T = TypeVar("T")

_get_running_loop = asyncio._get_running_loop  # C function: None when no loop runs


class _Sent:
    """What a send that did not wait returns: awaiting it returns None and allocates
    nothing (`__await__` hands out one shared, exhausted iterator)."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return _EXHAUSTED


_EXHAUSTED = cast(Generator[Any, None, None], iter(()))
_SENT = _Sent()
_NOTHING: Any = object()  # what _take returns when no item is ready


def _resolve(strategy: str | type[Strategy[Any]]) -> type[Strategy[Any]]:
    cls = strategy_class(strategy) if isinstance(strategy, str) else strategy
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise TypeError(not_a_strategy(cls))
    if not cls.independent_waiters:
        raise ValueError(not_independent(cls.name))
    return cls


# The cheapest waiting call measured (docs/channels.md): pooled[c] where the accelerator
# is built, else recycled_future (an exact Future: the Task's C fast path).
DEFAULT_STRATEGY = "pooled[c]" if "pooled[c]" in STRATEGIES else "recycled_future"


class Channel(Generic[T]):
    """A FIFO of items; `capacity=None` is unbounded, an int >= 1 bounds it (a send waits
    while it is full). See the module docstring for the rules."""

    def __init__(
        self,
        capacity: int | None = None,
        *,
        strategy: str | type[Strategy[Any]] = DEFAULT_STRATEGY,
        single_reader: bool = False,
        single_writer: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if capacity is not None and (
            not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1
        ):
            raise ValueError(CAPACITY)
        cls = _resolve(strategy)
        self.capacity = capacity
        self.strategy = cls.name
        self.single_reader = single_reader
        self.single_writer = single_writer  # accepted; no faster path (module docstring)
        self._loop = loop
        self._lock = threading.Lock()  # Rule 1
        self._items: deque[T] = deque()
        self._completed = False
        self._error: BaseException | None = None
        never = Freshness.never()
        self._readers = WaitingLine(cls(never, loop=loop))
        self._writers = None if capacity is None else WaitingLine(cls(never, loop=loop))
        self._reading = False  # single_reader: a receive is waiting
        # An unbounded single-reader channel reads without the lock (see _take).
        self._lock_free_reads = single_reader and capacity is None

    # -- reading --------------------------------------------------------------------

    def receive(self) -> Awaitable[T]:
        """The next item: ready at once (the strategy's `fresh`), or awaited. Raises
        ChannelClosed (when awaited) once the channel is completed and drained."""
        item = self._take()
        if item is not _NOTHING:
            return self._readers.strategy.fresh(item)
        return self._receive_waiting(False)

    def try_receive(self) -> T:
        """The next item if one is ready; else ChannelEmpty, or ChannelClosed once the
        channel is completed and drained. From any thread."""
        item: T = self._take()
        if item is not _NOTHING:
            return item
        self._lock.acquire()
        try:
            item = self._take_locked()
            if item is not _NOTHING:
                return item
            if self._completed:
                raise self._closed(RECEIVE_CLOSED)
            raise ChannelEmpty(EMPTY)
        finally:
            self._lock.release()

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    def __anext__(self) -> Awaitable[T]:
        """As `receive()`, ending the iteration when the channel is completed without an
        error (with one, it raises ChannelClosed)."""
        item = self._take()
        if item is not _NOTHING:
            return self._readers.strategy.fresh(item)
        return self._receive_waiting(True)

    def _take(self) -> Any:
        """An item, or _NOTHING; wakes a writer when it makes room. An empty buffer is
        seen without the lock (a read of its length, atomic under the GIL): a caller
        that goes on to wait looks again under the lock."""
        items = self._items
        if not items:
            return _NOTHING
        if self._lock_free_reads:
            # One reader, no writer to wake: only this reader removes items, and
            # `popleft` is one C call, atomic under the GIL.
            return items.popleft()
        self._lock.acquire()
        try:
            return self._take_locked()
        finally:
            self._lock.release()

    def _take_locked(self) -> Any:
        items = self._items
        if not items:
            return _NOTHING
        item = items.popleft()
        writers = self._writers
        if writers is not None and writers.strategy.waiters:  # there is room now
            writers.wake(False, _get_running_loop() is self._loop)
        return item

    async def _receive_waiting(self, iterating: bool) -> T:
        readers = self._readers
        strategy = readers.strategy
        waiter = None
        while True:
            self._lock.acquire()
            try:
                if waiter is not None:  # woken (Rule 2): no longer a pending wake-up
                    readers.forget_wake(waiter)
                item: T = self._take_locked()
                if item is not _NOTHING:
                    return item
                if self._completed:
                    if iterating and self._error is None:
                        raise StopAsyncIteration
                    raise self._closed(RECEIVE_CLOSED)
                if _get_running_loop() is not self._loop:
                    self._check_loop()
                if self._reading:
                    raise RuntimeError(SECOND_READER)
                waiting = strategy.wait()
                waiter = strategy.waiters[-1]  # what wait() registered (independent_waiters)
                self._reading = self.single_reader
            finally:
                self._lock.release()
            try:
                await waiting
            except BaseException as error:
                self._gave_up(readers, waiter, error)
                raise
            finally:
                self._reading = False

    # -- writing --------------------------------------------------------------------

    def try_send(self, item: T) -> bool:
        """Add `item` if there is room (always, when unbounded); False when full.
        ChannelClosed once completed. From any thread."""
        self._lock.acquire()
        try:
            return self._put_locked(item)
        finally:
            self._lock.release()

    def send(self, item: T) -> Awaitable[None]:
        """Add `item`, waiting while a bounded channel is full. A completed channel raises
        ChannelClosed here (at the call) or, if it completes while this waits, when
        awaited; the item is then not added."""
        if self.try_send(item):
            return _SENT
        return self._send_waiting(item)

    def send_blocking(self, item: T) -> None:
        """`send` for a thread other than the channel's loop: blocks that thread until
        `item` is added (at once unless the channel is full) or the channel completes."""
        if self.try_send(item):
            return
        loop = self._loop
        if loop is None:
            raise RuntimeError(BLOCKING_NO_LOOP)
        if _get_running_loop() is loop:
            raise RuntimeError(BLOCKING_ON_LOOP)
        asyncio.run_coroutine_threadsafe(self._send_waiting(item), loop).result()

    def _put_locked(self, item: T) -> bool:
        if self._completed:
            raise self._closed(SEND_CLOSED)
        items = self._items
        capacity = self.capacity
        if capacity is not None and len(items) >= capacity:
            return False
        items.append(item)
        readers = self._readers
        if readers.strategy.waiters:
            readers.wake(False, _get_running_loop() is self._loop)
        return True

    async def _send_waiting(self, item: T) -> None:
        writers = self._writers
        assert writers is not None  # only a bounded channel waits to send
        strategy = writers.strategy
        waiter = None
        while True:
            self._lock.acquire()
            try:
                if waiter is not None:  # woken (Rule 2): no longer a pending wake-up
                    writers.forget_wake(waiter)
                if self._put_locked(item):
                    return
                if _get_running_loop() is not self._loop:
                    self._check_loop()
                waiting = strategy.wait()
                waiter = strategy.waiters[-1]  # what wait() registered (independent_waiters)
            finally:
                self._lock.release()
            try:
                await waiting
            except BaseException as error:
                self._gave_up(writers, waiter, error)
                raise

    # -- completion -----------------------------------------------------------------

    def complete(self, error: BaseException | None = None) -> None:
        """No more items: waiting sends raise ChannelClosed, readers drain the buffer and
        then get ChannelClosed (from `error`, if given). From any thread; a second call
        raises ChannelClosed."""
        if error is not None and not isinstance(error, BaseException):
            raise TypeError(not_an_exception(error))
        self._lock.acquire()
        try:
            if self._completed:
                raise ChannelClosed(COMPLETED_TWICE)
            self._completed = True
            self._error = error
            on_loop = _get_running_loop() is self._loop
            self._readers.wake(True, on_loop)
            if self._writers is not None:
                self._writers.wake(True, on_loop)
        finally:
            self._lock.release()

    @property
    def completed(self) -> bool:
        """Whether `complete()` was called (items may still be buffered)."""
        return self._completed

    def __len__(self) -> int:
        """How many items are buffered."""
        return len(self._items)

    def _closed(self, message: str) -> ChannelClosed:
        closed = ChannelClosed(message)
        closed.__cause__ = self._error
        return closed

    # -- waiting --------------------------------------------------------------------

    def _check_loop(self) -> None:
        """Bind the channel's loop at the first wait; refuse a wait from another loop."""
        running = _get_running_loop()
        if self._loop is None:
            self._loop = running
        elif running is not self._loop:
            raise RuntimeError(OTHER_LOOP)

    def _gave_up(self, waiting: WaitingLine, waiter: Any, error: BaseException) -> None:
        """Rule 3, for a waiting call that ends with `error`. A coroutine closed by the
        garbage collector may be closed while this thread holds the lock (any allocation
        can run the collector), so that pass-on goes through the loop."""
        if not isinstance(error, GeneratorExit):
            self._pass_on(waiting, waiter)
            return
        if self._loop is not None:
            with suppress(RuntimeError):  # the loop is closed: nobody waits on it any more
                self._loop.call_soon_threadsafe(self._pass_on, waiting, waiter)

    def _pass_on(self, waiting: WaitingLine, waiter: Any) -> None:
        """`waiter` left; if it had been woken and what it waited for is still there,
        wake the next one (asyncio.Queue's rule: only a woken waiter passes on)."""
        self._lock.acquire()
        try:
            if not waiting.forget_wake(waiter):
                return
            items = self._items
            if waiting is self._readers:
                ready = bool(items)
            else:
                ready = self.capacity is not None and len(items) < self.capacity
            if ready and waiting.strategy.waiters:
                waiting.wake(False, _get_running_loop() is self._loop)
        finally:
            self._lock.release()


__all__ = ["DEFAULT_STRATEGY", "Channel"]
