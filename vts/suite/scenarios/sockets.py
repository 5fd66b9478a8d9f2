"""The socket scenarios and their one harness: whole messages over loopback TCP.

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

Every run sets up its connection once (`open_receiver`: ephemeral port on 127.0.0.1), outside
what is measured, and closes everything it opened: sockets, threads and transports. The
scenarios `socket-64`, `socket-4k`, `socket-64k` (`SOCKET_SCENARIOS`) are `SocketWorkload`s
on the `stream` feed; `run_receives` is the same connection with a counted sender and a
checksum, for the tests that prove every path delivers the exact bytes.
"""

from __future__ import annotations

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

from vts.sockets import ReceiveSource
from vts.suite.errors import UsageError
from vts.suite.measure.latency import percentile
from vts.suite.scenarios.base import Scenario, Workload, perf_ns

MESSAGE_SIZES: tuple[int, ...] = (64, 4096, 65536)
FEEDS: tuple[str, ...] = ("stream", "lockstep", "ready")
BUFFER_BYTES = 256 * 1024  # the read buffer of buffered_protocol and reusable_source
# What the sender thread hands to one sendall. It takes the GIL between blocks only: with
# 1 MiB blocks, 4 KiB runs came out 2.1 or 4.2 GB/s from one run to the next, not with 8 MiB.
BLOCK_BYTES = 8 * 1024 * 1024
MAX_SECONDS = 10.0  # run_receives stops early after this long
SEND_TIMEOUT = 10.0  # the loop-side sends of lockstep/ready never block longer

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


async def open_receiver(path: str, size: int) -> tuple[Receiver, socket.socket]:
    """(receiver, server socket): a loopback connection with `path` receiving on its client
    end. The one place that connects, opens a receiver and closes both on failure."""
    opener = _opener(path)
    client, server = connected_pair()
    try:
        return await opener(client, size), server
    except BaseException:
        client.close()
        server.close()
        raise


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
    perf, samples = perf_ns, cast(list[int], [])
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
    perf, samples, crc, crc32 = perf_ns, cast(list[int], []), 0, zlib.crc32
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


async def run_receives(
    path: str, size: int, count: int, *, max_seconds: float = MAX_SECONDS, verify: bool = False
) -> SocketFigures:
    """Receive `count` messages of `size` bytes through `path` on the running loop, from a
    sender thread that keeps the connection full (the `stream` feed); stop early after
    `max_seconds`. `verify=True` adds the crc32 of each message (inside the timed span)."""
    receiver, server = await open_receiver(path, size)
    sender = StreamSender(server, size, count)
    try:
        deadline = perf_ns() + int(max_seconds * 1e9)
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
        p50_ns=int(percentile(ordered, 0.50)) if ordered else 0,
        p99_ns=int(percentile(ordered, 0.99)) if ordered else 0,
        max_ns=ordered[-1] if ordered else 0,
        checksum=checksum,
    )


# -- the workload: the suite's socket scenarios ------------------------------------------


class SocketWorkload:
    """A connection and its receiver, opened once on `loop`; `run(n)` receives n messages fed
    by `feed` (see FEEDS). Calling it (`workload(n)`) runs `run(n)` to completion, the form
    `vts.suite.measure.allocs.measure_batch` takes. It does not own the loop."""

    def __init__(self, path: str, size: int, loop: asyncio.AbstractEventLoop,
                 feed: str = "stream") -> None:
        if feed not in FEEDS:
            raise UsageError(f"unknown feed {feed!r}; choose from: {', '.join(FEEDS)}")
        self.loop = loop
        self.size = size
        self.feed = feed
        self.receiver, self._server = loop.run_until_complete(open_receiver(path, size))
        self._message = payload_block(size)[:size]
        self._sender: StreamSender | None = None
        if feed == "stream":
            self._sender = StreamSender(self._server, size, None)
        else:
            self._server.settimeout(SEND_TIMEOUT)
        self._closed = False

    async def run(self, n: int) -> None:
        receive, size = self.receiver.receive, self.size
        if self.feed == "stream":
            for _ in repeat(None, n):
                await receive(size)
        elif self.feed == "lockstep":
            send, call_soon, message = self._server.sendall, self.loop.call_soon, self._message
            for _ in repeat(None, n):
                call_soon(send, message)
                await receive(size)
        else:  # ready
            send, message = self._server.sendall, self._message
            for _ in repeat(None, n):
                send(message)
                await receive(size)

    async def run_timed(self, n: int) -> list[int]:
        """Latency of each `await receive(size)`; a feed's send is outside the timed span
        (lockstep's is queued before it and runs inside, as a waiting receive needs)."""
        receive, size, perf, samples = self.receiver.receive, self.size, perf_ns, []
        send, call_soon, message = self._server.sendall, self.loop.call_soon, self._message
        feed = self.feed
        for _ in repeat(None, n):
            if feed == "ready":
                send(message)
            elif feed == "lockstep":
                call_soon(send, message)
            start = perf()
            await receive(size)
            samples.append(perf() - start)
        return samples

    def __call__(self, n: int) -> None:
        self.loop.run_until_complete(self.run(n))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.loop.run_until_complete(self.receiver.aclose())
        finally:
            if self._sender is not None:
                self._sender.stop()
            self._server.close()

    def __enter__(self) -> SocketWorkload:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_LABELS = {64: "64", 4096: "4k", 65536: "64k"}


def _opener_for(size: int, feed: str) -> Callable[[str, asyncio.AbstractEventLoop], Workload]:
    def open_socket(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
        return SocketWorkload(variant, size, loop, feed)

    return open_socket


# A sender thread streams messages as fast as the receiver takes them, so whether a
# receive finds its data already there depends on timing: reported, not gated.
SOCKET_SCENARIOS: tuple[Scenario, ...] = tuple(
    Scenario(
        name=f"socket-{_LABELS.get(size, size)}",
        operation=f"receive one whole {size}-byte message over loopback TCP",
        variants=tuple(RECEIVE_PATHS),
        open=_opener_for(size, "stream"),
        reference="sock_recv_into",
        deterministic=False,
        default_ops=(2_000, 4_000) if size >= 65536 else (5_000, 10_000),
        message_bytes=size,
    )
    for size in MESSAGE_SIZES
)


# Each message is in the socket before its receive starts (the `ready` feed): the
# synchronous path of every receive path (a transport still reads it on the next loop
# pass), with counts that repeat exactly (3.11, 5,000/10,000 receives, 3 runs alike on
# both loops). Gated, so a regression in vts/sockets.py fails `make gate`. The send is part
# of the operation, the same for every path, so no throughput is derived from it.
READY_SIZES: tuple[int, ...] = (64, 4096)
READY_SCENARIOS: tuple[Scenario, ...] = tuple(
    Scenario(
        name=f"socket-ready-{_LABELS.get(size, size)}",
        operation=f"send one {size}-byte message over loopback TCP, then receive it whole "
                  "(it is there before the receive starts)",
        variants=tuple(RECEIVE_PATHS),
        open=_opener_for(size, "ready"),
        reference="sock_recv_into",
        default_ops=(5_000, 10_000),
    )
    for size in READY_SIZES
)


__all__ = [
    "FEEDS",
    "MESSAGE_SIZES",
    "READY_SCENARIOS",
    "RECEIVE_PATHS",
    "SOCKET_SCENARIOS",
    "MessageProtocol",
    "Receiver",
    "SocketFigures",
    "SocketWorkload",
    "StreamSender",
    "connected_pair",
    "expected_checksum",
    "open_receiver",
    "run_receives",
]
