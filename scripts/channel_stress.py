"""Stress a vts Channel across threads: COUNT items from producer threads to reader tasks
on one loop, none lost, none duplicated, each producer's items in order.

    python scripts/channel_stress.py 1000000 --strategy all --loop all

Producers write with `try_send` and, when the bounded channel is full, `send_blocking`
(so the backpressure path from another thread is exercised); reader tasks take items,
half with `async for`, half with `try_receive` and, when it finds nothing, `await
receive()` (counted: the receives that waited), until the last producer completes the
channel. Every item is (producer,
sequence); a reader checks that each producer's sequence arrives as 0, 1, 2, ... (a lost
item shows as a gap, a duplicated one as a repeat), and the total is counted at the end.
`sys.setswitchinterval` is lowered so the threads interleave inside the channel's code.

Prints one line per strategy and loop; exits 1 at the first failure, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from vts.channels import Channel, ChannelClosed, ChannelEmpty
from vts.strategies import STRATEGIES

LOOPS = ("asyncio", "uvloop")
SWITCH_INTERVAL = 5e-6


class StressFailure(Exception):
    """An item was lost, duplicated or reordered."""


def complete_once(channel: Channel[Any]) -> None:
    with suppress(ChannelClosed):  # completed already (by the other of the two callers)
        channel.complete()


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


@dataclass
class Counts:
    """What one run did: items taken, receives that had to wait, sends that blocked."""

    taken: int = 0
    waited: int = 0
    blocked: int = 0


async def stress(count: int, strategy: str, producers: int, readers: int,
                 capacity: int) -> Counts:
    loop = asyncio.get_running_loop()
    channel: Channel[tuple[int, int]] = Channel(capacity, strategy=strategy, loop=loop)
    shares = [count // producers + (1 if n < count % producers else 0)
              for n in range(producers)]
    expected = [0] * producers  # the next sequence number of each producer
    counts = Counts()
    blocked = [0] * producers
    finished = threading.Semaphore(0)

    def produce(producer: int) -> None:
        try:
            for sequence in range(shares[producer]):
                item = (producer, sequence)
                if not channel.try_send(item):
                    blocked[producer] += 1
                    channel.send_blocking(item)
        except ChannelClosed:
            pass  # a reader failed and completed the channel
        finally:
            finished.release()

    def complete_when_done() -> None:
        for _ in range(producers):
            finished.acquire()
        complete_once(channel)

    def check(producer: int, sequence: int) -> None:
        if sequence != expected[producer]:
            raise StressFailure(f"producer {producer}: got item {sequence}, expected "
                                f"{expected[producer]}")
        expected[producer] = sequence + 1
        counts.taken += 1

    async def iterate() -> None:
        async for producer, sequence in channel:
            check(producer, sequence)

    async def receive() -> None:  # counts the receives that wait
        while True:
            try:
                producer, sequence = channel.try_receive()
            except ChannelEmpty:
                counts.waited += 1
                try:
                    producer, sequence = await channel.receive()
                except ChannelClosed:
                    return
            except ChannelClosed:
                return
            check(producer, sequence)

    threads = [threading.Thread(target=produce, args=(n,), daemon=True)
               for n in range(producers)]
    closer = loop.run_in_executor(None, complete_when_done)
    tasks = [loop.create_task(iterate() if n % 2 else receive()) for n in range(readers)]
    for thread in threads:
        thread.start()
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        complete_once(channel)  # the producers stop, the other readers drain and end
        await asyncio.gather(closer, *tasks, return_exceptions=True)
        raise
    await closer
    for thread in threads:
        thread.join()
    if expected != shares or counts.taken != count:
        raise StressFailure(f"received {counts.taken} of {count} items; per producer "
                            f"{expected} of {shares}")
    counts.blocked = sum(blocked)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--strategy", default="all",
                        help="a strategy name, or 'all' (default): " + ", ".join(STRATEGIES))
    parser.add_argument("--loop", default="all", choices=(*LOOPS, "all"))
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--capacity", type=int, default=16)
    args = parser.parse_args(argv)
    if args.count < 1 or args.producers < 1 or args.readers < 1 or args.capacity < 1:
        print("error: count, --producers, --readers and --capacity must be >= 1",
              file=sys.stderr)
        return 2
    strategies = list(STRATEGIES) if args.strategy == "all" else [args.strategy]
    if args.strategy != "all" and args.strategy not in STRATEGIES:
        print(f"error: unknown strategy {args.strategy!r}; choose from: "
              f"{', '.join(STRATEGIES)}, all", file=sys.stderr)
        return 2
    loops = list(LOOPS) if args.loop == "all" else [args.loop]
    sys.setswitchinterval(SWITCH_INTERVAL)
    for loop_name in loops:
        for strategy in strategies:
            started = time.perf_counter()
            loop = loop_factory(loop_name)()
            try:
                counts = loop.run_until_complete(stress(
                    args.count, strategy, args.producers, args.readers, args.capacity))
            except StressFailure as failure:
                print(f"FAILED {strategy} ({loop_name}): {failure}")
                return 1
            finally:
                loop.close()
            print(f"ok {strategy} ({loop_name}): {counts.taken:,} items from "
                  f"{args.producers} threads to {args.readers} readers (capacity "
                  f"{args.capacity}), none lost or duplicated, in order per producer; "
                  f"{counts.waited:,} receives waited, {counts.blocked:,} sends blocked; "
                  f"{time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
