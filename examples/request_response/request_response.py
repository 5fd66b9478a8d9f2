"""A pipelined request/response client on pooled ValueTask sources (the code of
docs/writing-a-source.md).

The toy protocol: the client sends requests; the peer answers each request exactly once,
in the order it received them (pipelining, as in Redis or HTTP/1.1). So the client
matches every response to its oldest pending request and needs no request ids.

Each pending request waits on a `ResponseSource`: a `ManualResetCore` (the ValueTask
protocol written once, with its version rule) that resets itself and goes back to a
bounded `Pool` when its result is taken, and keeps one bridge for the Task that awaits
it. Once the pool is warm a request allocates no source, no Future and no bridge.

Rules: loop thread only (the transport calls `response_received` and `connection_lost`
there, as asyncio calls a Protocol). A request's ValueTask is awaited once (`as_future()`
to share it). A request whose Task is cancelled keeps its place in line: its response
still arrives and completes a source nobody takes, which is left to the collector.

Trades: no allocation of its own per request, for two rules the caller must keep (await
once, loop thread only) and a source class to write. Pick a Future per request
(`FutureClient`, below) until the allocations matter.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from vts import ManualResetCore, Pool, SourceAwaiter, SourceStatus, ValueTask

PENDING = SourceStatus.PENDING
# Bound once here: looking a classmethod up binds a new method object on every call.
from_source = ValueTask.from_source


class ResponseSource(ManualResetCore[Any]):
    """The response to one pending request; reset and pooled again once it is taken."""

    __slots__ = ("awaiter", "in_pool", "pool")

    def __init__(self, pool: Pool[ResponseSource]) -> None:
        super().__init__()
        self.pool = pool
        self.in_pool = False  # Pool's flag: catches a source given back twice
        self.awaiter: SourceAwaiter | None = None

    def awaiter_for(self, token: int) -> SourceAwaiter:
        """The bridge a Task waits on: this source's one bridge, re-armed per request."""
        awaiter = self.awaiter
        if awaiter is None:
            awaiter = self.awaiter = SourceAwaiter(self, token)
        elif awaiter.registered:  # a second await of the same request: the core refuses it
            return SourceAwaiter(self, token)
        else:
            awaiter.rearm(self, token)
        return awaiter

    def get_result(self, token: int) -> Any:
        """The response, taken once: then the next version, and back to the pool."""
        if self.get_status(token) is PENDING:  # a stale token raises TokenMismatchError
            return ManualResetCore.get_result(self, token)  # raises NotCompletedError
        try:
            # Not super(): a zero-argument super() allocates a proxy object per call.
            return ManualResetCore.get_result(self, token)
        finally:
            self.reset()  # the token just used is rejected from now on
            self.pool.give_back(self)


class Client:
    """`await client.request(payload)` sends it and returns its response."""

    def __init__(self, send: Callable[[object], object], capacity: int = 64) -> None:
        self.send = send
        self.pool: Pool[ResponseSource] = Pool(lambda: ResponseSource(self.pool), capacity)
        self.pending: deque[ResponseSource] = deque()  # oldest request first

    def request(self, payload: object) -> ValueTask[Any]:
        source = self.pool.rent()
        self.pending.append(source)
        self.send(payload)
        return from_source(source, source.version)

    def response_received(self, response: object) -> None:
        """The transport read a response: it answers the oldest pending request."""
        self.pending.popleft().set_result(response)

    def connection_lost(self, error: BaseException | None) -> None:
        """Every pending request raises `error` (ConnectionResetError when None)."""
        pending = self.pending
        while pending:
            pending.popleft().set_exception(error or ConnectionResetError())


class FutureClient:
    """The same client with an asyncio Future per request: the plain way, to compare."""

    def __init__(self, send: Callable[[object], object]) -> None:
        self.send = send
        self.pending: deque[asyncio.Future[Any]] = deque()

    def request(self, payload: object) -> asyncio.Future[Any]:
        future = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        self.send(payload)
        return future

    def response_received(self, response: object) -> None:
        future = self.pending.popleft()
        if not future.cancelled():
            future.set_result(response)

    def connection_lost(self, error: BaseException | None) -> None:
        pending = self.pending
        while pending:
            future = pending.popleft()
            if not future.cancelled():
                future.set_exception(error or ConnectionResetError())


class EchoPeer:
    """A peer on the same loop that answers every request with itself one loop pass
    later, as a socket's reader would: for the tests and the guide's measurement."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.answer: Callable[[object], object] = _not_connected

    def send(self, payload: object) -> None:
        self.loop.call_soon(self.answer, payload)


def _not_connected(response: object) -> None:
    raise RuntimeError("this EchoPeer has no client: make both with connect_echo()")


C = TypeVar("C", Client, FutureClient)


def connect_echo(client_class: type[C], loop: asyncio.AbstractEventLoop) -> C:
    """A `client_class` (Client or FutureClient) talking to an EchoPeer on `loop`."""
    peer = EchoPeer(loop)
    client = client_class(peer.send)
    peer.answer = client.response_received  # bound once, not per response
    return client
