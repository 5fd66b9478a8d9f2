"""The socket scenarios: which sizes and feeds the suite measures, as `Scenario`s.

Owns the declarations only: `socket-64`, `socket-4k`, `socket-64k` (`SOCKET_SCENARIOS`) and
`socket-ready-64`, `socket-ready-4k` (`READY_SCENARIOS`), each with the four receive paths
as its variants. One operation is "receive exactly one message of `size` bytes". The
receive paths are `receive_paths`'s; the connection, the feeds and the workload
(`SocketWorkload`) are `socket_harness`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from vts.suite.scenarios.base import Scenario, Workload
from vts.suite.scenarios.receive_paths import RECEIVE_PATHS
from vts.suite.scenarios.socket_harness import SocketWorkload

MESSAGE_SIZES: tuple[int, ...] = (64, 4096, 65536)
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
        cpus=2,  # the sender thread
        # scripts/value_gaps.py streams/socket-4k/asyncio: 1,684 ns a receive back to back,
        # 3,102 after 0.5 s idle, and still 2,645 with a 10 ms value run first.
        back_to_back="a stream runs slower after a pause, for longer than a value",
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
        samples_exclude="each message's send, made before its receive starts",
    )
    for size in READY_SIZES
)


__all__ = [
    "MESSAGE_SIZES",
    "READY_SCENARIOS",
    "READY_SIZES",
    "SOCKET_SCENARIOS",
]
