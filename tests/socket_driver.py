"""A counted run of one receive path, for the tests that prove every path delivers the
exact bytes and leaks nothing.

`run_receives` is the suite's connection (`open_receiver`) and sender thread
(`StreamSender`) on the `stream` feed, with a sender that stops after `count` messages and a
crc32 of every byte received, checked against `expected_checksum`. The suite's scenarios do
not use it: they run `SocketWorkload`, whose measured loop carries no checksum.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from itertools import repeat

from vts.suite.measure.latency import percentile
from vts.suite.scenarios.base import perf_ns
from vts.suite.scenarios.socket_harness import StreamSender, open_receiver, payload_block

MAX_SECONDS = 10.0  # run_receives stops early after this long


@dataclass(frozen=True)
class SocketFigures:
    """What one run of `run_receives` measured (MB = 10**6 bytes)."""

    path: str
    size: int
    messages: int
    seconds: float
    mb_per_s: float
    p50_ns: int
    p99_ns: int
    max_ns: int
    checksum: int  # crc32 of every byte received, in order


def expected_checksum(size: int, count: int) -> int:
    """The crc32 of the first `count` messages the sender sends."""
    block = payload_block(size)
    full, rest = divmod(count * size, len(block))
    crc = 0
    for _ in repeat(None, full):
        crc = zlib.crc32(block, crc)
    return zlib.crc32(memoryview(block)[:rest], crc)


async def run_receives(
    path: str, size: int, count: int, *, max_seconds: float = MAX_SECONDS
) -> SocketFigures:
    """Receive `count` messages of `size` bytes through `path` on the running loop, from a
    sender thread that keeps the connection full; stop early after `max_seconds`. The crc32
    of each message counts in `seconds` (throughput), not in its latency sample."""
    receiver, server = await open_receiver(path, size)
    sender = StreamSender(server, size, count)
    receive, crc = receiver.receive, 0
    samples: list[int] = []
    try:
        deadline = perf_ns() + int(max_seconds * 1e9)
        started = time.perf_counter()
        for _ in repeat(None, count):
            start = perf_ns()
            message = await receive(size)
            end = perf_ns()
            crc = zlib.crc32(message, crc)
            samples.append(end - start)
            if end > deadline:
                break
        seconds = time.perf_counter() - started
    finally:
        await receiver.aclose()
        sender.stop()
        server.close()
    ordered = sorted(samples)
    return SocketFigures(
        path=path,
        size=size,
        messages=len(samples),
        seconds=seconds,
        mb_per_s=len(samples) * size / seconds / 1e6,
        p50_ns=int(percentile(ordered, 0.50)) if ordered else 0,
        p99_ns=int(percentile(ordered, 0.99)) if ordered else 0,
        max_ns=ordered[-1] if ordered else 0,
        checksum=crc,
    )
