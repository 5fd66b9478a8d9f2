"""ManualResetCore: the port of .NET's ManualResetValueTaskSourceCore<T>.

Rule 1: a token from reset N is rejected after reset N+1, by all three protocol methods.
Rule 2: `get_result` never blocks; no lock is held while a continuation runs, so a
        continuation that calls `get_result` at once cannot deadlock its producer (the
        article's first bug).
Rule 3: a completion racing `on_completed` runs the continuation exactly once.

Theory of operation. One version of the core moves through these states:

    state \\ event     on_completed          set_result/exception     reset()
    ---------------   --------------------  -----------------------  ---------
    EMPTY             -> WAITING             -> COMPLETED             -> EMPTY, v+1
    WAITING           MultipleAwaitError     -> DONE (runs it)        -> EMPTY, v+1
    COMPLETED         -> DONE (runs it now)  AlreadyCompletedError    -> EMPTY, v+1
    DONE              MultipleAwaitError     AlreadyCompletedError    -> EMPTY, v+1

The article's Sentinel is the `COMPLETED` state: whoever arrives second of `on_completed`
and the completion runs the continuation. Python has no compare-and-swap, so the swap
is made atomic by a `threading.Lock` per core (about 100 ns, no allocation); pooling a
source amortises the lock with the rest of it.

Where a continuation runs (.NET's rules, `dispatch` and `post` below):

- Registered after the completion (the Sentinel case): always queued, never run inline
  inside `on_completed`, whatever the flags say: to the event loop running in the
  registering thread (the captured one), else to a new worker thread (.NET's thread pool).
- Registered before: with `USE_SCHEDULING_CONTEXT`, on the event loop that was running
  when `on_completed` was called, through `call_soon` (same thread) or
  `call_soon_threadsafe` (another thread): an asyncio Task cannot be resumed inline from
  inside another Task. Without it, inline on the completing thread, unless
  `run_continuations_asynchronously` is set: then posted to the registering thread's loop,
  or to a new worker thread when there was none.
- Its contextvars: with `FLOW_EXECUTION_CONTEXT`, the awaiter's `contextvars.Context` (the
  one passed as `context=`, else a copy of the registering code's). Without it nothing
  flows (.NET's default context): a queued continuation runs in a fresh, empty
  `contextvars.Context()`, an inline one in whatever context the completing code has.
  An explicit `context=` is always the one it runs in.
- `on_completed(None, ...)` raises TypeError (`NO_CONTINUATION`) before the token is
  checked, and registers nothing.

LOCKING: every lock in vts is taken as `lock.acquire()` / `try` / `finally: release()`,
never `with lock:`, because `with` binds `__enter__` and `__exit__` as two new method
objects (measured: 2 allocations per `with` on 3.11), and the hot paths here are what
the suite measures.

ALLOCATION UNDER A LOCK: an allocation may run the garbage collector, whose finalizers
may take vts's locks (a ValueTask dropped while suspended cancels its source or consumes
its result: `SourceAwaiter.abandon`, then pooled `get_result` -> `reset`), and a
`threading.Lock` taken twice by one thread waits for ever. So a core's locked regions
allocate nothing: an error is made and raised after the release. (On 3.12+ a collection
that an earlier allocation scheduled runs at the next call, which may be the `acquire()`
itself; a finalizer then reaches this core's lock only through a second ValueTask of the
same operation, which vts never makes.) A strategy's lock, whose regions do allocate,
is never waited for on a finalizer's path (`vts.strategies.base.SourceStrategy`).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from types import TracebackType
from typing import Any, Generic, TypeVar

from vts.valuetask import (
    CANCELED,
    FAULTED,
    FLOW_CONTEXT_BIT,
    NO_CONTINUATION,
    NOT_AN_EXCEPTION,
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
    refuse_copy,
)

T = TypeVar("T")

_get_running_loop = asyncio._get_running_loop  # C function: no exception when none runs

# States of one version; see the table in the module docstring.
EMPTY, WAITING, COMPLETED, DONE = 0, 1, 2, 3

# Versions count modulo 2**14 through preallocated int objects, so a reset allocates
# nothing (`version += 1` would allocate a new int above 256 on every reset). .NET's
# token is a 16-bit short that wraps the same way: a token is rejected unless it is
# exactly 16,384 resets old.
VERSION_SPAN = 1 << 14
_NEXT_VERSION: list[int] = [*range(1, VERSION_SPAN), 0]


def next_version(version: int) -> int:
    """The version after `version` (wrapping), as a preallocated int."""
    return _NEXT_VERSION[version]


def dispatch(
    continuation: Continuation,
    state: object,
    loop: asyncio.AbstractEventLoop | None,
    context: contextvars.Context | None,
    run_asynchronously: bool,
) -> None:
    """Run a continuation registered before the completion, where its registration asked
    (shared by every source type)."""
    if loop is not None:
        _post_to_loop(continuation, state, loop, context)
    elif run_asynchronously:
        _start_worker(continuation, state, context)
    elif context is not None:
        context.run(continuation, state)
    else:
        continuation(state)  # inline, in the completing code's own context


def post(
    continuation: Continuation,
    state: object,
    loop: asyncio.AbstractEventLoop | None,
    context: contextvars.Context | None,
) -> None:
    """Queue a continuation registered after the completion; never run it inline.

    To `loop` (the one captured at registration), else to the loop running in this
    thread, else to a new worker thread. `context` None means nothing flows: it runs in
    a fresh, empty Context.
    """
    if loop is None:
        loop = _get_running_loop()
    if loop is not None:
        _post_to_loop(continuation, state, loop, context)
    else:
        _start_worker(continuation, state, context)


def _post_to_loop(
    continuation: Continuation,
    state: object,
    loop: asyncio.AbstractEventLoop,
    context: contextvars.Context | None,
) -> None:
    if context is None:
        context = contextvars.Context()  # call_soon would copy the poster's context
    if _get_running_loop() is loop:
        loop.call_soon(continuation, state, context=context)
    else:
        loop.call_soon_threadsafe(continuation, state, context=context)


def _start_worker(
    continuation: Continuation, state: object, context: contextvars.Context | None
) -> None:
    if context is None:
        context = contextvars.Context()  # explicit: on 3.14 a thread may inherit one
    threading.Thread(target=context.run, args=(continuation, state), daemon=True).start()


class ManualResetCore(Generic[T]):
    """The reusable heart of a ValueTask source: a version, a result, one continuation.

    A source either holds one (`self.core = ManualResetCore()`) and forwards the three
    protocol methods, or subclasses it, the closest Python gets to .NET embedding the
    core as a struct (no second object per source).
    """

    __slots__ = (
        "_context",
        "_continuation",
        "_continuation_state",
        "_exception",
        "_lock",
        "_loop",
        "_result",
        "_state",
        "_traceback",
        "_version",
        "run_continuations_asynchronously",
    )

    def __init__(self, *, run_continuations_asynchronously: bool = False) -> None:
        self.run_continuations_asynchronously = run_continuations_asynchronously
        self._lock = threading.Lock()
        self._version = 0
        self._clear()

    def _clear(self) -> None:
        self._state = EMPTY
        self._result: T | None = None
        self._exception: BaseException | None = None
        self._traceback: TracebackType | None = None
        self._continuation: Continuation | None = None
        self._continuation_state: object = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: contextvars.Context | None = None

    @property
    def version(self) -> int:
        """The token of the current operation; bumped by every `reset()`."""
        return self._version

    def reset(self) -> None:
        """Start a new operation: forget the old one and reject its token from now on."""
        self._lock.acquire()  # a late completion of the old version must see the new one
        try:
            self._version = _NEXT_VERSION[self._version]
            self._clear()
        finally:
            self._lock.release()

    def _check(self, token: int) -> None:
        if token != self._version:
            raise TokenMismatchError(token, self._version)

    # -- producer side -------------------------------------------------------------

    def set_result(self, result: T) -> None:
        """Complete the current operation with a value; from any thread."""
        self._complete(result, None)

    def set_exception(self, exception: BaseException) -> None:
        """Complete the current operation with an error; from any thread.

        The awaiter sees the exception with the traceback it had when it was set (each
        raise starts again from there, so one error delivered to many awaiters does not
        grow a longer and longer traceback). Anything but an exception instance (a class
        included) is refused at once with TypeError, as the C core does.
        """
        if not isinstance(exception, BaseException):
            raise TypeError(NOT_AN_EXCEPTION)
        self._complete(None, exception)

    def _complete(self, result: T | None, exception: BaseException | None) -> None:
        self._lock.acquire()  # the compare-and-swap of the continuation slot
        try:
            state = self._state
            if state < COMPLETED:
                self._result = result
                if exception is not None:
                    self._exception = exception
                    self._traceback = exception.__traceback__
                self._state = COMPLETED if state == EMPTY else DONE
        finally:
            self._lock.release()
        if state >= COMPLETED:  # raised outside the lock: see ALLOCATION UNDER A LOCK
            raise AlreadyCompletedError()
        if state == WAITING:  # outside the lock: a continuation may re-enter the core
            self._invoke()

    def _invoke(self) -> None:
        continuation, state = self._continuation, self._continuation_state
        assert continuation is not None
        loop, context = self._loop, self._context
        # Let go of the awaiter before running it: the state is usually a SourceAwaiter
        # that points back at this core, and a per-call source left holding it would be
        # a reference cycle for the garbage collector (measured: 5.7 collections per
        # 1,000 waits for manual_reset before this). _state == DONE still records that
        # a continuation was registered.
        self._continuation = self._continuation_state = self._context = None
        dispatch(continuation, state, loop, context, self.run_continuations_asynchronously)

    # -- the three protocol methods ------------------------------------------------

    def get_status(self, token: int) -> SourceStatus:
        self._check(token)
        # Lock-free read: the producer stores the result before it moves _state on, and
        # a single attribute read is atomic under the GIL.
        if self._state < COMPLETED:
            return PENDING
        exception = self._exception
        if exception is None:
            return SUCCEEDED
        if isinstance(exception, asyncio.CancelledError):
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
        bits = int(flags)  # plain int bits: IntFlag operators allocate
        loop = None
        if bits & USE_LOOP_BIT or self.run_continuations_asynchronously:
            loop = _get_running_loop()
        if context is None and bits & FLOW_CONTEXT_BIT:
            context = contextvars.copy_context()
        self._lock.acquire()  # the compare-and-swap of the continuation slot
        try:
            current = self._state
            if current not in (WAITING, DONE):
                self._continuation = continuation
                self._continuation_state = state
                self._loop = loop
                self._context = context
                self._state = WAITING if current == EMPTY else DONE
        finally:
            self._lock.release()
        if current in (WAITING, DONE):  # raised outside the lock: see ALLOCATION UNDER A LOCK
            raise MultipleAwaitError()
        if current == COMPLETED:  # the Sentinel case: completed before we registered
            # Queued, never inline (see the top); let go of the awaiter as _invoke does.
            self._continuation = self._continuation_state = self._context = None
            post(continuation, state, loop, context)

    def get_result(self, token: int) -> T:
        self._check(token)
        if self._state < COMPLETED:
            raise NotCompletedError()
        exception = self._exception
        if exception is not None:
            raise exception.with_traceback(self._traceback)
        return self._result  # type: ignore[return-value]

    def __repr__(self) -> str:
        names = {EMPTY: "empty", WAITING: "waiting", COMPLETED: "completed", DONE: "done"}
        return f"<{type(self).__name__} version={self._version} {names[self._state]}>"

    __reduce_ex__ = refuse_copy


def status_of(core: ManualResetCore[Any]) -> SourceStatus:
    """The status of a core's current version (no token: for tests and tooling)."""
    return core.get_status(core.version)


__all__ = ["VERSION_SPAN", "ManualResetCore", "dispatch", "next_version", "post", "status_of"]
