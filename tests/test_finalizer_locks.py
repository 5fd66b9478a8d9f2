"""A finalizer that runs inside a locked region never waits for that lock.

A ValueTask dropped while suspended on a source cancels the source in its finalizer
(`SourceAwaiter.abandon` -> `cancel(token)` -> `SourceStrategy.forget`). The garbage
collector runs finalizers wherever an allocation triggers a collection, so also while
this thread holds the strategy's lock; a `threading.Lock` taken twice by one thread waits
for ever. Each case that hung runs in a child process with a timeout, so a hang fails
that test instead of the run. The abandoned ValueTask is awaited by a coroutine driven by
hand (no Task registers with the source, so nothing but the cycle holds it).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from vts.strategies import STRATEGIES, SourceStrategy
from vts.strategies.base import Freshness

ROOT = Path(__file__).resolve().parents[1]
SOURCE_NAMES = [name for name, cls in STRATEGIES.items() if issubclass(cls, SourceStrategy)]
POOLED_NAMES = [name for name in ("pooled", "pooled[c]") if name in STRATEGIES]
HANG = 60  # seconds: the child takes about one

PRELUDE = """
import asyncio, gc, json, sys
from vts.strategies import strategy_class
from vts.strategies.base import SWEEP_FLOOR, Freshness
from vts.valuetask import CANCELED

def drop_suspended(task):
    async def hold():
        await task
    coro = hold()
    coro.send(None)  # to its await: the ValueTask yields its bridge; no Task registers
    cycle = [coro]
    cycle.append(cycle)  # only a collection frees it now

def run(main):
    if sys.argv[1] == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        print(json.dumps(loop.run_until_complete(main())))
    finally:
        loop.close()
"""


def run_child(body: str, loop_kind: str, strategy_name: str) -> Any:
    """PRELUDE + body in a new interpreter; what its `main` returned. A hang fails."""
    try:
        child = subprocess.run(
            [sys.executable, "-c", PRELUDE + textwrap.dedent(body), loop_kind, strategy_name],
            capture_output=True, text=True, timeout=HANG, cwd=ROOT, env=dict(os.environ),
            check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hung: no answer in {HANG} s")
    assert child.returncode == 0, f"exit status {child.returncode}\n{child.stderr[-4000:]}"
    return json.loads(child.stdout)


@pytest.mark.parametrize("strategy_name", SOURCE_NAMES)
def test_a_collection_under_the_strategy_lock_cancels_the_abandoned_source_later(
    strategy_name: str, event_loop_kind: str
) -> None:
    result = run_child("""
        async def main():
            strategy = strategy_class(sys.argv[2])(Freshness.never())
            pool = getattr(strategy, "pool", None)
            gc.collect()
            gc.disable()
            drop_suspended(strategy.get())
            # A pooled source is watched through its pool: a reference held here would
            # tell the deferred cancellation that someone still awaits it.
            source = None if pool is not None else strategy.waiters[0]
            strategy.lock.acquire()  # as each of the strategy's locked regions holds it
            try:
                gc.collect()  # as an allocation in such a region may
            finally:
                strategy.lock.release()
            listed = len(strategy.waiters)
            await asyncio.sleep(0)  # the loop cancels it now
            return {
                "listed at the collection": listed,
                "listed after": len(strategy.waiters),
                "home": None if pool is None else len(pool),
                "cancelled": pool is not None or source.get_status(source.version) is CANCELED,
            }
        run(main)
    """, event_loop_kind, strategy_name)
    pooled = strategy_name in POOLED_NAMES
    assert result == {
        "listed at the collection": 1,
        "listed after": 0,
        "home": 1 if pooled else None,
        "cancelled": True,
    }


@pytest.mark.parametrize("strategy_name", POOLED_NAMES)
def test_the_sweep_s_own_allocation_collects_under_the_lock_without_hanging(
    strategy_name: str, event_loop_kind: str
) -> None:
    """No lock held by the test: the 64th registration sweeps under the lock, and the
    collection its first tracked allocation triggers (at once on 3.10/3.11, at the next
    call on 3.12+) finalizes a ValueTask of the same strategy."""
    result = run_child("""
        async def main():
            strategy = strategy_class(sys.argv[2])(Freshness.never())
            gc.collect()
            gc.disable()
            held = [strategy.get() for _ in range(SWEEP_FLOOR - 2)]
            drop_suspended(strategy.get())
            strategy.pool.give_back(strategy.pool.rent())  # the last get() makes no source
            under_lock = []
            gc.callbacks.append(
                lambda phase, info: phase == "start" and under_lock.append(strategy.lock.locked()))
            gc.set_threshold(1)
            gc.enable()
            held.append(strategy.get())  # registration SWEEP_FLOOR: the sweep runs
            gc.disable()
            await asyncio.sleep(0)
            return {"first collection under the lock": under_lock[:1],
                    "home": len(strategy.pool), "listed": len(strategy.waiters)}
        run(main)
    """, event_loop_kind, strategy_name)
    assert result == {
        "first collection under the lock": [True],
        "home": 1,  # the abandoned source (the spare went to the last get())
        "listed": 64 - 1,
    }


@pytest.mark.parametrize("strategy_name", SOURCE_NAMES)
def test_a_cancel_while_another_thread_holds_the_lock_does_not_wait_for_it(
    strategy_name: str, run: Any
) -> None:
    """The Task still ends cancelled, and a pooled source goes home once."""

    async def awaiting(awaitable: Any) -> Any:
        return await awaitable

    async def main() -> tuple[bool, bool, int, Any]:
        strategy = STRATEGIES[strategy_name](Freshness.never())
        task = asyncio.ensure_future(awaiting(strategy.get()))
        await asyncio.sleep(0)
        source = strategy.waiters[0]
        holding, cancelled = threading.Event(), threading.Event()
        waited: list[bool] = []

        def hold() -> None:
            strategy.lock.acquire()
            try:
                holding.set()
                waited.append(cancelled.wait(10))
            finally:
                strategy.lock.release()

        holder = threading.Thread(target=hold)
        holder.start()
        holding.wait()
        task.cancel()
        cancelled.set()
        holder.join()
        with pytest.raises(asyncio.CancelledError):
            await task
        return waited == [True], task.cancelled(), len(strategy.waiters), getattr(
            source, "in_pool", None)

    pooled = strategy_name in POOLED_NAMES
    assert run(main()) == (True, True, 0, True if pooled else None)
