"""vts.sockets and the socket scenarios: the reusable receive source, the four paths.

Every test runs on asyncio and uvloop (`run` / `event_loop_kind` from conftest; the loop's
exception handler fails a test when a callback raised, e.g. a receive completed twice).
Connections are real loopback TCP (`connected_pair`): the client end is non-blocking and
read by the code under test, the server end is blocking and written by the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import re
import socket
import struct
import threading
import warnings
from collections.abc import Callable, Coroutine, Iterator
from itertools import repeat
from typing import Any

import psutil
import pytest
from socket_driver import expected_checksum, run_receives

from vts.sockets import ReceiveInProgressError, ReceiveSource, ReceiveSourceClosedError
from vts.suite.loops import new_event_loop
from vts.suite.scenarios.receive_paths import RECEIVE_PATHS
from vts.suite.scenarios.socket_harness import FEEDS, SocketWorkload, connected_pair
from vts.suite.scenarios.sockets import MESSAGE_SIZES
from vts.valuetask import AlreadyAwaitedError, MultipleAwaitError, TokenMismatchError, ValueTask

Run = Callable[[Coroutine[Any, Any, Any]], Any]


@contextlib.contextmanager
def socket_batch(path: str, size: int, loop_kind: str, feed: str) -> Iterator[SocketWorkload]:
    """A SocketWorkload on a loop of its own; both closed on exit."""
    loop = new_event_loop(loop_kind)
    try:
        with SocketWorkload(path, size, loop, feed) as workload:
            yield workload
    finally:
        loop.close()

IN_PROGRESS = (
    r"^a receive is already outstanding on this source; await its ValueTask \(or cancel it\) "
    r"before starting another: one ReceiveSource serves one receive at a time$"
)
STALE_READER = (
    r"^a reader was still registered for fd \d+ on this loop: a socket that had this fd was "
    r"closed while a ReceiveSource \(or another reader\) still watched it; close the source "
    r"before its socket, or let the source own it: ReceiveSource\(sock, owns_socket=True\)$"
)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    client, server = connected_pair()
    server.settimeout(5)
    try:
        yield client, server
    finally:
        client.close()
        server.close()


async def _ticks(n: int = 3) -> None:
    """Let the loop run n passes (enough for a loopback write to reach a reader)."""
    for _ in repeat(None, n):
        await asyncio.sleep(0)


def _has_reader(fd: int) -> bool:
    """Whether the running asyncio loop watches fd (uvloop exposes no such query)."""
    loop = asyncio.get_running_loop()
    selector = getattr(loop, "_selector", None)
    if selector is None:
        pytest.skip("only the stock loop exposes its selector")
    try:
        key = selector.get_key(fd)
    except KeyError:
        return False
    return bool(key.data[0] is not None)


# -- ReceiveSource: the two paths -----------------------------------------------------------


def test_a_message_already_there_completes_at_once(run: Run, pair: Any) -> None:
    client, server = pair

    async def main() -> None:
        source = ReceiveSource(client)
        server.sendall(b"0123456789")
        await _ticks()
        first = source.receive_exactly(4)
        assert first.is_completed
        assert bytes(await first) == b"0123"
        second = source.receive_exactly(6)  # read ahead: served from the buffer
        assert second.is_completed
        assert bytes(second.result()) == b"456789"
        assert not source.reading
        source.close()

    run(main())


def test_a_pending_receive_completes_when_the_data_arrives(run: Run, pair: Any) -> None:
    client, server = pair

    async def main() -> None:
        source = ReceiveSource(client)
        pending = source.receive_exactly(5)
        assert not pending.is_completed
        assert source.reading
        asyncio.get_running_loop().call_soon(server.sendall, b"hel")
        asyncio.get_running_loop().call_later(0.01, server.sendall, b"lo")
        assert bytes(await pending) == b"hello"
        source.close()
        assert not source.reading

    run(main())


def test_without_read_ahead_the_socket_keeps_what_was_not_asked_for(run: Run, pair: Any) -> None:
    client, server = pair

    async def main() -> None:
        source = ReceiveSource(client, read_ahead=False)
        server.sendall(b"abcdefgh")
        await _ticks()
        assert bytes(await source.receive_exactly(3)) == b"abc"
        assert client.recv(100) == b"defgh"
        source.close()

    run(main())


def test_receive_returns_what_is_there_and_an_empty_view_at_eof(run: Run, pair: Any) -> None:
    client, server = pair

    async def main() -> None:
        source = ReceiveSource(client)
        server.sendall(b"abc")
        await _ticks()
        assert bytes(await source.receive(100)) == b"abc"
        server.shutdown(socket.SHUT_WR)
        assert bytes(await source.receive()) == b""
        source.close()

    run(main())


def test_read_ahead_serves_messages_of_any_size_in_order(run: Run, pair: Any) -> None:
    """A 16-byte buffer and messages of 1..16 bytes: messages cross the buffer's end, so the
    unread bytes move to the front (overlapping or not); the stream comes out intact."""
    client, server = pair
    stream = bytes(range(256)) * 4
    sizes = [random.Random(7).randint(1, 16) for _ in range(300)]

    async def feed() -> None:
        # In pieces, so some receives wait. One task, not a timer per piece: uvloop runs a
        # call_later(0) as call_soon, after any libuv timer that is already due (1 ms).
        for offset in range(0, len(stream), 100):
            server.sendall(stream[offset : offset + 100])
            await asyncio.sleep(0.001)

    async def main() -> None:
        source = ReceiveSource(client, 16)
        feeding = asyncio.ensure_future(feed())
        received, total = bytearray(), 0
        for size in sizes:
            if total + size > len(stream):
                break
            received += await source.receive_exactly(size)
            total += size
        assert bytes(received) == stream[:total]
        await feeding
        source.close()

    run(main())


def test_after_a_wait_a_receive_still_completes_at_once_when_data_is_there(
    run: Run, pair: Any
) -> None:
    """Only a socket known to be empty (short read or EAGAIN, no readable event since) makes
    a receive wait for the reader instead of trying recv_into first."""
    client, server = pair

    async def main() -> None:
        source = ReceiveSource(client, read_ahead=False)
        first = source.receive_exactly(4)
        assert not first.is_completed
        server.sendall(b"aaaabbbb")
        assert bytes(await first) == b"aaaa"
        second = source.receive_exactly(4)  # the full read did not drain the socket
        assert second.is_completed
        assert bytes(await second) == b"bbbb"
        source.close()

    run(main())


# -- failures --------------------------------------------------------------------------------


def test_eof_mid_message_raises_incomplete_read_with_the_partial_bytes(run: Run, pair: Any) -> None:
    client, server = pair

    async def main() -> None:
        source = ReceiveSource(client)
        pending = source.receive_exactly(20)
        server.sendall(b"0123456789")
        server.shutdown(socket.SHUT_WR)
        with pytest.raises(asyncio.IncompleteReadError) as caught:
            await pending
        assert (caught.value.partial, caught.value.expected) == (b"0123456789", 20)
        assert isinstance(caught.value, EOFError)
        with pytest.raises(asyncio.IncompleteReadError) as again:  # and at once from then on
            await source.receive_exactly(4)
        assert (again.value.partial, again.value.expected) == (b"", 4)
        assert not source.reading
        source.close()

    run(main())


def _reset(server: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets a RST instead of a FIN."""
    server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    server.close()


def test_a_reset_connection_raises_to_the_pending_awaiter(run: Run, pair: Any) -> None:
    client, server = pair

    async def main() -> None:
        source = ReceiveSource(client)
        pending = source.receive_exactly(8)
        asyncio.get_running_loop().call_soon(_reset, server)
        with pytest.raises(ConnectionResetError):
            await pending
        assert not source.reading
        source.close()

    run(main())


def test_a_reset_before_the_receive_raises_at_its_await(run: Run, pair: Any) -> None:
    client, server = pair

    async def main() -> None:
        source = ReceiveSource(client)
        _reset(server)
        await _ticks()
        task = source.receive_exactly(8)
        assert task.is_completed  # failed at once, delivered at the await
        with pytest.raises(ConnectionResetError):
            await task
        source.close()

    run(main())


def test_cancelling_a_pending_receive_removes_the_reader_and_keeps_the_source(
    run: Run, event_loop_kind: str, pair: Any
) -> None:
    client, server = pair

    async def main() -> None:
        source = ReceiveSource(client)
        server.sendall(b"abc")  # part of the message: kept for the next receive (Rule 3)
        task = asyncio.ensure_future(source.receive_exactly(8).as_future())
        await _ticks()
        assert source.reading and not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not source.reading
        if event_loop_kind == "asyncio":
            assert not _has_reader(client.fileno())
        server.sendall(b"defgh")
        assert bytes(await source.receive_exactly(8)) == b"abcdefgh"
        source.close()

    run(main())


def test_cancel_after_completion_loses_to_the_result(run: Run, pair: Any) -> None:
    client, server = pair

    async def main() -> None:
        source = ReceiveSource(client)
        pending = source.receive_exactly(2)
        token = source.version
        server.sendall(b"ok")
        await asyncio.sleep(0.01)
        assert pending.is_completed
        assert source.cancel(token) is False
        assert bytes(await pending) == b"ok"
        source.close()

    run(main())


def test_an_await_cancelled_after_its_receive_completed_gives_the_message_back(
    run: Run, pair: Any
) -> None:
    """What a Task does when it is cancelled between the completion and its resumption:
    the CancelledError is thrown in at the await's suspension point."""
    client, server = pair

    async def main() -> None:
        source = ReceiveSource(client)
        pending = source.receive_exactly(4)
        suspended = pending.__await__()
        next(suspended)  # suspended on the source's awaiter
        server.sendall(b"abcdwxyz")
        await asyncio.sleep(0.01)
        assert pending.is_completed
        with pytest.raises(asyncio.CancelledError):
            suspended.throw(asyncio.CancelledError())
        assert bytes(await source.receive_exactly(4)) == b"abcd"
        assert bytes(await source.receive_exactly(4)) == b"wxyz"
        source.close()

    run(main())


def test_a_second_concurrent_receive_is_rejected(run: Run, pair: Any) -> None:
    client, server = pair

    async def main() -> None:
        source = ReceiveSource(client)
        first = source.receive_exactly(4)
        with pytest.raises(ReceiveInProgressError, match=IN_PROGRESS):
            source.receive_exactly(4)
        with pytest.raises(ReceiveInProgressError, match=IN_PROGRESS):
            source.receive()
        server.sendall(b"data")
        assert bytes(await first) == b"data"
        source.close()

    run(main())


@pytest.mark.timeout(30)
def test_a_second_concurrent_await_of_one_receive_raises_in_its_task(run: Run, pair: Any) -> None:
    """A copy of a pending receive's ValueTask awaited in a second Task: that Task raises
    MultipleAwaitError (the source's one awaiter stays the first Task's), the first gets
    the message."""
    client, server = pair

    async def main() -> None:
        source = ReceiveSource(client)
        pending = source.receive_exactly(4)
        copy = ValueTask.from_source(source, source.version)
        first = asyncio.ensure_future(_await(pending))
        await _ticks()
        second = asyncio.ensure_future(_await(copy))
        await _ticks()
        assert second.done(), "the second await never finished"
        with pytest.raises(MultipleAwaitError, match=r"^multiple awaits detected: "):
            second.result()
        server.sendall(b"data")
        assert bytes(await asyncio.wait_for(first, 5)) == b"data"
        source.close()

    run(main())


async def _await(awaitable: Any) -> Any:
    return await awaitable


def test_a_consumed_receive_is_rejected_by_its_token(run: Run, pair: Any) -> None:
    client, server = pair

    async def main() -> None:
        source = ReceiveSource(client)
        pending = source.receive_exactly(4)
        token = source.version
        server.sendall(b"data")
        await pending
        with pytest.raises(AlreadyAwaitedError):
            await pending
        with pytest.raises(TokenMismatchError):
            source.get_result(token)
        source.close()

    run(main())


def test_close_fails_a_pending_receive_and_rejects_new_ones(run: Run, pair: Any) -> None:
    client, _ = pair

    async def main() -> None:
        source = ReceiveSource(client)
        pending = source.receive_exactly(4)
        source.close()
        assert not source.reading
        with pytest.raises(
            ConnectionAbortedError, match=r"^the ReceiveSource was closed during a receive$"
        ):
            await pending
        with pytest.raises(
            ReceiveSourceClosedError,
            match=r"^this ReceiveSource is closed; create a new one to receive again$",
        ):
            source.receive_exactly(4)

    run(main())


def test_a_blocking_socket_is_refused(pair: Any) -> None:
    _, server = pair
    with pytest.raises(
        ValueError,
        match=re.escape(
            "ReceiveSource needs a non-blocking socket; call sock.setblocking(False) first"
        ),
    ):
        ReceiveSource(server)


def test_a_message_larger_than_the_buffer_is_refused(pair: Any) -> None:
    client, _ = pair
    source = ReceiveSource(client, 16)
    with pytest.raises(ValueError, match=r"^nbytes must be in 1\.\.16 \(the capacity\), got 17$"):
        source.receive_exactly(17)


# -- races -----------------------------------------------------------------------------------

RACE_ROUNDS = 300


def test_a_receive_racing_the_data_completes_exactly_once(run: Run, pair: Any) -> None:
    """A thread writes each message while the receive is being issued: the data lands before
    the recv_into attempt, between it and add_reader, or after; each message arrives once.

    A new source per round, so every round takes the attempt-first path (a source whose
    reader is still registered waits for it instead), and the same source for a second
    batch of rounds, so the reader path races too.
    """
    client, server = pair
    go = threading.Lock()
    go.acquire()
    stop = False

    def writer() -> None:
        for sequence in range(2 * RACE_ROUNDS):
            go.acquire()
            if stop:
                return
            server.sendall(sequence.to_bytes(8, "big"))

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()

    async def main() -> None:
        for sequence in range(RACE_ROUNDS):
            with ReceiveSource(client, read_ahead=False) as source:
                go.release()
                message = await source.receive_exactly(8)
                assert int.from_bytes(message, "big") == sequence
        with ReceiveSource(client, read_ahead=False) as source:
            for sequence in range(RACE_ROUNDS, 2 * RACE_ROUNDS):
                go.release()
                message = await source.receive_exactly(8)
                assert int.from_bytes(message, "big") == sequence
            await asyncio.sleep(0.01)
            assert not source.receive(8).is_completed  # nothing extra was delivered

    try:
        run(main())
    finally:
        stop = True
        go.release()
        thread.join(5)


# -- the four paths -------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(RECEIVE_PATHS))
@pytest.mark.parametrize(("size", "count"), [(64, 3000), (65536, 200)])
def test_every_path_delivers_the_exact_bytes(run: Run, path: str, size: int, count: int) -> None:
    figures = run(run_receives(path, size, count))
    assert figures.messages == count
    assert figures.checksum == expected_checksum(size, count)
    assert figures.p50_ns <= figures.p99_ns <= figures.max_ns
    assert figures.mb_per_s > 0


def test_a_full_run_of_every_path_leaks_no_fd_and_warns_nothing(event_loop_kind: str) -> None:
    process = psutil.Process()
    gc.collect()
    before = process.num_fds()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for path in RECEIVE_PATHS:
            loop = new_event_loop(event_loop_kind)
            try:
                loop.run_until_complete(run_receives(path, 4096, 200))
                loop.run_until_complete(run_receives(path, 64, 10**9, max_seconds=0.05))
            finally:
                loop.close()
            for feed in FEEDS:
                with socket_batch(path, 4096, event_loop_kind, feed) as batch:
                    batch(50)
        gc.collect()
    assert process.num_fds() == before
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_message_sizes() -> None:
    assert MESSAGE_SIZES == (64, 4096, 65536)


# -- allocations ----------------------------------------------------------------------------


@pytest.mark.parametrize("feed", ["lockstep", "ready"])
def test_allocations_per_receive_stay_constant_over_10000_receives(
    event_loop_kind: str, feed: str
) -> None:
    """One source, one connection: the count per receive is the same at 2k/4k and 5k/10k
    receives (nothing grows per receive). lockstep: every receive waits once; ready: every
    receive completes at once. Both are deterministic (the stream feed is not).

    Six rounds: a whole run now and then costs 1-3 allocations more (on either loop, about
    one run in four); the counter keeps each length's cheapest run, and six rounds make it
    very unlikely that no run of a length is clean."""
    allocs = pytest.importorskip("vts.suite.measure.allocs")
    pytest.importorskip("vts.suite.measure._alloccount")
    with socket_batch("reusable_source", 64, event_loop_kind, feed) as batch:
        short = allocs.measure_batch(batch, short=2000, long=4000, warmup=500, rounds=6)
        long = allocs.measure_batch(batch, short=5000, long=10_000, warmup=500, rounds=6)
    # Equal within the shorter measurement's resolution (a run's fixed cost can still
    # differ by a few allocations: vts.suite.gate.FIXED_COST_JITTER over 2,000 receives).
    from vts.suite.gate import FIXED_COST_JITTER

    resolution = FIXED_COST_JITTER / 2000
    assert abs(short.allocs_per_op - long.allocs_per_op) <= resolution
    if feed == "ready":  # the synchronous path: the ValueTask and its await's generator
        assert abs(long.allocs_per_op - 2.0) <= FIXED_COST_JITTER / 5000


# -- the source's lifetime against its socket's ---------------------------------------------


async def _one_connection(
    source_of: Callable[[socket.socket], ReceiveSource], close_source_first: bool
) -> int:
    """One connection over a fresh socket pair: a receive that waits (so the source
    registers its reader), then the socket is closed. Returns the receiving fd."""
    reading, writing = socket.socketpair()
    try:
        reading.setblocking(False)
        fd = reading.fileno()
        source = source_of(reading)
        pending = source.receive_exactly(4)
        asyncio.get_running_loop().call_soon(writing.sendall, b"ping")
        assert bytes(await asyncio.wait_for(_await(pending), 2)) == b"ping"
        if close_source_first:
            source.close()
        return fd
    finally:
        reading.close()
        writing.close()


@pytest.mark.timeout(60)
def test_a_socket_closed_under_its_source_does_not_hang_the_next_one_on_its_fd(
    run: Run, event_loop_kind: str
) -> None:
    """The reader stays registered after a receive (lazy removal); closing the socket
    without closing the source left it on the loop, and the next socket on the same fd
    never became readable (a 2 s timeout here). The next source now replaces the stale
    reader; loudly on asyncio, whose remove_reader says it found one (uvloop's returns
    None either way)."""

    async def main() -> list[int]:
        fds = []
        for _ in range(20):
            fds.append(await _one_connection(ReceiveSource, close_source_first=False))
        return fds

    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        fds = run(main())
    assert len(set(fds)) < len(fds)  # the fds were reused, as the kernel does
    assert all(re.match(STALE_READER, str(w.message)) for w in warned), warned
    reused = len(fds) - len(set(fds))
    assert len(warned) == (reused if event_loop_kind == "asyncio" else 0)


@pytest.mark.timeout(60)
@pytest.mark.filterwarnings("error")
def test_a_source_that_owns_its_socket_closes_both_in_order(run: Run) -> None:
    async def main() -> None:
        for _ in range(20):
            reading, writing = socket.socketpair()
            reading.setblocking(False)
            with writing, ReceiveSource(reading, owns_socket=True) as source:
                pending = source.receive_exactly(4)
                asyncio.get_running_loop().call_soon(writing.sendall, b"ping")
                assert bytes(await asyncio.wait_for(_await(pending), 2)) == b"ping"
                assert source.reading
            assert reading.fileno() == -1  # closed by the source, after its reader went
            assert not source.reading

    run(main())


@pytest.mark.timeout(60)
@pytest.mark.filterwarnings("error")
def test_closing_the_source_after_its_socket_spares_the_fds_next_owner(run: Run) -> None:
    """The source closed late, once its fd belongs to another socket: it must not remove
    the new owner's reader."""

    async def main() -> None:
        old_reading, old_writing = socket.socketpair()
        old_reading.setblocking(False)
        old = ReceiveSource(old_reading)
        pending = old.receive_exactly(4)
        old_writing.sendall(b"ping")
        assert bytes(await asyncio.wait_for(_await(pending), 2)) == b"ping"
        fd = old_reading.fileno()
        old_reading.close()
        old_writing.close()
        reading, writing = socket.socketpair()
        with reading, writing:
            assert reading.fileno() == fd
            reading.setblocking(False)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=STALE_READER)
                new = ReceiveSource(reading)
                waiting = new.receive_exactly(4)
            old.close()  # late: the fd is the new socket's now
            writing.sendall(b"pong")
            assert bytes(await asyncio.wait_for(_await(waiting), 2)) == b"pong"
            new.close()

    run(main())
