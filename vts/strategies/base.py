"""The one interface every strategy implements, and the state they all share.

The workload is the article's: a value published periodically (by a thread timer or a
loop timer) is cached with its timestamp; `get()` returns the cached value while it is
fresh, and otherwise waits for the next `publish`. `fail(exc)` delivers an error to every
current waiter (and makes the cache stale, so the next call waits for a good sample).

What differs between strategies is only what a call allocates and how a waiter is woken:
`_fresh(value)` and `_wait()` on the consumer side, `_deliver(waiters, value, error)` on
the producer side. Everything else (the cache, freshness, the waiter list and its lock)
lives here, so the strategies are compared on their idea alone.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Generic, TypeVar

T = TypeVar("T")

_get_running_loop = asyncio._get_running_loop  # C function: no exception when none runs


class Freshness:
    """How long a published value may be served: `clock() - stamp < max_age`.

    `max_age=0` never serves from the cache (every call waits); `math.inf` always does
    once a value was published. Inject `clock` in tests instead of sleeping.
    """

    __slots__ = ("clock", "max_age")

    def __init__(self, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        if max_age < 0:
            raise ValueError("max_age must be >= 0")
        self.max_age = max_age
        self.clock = clock

    @classmethod
    def always(cls) -> Freshness:
        return cls(math.inf)

    @classmethod
    def never(cls) -> Freshness:
        return cls(0.0)


class Strategy(ABC, Generic[T]):
    """Consumer `get()`; producer `publish(value)` / `fail(exc)`, from any thread."""

    name: ClassVar[str]

    def __init__(
        self, freshness: Freshness | None = None, *, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self.freshness = freshness if freshness is not None else Freshness.never()
        self._clock = self.freshness.clock
        self._max_age = self.freshness.max_age
        self._loop = loop
        # (value, stamp) of the last good sample, replaced whole so that a reader on
        # another thread never sees a value with another value's stamp.
        self._sample: tuple[T, float] | None = None
        # Guards _waiters and the stale-check-then-register step against a publish from
        # another thread (else a waiter could register just after the publish it missed).
        self._lock = threading.Lock()
        self._waiters: list[Any] = []

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The consumer's event loop: given, or the one running at the first `get()`."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        return loop

    def get(self) -> Awaitable[T]:
        """The cached value while it is fresh, else an awaitable of the next one."""
        sample = self._sample
        if sample is not None and self._clock() - sample[1] < self._max_age:
            return self._fresh(sample[0])
        return self._wait()

    def _is_fresh(self) -> bool:
        sample = self._sample
        return sample is not None and self._clock() - sample[1] < self._max_age

    def publish(self, value: T) -> None:
        """Cache `value` as fresh now and wake every current waiter with it."""
        sample = (value, self._clock())
        self._lock.acquire()  # see LOCKING in vts.core
        try:
            self._sample = sample
            waiters = self._take_waiters()
        finally:
            self._lock.release()
        if waiters:
            self._deliver(waiters, value, None)

    def fail(self, error: BaseException) -> None:
        """Raise `error` in every current waiter; the cache becomes stale."""
        self._lock.acquire()  # see LOCKING in vts.core
        try:
            self._sample = None
            waiters = self._take_waiters()
        finally:
            self._lock.release()
        if waiters:
            self._deliver(waiters, None, error)

    def _register(self, waiter: Any) -> tuple[T, float] | None:
        """Add `waiter` to the waiter list, unless a publish made the cache fresh since
        `get()` looked: then return that sample instead (and register nothing)."""
        self._lock.acquire()  # see LOCKING in vts.core
        try:
            if self._is_fresh():
                return self._sample
            self._waiters.append(waiter)
            return None
        finally:
            self._lock.release()

    def _take_waiters(self) -> list[Any] | None:
        # Caller holds self._lock. Never hand out the live list, even empty: the caller
        # tests it after releasing the lock, when a new waiter may have joined it; that
        # waiter would be woken by this publish yet stay registered for the next one.
        waiters = self._waiters
        if not waiters:
            return None
        self._waiters = []
        return waiters

    def _on_loop_thread(self) -> bool:
        return _get_running_loop() is self._loop

    def close(self) -> None:
        """Cancel every waiter still registered (used when the producer stops)."""
        self.fail(asyncio.CancelledError())

    @abstractmethod
    def _fresh(self, value: T) -> Awaitable[T]:
        """What a call returns when the cached value is fresh."""

    @abstractmethod
    def _wait(self) -> Awaitable[T]:
        """Register a waiter (under self._lock, re-checking freshness) and return it."""

    @abstractmethod
    def _deliver(self, waiters: list[Any], value: T | None, error: BaseException | None) -> None:
        """Wake `waiters` with `value` or `error`; called on the publishing thread."""


class SourceStrategy(Strategy[T]):
    """A strategy whose waiters are ValueTask sources with `complete(value, error)` and
    `cancel(token)`; a source that gives up leaves the waiter list through `forget`."""

    def _deliver(self, waiters: list[Any], value: T | None, error: BaseException | None) -> None:
        # On the publishing thread: each source posts its own continuation to its loop.
        for source in waiters:
            source.complete(value, error)

    def forget(self, source: object) -> bool:
        """Remove a waiter that gave up; False if a publish already took it."""
        self._lock.acquire()  # see LOCKING in vts.core
        try:
            try:
                self._waiters.remove(source)
            except ValueError:
                return False
        finally:
            self._lock.release()
        return True


__all__ = ["Freshness", "SourceStrategy", "Strategy"]
