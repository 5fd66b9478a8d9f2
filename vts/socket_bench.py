"""socket_bench: the `socket` scenario's workload, whole messages over loopback TCP.

One operation is "receive exactly one message of `size` bytes" (sizes `MESSAGE_SIZES`)
through one of the receive paths of `RECEIVE_PATHS`, each the best honest version of its idea:

- `sock_recv_into`: `loop.sock_recv_into` into a preallocated buffer until the message is
  whole: a coroutine per call, and a future and a reader registration per call that has to
  wait (uvloop has no synchronous attempt at all: every call waits on a future).
- `streams`: `asyncio.open_connection` + `StreamReader.readexactly`: the transport reads up to
  256 KiB at a time; a coroutine and a bytes copy per message, a future per wait.
- `buffered_protocol`: an `asyncio.BufferedProtocol` reading into one 256 KiB buffer; a
  coroutine and a view per message, a future per message that has to wait.
- `reusable_source`: `vts.sockets.ReceiveSource.receive_exactly` with the same 256 KiB
  buffer and read-ahead: a ValueTask (and its await's generator) per message, no future, no
  coroutine; a receive that waits goes through the source's one reusable SourceAwaiter.

Latency is per `await receive(size)`. It is comparable between paths only with care: the
pull paths (`sock_recv_into`, `reusable_source`) read and copy inside the receive, while a
transport reads in the loop between receives, so its receives are short and its reads
show up in throughput only. Throughput (MB = 10**6 bytes) is the fair comparison.

Where the bytes come from (`FEEDS`), the same for every path:

- `stream`: a sender thread keeps the connection full (blocking `sendall` of an 8 MiB block
  of messages, which releases the GIL while it sends), so the receiver is the bottleneck.
  Throughput and latency are measured on this feed; its allocation counts mix the
  synchronous and the waiting path as timing falls, so they are not exactly repeatable.
- `lockstep`: the loop sends each message (`call_soon`) after its receive started: every
  receive waits once. The wake-up path, with repeatable counts (the send is included).
- `ready`: each message is in the socket before its receive starts: the synchronous path,
  for the paths that have one (a transport still reads it on the next loop pass).

Every run sets up its connection once (ephemeral port on 127.0.0.1), outside what is measured,
and closes everything it opened: sockets, threads, transports and the loop of a batch.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import socket
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import cache
from itertools import repeat
from typing import Any, Protocol, cast

from vts.errors import UsageError
from vts.loops import available_loops, new_event_loop
from vts.sockets import ReceiveSource

MESSAGE_SIZES: tuple[int, ...] = (64, 4096, 65536)
FEEDS: tuple[str, ...] = ("stream", "lockstep", "ready")
BUFFER_BYTES = 256 * 1024  # the read buffer of buffered_protocol and reusable_source
# What the sender thread hands to one sendall. It takes the GIL between blocks only: with
# 1 MiB blocks, 4 KiB runs came out 2.1 or 4.2 GB/s from one run to the next, not with 8 MiB.
BLOCK_BYTES = 8 * 1024 * 1024
MAX_SECONDS = 10.0  # run_receives stops early after this long
SEND_TIMEOUT = 10.0  # the loop-side sends of lockstep/ready never block longer

_perf_ns = time.perf_counter_ns

Message = bytes | memoryview


class Receiver(Protocol):
    """One receive path over one connected socket, which it owns from then on."""

    def receive(self, nbytes: int) -> Awaitable[Message]: ...

    async def aclose(self) -> None: ...


# -- the four paths ---------------------------------------------------------------------


class SockRecvIntoReceiver:
    """`loop.sock_recv_into` into one buffer, called until the message is whole."""

    def __init__(self, sock: socket.socket, size: int) -> None:
        self._sock = sock
        self._recv_into = asyncio.get_running_loop().sock_recv_into
        self._view = memoryview(bytearray(size))
        self._message = self._view  # the whole-message view, reused for each message

    async def receive(self, nbytes: int) -> memoryview:
        view, sock, recv_into = self._view, self._sock, self._recv_into
        message = target = self._message
        if len(message) != nbytes:
            message = target = self._message = view[:nbytes]
        got = 0
        while True:
            more = await recv_into(sock, target)
            if not more:
                raise asyncio.IncompleteReadError(bytes(view[:got]), nbytes)
            got += more
            if got >= nbytes:
                return message
            target = view[got:nbytes]

    async def aclose(self) -> None:
        self._sock.close()


class StreamsReceiver:
    """`StreamReader.readexactly` on `asyncio.open_connection(sock=...)`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.receive = reader.readexactly

    @classmethod
    async def open(cls, sock: socket.socket, size: int) -> StreamsReceiver:
        reader, writer = await asyncio.open_connection(sock=sock)
        return cls(reader, writer)

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):  # the peer went first (reset): closed all the same
            await self._writer.wait_closed()


class MessageProtocol(asyncio.BufferedProtocol):
    """The transport reads into one buffer; `receive(n)` hands out views of it.

    A view is valid until the next `receive`. Reading pauses when the buffer is full and
    resumes when `receive` has made room.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._buffer = bytearray(capacity)
        self._view = memoryview(self._buffer)
        self._head = 0  # unread bytes are buffer[_head:_tail]
        self._tail = 0
        self._wanted = 0
        self._waiter: asyncio.Future[None] | None = None
        self._transport: asyncio.Transport | None = None
        self._paused = False
        self._eof = False
        self._error: BaseException | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view[self._tail :]

    def buffer_updated(self, nbytes: int) -> None:
        self._tail = tail = self._tail + nbytes
        if tail == self._capacity and self._transport is not None:
            self._transport.pause_reading()
            self._paused = True
        waiter = self._waiter
        if waiter is not None and tail - self._head >= self._wanted:
            self._waiter = None
            waiter.set_result(None)

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._error = exc
        self._wake()
        if not self.closed.done():
            self.closed.set_result(None)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def receive(self, nbytes: int) -> memoryview:
        head = self._head
        end = head + nbytes  # once: an int above 256 is an allocation
        if end > self._tail:
            await self._wait_for(nbytes)
            head = self._head
            end = head + nbytes
        self._head = end
        return self._view[head:end]

    async def _wait_for(self, nbytes: int) -> None:
        head, tail = self._head, self._tail
        if head == tail:
            head = tail = self._head = self._tail = 0
        elif head + nbytes > self._capacity:
            left = tail - head  # capacity >= 4 * nbytes, so this does not overlap the front
            self._buffer[:left] = self._view[head:tail]
            self._head, self._tail = 0, left
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        while self._tail - self._head < nbytes:
            if self._error is not None:
                raise self._error
            if self._eof:
                partial = bytes(self._view[self._head : self._tail])
                raise asyncio.IncompleteReadError(partial, nbytes)
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            self._wanted = nbytes
            await waiter

    async def aclose(self) -> None:
        if self._transport is not None:
            self._transport.close()
        await self.closed


async def _open_protocol(sock: socket.socket, size: int) -> MessageProtocol:
    loop = asyncio.get_running_loop()
    capacity = max(BUFFER_BYTES, 4 * size)
    _, protocol = await loop.create_connection(lambda: MessageProtocol(capacity), sock=sock)
    return protocol


class ReusableSourceReceiver:
    """`ReceiveSource.receive_exactly`: one source, one buffer, one awaiter for the socket."""

    def __init__(self, sock: socket.socket, size: int) -> None:
        self._sock = sock
        self.source = ReceiveSource(sock, max(BUFFER_BYTES, 4 * size))
        self.receive = self.source.receive_exactly

    async def aclose(self) -> None:
        self.source.close()
        self._sock.close()


async def _open_sock_recv_into(sock: socket.socket, size: int) -> Receiver:
    return SockRecvIntoReceiver(sock, size)


async def _open_reusable_source(sock: socket.socket, size: int) -> Receiver:
    return ReusableSourceReceiver(sock, size)


OpenReceiver = Callable[[socket.socket, int], Coroutine[Any, Any, Receiver]]

RECEIVE_PATHS: dict[str, OpenReceiver] = {
    "sock_recv_into": _open_sock_recv_into,
    "streams": StreamsReceiver.open,
    "buffered_protocol": _open_protocol,
    "reusable_source": _open_reusable_source,
}


def _opener(path: str) -> OpenReceiver:
    try:
        return RECEIVE_PATHS[path]
    except KeyError:
        raise UsageError(
            f"unknown receive path {path!r}; choose from: {', '.join(RECEIVE_PATHS)}"
        ) from None


# -- the sending side -------------------------------------------------------------------


@cache
def payload_block(size: int) -> bytes:
    """The messages the sender repeats: 8 MiB (at least one message) of seeded random bytes,
    so every message of a block differs and a lost or repeated one changes the checksum."""
    per_block = max(1, BLOCK_BYTES // size)
    return random.Random(size).randbytes(per_block * size)


def expected_checksum(size: int, count: int) -> int:
    """The crc32 of the first `count` messages the sender sends."""
    block = payload_block(size)
    full, rest = divmod(count * size, len(block))
    crc = 0
    for _ in repeat(None, full):
        crc = zlib.crc32(block, crc)
    return zlib.crc32(memoryview(block)[:rest], crc)


def connected_pair() -> tuple[socket.socket, socket.socket]:
    """(client, server): a TCP connection on 127.0.0.1, client non-blocking, no Nagle."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname()[:2])
        try:
            server, _ = listener.accept()
        except BaseException:
            client.close()
            raise
    for sock in (client, server):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.setblocking(False)
    return client, server


class StreamSender:
    """A thread that sends `count` messages (None: until the connection goes) as fast as the
    receiver takes them. `sendall` blocks in C with the GIL released, and allocates nothing."""

    def __init__(self, sock: socket.socket, size: int, count: int | None) -> None:
        self._sock = sock
        self._block = payload_block(size)
        self._size = size
        self._count = count
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._send, name="vts-socket-sender", daemon=True)
        self._thread.start()

    def _send(self) -> None:
        sendall, block = self._sock.sendall, self._block
        try:
            if self._count is None:
                while True:
                    sendall(block)
            full, rest = divmod(self._count * self._size, len(block))
            for _ in repeat(None, full):
                sendall(block)
            if rest:
                sendall(memoryview(block)[:rest])
        except OSError as exc:  # the receiver closed the connection: the normal way to stop
            self.error = exc

    def stop(self) -> None:
        """Call after the receiving side closed: wakes a blocked sendall, waits for the thread."""
        with contextlib.suppress(OSError):  # already gone
            self._sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(SEND_TIMEOUT)


# -- one run: throughput and latency ----------------------------------------------------


@dataclass(frozen=True)
class SocketFigures:
    """What one run of `run_receives` measured (MB = 10**6 bytes)."""

    path: str
    size: int
    messages: int
    seconds: float
    mb_per_s: float
    msgs_per_s: float
    p50_ns: int
    p99_ns: int
    max_ns: int
    checksum: int | None = None  # crc32 of every byte received, with verify=True

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "messages": self.messages,
            "seconds": self.seconds,
            "mb_per_s": self.mb_per_s,
            "msgs_per_s": self.msgs_per_s,
            "p50_ns": self.p50_ns,
            "p99_ns": self.p99_ns,
            "max_ns": self.max_ns,
            "checksum": self.checksum,
        }


async def _receive_timed(
    receive: Callable[[int], Awaitable[Message]], size: int, count: int, deadline: int
) -> list[int]:
    perf, samples = _perf_ns, cast(list[int], [])
    append = samples.append
    for _ in repeat(None, count):
        start = perf()
        await receive(size)
        end = perf()
        append(end - start)
        if end > deadline:
            break
    return samples


async def _receive_checked(
    receive: Callable[[int], Awaitable[Message]], size: int, count: int, deadline: int
) -> tuple[list[int], int]:
    perf, samples, crc, crc32 = _perf_ns, cast(list[int], []), 0, zlib.crc32
    append = samples.append
    for _ in repeat(None, count):
        start = perf()
        message = await receive(size)
        end = perf()
        crc = crc32(message, crc)
        append(end - start)
        if end > deadline:
            break
    return samples, crc


def _percentile(ordered: list[int], q: float) -> int:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0


async def run_receives(
    path: str, size: int, count: int, *, max_seconds: float = MAX_SECONDS, verify: bool = False
) -> SocketFigures:
    """Receive `count` messages of `size` bytes through `path` on the running loop, from a
    sender thread that keeps the connection full (the `stream` feed); stop early after
    `max_seconds`. `verify=True` adds the crc32 of each message (inside the timed span)."""
    opener = _opener(path)
    client, server = connected_pair()
    try:
        receiver = await opener(client, size)
    except BaseException:
        client.close()
        server.close()
        raise
    sender = StreamSender(server, size, count)
    try:
        deadline = _perf_ns() + int(max_seconds * 1e9)
        checksum = None
        started = time.perf_counter()
        if verify:
            samples, checksum = await _receive_checked(receiver.receive, size, count, deadline)
        else:
            samples = await _receive_timed(receiver.receive, size, count, deadline)
        seconds = time.perf_counter() - started
    finally:
        await receiver.aclose()
        sender.stop()
        server.close()
    ordered = sorted(samples)
    received = len(samples)
    return SocketFigures(
        path=path,
        size=size,
        messages=received,
        seconds=seconds,
        mb_per_s=received * size / seconds / 1e6,
        msgs_per_s=received / seconds,
        p50_ns=_percentile(ordered, 0.50),
        p99_ns=_percentile(ordered, 0.99),
        max_ns=ordered[-1] if ordered else 0,
        checksum=checksum,
    )


# -- batches for the allocation counter -------------------------------------------------


class ReceiveBatch:
    """`batch(n)` receives n messages on a connection and loop set up once; `close()` ends it.

    Made for `vts.measure.allocs.measure_batch`: everything but the n receives (and, for
    lockstep/ready, the n sends) is paid once per call and cancels in its difference.
    """

    def __init__(self, path: str, size: int, loop_kind: str, feed: str = "stream") -> None:
        if feed not in FEEDS:
            raise UsageError(f"unknown feed {feed!r}; choose from: {', '.join(FEEDS)}")
        opener = _opener(path)
        self.size = size
        self.loop = new_event_loop(loop_kind)
        self._sender: StreamSender | None = None
        client, self._server = connected_pair()
        try:
            self.receiver: Receiver = self.loop.run_until_complete(opener(client, size))
        except BaseException:
            client.close()
            self._server.close()
            self.loop.close()
            raise
        self._message = payload_block(size)[:size]
        if feed == "stream":
            self._sender = StreamSender(self._server, size, None)
        else:
            self._server.settimeout(SEND_TIMEOUT)
        self._batch = {"stream": self._stream, "lockstep": self._lockstep, "ready": self._ready}[
            feed
        ]

    def __call__(self, n: int) -> None:
        self.loop.run_until_complete(self._batch(n))

    async def _stream(self, n: int) -> None:
        receive, size = self.receiver.receive, self.size
        for _ in repeat(None, n):
            await receive(size)

    async def _lockstep(self, n: int) -> None:
        receive, size, message = self.receiver.receive, self.size, self._message
        send, call_soon = self._server.sendall, self.loop.call_soon
        for _ in repeat(None, n):
            call_soon(send, message)
            await receive(size)

    async def _ready(self, n: int) -> None:
        receive, size, message = self.receiver.receive, self.size, self._message
        send = self._server.sendall
        for _ in repeat(None, n):
            send(message)
            await receive(size)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        try:
            self.loop.run_until_complete(self.receiver.aclose())
        finally:
            if self._sender is not None:
                self._sender.stop()
            self._server.close()
            self.loop.close()

    def __enter__(self) -> ReceiveBatch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def make_batch(path: str, size: int, loop_kind: str, feed: str = "stream") -> ReceiveBatch:
    """`run(n)` for the allocation counter: n receives per call; close it when done."""
    return ReceiveBatch(path, size, loop_kind, feed)


# -- the table ----------------------------------------------------------------------------


def _alloc_ops(size: int) -> tuple[int, int]:
    return (1_000, 2_000) if size >= 65536 else (5_000, 10_000)


def measure_table(
    paths: list[str],
    sizes: list[int],
    loops: list[str],
    count: int,
    feeds: list[str],
    repeat_runs: int = 3,
    min_bytes: int = 0,
) -> list[dict[str, Any]]:
    """Every path x size x loop: the fastest of `repeat_runs` run_receives of
    max(count, min_bytes // size) messages (each on a fresh loop and connection; the others
    lost time to the rest of the machine) plus allocs/receive for each feed."""
    from vts.measure.allocs import measure_batch

    rows = []
    for loop_kind in loops:
        for size in sizes:
            messages = max(count, min_bytes // size)
            for path in paths:
                runs = []
                for _ in repeat(None, repeat_runs):
                    loop = new_event_loop(loop_kind)
                    try:
                        runs.append(loop.run_until_complete(run_receives(path, size, messages)))
                    finally:
                        loop.close()
                figures = max(runs, key=lambda run: run.msgs_per_s)
                row = {"loop": loop_kind, **figures.to_json()}
                short, long = _alloc_ops(size)
                for feed in feeds:
                    with make_batch(path, size, loop_kind, feed) as batch:
                        allocs = measure_batch(batch, short=short, long=long, warmup=500)
                    row[f"allocs_{feed}"] = allocs.allocs_per_op
                rows.append(row)
    return rows


def _format(rows: list[dict[str, Any]], feeds: list[str]) -> str:
    head = ["loop", "size", "path", "MB/s", "msgs/s", "p50 us", "p99 us", "max us"]
    head += [f"allocs {feed}" for feed in feeds]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [
            row["loop"],
            str(row["size"]),
            row["path"],
            f"{row['mb_per_s']:.1f}",
            f"{row['msgs_per_s']:,.0f}",
            f"{row['p50_ns'] / 1e3:.2f}",
            f"{row['p99_ns'] / 1e3:.2f}",
            f"{row['max_ns'] / 1e3:.0f}",
        ]
        cells += [f"{row[f'allocs_{feed}']:.2f}" for feed in feeds]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=20_000, help="messages per timed run")
    parser.add_argument(
        "--min-bytes", type=int, default=64 << 20, help="and at least this many bytes per run"
    )
    parser.add_argument("--paths", default=",".join(RECEIVE_PATHS))
    parser.add_argument("--sizes", default=",".join(map(str, MESSAGE_SIZES)))
    parser.add_argument("--loops", default=",".join(available_loops()))
    parser.add_argument("--feeds", default=",".join(FEEDS), help="feeds to count allocations on")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per cell; the fastest")
    args = parser.parse_args(argv)
    feeds = [feed for feed in args.feeds.split(",") if feed]
    rows = measure_table(
        args.paths.split(","),
        [int(size) for size in args.sizes.split(",")],
        args.loops.split(","),
        args.count,
        feeds,
        args.repeat,
        args.min_bytes,
    )
    print(_format(rows, feeds))


if __name__ == "__main__":
    main()


__all__ = [
    "FEEDS",
    "MESSAGE_SIZES",
    "RECEIVE_PATHS",
    "MessageProtocol",
    "ReceiveBatch",
    "Receiver",
    "SocketFigures",
    "StreamSender",
    "connected_pair",
    "expected_checksum",
    "make_batch",
    "run_receives",
]
