"""ValueTask and the ValueTaskSource protocol: .NET's IValueTaskSource, ported to asyncio.

A `ValueTask[T]` is made from one of three things:

- a result (`ValueTask.from_result(v)`, or `ValueTask(v)`): completed, nothing to wait for;
- an awaitable (`ValueTask.from_awaitable(fut)`): an asyncio future, task or coroutine;
- a source and a token (`ValueTask.from_source(src, token)`): a reusable object that
  implements the three protocol methods, each checking the token (the source's version).

Rules a ValueTask built on a source obeys (the .NET reference semantics):

- It may be awaited once. A second await raises `AlreadyAwaitedError`; call `as_future()`
  first to await it more than once, `gather` it, or pass it to `wait_for`.
- `is_completed` and `result()` are the synchronous fast path: a caller that checks before
  awaiting uses no await machinery at all.

How a pending ValueTask suspends an asyncio Task: `Task.__step` only accepts a future-like
object (`_asyncio_future_blocking`, `add_done_callback(fn, *, context)`, `result()`, ...).
`SourceAwaiter` is that bridge: its `add_done_callback` is the source's `on_completed`
with `USE_SCHEDULING_CONTEXT | FLOW_EXECUTION_CONTEXT`. A Task takes its C fast path only
for an exact C Future, so the bridge costs a few allocations a suspension (measured by
`vts bench`); a source may hand out one reusable awaiter (`awaiter_for`) to save its own.

One deviation from .NET: `on_completed` takes an optional `context=`. Python cannot read
the current `contextvars.Context` without copying it, and an asyncio Task must resume in
its own context object, not a copy, so the bridge passes the Task's context through.

Misuse reaches the awaiting Task, never the loop: an error that `on_completed` raises
inside the bridge's `add_done_callback` (a second concurrent await of one operation:
`MultipleAwaitError`) would otherwise go to the loop's exception handler and leave that
Task waiting forever. The bridge keeps the error and wakes its Task at once; the Task
raises it at its `await`, and the first awaiter keeps its registration and its value.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, NoReturn, Protocol, TypeVar, cast, runtime_checkable

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

Continuation = Callable[[Any], object]


class SourceStatus(enum.Enum):
    """`ValueTaskSourceStatus`: where a source's current operation stands."""

    PENDING = 0
    SUCCEEDED = 1
    FAULTED = 2
    CANCELED = 3


# Module-level aliases for hot paths: reading a member through its Enum class allocates
# on some interpreters (measured: 1 allocation on 3.11); a module global does not.
PENDING = SourceStatus.PENDING
SUCCEEDED = SourceStatus.SUCCEEDED
FAULTED = SourceStatus.FAULTED
CANCELED = SourceStatus.CANCELED


class CompletionFlags(enum.IntFlag):
    """`ValueTaskSourceOnCompletedFlags`: how `on_completed` must run the continuation."""

    NONE = 0
    # Resume on the event loop that was running when on_completed was called.
    USE_SCHEDULING_CONTEXT = 1
    # Run the continuation inside the awaiter's contextvars.Context.
    FLOW_EXECUTION_CONTEXT = 2


# Flag bits as plain ints: `&` and `|` on IntFlag members run Python code and allocate
# (measured: 2 allocations each on 3.11), `int(flags) & USE_LOOP_BIT` does not.
USE_LOOP_BIT = 1
FLOW_CONTEXT_BIT = 2
_BRIDGE_FLAGS = CompletionFlags.USE_SCHEDULING_CONTEXT | CompletionFlags.FLOW_EXECUTION_CONTEXT


class ValueTaskError(RuntimeError):
    """Base of every protocol misuse error."""


class TokenMismatchError(ValueTaskError):
    """A token that is not the source's current version (awaited twice, or recycled)."""

    def __init__(self, token: int, version: int) -> None:
        super().__init__(
            f"token {token} is not the source's current version {version}: this ValueTask "
            "was already consumed or its source was recycled"
        )


class NotCompletedError(ValueTaskError):
    """`get_result` was called before the operation completed (it never blocks)."""

    def __init__(self) -> None:
        super().__init__(
            "the operation has not completed yet; await the ValueTask instead of calling "
            "get_result() early"
        )


class AlreadyCompletedError(ValueTaskError):
    """The source was completed twice for one version."""

    def __init__(self) -> None:
        super().__init__("the operation was already completed; call reset() before reusing it")


class MultipleAwaitError(ValueTaskError):
    """`on_completed` was called twice for one version: two awaiters on one operation."""

    def __init__(self) -> None:
        super().__init__(
            "multiple awaits detected: a continuation is already registered for this "
            "version; call .as_future() to share one result between awaiters"
        )


# The TypeError `on_completed(None, ...)` raises, before the token is checked (.NET's
# ArgumentNullException(nameof(continuation))): every source type raises this text.
NO_CONTINUATION = (
    "continuation must not be None: pass the callable on_completed() should run when the "
    "operation completes"
)


# The TypeError `set_exception` raises for anything but an exception instance.
NOT_AN_EXCEPTION = "set_exception() needs an exception instance"

# The TypeError copy.copy, copy.deepcopy and pickle raise for a core, a ValueTask or a
# bridge (formatted with the type's name): each is one operation's live state, consumed
# once, and a copy would be a second owner of it (a copied core shares its lock).
NO_COPY = "cannot copy or pickle a {} object: it is one operation's live state; make a new one"


def refuse_copy(self: object, protocol: object = None) -> NoReturn:
    """`__reduce_ex__` for the protocol's types: copy.copy, copy.deepcopy and pickle all
    call it, and all raise TypeError(NO_COPY)."""
    raise TypeError(NO_COPY.format(type(self).__name__))


class AlreadyAwaitedError(ValueTaskError):
    """A source-backed ValueTask was awaited a second time."""

    def __init__(self) -> None:
        super().__init__(
            "this ValueTask was already awaited; call .as_future() to await it more than once"
        )


@runtime_checkable
class ValueTaskSource(Protocol[T_co]):
    """`IValueTaskSource<T>`: three methods, each taking the token of the ValueTask."""

    def get_status(self, token: int) -> SourceStatus: ...

    def on_completed(
        self,
        continuation: Continuation,
        state: object,
        token: int,
        flags: CompletionFlags,
        *,
        context: contextvars.Context | None = None,
    ) -> None: ...

    def get_result(self, token: int) -> T_co: ...


@runtime_checkable
class CancellableSource(Protocol):
    """A source that can abandon a pending operation when its awaiter is cancelled.

    `cancel(token)` completes the operation as CANCELED and returns True, or returns False
    when the operation already completed (the result then wins the race), or when it
    cannot cancel now without waiting for a lock (it may run in a finalizer, inside a
    region that holds that lock): the operation is then cancelled a little later, and an
    awaiting Task wakes with CancelledError as before.
    """

    def cancel(self, token: int) -> bool: ...


class SourceAwaiter:
    """The future-like bridge a pending ValueTask yields to an asyncio Task.

    A tricky object with no guard rails: it implements exactly what `Task.__step`,
    `Task.__wakeup` and `Task.cancel` call, and nothing else. It does not consume the
    result: `result()` only says whether to resume or to raise CancelledError, and the
    ValueTask calls the source's `get_result` once the Task resumes.

    When the source refuses the registration (`on_completed` raises, e.g.
    MultipleAwaitError for a second concurrent await), the awaiter keeps the error, wakes
    its Task at once, and raises it from `result()`; it never touches the operation
    again, which belongs to the first awaiter.
    """

    __slots__ = (
        "_asyncio_future_blocking",
        "_callback",
        "_cancel_message",
        "_error",
        "_loop",
        "_source",
        "_token",
    )

    def __init__(self, source: ValueTaskSource[Any], token: int) -> None:
        self.rearm(source, token)

    def rearm(self, source: ValueTaskSource[Any], token: int) -> None:
        """Point a (possibly reused) awaiter at one version of a source."""
        self._source = source
        self._token = token
        self._loop = asyncio.get_running_loop()
        self._callback: Callable[[Any], object] | None = None
        self._cancel_message: object = None
        self._error: BaseException | None = None  # the refused registration's error
        # Task.__step reads this flag: True means "suspend me on this object".
        self._asyncio_future_blocking = True

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def registered(self) -> bool:
        """True from `add_done_callback` until the Task is resumed or leaves: a source
        that hands out one reusable awaiter must not re-arm it meanwhile."""
        return self._callback is not None

    def done(self) -> bool:
        if self._error is not None:
            return True
        return self._source.get_status(self._token) is not PENDING

    def cancelled(self) -> bool:
        return self._source.get_status(self._token) is CANCELED

    def add_done_callback(
        self, fn: Callable[[Any], object], *, context: contextvars.Context | None = None
    ) -> None:
        if self._callback is not None:
            raise MultipleAwaitError()
        self._callback = fn
        try:
            self._source.on_completed(_resume, self, self._token, _BRIDGE_FLAGS, context=context)
        except Exception as error:
            # Raised from here it would reach the loop's exception handler (Task.__step
            # calls this outside its try) and the Task would wait forever: wake the Task
            # now instead, and result() raises the error in it. Without its traceback,
            # which would hold this frame and so this awaiter (a reference cycle).
            self._callback = None
            self._error = error.with_traceback(None)
            self._loop.call_soon(fn, self, context=context)

    def remove_done_callback(self, fn: Callable[[Any], object]) -> int:
        # The source owns the registration; the Task only calls this when it is torn down.
        return 0

    def result(self) -> None:
        error = self._error
        if error is not None:
            raise error
        if self._source.get_status(self._token) is CANCELED:
            if self._cancel_message is None:
                raise asyncio.CancelledError()
            raise asyncio.CancelledError(self._cancel_message)

    def exception(self) -> BaseException | None:
        return None

    def cancel(self, msg: object = None) -> bool:
        if self._error is not None:
            return False  # never registered: the operation is the first awaiter's
        self._cancel_message = msg  # Task.cancel(msg) reaches the awaiter, as with a Future
        source = self._source
        if isinstance(source, CancellableSource):
            return source.cancel(self._token)
        return False

    def abandon(self) -> None:
        """The awaiter was interrupted: release the operation so the source can be reused.

        If the operation completed, its result is consumed and dropped (a pooled source
        returns to its pool there); if it is still pending, it is cancelled.
        """
        self._callback = None  # the Task is leaving: the resume already posted must not run
        if self._error is not None:
            return  # never registered: the operation is the first awaiter's
        source, token = self._source, self._token
        try:
            status = source.get_status(token)
        except TokenMismatchError:
            return
        if status is PENDING and isinstance(source, CancellableSource) and source.cancel(token):
            status = source.get_status(token)
        if status is not PENDING:
            # The caller is already raising its own error; this one only frees the source.
            with contextlib.suppress(BaseException):
                source.get_result(token)

    def __repr__(self) -> str:
        return f"<SourceAwaiter source={self._source!r} token={self._token!r}>"

    __reduce_ex__ = refuse_copy


def _resume(awaiter: SourceAwaiter) -> None:
    # The continuation every bridge registers: a plain function, so registering it
    # allocates no bound method.
    callback = awaiter._callback
    if callback is None:  # abandoned, or this registration already resumed its Task
        return
    try:
        status = awaiter._source.get_status(awaiter._token)
    except TokenMismatchError:
        # Someone else consumed this operation while its Task waited (a copy of the
        # ValueTask awaited after it completed): wake the Task, whose result() raises the
        # mismatch, rather than leave it waiting forever.
        awaiter._callback = None
        callback(awaiter)
        return
    if status is PENDING:
        # A stale resume: posted for an abandoned registration of a reused (pooled)
        # awaiter that has since been re-armed for another Task, whose own operation has
        # not completed. Its real resume comes later.
        return
    awaiter._callback = None  # one resume per registration, even if a stale one comes too
    callback(awaiter)


def source_task(source: ValueTaskSource[T], token: int) -> ValueTask[T]:
    """`ValueTask.from_source` as a plain function: hot paths call this, since looking up
    a classmethod binds a method object (one allocation a call)."""
    task: ValueTask[T] = _new_value_task(ValueTask)
    task._awaitable = None
    task._source = source
    task._token = token
    task._awaited = False
    return task


def _awaiter_for(source: ValueTaskSource[Any], token: int) -> SourceAwaiter:
    make = getattr(source, "awaiter_for", None)
    if make is not None:
        return cast(SourceAwaiter, make(token))
    return SourceAwaiter(source, token)


class ValueTask(Generic[T]):
    """An awaitable made from a result, an awaitable, or a (source, token) pair."""

    __slots__ = ("_awaitable", "_awaited", "_result", "_source", "_token")

    def __init__(self, result: T) -> None:
        self._result = result
        self._awaitable: Awaitable[T] | None = None
        self._source: ValueTaskSource[T] | None = None
        self._token = 0
        self._awaited = False

    @classmethod
    def from_result(cls, result: T) -> ValueTask[T]:
        return cls(result)

    @classmethod
    def from_awaitable(cls, awaitable: Awaitable[T]) -> ValueTask[T]:
        task: ValueTask[T] = cls.__new__(cls)
        task._awaitable = awaitable
        task._source = None
        task._token = 0
        task._awaited = False
        return task

    @classmethod
    def from_source(cls, source: ValueTaskSource[T], token: int) -> ValueTask[T]:
        return source_task(source, token)

    @property
    def is_completed(self) -> bool:
        """True when `result()` would not raise NotCompletedError."""
        if self._source is not None:
            return self._source.get_status(self._token) is not PENDING
        awaitable = self._awaitable
        if awaitable is None:
            return True
        return isinstance(awaitable, asyncio.Future) and awaitable.done()

    def result(self) -> T:
        """The synchronous fast path: the value of a completed ValueTask, consumed once."""
        source = self._source
        if source is not None:
            if self._awaited:
                raise AlreadyAwaitedError()
            if source.get_status(self._token) is PENDING:
                raise NotCompletedError()
            self._awaited = True
            return source.get_result(self._token)
        awaitable = self._awaitable
        if awaitable is None:
            return self._result
        if isinstance(awaitable, asyncio.Future):
            if not awaitable.done():
                raise NotCompletedError()
            return cast(T, awaitable.result())
        raise NotCompletedError()

    def as_future(self) -> asyncio.Future[T]:
        """A real asyncio future with the same outcome: await it many times, gather it.

        This consumes the ValueTask at once (the future awaits it once, in a Task): from
        then on awaiting it, `result()` or a second `as_future()` raise AlreadyAwaitedError.
        """
        if self._source is None and self._awaitable is None:
            future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
            future.set_result(self._result)
            return future
        if self._awaitable is not None and isinstance(self._awaitable, asyncio.Future):
            return self._awaitable
        if self._source is not None:
            # Consumed now, not when the Task first runs: else an `await` in between would
            # win and the future would fail later with nobody to see it.
            if self._awaited:
                raise AlreadyAwaitedError()
            self._awaited = True
        return asyncio.ensure_future(self._await_once())

    preserve = as_future  # the .NET name

    async def _await_once(self) -> T:
        # Lift the mark as_future() set, for the one await made here: nothing else can
        # run between these two lines (same thread, no suspension).
        self._awaited = False
        return await self

    def __await__(self) -> Generator[Any, None, T]:
        source = self._source
        if source is None:
            awaitable = self._awaitable
            if awaitable is None:
                return self._result
            return (yield from awaitable.__await__())
        if self._awaited:
            raise AlreadyAwaitedError()
        self._awaited = True
        token = self._token
        if source.get_status(token) is PENDING:
            awaiter = _awaiter_for(source, token)
            try:
                yield awaiter
            except BaseException:
                awaiter.abandon()
                raise
        return source.get_result(token)

    def __repr__(self) -> str:
        if self._source is not None:
            return f"<ValueTask source={type(self._source).__name__} token={self._token}>"
        if self._awaitable is not None:
            return f"<ValueTask awaitable={self._awaitable!r}>"
        return f"<ValueTask result={self._result!r}>"

    __reduce_ex__ = refuse_copy


_new_value_task = object.__new__

__all__ = [
    "CANCELED",
    "FAULTED",
    "NOT_AN_EXCEPTION",
    "NO_CONTINUATION",
    "NO_COPY",
    "PENDING",
    "SUCCEEDED",
    "AlreadyAwaitedError",
    "AlreadyCompletedError",
    "CancellableSource",
    "CompletionFlags",
    "Continuation",
    "MultipleAwaitError",
    "NotCompletedError",
    "SourceAwaiter",
    "SourceStatus",
    "TokenMismatchError",
    "ValueTask",
    "ValueTaskError",
    "ValueTaskSource",
    "source_task",
]
