"""The receive paths: four ways to receive one whole message from a connected socket.

Owns: the `Receiver` protocol, the four receivers and `RECEIVE_PATHS`, the table that
names them. Each is the best honest version of its idea:

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

A receiver owns its socket once opened and knows nothing of where the bytes come from:
connections, senders and the workload are `socket_harness`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, cast

from vts.sockets import ReceiveSource

BUFFER_BYTES = 256 * 1024  # the read buffer of buffered_protocol and reusable_source

Message = bytes | memoryview


class Receiver(Protocol):
    """One receive path over one connected socket, which it owns from then on."""

    def receive(self, nbytes: int) -> Awaitable[Message]: ...

    async def aclose(self) -> None: ...


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


__all__ = [
    "BUFFER_BYTES",
    "RECEIVE_PATHS",
    "Message",
    "MessageProtocol",
    "OpenReceiver",
    "Receiver",
    "ReusableSourceReceiver",
    "SockRecvIntoReceiver",
    "StreamsReceiver",
]
