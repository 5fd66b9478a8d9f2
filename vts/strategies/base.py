"""The one interface every strategy implements, and the state they all share.

The workload is the article's: a value published periodically (by a thread timer or a
loop timer) is cached with its timestamp; `get()` returns the cached value while it is
fresh, and otherwise waits for the next `publish`. `fail(exc)` delivers an error to every
current waiter (and makes the cache stale, so the next call waits for a good sample).

What differs between strategies is only what a call allocates and how a waiter is woken:
`fresh(value)` and `wait()` on the consumer side, `deliver(waiters, value, error)` on
the producer side. Everything else (the cache, freshness, the waiter list and its lock)
lives here, so the strategies are compared on their idea alone.

The extension point. `Strategy` is how a strategy outside vts is written too (an entry
point in `vts.strategies` registers it; see `vts.strategies`): subclass it, set `name`,
implement the three hooks, and use only the public members the class docstring lists.
The built-in strategies are written on the same members, so they are what a plugin gets.

The waiter list. Rule 1: a publish never hands out the live container: it takes the
current one and swaps in a spare, under the lock, so a waiter that registers while the
publish delivers waits for the next publish. Rule 2: a waiter that gave up (a cancelled
Future, a ValueTask never awaited and collected, a `get()` result dropped) costs O(1)
memory in total, not one entry per call until the next publish.

Theory of operation. The containers are two deques, not lists: a list that is emptied
frees its item array and the next append allocates it again (1 allocation per publish);
a deque keeps its blocks (up to 16 spare blocks of 64 slots each), so filling and
draining it allocates nothing. `deliver` drains the taken deque (`popleft`, no iterator
object) and hands it back with `recycle`, to be the next spare; a publish that finds no
spare (another publish is still delivering from it) makes a new one.

Waiters leave without a publish through `forget` (a cancelled source) and through the
sweep: after `_sweep_at` registrations since the list was last empty or swept, `register`
drops every waiter that nobody can wake any more: one that nothing but the list refers to
(CPython's reference count, exact on the GIL builds vts measures: the caller dropped it,
so no Task and no ValueTask can await it), or one that gave up by itself (`gave_up`: a
cancelled Future). The next sweep comes after twice as many registrations as waiters
survived (at least `SWEEP_FLOOR`), so sweeping costs O(1) amortised per registration and
a steady fan-out of K waiters never sweeps once K is reached. The count restarts when a
registration finds the list empty, whoever emptied it (a publish, `forget`, a channel
taking waiters one at a time): an empty list holds nobody to sweep. It does not restart
when only some leave: a list that never empties may still hold waiters that gave up.
The count runs through `vts.core`'s preallocated ring of ints, so counting allocates
nothing.
"""

from __future__ import annotations

import asyncio
import math
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from itertools import repeat
from typing import Any, ClassVar, Generic, TypeVar

from vts.core import _NEXT_VERSION, VERSION_SPAN

T = TypeVar("T")

_get_running_loop = asyncio._get_running_loop  # C function: no exception when none runs

SWEEP_FLOOR = 64  # registrations without a publish before the first sweep
_SWEEP_CEILING = VERSION_SPAN - 1  # the count wraps at VERSION_SPAN: sweep before that
_getrefcount = sys.getrefcount


def _references(waiter: object) -> int:
    """The reference count of `waiter`, held by a caller's local and this argument."""
    return _getrefcount(waiter)


def _unreferenced() -> int:
    """What `_references` returns for an object only the calling frame holds (3 on
    CPython 3.10-3.13: the local, the argument, getrefcount's own)."""
    waiter = object()  # the same shape as in Strategy._sweep: one local, one call
    return _references(waiter)


_UNREFERENCED = _unreferenced()


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
    """Consumer `get()`; producer `publish(value)` / `fail(exc)`, from any thread.

    A subclass sets `name` and implements the three hooks; `get()`, `publish` and `fail`
    call them, user code does not:

    - `fresh(value)`: what `get()` returns while the cached value is fresh;
    - `wait()`: register a waiter (`register`) and return what `get()` returns for it;
    - `deliver(waiters, value, error)`: wake the waiters a publish took, on the
      publishing thread, then give the drained container back (`recycle`).

    What the hooks build on, all public:

    - `lock`: guards `waiters` and the stale-check-then-register step (a publish swaps
      the waiter list under it); take it with `acquire()`/`try`/`finally: release()`;
    - `waiters`: the live waiter list (a deque), read and changed only under `lock`;
    - `sample`: `(value, stamp)` of the last good publish, or None; read it once into a
      local (a publish on another thread replaces it whole); never assign it;
    - `is_fresh()`: whether `sample` may be served now;
    - `register(waiter)`: under `lock`, add `waiter` unless a publish made the cache fresh
      since `get()` looked (then it returns that sample and registers nothing);
    - `recycle(waiters)`: offer a container `deliver` drained as the next spare;
    - `on_loop_thread()`: whether the caller runs on `loop`'s thread (a Future is
      completed there directly, else through `call_soon_threadsafe`);
    - `loop`: the consumer's loop, bound at the first `get()` unless given;
    - the sweep's hooks, for waiters that gave up without a publish: `gave_up(waiter)`,
      `own_references(waiter)` and `release_waiter(waiter)` (defaults: none gives up by
      itself, none refers to itself, nothing to release).

    One class attribute: `independent_waiters` (True) says that each `wait()` registers
    a waiter of its own, which `deliver` can wake alone; `vts.channels` relies on it to
    wake one caller per item. A strategy whose waiting calls share one waiter (one Event
    per publish, say) sets it False, and a channel refuses it.

    Everything else (names starting with `_`) is this module's own and may change.
    """

    name: ClassVar[str]
    independent_waiters: ClassVar[bool] = True

    def __init__(
        self, freshness: Freshness | None = None, *, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self.freshness = freshness if freshness is not None else Freshness.never()
        self._clock = self.freshness.clock
        self._max_age = self.freshness.max_age
        self._loop = loop
        # (value, stamp) of the last good sample, replaced whole so that a reader on
        # another thread never sees a value with another value's stamp.
        self.sample: tuple[T, float] | None = None
        # Guards `waiters` and the stale-check-then-register step against a publish from
        # another thread (else a waiter could register just after the publish it missed).
        # Its regions allocate, so a collection may run finalizers inside them: no code a
        # finalizer reaches may wait for it (SourceStrategy.forget only tries it).
        self.lock = threading.Lock()
        self.waiters: deque[Any] = deque()
        # The container the next publish swaps in; None while a publish delivers from it.
        self._spare: deque[Any] | None = deque()
        self._unswept = 0  # registrations since the list was empty or swept (under the lock)
        self._sweep_at = SWEEP_FLOOR

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The consumer's event loop: given, or the one running at the first `get()`."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        return loop

    def get(self) -> Awaitable[T]:
        """The cached value while it is fresh, else an awaitable of the next one."""
        sample = self.sample
        if sample is not None and self._clock() - sample[1] < self._max_age:
            return self.fresh(sample[0])
        return self.wait()

    def is_fresh(self) -> bool:
        """Whether the cached sample may be served now (`clock() - stamp < max_age`)."""
        sample = self.sample
        return sample is not None and self._clock() - sample[1] < self._max_age

    def publish(self, value: T) -> None:
        """Cache `value` as fresh now and wake every current waiter with it."""
        sample = (value, self._clock())
        self.lock.acquire()  # see LOCKING in vts.core
        try:
            self.sample = sample
            waiters = self._take_waiters()
        finally:
            self.lock.release()
        if waiters is not None:
            self.deliver(waiters, value, None)

    def fail(self, error: BaseException) -> None:
        """Raise `error` in every current waiter; the cache becomes stale."""
        self.lock.acquire()  # see LOCKING in vts.core
        try:
            self.sample = None
            waiters = self._take_waiters()
        finally:
            self.lock.release()
        if waiters is not None:
            self.deliver(waiters, None, error)

    def register(self, waiter: Any) -> tuple[T, float] | None:
        """Add `waiter` to the waiter list, unless a publish made the cache fresh since
        `get()` looked: then return that sample instead (and register nothing)."""
        self.lock.acquire()  # see LOCKING in vts.core
        try:
            if self.is_fresh():
                return self.sample
            waiters = self.waiters
            # An empty list holds nobody to sweep: the count starts again (see the top).
            unswept = self._unswept = _NEXT_VERSION[self._unswept] if waiters else 1
            waiters.append(waiter)
            if unswept == self._sweep_at:
                self._sweep()
            return None
        finally:
            self.lock.release()

    def _take_waiters(self) -> deque[Any] | None:
        # Caller holds self.lock. Never hand out the live container, even empty: the
        # caller uses it after releasing the lock, when a new waiter may have joined it;
        # that waiter would be woken by this publish yet stay registered for the next one.
        waiters = self.waiters
        if not waiters:
            return None
        spare = self._spare
        if spare is None:  # another publish still delivers from it
            spare = deque()
        self._spare = None
        self.waiters = spare  # empty: the next `register` restarts the sweep's count
        return waiters

    def recycle(self, waiters: deque[Any]) -> None:
        """Offer a container `deliver` is done with as the next spare."""
        waiters.clear()  # nothing to do once drained; drops what a failed delivery left
        # One attribute store, atomic under the GIL: a publish racing it made its own.
        self._spare = waiters

    def _sweep(self) -> None:
        """Drop the waiters nobody can wake any more (see the top). Caller holds the lock."""
        waiters = self.waiters
        for _ in repeat(None, len(waiters)):
            waiter = waiters.popleft()
            references = _references(waiter)
            if references - self.own_references(waiter) <= _UNREFERENCED or self.gave_up(
                waiter
            ):
                self.release_waiter(waiter)
            else:
                waiters.append(waiter)  # rotated back: the order of the survivors is kept
        self._unswept = 0
        self._sweep_at = min(max(SWEEP_FLOOR, 2 * len(waiters)), _SWEEP_CEILING)

    def own_references(self, waiter: Any) -> int:
        """References to `waiter` that it holds itself (through objects it owns), so the
        sweep (under the lock) and a deferred cancellation (not under it) can tell a
        waiter nobody else refers to."""
        return 0

    def gave_up(self, waiter: Any) -> bool:
        """Whether a listed waiter gave up by itself (a cancelled Future): the sweep drops
        it. Caller holds the lock."""
        return False

    def release_waiter(self, waiter: Any) -> None:
        """A swept waiter leaves (a pooled source goes home). Caller holds the lock."""

    def on_loop_thread(self) -> bool:
        """Whether the caller runs on the consumer's loop, in its thread."""
        return _get_running_loop() is self._loop

    def close(self) -> None:
        """Cancel every waiter still registered (used when the producer stops)."""
        self.fail(asyncio.CancelledError())

    @abstractmethod
    def fresh(self, value: T) -> Awaitable[T]:
        """What a call returns when the cached value is fresh."""

    @abstractmethod
    def wait(self) -> Awaitable[T]:
        """What a call returns when the value is stale: a waiter registered with
        `register` (or, under `lock`, added to `waiters` after checking `is_fresh()`), or
        an awaitable of the sample `register` returned instead."""

    @abstractmethod
    def deliver(
        self, waiters: deque[Any], value: T | None, error: BaseException | None
    ) -> None:
        """Wake `waiters` with `value` or `error`, draining the container, then hand it
        to `recycle`; called on the publishing thread. (A strategy that does not recycle
        it works too, and pays a new container per publish: 2 allocations.)"""


class SourceStrategy(Strategy[T]):
    """A strategy whose waiters are ValueTask sources with `complete(value, error)` and
    `cancel(token)`; a source that gives up leaves the waiter list through `forget`.

    `forget` never waits for `lock`. It runs in finalizers: a ValueTask dropped while
    suspended cancels its source (`SourceAwaiter.abandon`), and the garbage collector
    runs finalizers wherever an allocation triggers a collection (on 3.12+ at the next
    call after one), so also inside this thread's own locked regions, where waiting for
    the lock would never end (a `threading.Lock` cannot tell whether its holder is this
    thread). A busy lock therefore hands the cancellation to a loop, as CPython's weak
    containers defer a removal that arrives while they are being iterated: `cancel`
    returns False for now, and the loop calls `source.cancel(token)` again at its top
    level, where this thread holds no lock (`_cancel_later`).
    """

    def deliver(
        self, waiters: deque[Any], value: T | None, error: BaseException | None
    ) -> None:
        # On the publishing thread: each source posts its own continuation to its loop.
        try:
            while waiters:
                waiters.popleft().complete(value, error)
        finally:
            self.recycle(waiters)

    def forget(self, source: Any, token: int) -> bool:
        """Remove a waiter that gave up, as its `cancel(token)` asks; False if a publish
        (or a sweep) already took it, or if the lock is busy: then the cancellation is
        retried on a loop (see the class docstring)."""
        lock = self.lock
        # Not a blocking acquire: the holder may be this thread (see the class docstring).
        if not lock.acquire(False):
            self._post_cancel(source, token)
            return False
        try:
            try:
                self.waiters.remove(source)
            except ValueError:
                return False
        finally:
            lock.release()
        return True

    def _post_cancel(self, source: Any, token: int) -> None:
        # To this thread's loop (its callbacks run where no lock of ours is held), else
        # to the consumer's. With neither (or a closed one), nothing is retried: the
        # waiter stays listed until a publish completes it or a sweep finds that nobody
        # refers to it any more.
        loop = _get_running_loop()
        if loop is None:
            loop = self._loop
            if loop is None:
                return
        # The box, not the source, is what the handle holds: _cancel_later then counts
        # the source's references exactly as the sweep does.
        with suppress(RuntimeError):  # the loop is closed
            loop.call_soon_threadsafe(self._cancel_later, [source], token)

    def _cancel_later(self, box: list[Any], token: int) -> None:
        """`source.cancel(token)` again, on a loop; if it cancels, and nothing refers to
        the source any more (the ValueTask that gave up was collected), free it as
        `SourceAwaiter.abandon` would have: a pooled source goes home."""
        source = box.pop()
        # False: published, swept or recycled since (cancel checks the version), or the
        # lock is busy again (posted again).
        if not source.cancel(token):
            return
        if _references(source) - self.own_references(source) <= _UNREFERENCED:
            with suppress(BaseException):  # it raises the CancelledError it now holds
                source.get_result(token)


__all__ = ["SWEEP_FLOOR", "Freshness", "SourceStrategy", "Strategy"]
