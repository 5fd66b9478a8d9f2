"""ReceiveSource: one reusable receive source per connected socket (AwaitableSocketAsyncEventArgs).

Rule 1: one receive at a time. A receive that does not complete at once (it waits, or it
        failed) is outstanding until its ValueTask is awaited (or `result()` taken); a
        second receive meanwhile raises `ReceiveInProgressError`.
Rule 2: the returned memoryview aliases the source's single buffer: it is valid until the
        next receive starts. Copy it (`bytes(view)`) to keep it longer.
Rule 3: bytes are never lost or reordered by the source: a cancelled receive keeps what it
        already got for the next one, an await cancelled after its receive completed gives
        the message back, and bytes read ahead are served by the next receives.
Rule 4: loop-thread only, like the socket methods of the loop it runs on.
Rule 5: close the source before its socket, or let the source own the socket
        (`ReceiveSource(sock, owns_socket=True)`: `close()` and `with` close both, the reader
        first). A socket closed while its source still watches it leaves the reader on the
        loop, and both asyncio and uvloop then keep the old registration for the next
        socket that gets the same fd, which would never become readable. A source that
        registers its reader removes such a stale one first, with a RuntimeWarning naming
        this rule; a source closed after its socket leaves the fd alone once another
        socket has it.

Theory of operation. The buffer holds the received, unread bytes at `[head:tail]`. A receive
is served from them when they suffice (no system call), else it tries `sock.recv_into` once;
either way a message that is whole comes back as `ValueTask(view)`: no suspension, no
future, no reader. Otherwise the receive starts an operation (the core's current version),
returns `ValueTask.from_source(self, version)`, and watches the socket with
`loop.add_reader`; each readable event reads once more, until the message is whole.
Consuming the result (`get_result`) resets the core: the version moves on and the old token
is rejected from then on.

    event \\ state        idle              waiting (wanted > 0)         completed
    -----------------   ---------------   --------------------------   ------------------
    receive*()          buffer/recv_into  ReceiveInProgressError       ReceiveInProgressError
    readable            remove_reader     recv_into; whole -> done     remove_reader
    get_result(token)   TokenMismatch     NotCompletedError            value/raise; reset
    cancel(token)       False             remove_reader; CANCELED      False
    close()             [close socket]    remove_reader; aborted;      [close socket]
                                          [close socket]

The reader is removed lazily: after a completion it stays registered, so a receiver that keeps
waiting (request/response) pays `add_reader`/`remove_reader` once, not per receive; the first
readable event that finds no receive waiting removes it (the poll is level-triggered, so
leaving it registered with nobody reading would spin the loop). A receive skips the
`recv_into` attempt when the socket is known to be empty (the last read got EAGAIN or came
back short, and the registered reader has not fired since; .NET's SocketAsyncContext keeps
the same "no readiness since the last EAGAIN" rule): a failed attempt costs an exception
(4 allocations, ~1 us), and the reader reports data on the next loop pass anyway.

Failure results: the peer closing mid-message raises `asyncio.IncompleteReadError` (an
EOFError) with the partial bytes and the expected count, as `StreamReader.readexactly` does;
`receive()` returns an empty view at EOF, as `sock.recv` returns b"". Socket errors
(ConnectionResetError, ...) are raised to the awaiter. Cancelling a pending receive (Task
cancellation reaches `cancel(token)`) removes the reader and leaves the source reusable.
"""

from __future__ import annotations

import asyncio
import os
import socket
import warnings

from vts.core import COMPLETED, EMPTY, ManualResetCore
from vts.valuetask import (
    NotCompletedError,
    SourceAwaiter,
    ValueTask,
    ValueTaskError,
    source_task,
)

DEFAULT_CAPACITY = 65536

_get_running_loop = asyncio._get_running_loop  # C function: None when no loop runs

# Ints above 256 are allocated by every arithmetic operation that yields one, so the paths
# below skip the arithmetic when the head is 0 (a message read straight to the front).


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


def _stale_reader_message(fd: int) -> str:
    return (
        f"a reader was still registered for fd {fd} on this loop: a socket that had this fd "
        "was closed while a ReceiveSource (or another reader) still watched it; close the "
        "source before its socket, or let the source own it: "
        "ReceiveSource(sock, owns_socket=True)"
    )


class _ReceiveAwaiter(SourceAwaiter):
    """The source's one bridge. An await interrupted after its receive completed (the Task
    was cancelled before it resumed) puts the message back, so the next receive gets it."""

    __slots__ = ()

    def abandon(self) -> None:
        source = self._source
        if isinstance(source, ReceiveSource):
            source._unread(self._token)
        super().abandon()


class ReceiveSource(ManualResetCore[memoryview]):
    """A reusable receive source for one connected non-blocking socket.

    Trades: no future, no coroutine, no exception and no reader registration per receive,
    and a result that is a view into one preallocated buffer, at the price of the rules
    above: one receive at a time, and a view that the next receive overwrites. What it
    cannot shed on CPython: a ValueTask object and its `__await__` generator per receive
    (two allocations where an `async def` that returns at once costs one), and, when a
    receive waits, the duck-typed bridge between the source and the Task (see
    vts.valuetask.SourceAwaiter): a waiting receive costs more than awaiting a plain future.

    `read_ahead=True` (the default) reads whatever fits the buffer and serves the next
    receives from it without a system call; the source then owns the socket's receive side.
    `read_ahead=False` reads at most what the current receive asked for (one `recv_into`
    per message, and the result view is reused while messages keep one length). The socket
    stays the caller's unless `owns_socket=True`: `close()` stops the source and leaves the
    socket open, so close the source first (Rule 5); an owning source closes the socket
    too, after its reader is gone, and `with ReceiveSource(sock, owns_socket=True)` does
    both in that order.
    """

    __slots__ = (
        "_awaiter",
        "_buffer",
        "_closed",
        "_drained",
        "_fd",
        "_head",
        "_inode",
        "_minimum",
        "_on_readable_cb",
        "_reader_loop",
        "_recv_into",
        "_result_count",
        "_result_head",
        "_result_view",
        "_sock",
        "_tail",
        "_view",
        "_wanted",
        "capacity",
        "owns_socket",
        "read_ahead",
    )

    def __init__(
        self,
        sock: socket.socket,
        capacity: int = DEFAULT_CAPACITY,
        *,
        read_ahead: bool = True,
        owns_socket: bool = False,
    ) -> None:
        if sock.gettimeout() != 0.0:
            raise ValueError(
                "ReceiveSource needs a non-blocking socket; call sock.setblocking(False) first"
            )
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        super().__init__()
        self.capacity = capacity
        self.read_ahead = read_ahead
        self.owns_socket = owns_socket
        self._sock = sock
        self._fd = sock.fileno()
        # The socket's identity beyond its fd number, which the kernel reuses once closed.
        self._inode = os.fstat(self._fd).st_ino
        self._recv_into = sock.recv_into
        self._buffer = bytearray(capacity)  # the one buffer, allocated once
        self._view = memoryview(self._buffer)
        # Received, unread bytes are buffer[_head:_tail]. Taking a message only moves _head:
        # bytes move (compaction) or are overwritten (reads) by the next receive (Rule 2).
        self._head = 0
        self._tail = 0
        self._wanted = 0  # > 0 while a receive is under way: at most this many bytes ...
        self._minimum = 0  # ... and it completes once it has this many
        # The last result view, reused while results keep one place and length (len() of a
        # view would allocate its int, so the length is kept beside it).
        self._result_view = self._view[:0]
        self._result_head = 0
        self._result_count = 0
        self._reader_loop: asyncio.AbstractEventLoop | None = None
        self._drained = False  # the last read emptied the socket, and no readable event since
        self._on_readable_cb = self._on_readable  # bound once: add_reader gets no new method
        self._awaiter: SourceAwaiter | None = None
        self._closed = False

    # -- receiving ------------------------------------------------------------------

    def receive_exactly(self, nbytes: int) -> ValueTask[memoryview]:
        """Receive one message of exactly `nbytes` (1..capacity).

        Raises `asyncio.IncompleteReadError` (with the partial bytes) if the peer closes first.
        """
        # The hot path, inlined (a call costs ~100 ns): the message was read ahead and no
        # receive is under way. _start + _take otherwise.
        head, tail = self._head, self._tail
        if tail > head:
            end = head + nbytes
            if (
                end <= tail
                and nbytes > 0
                and not (self._wanted or self._closed)
                and self._state == EMPTY
            ):
                self._head = end
                view = self._result_view
                if head != self._result_head or nbytes != self._result_count:
                    view = self._result_view = self._view[head:end]
                    self._result_head, self._result_count = head, nbytes
                return ValueTask(view)
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
        head, tail = self._head, self._tail
        if head == tail:  # nothing unread: start again at the front (Rule 2: the last view goes)
            head = tail = self._head = self._tail = 0
        self._wanted, self._minimum = wanted, minimum
        if tail - head >= minimum:  # served from bytes read ahead: no system call
            return ValueTask(self._take())
        if head and head + wanted > self.capacity:
            self._compact()
        if self._drained and self._reader_loop is not None and self._sock.fileno() == self._fd:
            self._watch()  # known to be empty: the reader reports the next data (see top)
        else:
            view = self._attempt()
            if view is not None:  # completed at once: a plain result, the core stays idle
                return ValueTask(view)
        return source_task(self, self._version)  # waiting, or failed at once

    def _compact(self) -> None:
        """Move the unread bytes to the front, so the message fits behind them."""
        head, tail = self._head, self._tail
        left = tail - head
        if left <= head:
            self._buffer[:left] = self._view[head:tail]
        else:  # overlapping: bytearray slice assignment memcpy()s, so copy first
            self._buffer[:left] = bytes(self._view[head:tail])
        self._head, self._tail = 0, left

    def _attempt(self) -> memoryview | None:
        """Read once. The message when it is whole; else None, and either the reader is
        watching the socket or the core was completed with the error."""
        head, tail = self._head, self._tail
        wanted = self._wanted
        limit = self.capacity if self.read_ahead else (head + wanted if head else wanted)
        try:
            if tail:
                got = self._recv_into(self._view[tail:limit])
            else:
                got = self._recv_into(self._view, limit)
        except (BlockingIOError, InterruptedError):
            self._drained = True
            self._watch()
            return None
        except Exception as exc:  # a reset connection, a closed fd: the awaiter's to handle
            self._fail(exc)
            return None
        if got == 0:
            return self._at_eof()
        self._tail = tail = tail + got if tail else got
        self._drained = tail < limit  # a short read emptied the socket's queue
        if (tail - head if head else tail) >= self._minimum:
            return self._take()
        self._watch()  # a partial message: the rest is rarely there yet, so wait, not retry
        return None

    def _take(self) -> memoryview:
        """End the receive with what is buffered (up to what it wanted): the result view."""
        head, tail = self._head, self._tail
        count = tail - head if head else tail
        if count > self._wanted:
            count = self._wanted
        end = head + count if head else count
        self._wanted = 0
        self._head = end
        view = self._result_view
        if head != self._result_head or count != self._result_count:
            view = self._result_view = self._view[head:end]
            self._result_head, self._result_count = head, count
        return view

    def _fail(self, exc: BaseException) -> None:
        self._wanted = 0
        self._stop_watching()
        self.set_exception(exc)

    def _at_eof(self) -> memoryview | None:
        if self._minimum == 1:  # receive(): an empty view, as sock.recv returns b""
            return self._take()
        partial, expected = bytes(self._view[self._head : self._tail]), self._wanted
        self._head = self._tail = 0
        self._fail(asyncio.IncompleteReadError(partial, expected))
        return None

    # -- the reader -------------------------------------------------------------------

    def _watch(self) -> None:
        loop = _get_running_loop()
        if loop is self._reader_loop:
            return  # still registered from an earlier receive (lazy removal)
        if loop is None:
            self._wanted = 0
            raise RuntimeError("a pending receive needs a running event loop")
        self._stop_watching()
        fd = self._fd
        if loop.remove_reader(fd):
            # Nobody else reads this socket, so a reader here was left by a socket that
            # had this fd and was closed while watched. Re-registering over it would keep
            # the old registration, and this socket would never be reported readable.
            warnings.warn(_stale_reader_message(fd), RuntimeWarning, stacklevel=2)
        loop.add_reader(fd, self._on_readable_cb)
        self._reader_loop = loop

    def _stop_watching(self) -> None:
        loop, self._reader_loop = self._reader_loop, None
        if loop is not None and not loop.is_closed() and self._fd_is_ours():
            loop.remove_reader(self._fd)

    def _fd_is_ours(self) -> bool:
        """Whether removing the fd's reader can only touch this source's registration: the
        socket is open, or it was closed and no other socket has taken its fd since."""
        if self._sock.fileno() == self._fd:
            return True
        try:
            os.fstat(self._fd)
        except OSError:
            return True  # the fd is free: the stale registration is ours to remove
        return False  # another file has the fd now: its reader is not ours

    def _on_readable(self) -> None:
        self._drained = False
        if self._wanted:
            view = self._attempt()
            if view is not None:
                self.set_result(view)
        else:  # nobody is receiving: stop watching, or the level-triggered poll spins
            self._stop_watching()

    @property
    def reading(self) -> bool:
        """True while a reader is registered for the socket (for tests and tooling)."""
        return self._reader_loop is not None

    # -- the protocol -------------------------------------------------------------------

    def awaiter_for(self, token: int) -> SourceAwaiter:
        """The one bridge of this source, re-armed for `token`; a new one while it is
        registered (a second concurrent await, which its on_completed then refuses)."""
        awaiter = self._awaiter
        if awaiter is None:
            awaiter = self._awaiter = _ReceiveAwaiter(self, token)
        elif awaiter.registered:
            return SourceAwaiter(self, token)
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

    def _unread(self, token: int) -> None:
        """Give the completed receive's message back to the buffer (Rule 3)."""
        if token == self._version and self._state >= COMPLETED and self._exception is None:
            self._head = self._result_head

    def cancel(self, token: int) -> bool:
        """Abandon a pending receive (bytes received so far stay for the next one)."""
        if token != self._version or not self._wanted:
            return False  # already completed: the result wins
        self._wanted = 0
        self._stop_watching()
        self.set_exception(asyncio.CancelledError())
        return True

    def close(self) -> None:
        """Stop watching the socket and fail a pending receive; then close the socket if the
        source owns it (`owns_socket=True`), else it stays open (close it after this)."""
        if self._closed:
            return
        self._closed = True
        if self._wanted:
            self._fail(ConnectionAbortedError("the ReceiveSource was closed during a receive"))
        self._stop_watching()
        if self.owns_socket:
            self._sock.close()

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
