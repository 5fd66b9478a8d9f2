"""handwritten: the article's ManualValueTaskSource, written by hand.

One small source object per waiting call, with the article's fields: a result or an
exception, the continuation slot with its Sentinel, the captured loop and context, and a
version. `on_completed` swaps the continuation in; if the slot already holds the Sentinel
the value arrived first and the continuation is queued (to the registering thread's loop,
else a worker thread: .NET never runs it inline there); if it holds another
continuation, that is a second await ("multiple awaits detected").

Python has no CompareExchange: the swap is made atomic by the *strategy's* lock, shared
by all its sources (the article's source belongs to its monitor too), so a source costs
one object and no lock of its own. A fresh call returns `ValueTask.from_result(value)`,
the article's `new ValueTask<T>(result)`.

Trades: less general than ManualResetCore (no reuse across calls, one lock for all
sources) but one allocation fewer per waiting call than `manual_reset`. The article's
own verdict: write it once to understand it, then use the framework's core.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable
from typing import Any, ClassVar, TypeVar

from vts.core import dispatch, next_version, post
from vts.strategies.base import SourceStrategy
from vts.valuetask import (
    CANCELED,
    FAULTED,
    FLOW_CONTEXT_BIT,
    NO_CONTINUATION,
    PENDING,
    SUCCEEDED,
    USE_LOOP_BIT,
    AlreadyCompletedError,
    CompletionFlags,
    Continuation,
    MultipleAwaitError,
    NotCompletedError,
    SourceStatus,
    TokenMismatchError,
    ValueTask,
    source_task,
)

T = TypeVar("T")

# The article's Sentinel: in the continuation slot it means "completed, nobody waiting yet".
_SENTINEL: Continuation = lambda state: None  # noqa: E731


class HandwrittenSource:
    """A single-use ValueTask source for one waiting call (a `reset()` makes it reusable)."""

    __slots__ = (
        "_completed",
        "_context",
        "_continuation",
        "_exception",
        "_lock",
        "_loop",
        "_owner",
        "_result",
        "_state",
        "_traceback",
        "version",
    )

    def __init__(self, owner: Handwritten[Any], lock: threading.Lock) -> None:
        self._owner = owner
        self._lock = lock
        self.version = 0
        self.reset_fields()

    def reset_fields(self) -> None:
        self._completed = False
        self._result: object = None
        self._exception: BaseException | None = None
        self._traceback: Any = None
        self._continuation: Continuation | None = None
        self._state: object = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: contextvars.Context | None = None

    def reset(self) -> None:
        self._lock.acquire()  # see LOCKING in vts.core
        try:
            self.version = next_version(self.version)
            self.reset_fields()
        finally:
            self._lock.release()

    def _check(self, token: int) -> None:
        if token != self.version:
            raise TokenMismatchError(token, self.version)

    def get_status(self, token: int) -> SourceStatus:
        self._check(token)
        if not self._completed:
            return PENDING
        if self._exception is None:
            return SUCCEEDED
        if isinstance(self._exception, asyncio.CancelledError):
            return CANCELED
        return FAULTED

    def on_completed(
        self,
        continuation: Continuation,
        state: object,
        token: int,
        flags: CompletionFlags,
        *,
        context: contextvars.Context | None = None,
    ) -> None:
        if continuation is None:
            raise TypeError(NO_CONTINUATION)
        self._check(token)
        loop = None
        bits = int(flags)  # plain int bits: IntFlag operators allocate
        if bits & USE_LOOP_BIT:
            loop = asyncio._get_running_loop()
        if context is None and bits & FLOW_CONTEXT_BIT:
            context = contextvars.copy_context()
        self._lock.acquire()  # CompareExchange(ref continuation, new, null)
        try:
            previous = self._continuation
            if previous is None:
                self._continuation = continuation
                self._state = state
                self._loop = loop
                self._context = context
            elif previous is _SENTINEL:
                # Take the slot, so that a second on_completed for this version is caught
                # as a second await (the article's code would run that one too).
                self._continuation = continuation
        finally:
            self._lock.release()
        if previous is _SENTINEL:  # completed already: queue it, never run it inline
            post(continuation, state, loop, context)
        elif previous is not None:
            raise MultipleAwaitError()

    def get_result(self, token: int) -> Any:
        self._check(token)
        if not self._completed:
            raise NotCompletedError()
        if self._exception is not None:
            raise self._exception.with_traceback(self._traceback)
        return self._result

    def complete(self, value: object, error: BaseException | None) -> None:
        """set_result / set_exception in one; from any thread."""
        self._lock.acquire()  # CompareExchange(ref continuation, Sentinel, null)
        try:
            if self._completed:
                raise AlreadyCompletedError()
            self._result = value
            if error is not None:
                self._exception = error
                self._traceback = error.__traceback__
            self._completed = True
            previous = self._continuation
            if previous is None:
                self._continuation = _SENTINEL
        finally:
            self._lock.release()
        if previous is not None:
            state, loop, context = self._state, self._loop, self._context
            # Let go of the awaiter (it points back at this source: a reference cycle
            # for the garbage collector otherwise); the slot keeps `previous`, so a
            # second on_completed is still caught.
            self._state = self._context = None
            dispatch(previous, state, loop, context, False)

    def cancel(self, token: int) -> bool:
        """Abandon the wait: leave the owner's waiter list, complete as cancelled."""
        if token != self.version or not self._owner.forget(self, token):
            return False
        self.complete(None, asyncio.CancelledError())
        return True


class Handwritten(SourceStrategy[T]):
    name = "handwritten"
    # The protocol's pieces it awaits through; handwritten[c] swaps in the C ValueTask
    # and bridge (vts.strategies.accelerated). The source itself stays written by hand.
    # (Typed Any: mypy would read a Callable class attribute as a method.)
    value_task: ClassVar[Any] = ValueTask
    make_task: ClassVar[Any] = staticmethod(source_task)

    def fresh(self, value: T) -> Awaitable[T]:
        task: Awaitable[T] = self.value_task(value)
        return task

    def wait(self) -> Awaitable[T]:
        source = HandwrittenSource(self, self.lock)
        sample = self.register(source)
        if sample is not None:  # published while we got here
            return self.fresh(sample[0])
        task: Awaitable[T] = self.make_task(source, 0)
        return task
