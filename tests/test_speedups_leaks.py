"""1,000,000 operations through the C accelerator leave live objects, blocks and RSS flat.

Every path the C code has, in one mix of ten operations per round: fresh and waiting gets
of pooled[c], manual_reset[c] and handwritten[c]; a completed and a faulted C core awaited
through a C ValueTask; a ValueTask over a done Future; and a waiting get cancelled through
its Task (the bridge's cancel and abandon). After a warm-up round of chunks, the count of
GC-tracked objects (`gc.get_objects()`), the interpreter's allocated blocks
(`sys.getallocatedblocks()`) and the process's resident set are read after every chunk;
a reference leak of one object per operation would add a million objects.

Run it alone to see the figures: `python tests/test_speedups_leaks.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from itertools import repeat
from typing import Any

import pytest

from vts.impl import C_MISSING
from vts.strategies import Freshness, strategy_class

OPS_PER_ROUND = 10
CHUNKS = 10
ROUNDS_PER_CHUNK = 10_000  # 10 chunks x 10,000 rounds x 10 operations = 1,000,000


class Failure(Exception):
    pass


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


async def rounds(n: int) -> None:
    """n rounds of OPS_PER_ROUND operations on every C path."""
    from vts import _speedups

    loop = asyncio.get_running_loop()
    fresh = strategy_class("pooled[c]")(Freshness.always())
    fresh.publish(1)
    waits = [strategy_class(name)(Freshness.never())
             for name in ("pooled[c]", "manual_reset[c]", "handwritten[c]")]
    core = _speedups.ManualResetCore()
    done = loop.create_future()
    done.set_result(3)
    value_task, call_soon = _speedups.ValueTask, loop.call_soon
    for _ in repeat(None, n):
        await fresh.get()  # 1
        await fresh.get()  # 2
        for strategy in waits:  # 3, 4, 5
            call_soon(strategy.publish, 2)
            await strategy.get()
        core.set_result(4)  # 6
        await value_task.from_source(core, core.version)
        core.reset()
        core.set_exception(Failure())  # 7
        with contextlib.suppress(Failure):
            await value_task.from_source(core, core.version)
        core.reset()
        await value_task.from_awaitable(done)  # 8
        call_soon(waits[0].publish, 5)  # 9
        await waits[0].get()
        waiter = loop.create_task(_await(waits[0].get()))  # 10: cancelled while waiting
        await asyncio.sleep(0)
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter


async def _await(awaitable: Any) -> Any:
    return await awaitable


def measure() -> list[tuple[int, int, int, int]]:
    """(operations so far, GC objects, allocated blocks, RSS KiB) after each chunk."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(rounds(ROUNDS_PER_CHUNK))  # warm-up: caches, freelists
        figures = []
        for chunk in range(CHUNKS + 1):
            gc.collect()
            figures.append((chunk * ROUNDS_PER_CHUNK * OPS_PER_ROUND, len(gc.get_objects()),
                            sys.getallocatedblocks(), rss_kib()))
            if chunk < CHUNKS:
                loop.run_until_complete(rounds(ROUNDS_PER_CHUNK))
    finally:
        loop.close()
    return figures


@pytest.mark.skipif(bool(C_MISSING), reason=C_MISSING or "")
@pytest.mark.timeout(600)
def test_a_million_operations_leave_objects_blocks_and_rss_flat() -> None:
    figures = measure()
    ops, objects, blocks, rss = zip(*figures, strict=True)
    assert ops[-1] == 1_000_000
    # Flat: a leak of one object per operation would be 100,000 per chunk.
    assert max(objects) - min(objects) <= 50, figures
    assert max(blocks) - min(blocks) <= 500, figures
    assert rss[-1] - rss[1] <= 1024, figures  # KiB, after the first chunk settled


if __name__ == "__main__":
    if C_MISSING:
        sys.exit(C_MISSING)
    print(f"{'operations':>11} {'gc objects':>11} {'blocks':>9} {'RSS KiB':>8}")
    for row in measure():
        print("{:>11,} {:>11,} {:>9,} {:>8,}".format(*row))
