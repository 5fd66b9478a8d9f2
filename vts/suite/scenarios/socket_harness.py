"""The socket harness: a loopback connection, where its bytes come from, and the workload.

Owns: `connected_pair` (the one way to connect), `open_receiver` (connect and open a receive
path on the client end, closing both on failure), the sender thread, the feeds and
`SocketWorkload`, the `Workload` every socket scenario runs. Where the bytes come from
(`FEEDS`), the same for every receive path:

- `stream`: a sender thread keeps the connection full (blocking `sendall` of an 8 MiB block
  of messages, which releases the GIL while it sends), so the receiver is the bottleneck.
  Throughput and latency are measured on this feed; its allocation counts mix the
  synchronous and the waiting path as timing falls, so they are not exactly repeatable.
- `lockstep`: the loop sends each message (`call_soon`) after its receive started: every
  receive waits once. The wake-up path, with repeatable counts (the send is included).
- `ready`: each message is in the socket before its receive starts: the synchronous path,
  for the paths that have one (a transport still reads it on the next loop pass).

Every workload sets up its connection once (ephemeral port on 127.0.0.1), outside what is
measured, and closes everything it opened: sockets, threads and transports.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
from functools import cache
from itertools import repeat

from vts.suite.errors import UsageError
from vts.suite.scenarios.base import perf_ns
from vts.suite.scenarios.receive_paths import RECEIVE_PATHS, OpenReceiver, Receiver

FEEDS: tuple[str, ...] = ("stream", "lockstep", "ready")
# What the sender thread hands to one sendall. It takes the GIL between blocks only: with
# 1 MiB blocks, 4 KiB runs came out 2.1 or 4.2 GB/s from one run to the next, not with 8 MiB.
BLOCK_BYTES = 8 * 1024 * 1024
SEND_TIMEOUT = 10.0  # the loop-side sends of lockstep/ready never block longer


@cache
def payload_block(size: int) -> bytes:
    """The messages the sender repeats: 8 MiB (at least one message) of seeded random bytes,
    so every message of a block differs and a lost or repeated one changes the checksum."""
    per_block = max(1, BLOCK_BYTES // size)
    return random.Random(size).randbytes(per_block * size)


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



__all__ = [
    "BLOCK_BYTES",
    "FEEDS",
    "SEND_TIMEOUT",
    "SocketWorkload",
    "StreamSender",
    "connected_pair",
    "open_receiver",
    "payload_block",
]
