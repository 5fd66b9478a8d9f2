"""The socket scenarios: `socket-64`, `socket-4k`, `socket-64k`, registered with the suite.

One operation: receiving one whole message of the scenario's size over loopback TCP,
through one of four receive paths (`vts.socket_bench.RECEIVE_PATHS`): a future per call
(`sock_recv_into`, the reference), asyncio streams, a BufferedProtocol, and the reusable
`ReceiveSource`. A sender thread streams messages as fast as the receiver takes them, so
whether a receive finds its data already there depends on timing: the counts are
reported, not gated. Throughput comes from the pyperf mean (`message_bytes`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from itertools import repeat

from vts.scenarios import Scenario, Workload, register
from vts.socket_bench import (
    MESSAGE_SIZES,
    RECEIVE_PATHS,
    Receiver,
    StreamSender,
    connected_pair,
)

_perf_ns = time.perf_counter_ns
_LABELS = {64: "64", 4096: "4k", 65536: "64k"}


class SocketWorkload:
    """A connection and its receiver, opened once; `run(n)` receives n messages."""

    def __init__(self, path: str, size: int, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.size = size
        client, self._server = connected_pair()
        try:
            self.receiver: Receiver = loop.run_until_complete(RECEIVE_PATHS[path](client, size))
        except BaseException:
            client.close()
            self._server.close()
            raise
        self._sender = StreamSender(self._server, size, None)

    async def run(self, n: int) -> None:
        receive, size = self.receiver.receive, self.size
        for _ in repeat(None, n):
            await receive(size)

    async def run_timed(self, n: int) -> list[int]:
        receive, size, perf, samples = self.receiver.receive, self.size, _perf_ns, []
        for _ in repeat(None, n):
            start = perf()
            await receive(size)
            samples.append(perf() - start)
        return samples

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.receiver.aclose())
        finally:
            self._sender.stop()
            self._server.close()


def _opener(size: int) -> Callable[[str, asyncio.AbstractEventLoop], Workload]:
    def open_socket(variant: str, loop: asyncio.AbstractEventLoop) -> Workload:
        return SocketWorkload(variant, size, loop)

    return open_socket


for _size in MESSAGE_SIZES:
    register(Scenario(
        name=f"socket-{_LABELS.get(_size, _size)}",
        operation=f"receive one whole {_size}-byte message over loopback TCP",
        variants=tuple(RECEIVE_PATHS),
        open=_opener(_size),
        reference="sock_recv_into",
        deterministic=False,
        default_ops=(2_000, 4_000) if _size >= 65536 else (5_000, 10_000),
        message_bytes=_size,
    ))
