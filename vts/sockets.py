"""ReceiveSource: one reusable receive source per connected socket (AwaitableSocketAsyncEventArgs).

Rule 1: one receive at a time. A receive is outstanding from `receive*()` until its ValueTask
        is awaited (or `result()` taken); a second receive meanwhile raises
        `ReceiveInProgressError`.
Rule 2: the returned memoryview aliases the source's single buffer: it is valid until the
        next receive starts. Copy it (`bytes(view)`) to keep it longer.
Rule 3: bytes are never lost or reordered by the source: it reads at most what the current
        receive asked for, and a cancelled receive keeps what it already got for the next.
Rule 4: loop-thread only, like the socket methods of the loop it runs on.

Theory of operation. `receive_exactly(n)` starts an operation (the core's current version)
and tries `sock.recv_into` at once; when the message is already there it completes the
source before returning, so the caller's `await` takes the synchronous path (no suspension,
no future, no reader). Otherwise the source watches the socket with `loop.add_reader` and each
readable event reads once more, until the message is whole. Consuming the result (`get_result`)
resets the core: the version moves on and the old token is rejected from then on.

    event \\ state        idle (EMPTY)      reading (wanted > 0)         completed
    -----------------   ---------------   --------------------------   ------------------
    receive*()          try recv_into     ReceiveInProgressError       ReceiveInProgressError
    readable            remove_reader     recv_into; whole -> done     (reader fires: idle)
    get_result(token)   NotCompleted      NotCompleted                 value/raise; reset
    cancel(token)       False             remove_reader; CANCELED      False
    close()             -                 remove_reader; aborted       -

The reader is removed lazily: after a completion it stays registered, so a receiver that keeps
waiting (request/response) pays `add_reader`/`remove_reader` once, not per receive; the first
readable event with no receive outstanding removes it (the selector is level-triggered, so
leaving it registered with nobody reading would spin the loop).

Failure results: the peer closing mid-message raises `asyncio.IncompleteReadError` (an
EOFError) with the partial bytes and the expected count, as `StreamReader.readexactly` does;
`receive()` returns an empty view at EOF, as `sock.recv` returns b"". Socket errors
(ConnectionResetError, ...) are raised to the awaiter. Cancelling a pending receive (Task
cancellation reaches `cancel(token)`) removes the reader and leaves the source reusable.
"""

from __future__ import annotations

import asyncio
import socket

from vts.core import COMPLETED, EMPTY, ManualResetCore
from vts.valuetask import NotCompletedError, SourceAwaiter, ValueTask, ValueTaskError

DEFAULT_CAPACITY = 65536

_get_running_loop = asyncio._get_running_loop  # C function: None when no loop runs
_from_source = ValueTask.from_source  # bound once: a classmethod lookup allocates per call


class ReceiveInProgressError(ValueTaskError):
    """A receive was started while another is outstanding on the same source."""

    def __init__(self) -> None:
        super().__init__(
            "a receive is already outstanding on this source; await its ValueTask (or cancel "
            "it) before starting another: one ReceiveSource serves one receive at a time"
        )


class ReceiveSourceClosedError(ValueTaskError):
    """A receive was started on a closed source."""

    def __init__(self) -> None:
        super().__init__("this ReceiveSource is closed; create a new one to receive again")


class ReceiveSource(ManualResetCore[memoryview]):
    """A reusable receive source for one connected non-blocking socket.

    Trades: no future, no coroutine and no reader registration per receive, and a result
    that is a view into one preallocated buffer, at the price of the two rules above: one
    receive at a time, and a view that the next receive overwrites. The socket stays the
    caller's: `close()` stops the source and leaves the socket open.
    """

    __slots__ = (
        "_awaiter",
        "_buffer",
        "_closed",
        "_consumed",
        "_fd",
        "_filled",
        "_minimum",
        "_on_readable_cb",
        "_reader_loop",
        "_recv_into",
        "_result_view",
        "_view",
        "_wanted",
        "capacity",
    )

    def __init__(self, sock: socket.socket, capacity: int = DEFAULT_CAPACITY) -> None:
        if sock.gettimeout() != 0.0:
            raise ValueError(
                "ReceiveSource needs a non-blocking socket; call sock.setblocking(False) first"
            )
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        super().__init__()
        self.capacity = capacity
        self._fd = sock.fileno()
        self._recv_into = sock.recv_into
        self._buffer = bytearray(capacity)  # the one buffer, allocated once
        self._view = memoryview(self._buffer)
        self._result_view = self._view[:0]  # reused while messages keep one length
        self._filled = 0  # bytes in buffer[:_filled] that were received
        self._consumed = 0  # of those, bytes delivered by the last completed receive
        self._wanted = 0  # > 0 while a receive is reading: at most this many bytes
        self._minimum = 0  # ... and it completes once it has this many
        self._reader_loop: asyncio.AbstractEventLoop | None = None
        self._on_readable_cb = self._on_readable  # bound once: add_reader gets no new method
        self._awaiter: SourceAwaiter | None = None
        self._closed = False

    # -- receiving ------------------------------------------------------------------

    def receive_exactly(self, nbytes: int) -> ValueTask[memoryview]:
        """Receive one message of exactly `nbytes` (1..capacity).

        Raises `asyncio.IncompleteReadError` (with the partial bytes) if the peer closes first.
        """
        if not 0 < nbytes <= self.capacity:
            raise ValueError(f"nbytes must be in 1..{self.capacity} (the capacity), got {nbytes}")
        return self._start(nbytes, nbytes)

    def receive(self, max_bytes: int | None = None) -> ValueTask[memoryview]:
        """Receive what is available, 1..max_bytes bytes (default: capacity); b"" at EOF."""
        wanted = self.capacity if max_bytes is None else max_bytes
        if not 0 < wanted <= self.capacity:
            raise ValueError(
                f"max_bytes must be in 1..{self.capacity} (the capacity), got {max_bytes}"
            )
        return self._start(wanted, 1)

    def _start(self, wanted: int, minimum: int) -> ValueTask[memoryview]:
        if self._closed:
            raise ReceiveSourceClosedError()
        if self._wanted or self._state != EMPTY:
            raise ReceiveInProgressError()
        consumed = self._consumed
        if consumed:  # the previous result's bytes are released now (Rule 2)
            self._consumed = 0
            left = self._filled - consumed
            if left:  # only after a cancel or a shorter request: keep the stream's order
                # bytes() first: bytearray slice assignment memcpy()s, and these overlap
                self._buffer[:left] = bytes(self._view[consumed : consumed + left])
            self._filled = left
        self._wanted, self._minimum = wanted, minimum
        token = self._version
        if self._filled >= minimum:
            self._succeed()
        else:
            self._read()
        return _from_source(self, token)

    def _read(self) -> None:
        """One attempt: complete the receive, or wait for the socket to become readable."""
        filled = self._filled
        try:
            if filled:
                got = self._recv_into(self._view[filled : self._wanted])
            else:
                got = self._recv_into(self._view, self._wanted)
        except (BlockingIOError, InterruptedError):
            self._watch()
            return
        except Exception as exc:  # a reset connection, a closed fd: the awaiter's to handle
            self._fail(exc)
            return
        if got == 0:
            self._at_eof()
            return
        self._filled = filled = filled + got
        if filled >= self._minimum:
            self._succeed()
        else:  # a partial message: the rest is rarely there yet, so wait rather than retry
            self._watch()

    def _succeed(self) -> None:
        count = min(self._filled, self._wanted)
        self._wanted = 0
        self._consumed = count
        view = self._result_view
        if len(view) != count:
            view = self._result_view = self._view[:count]
        self.set_result(view)

    def _fail(self, exc: BaseException) -> None:
        self._wanted = 0
        self._stop_watching()
        self.set_exception(exc)

    def _at_eof(self) -> None:
        if self._minimum == 1:  # receive(): an empty view, as sock.recv returns b""
            self._filled = 0
            self._succeed()
            return
        partial, expected = bytes(self._view[: self._filled]), self._wanted
        self._filled = 0
        self._fail(asyncio.IncompleteReadError(partial, expected))

    # -- the reader -------------------------------------------------------------------

    def _watch(self) -> None:
        loop = _get_running_loop()
        if loop is self._reader_loop:
            return  # still registered from an earlier receive (lazy removal)
        if loop is None:
            self._wanted = 0
            raise RuntimeError("a pending receive needs a running event loop")
        self._stop_watching()
        loop.add_reader(self._fd, self._on_readable_cb)
        self._reader_loop = loop

    def _stop_watching(self) -> None:
        loop, self._reader_loop = self._reader_loop, None
        if loop is not None and not loop.is_closed():
            loop.remove_reader(self._fd)

    def _on_readable(self) -> None:
        if self._wanted:
            self._read()
        else:  # nobody is receiving: stop watching, or the level-triggered poll spins
            self._stop_watching()

    @property
    def reading(self) -> bool:
        """True while a reader is registered for the socket (for tests and tooling)."""
        return self._reader_loop is not None

    # -- the protocol -------------------------------------------------------------------

    def awaiter_for(self, token: int) -> SourceAwaiter:
        """The one bridge of this source, re-armed for `token`."""
        awaiter = self._awaiter
        if awaiter is None:
            awaiter = self._awaiter = SourceAwaiter(self, token)
        else:
            awaiter.rearm(self, token)
        return awaiter

    def get_result(self, token: int) -> memoryview:
        """The received view (or the error), exactly once: consuming it ends the receive."""
        self._check(token)
        if self._state < COMPLETED:
            raise NotCompletedError()
        try:
            return ManualResetCore.get_result(self, token)  # not super(): no proxy object
        finally:
            self.reset()

    def cancel(self, token: int) -> bool:
        """Abandon a pending receive (bytes received so far stay for the next one)."""
        if token != self._version or not self._wanted:
            return False  # already completed: the result wins
        self._wanted = 0
        self._stop_watching()
        self.set_exception(asyncio.CancelledError())
        return True

    def close(self) -> None:
        """Stop watching the socket and fail a pending receive; the socket stays open."""
        if self._closed:
            return
        self._closed = True
        if self._wanted:
            self._fail(ConnectionAbortedError("the ReceiveSource was closed during a receive"))
        self._stop_watching()

    def __enter__(self) -> ReceiveSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


__all__ = [
    "DEFAULT_CAPACITY",
    "ReceiveInProgressError",
    "ReceiveSource",
    "ReceiveSourceClosedError",
]
