"""The behavioural contract every strategy keeps, on every event loop kind.

One suite, parametrized over `vts.strategies.STRATEGIES` and over the loop kind: fresh
values come back without waiting (an injected fake clock, no sleeps), stale ones wait for
the next publish, `fail` reaches every current waiter, many waiters share one publish, a
producer thread may publish, and a cancelled caller leaves the strategy usable. Then the
pooled strategy's own promises: a bounded pool, every source home exactly once, and no
late publish delivered to a recycled caller.
"""

from __future__ import annotations

import asyncio
import gc
import math
import queue
import random
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from vts.errors import UnknownNameError
from vts.impl import C_MISSING
from vts.pool import Pool
from vts.strategies import STRATEGIES, Freshness, Strategy, all_strategies, strategy_class
from vts.strategies.base import SWEEP_FLOOR
from vts.strategies.pooled import DEFAULT_CAPACITY, Pooled


class FakeClock:
    """A clock the test moves by hand: `clock.now = ...`."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingPool(Pool[Any]):
    """A Pool that counts successful returns (the real one keeps no such counter)."""

    __slots__ = ("returned",)

    def __init__(self, strategy: Pooled[Any], capacity: int) -> None:
        super().__init__(lambda: strategy.source_class(strategy, self), capacity)
        self.returned = 0

    def give_back(self, item: Any) -> None:
        super().give_back(item)
        self.returned += 1  # only ever called on the loop thread in these tests


# `pooled` and, where the accelerator is built, `pooled[c]`: the pool's promises hold for both.
POOLED_NAMES = [name for name in ("pooled", "pooled[c]") if name in STRATEGIES]


@pytest.fixture(params=POOLED_NAMES)
def pooled_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def counting_pooled(
    freshness: Freshness | None = None,
    capacity: int = DEFAULT_CAPACITY,
    name: str = "pooled",
) -> tuple[Pooled[Any], CountingPool]:
    strategy = strategy_class(name)(freshness, capacity=capacity)  # type: ignore[call-arg]
    assert isinstance(strategy, Pooled)
    pool = strategy.pool = CountingPool(strategy, capacity)
    return strategy, pool


async def consume(awaitable: Any) -> Any:
    return await awaitable


def drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that must not suspend and return its value."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise AssertionError("the call waited, though the value was fresh")


async def spin(times: int = 3) -> None:
    """Let the loop run a few rounds of callbacks (no sleeping)."""
    for _ in range(times):
        await asyncio.sleep(0)


@pytest.fixture(params=list(STRATEGIES))
def strategy_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def make(name: str, freshness: Freshness | None = None) -> Strategy[Any]:
    return strategy_class(name)(freshness)


# -- the registry ---------------------------------------------------------------------


def test_the_registry_lists_the_strategies_reference_first_each_c_variant_after_its_own(
) -> None:
    python = [
        "future_per_call", "cached_result", "handwritten", "manual_reset", "pooled",
        "recycled_future",
    ]
    with_c = [
        "future_per_call", "cached_result", "handwritten", "handwritten[c]", "manual_reset",
        "manual_reset[c]", "pooled", "pooled[c]", "recycled_future",
    ]
    assert list(STRATEGIES) == (python if C_MISSING else with_c)
    for name, cls in STRATEGIES.items():
        assert cls.name == name
        assert strategy_class(name) is cls


def test_an_unknown_strategy_name_is_a_lookup_error() -> None:
    with pytest.raises(UnknownNameError) as caught:
        strategy_class("fastest")
    listed = list(all_strategies())
    assert str(caught.value) == f"unknown strategy 'fastest'; choose from: {', '.join(listed)}"
    # The built-in ones first, in their order; then the installed ones (the example's).
    assert listed[:len(STRATEGIES)] == list(STRATEGIES)
    assert "event_per_publish" in listed[len(STRATEGIES):]
    assert isinstance(caught.value, LookupError)  # what `except LookupError` code expects


def test_freshness_rejects_a_negative_age_and_has_two_named_extremes() -> None:
    with pytest.raises(ValueError, match=r"^max_age must be >= 0$"):
        Freshness(-1.0)
    assert Freshness.always().max_age == math.inf
    assert Freshness.never().max_age == 0.0


# -- fresh and stale --------------------------------------------------------------------


def test_a_fresh_value_is_returned_without_waiting(strategy_name: str, run: Any) -> None:
    async def main() -> None:
        clock = FakeClock()
        strategy = make(strategy_name, Freshness(10.0, clock))
        strategy.publish("first")
        for now in (1000.0, 1005.0, 1009.999):
            clock.now = now
            assert drive(consume(strategy.get())) == "first"
        strategy.publish("second")  # stamped 1009.999
        clock.now = 1019.0
        assert drive(consume(strategy.get())) == "second"

    run(main())


def test_a_stale_value_waits_for_the_next_publish(strategy_name: str, run: Any) -> None:
    async def main() -> None:
        clock = FakeClock()
        strategy = make(strategy_name, Freshness(10.0, clock))
        strategy.publish("old")
        clock.now = 1010.0  # exactly max_age old: stale
        waiter = asyncio.ensure_future(consume(strategy.get()))
        await spin()
        assert not waiter.done()
        strategy.publish("new")
        assert await waiter == "new"
        assert drive(consume(strategy.get())) == "new"  # and it is fresh now

    run(main())


def test_nothing_published_yet_means_wait(strategy_name: str, run: Any) -> None:
    async def main() -> None:
        strategy = make(strategy_name, Freshness.always())
        waiter = asyncio.ensure_future(consume(strategy.get()))
        await spin()
        assert not waiter.done()
        strategy.publish(1)
        assert await waiter == 1
        assert drive(consume(strategy.get())) == 1

    run(main())


def test_never_fresh_means_every_call_waits(strategy_name: str, run: Any) -> None:
    async def main() -> None:
        strategy = make(strategy_name, Freshness.never())
        for value in range(3):
            strategy.publish(value - 1)
            waiter = asyncio.ensure_future(consume(strategy.get()))
            await spin()
            assert not waiter.done()
            strategy.publish(value)
            assert await waiter == value

    run(main())


# -- fail -------------------------------------------------------------------------------


@pytest.mark.parametrize("producer", ["loop", "thread"])
def test_fail_reaches_every_current_waiter(strategy_name: str, run: Any, producer: str) -> None:
    async def main() -> None:
        strategy = make(strategy_name, Freshness.always())
        waiters = [asyncio.ensure_future(consume(strategy.get())) for _ in range(10)]
        await spin()
        error = OSError("sensor unplugged")
        if producer == "loop":
            strategy.fail(error)
        else:
            thread = threading.Thread(target=strategy.fail, args=(error,))
            thread.start()
            thread.join(5)
        outcomes = await asyncio.gather(*waiters, return_exceptions=True)
        assert outcomes == [error] * 10
        with pytest.raises(OSError, match=r"^sensor unplugged$"):
            await waiters[0]

    run(main())


def test_after_fail_the_cache_is_stale(strategy_name: str, run: Any) -> None:
    async def main() -> None:
        strategy = make(strategy_name, Freshness.always())
        strategy.publish("good")
        strategy.fail(OSError("bad sample"))
        waiter = asyncio.ensure_future(consume(strategy.get()))
        await spin()
        assert not waiter.done()  # the good value is no longer served
        strategy.publish("good again")
        assert await waiter == "good again"

    run(main())


def test_a_waiter_registered_after_fail_is_not_failed(strategy_name: str, run: Any) -> None:
    async def main() -> None:
        strategy = make(strategy_name)
        strategy.fail(OSError("nobody was waiting"))
        waiter = asyncio.ensure_future(consume(strategy.get()))
        await spin()
        assert not waiter.done()
        strategy.publish(3)
        assert await waiter == 3

    run(main())


def test_close_cancels_every_waiter(strategy_name: str, run: Any) -> None:
    async def main() -> None:
        strategy = make(strategy_name)
        waiters = [asyncio.ensure_future(consume(strategy.get())) for _ in range(3)]
        await spin()
        strategy.close()
        for waiter in waiters:
            with pytest.raises(asyncio.CancelledError):
                await waiter

    run(main())


# -- many waiters, producer threads ---------------------------------------------------------


def test_a_thousand_concurrent_waiters_all_get_the_one_published_value(
    strategy_name: str, run: Any
) -> None:
    async def main() -> None:
        strategy = make(strategy_name)
        waiters = [asyncio.ensure_future(consume(strategy.get())) for _ in range(1000)]
        await spin()
        assert not any(waiter.done() for waiter in waiters)
        strategy.publish("broadcast")
        assert await asyncio.gather(*waiters) == ["broadcast"] * 1000
        if isinstance(strategy, Pooled):
            assert len(strategy.pool) <= strategy.pool.capacity

    run(main())


def test_a_producer_thread_publishes_and_waiters_resume_on_the_loop_thread(
    strategy_name: str, run: Any
) -> None:
    async def main() -> None:
        strategy = make(strategy_name)
        loop_thread = threading.current_thread()

        async def caller() -> tuple[Any, threading.Thread]:
            value = await strategy.get()
            return value, threading.current_thread()

        waiters = [asyncio.ensure_future(caller()) for _ in range(100)]
        await spin()
        producer = threading.Thread(target=strategy.publish, args=("from a thread",))
        producer.start()
        results = await asyncio.gather(*waiters)
        producer.join(5)
        assert results == [("from a thread", loop_thread)] * 100

    run(main())


class HookedLock:
    """A lock that runs a hook once, just after a release: a deterministic interleaving."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.after_release: Callable[[], object] | None = None

    def acquire(self) -> bool:
        return self._lock.acquire()

    def release(self) -> None:
        self._lock.release()
        hook, self.after_release = self.after_release, None
        if hook is not None:
            hook()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


@pytest.mark.parametrize("outcome", ["publish", "fail"])
def test_a_waiter_that_registers_just_after_a_publish_waits_for_the_next_one(
    strategy_name: str, run: Any, outcome: str
) -> None:
    """Regression: with no waiters, publish used to keep a reference to the live waiter
    list and test it after releasing the lock; a waiter registering in that gap was
    completed by this publish yet stayed registered, so the next publish completed it a
    second time (AlreadyCompletedError in the producer, the rest of its batch stranded;
    for pooled, a stale value could reach a recycled source)."""

    async def main() -> None:
        strategy = make(strategy_name, Freshness.never())
        lock = strategy.lock = HookedLock()  # type: ignore[assignment]
        late: list[Any] = []
        lock.after_release = lambda: late.append(strategy.get())
        if outcome == "publish":
            strategy.publish("before the waiter")
        else:
            strategy.fail(OSError("before the waiter"))
        waiter = asyncio.ensure_future(consume(late[0]))
        await spin()
        assert not waiter.done()
        strategy.publish("after the waiter")  # raised AlreadyCompletedError before the fix
        assert await waiter == "after the waiter"

    run(main())


# -- cancellation -------------------------------------------------------------------------


def test_a_cancelled_caller_sees_cancelled_error_and_later_calls_still_work(
    strategy_name: str, run: Any
) -> None:
    async def main() -> None:
        strategy = make(strategy_name)
        kept = asyncio.ensure_future(consume(strategy.get()))
        cancelled = asyncio.ensure_future(consume(strategy.get()))
        await spin()
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert not kept.done()
        strategy.publish("after the cancel")
        assert await kept == "after the cancel"
        later = asyncio.ensure_future(consume(strategy.get()))
        await spin()
        strategy.publish("later")
        assert await later == "later"

    run(main())


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads every 10 microseconds, so that a busy loop thread lets others in."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def busy_wait(seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass


@pytest.mark.timeout(60)
@pytest.mark.usefixtures("fast_switching")
def test_cancelling_a_caller_while_a_thread_publishes(strategy_name: str, run: Any) -> None:
    """Each caller gets its own round's value or CancelledError, never another round's.

    Rounds vary where the cancel lands: before the publish, while the producer thread is
    publishing, after the publish took the waiter but before its wakeup, or after it.
    """
    rounds = 1000

    async def main() -> tuple[Counter[str], Counter[bool]]:
        if strategy_name in POOLED_NAMES:
            strategy: Strategy[Any]
            strategy, pool = counting_pooled(Freshness.never(), name=strategy_name)
        else:
            strategy = make(strategy_name, Freshness.never())
        # Which way each cancel went, for the strategies whose sources leave the waiter
        # list: True = left it before the publish, False = the publish had taken it.
        forgotten: Counter[bool] = Counter()
        forget = getattr(strategy, "forget", None)
        if forget is not None:

            def counting_forget(source: object, token: int) -> bool:
                left = bool(forget(source, token))
                forgotten[left] += 1
                return left

            strategy.forget = counting_forget  # type: ignore[attr-defined]
        loop = asyncio.get_running_loop()
        requests: queue.SimpleQueue[tuple[int, asyncio.Future[None]] | None] = queue.SimpleQueue()

        def produce() -> None:
            while (request := requests.get()) is not None:
                value, published = request
                strategy.publish(value)
                loop.call_soon_threadsafe(published.set_result, None)

        producer = threading.Thread(target=produce)
        producer.start()
        jitter = random.Random(7)
        outcomes: Counter[str] = Counter()
        try:
            for value in range(rounds):
                caller = asyncio.ensure_future(consume(strategy.get()))
                await asyncio.sleep(0)
                published = loop.create_future()
                requests.put((value, published))
                where = jitter.randrange(4)
                if where == 1:
                    busy_wait(jitter.uniform(0, 200e-6))  # the producer runs meanwhile
                elif where == 2:
                    await published
                elif where == 3:
                    await spin(jitter.randrange(1, 4))
                caller.cancel()
                try:
                    assert await caller == value
                    outcomes["value"] += 1
                except asyncio.CancelledError:
                    outcomes["cancelled"] += 1
                await published
        finally:
            requests.put(None)
            producer.join(5)
        if isinstance(strategy, Pooled):
            assert pool.returned == rounds
            assert len(pool) == pool.created <= pool.capacity  # every source is home
        return outcomes, forgotten

    outcomes, forgotten = run(main())
    assert sum(outcomes.values()) == rounds
    assert outcomes["cancelled"] > 0
    assert outcomes["value"] > 0
    if strategy_name in ("handwritten", "manual_reset", "pooled"):
        assert forgotten[True] > 0
        assert forgotten[False] > 0


# -- pooled: bounded, returned exactly once, never delivered to a recycled caller ----------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("capacity", [16, 128])
def test_pooled_ten_thousand_cancelled_waits_return_every_source_exactly_once(
    run: Any, capacity: int, pooled_name: str
) -> None:
    batch, batches = 100, 100

    async def main() -> None:
        strategy, pool = counting_pooled(Freshness.never(), capacity, pooled_name)
        for _ in range(batches):
            waiters = [asyncio.ensure_future(consume(strategy.get())) for _ in range(batch)]
            await asyncio.sleep(0)
            for waiter in waiters:
                waiter.cancel()
            outcomes = await asyncio.gather(*waiters, return_exceptions=True)
            assert all(isinstance(outcome, asyncio.CancelledError) for outcome in outcomes)
            assert len(pool) <= capacity
        assert pool.returned == batch * batches
        if capacity >= batch:
            assert pool.created == batch  # the pool fed every later batch
            assert len(pool) == batch
        else:
            assert len(pool) == capacity
        # The strategy still works after all that.
        waiter = asyncio.ensure_future(consume(strategy.get()))
        await asyncio.sleep(0)
        strategy.publish("still alive")
        assert await waiter == "still alive"

    run(main())


def test_pooled_a_late_publish_never_reaches_a_recycled_caller(run: Any, pooled_name: str) -> None:
    async def main() -> None:
        strategy, pool = counting_pooled(Freshness.never(), 4, pooled_name)
        deliveries: list[tuple[str, Any]] = []

        async def caller(tag: str) -> None:
            deliveries.append((tag, await strategy.get()))

        old = asyncio.ensure_future(caller("old"))
        await spin()
        old.cancel()
        with pytest.raises(asyncio.CancelledError):
            await old
        assert (pool.created, pool.returned, len(pool)) == (1, 1, 1)
        new = asyncio.ensure_future(caller("new"))
        await spin()
        assert (pool.created, len(pool)) == (1, 0)  # the new caller has the old source
        strategy.publish("late")
        await new
        await spin()
        assert deliveries == [("new", "late")]
        assert (pool.created, pool.returned, len(pool)) == (1, 2, 1)

    run(main())


def test_pooled_a_publish_that_took_a_caller_before_its_cancel_is_dropped(
    run: Any, pooled_name: str
) -> None:
    async def main() -> None:
        strategy, pool = counting_pooled(Freshness.never(), 4, pooled_name)
        deliveries: list[tuple[str, Any]] = []

        async def caller(tag: str) -> None:
            deliveries.append((tag, await strategy.get()))

        old = asyncio.ensure_future(caller("old"))
        await spin()
        strategy.publish("for the old caller")  # takes the waiter; its wakeup is queued
        old.cancel()  # too late to leave the waiter list: the Task cancels on wakeup
        new = asyncio.ensure_future(caller("new"))
        with pytest.raises(asyncio.CancelledError):
            await old
        await spin()
        assert not new.done()
        assert pool.returned == 1  # the old caller's source, with its value dropped
        strategy.publish("for the new caller")
        await new
        assert deliveries == [("new", "for the new caller")]
        assert pool.returned == 2
        assert len(pool) == pool.created

    run(main())


def test_pooled_a_value_task_awaited_twice_is_caught(run: Any, pooled_name: str) -> None:
    async def main() -> None:
        strategy, pool = counting_pooled(Freshness.never(), name=pooled_name)
        call = strategy.get()
        strategy.publish(1)
        assert await call == 1
        with pytest.raises(RuntimeError, match=r"^this ValueTask was already awaited"):
            await call
        assert pool.returned == 1

    run(main())


def test_cached_result_hands_out_one_done_future_per_published_value(run: Any) -> None:
    async def main() -> None:
        strategy = make("cached_result", Freshness.always())
        strategy.publish(1)
        first = strategy.get()
        assert strategy.get() is first
        strategy.publish(2)
        second = strategy.get()
        assert second is not first
        assert drive(consume(second)) == 2

    run(main())


# -- waiters that gave up leave the waiter list -------------------------------------------

# 20,000 calls keep the verdict wide at a fifth of the time 100,000 took: without the
# sweep, the warm-up and 20,000 calls leave 21,000 waiters listed (the test fails).
GAVE_UP_CALLS = 20_000
LISTED_AT_MOST = 64  # the sweep's floor (vts.strategies.base.SWEEP_FLOOR)
TRACED_GROWTH_AT_MOST = 256 * 1024  # bytes; 24.8 MB for pooled (100,000 calls) before


async def _time_out(strategy: Strategy[Any]) -> None:
    try:
        await asyncio.wait_for(strategy.get(), 0)
    except asyncio.TimeoutError:
        return
    raise AssertionError("a silent producer published")


async def _drop(strategy: Strategy[Any]) -> None:
    strategy.get()  # a waiter that is never awaited and is collected at once


@pytest.mark.timeout(600)
@pytest.mark.parametrize("give_up", [_time_out, _drop], ids=["timed-out", "never-awaited"])
def test_waiters_that_gave_up_cost_constant_memory(
    strategy_name: str, run: Any, give_up: Callable[[Strategy[Any]], Coroutine[Any, Any, None]]
) -> None:
    """With a silent producer, 20,000 `asyncio.wait_for(s.get(), 0)` (a Future cancelled,
    or a ValueTask never awaited) or 20,000 dropped `get()`s: the waiter list stays short
    and traced memory flat (every waiter used to stay listed until the next publish)."""

    async def main() -> tuple[int, int]:
        strategy = make(strategy_name, Freshness.never())
        for _ in range(1_000):  # warm up: pools, freelists, the loop's own structures
            await give_up(strategy)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(GAVE_UP_CALLS):
                await give_up(strategy)
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        listed = len(strategy.waiters)
        strategy.publish("late")  # nobody left to wake, nothing raised
        return listed, grown

    listed, grown = run(main())
    print(f"listed={listed} traced_growth={grown}")
    assert listed <= LISTED_AT_MOST, (listed, grown)
    assert grown <= TRACED_GROWTH_AT_MOST, (listed, grown)


def test_listed_waiters_survive_the_sweeps_until_the_publish(strategy_name: str, run: Any) -> None:
    """Waiters still held (not yet awaited) or awaited stay listed however many sweeps run,
    and the next publish wakes them all; only the dropped ones leave."""

    async def main() -> None:
        strategy = make(strategy_name, Freshness.never())
        held = [strategy.get() for _ in range(300)]
        awaiting = [asyncio.ensure_future(consume(strategy.get())) for _ in range(300)]
        await spin()
        for _ in range(5_000):
            strategy.get()  # dropped at once
        # A sweep comes after twice as many registrations as survived the last one.
        listed = len(strategy.waiters)
        assert 600 <= listed <= 3 * 600 + LISTED_AT_MOST
        strategy.publish("all")
        assert await asyncio.gather(*awaiting) == ["all"] * 300
        assert [await waiter for waiter in held] == ["all"] * 300

    run(main())


def test_pooled_sources_of_dropped_waiters_go_back_to_the_pool(run: Any) -> None:
    async def main() -> None:
        strategy, pool = counting_pooled(Freshness.never())
        for _ in range(10_000):
            strategy.get()
        # Every sweep sends the dropped sources home, where the next calls rent them.
        assert pool.created <= 2 * DEFAULT_CAPACITY
        assert pool.returned >= 10_000 - 2 * DEFAULT_CAPACITY
        strategy.publish(1)

    run(main())


class _BareStrategy(Strategy[Any]):
    """Only the shared bookkeeping: a waiter is any object, delivering only drains."""

    name = "bare"

    def fresh(self, value: Any) -> Any:
        return value

    def wait(self) -> Any:
        return None

    def deliver(self, waiters: Any, value: Any, error: BaseException | None) -> None:
        while waiters:
            waiters.popleft()
        self.recycle(waiters)


@pytest.mark.parametrize("waiters", [1, 10, 100])
def test_the_waiter_bookkeeping_allocates_nothing_per_publish(waiters: int) -> None:
    """Registering waiters and publishing to them allocates nothing in the shared code:
    the publish swaps two containers instead of making a new list (1 allocation each)."""
    from vts.suite.measure.allocs import measure_sync

    strategy = _BareStrategy(Freshness(0.0, FakeClock()))
    waiter = object()
    register, publish = strategy.register, strategy.publish
    batch = range(waiters)

    def one_publish() -> None:
        for _ in batch:
            register(waiter)
        publish(1)

    def the_loop_alone() -> None:
        for _ in batch:  # the range iterator: 1 allocation
            pass

    loop_alone = measure_sync(the_loop_alone).allocs_per_op
    assert measure_sync(one_publish).allocs_per_op - loop_alone == 0.0


def _register_dropped(strategy: Strategy[Any], count: int) -> None:
    for _ in range(count):
        strategy.register(object())  # nothing else refers to it: a sweep drops it


def _take_first(strategy: Strategy[Any], count: int) -> None:
    """What a channel's wake does: take waiters from the front, with no publish."""
    strategy.lock.acquire()
    try:
        for _ in range(count):
            strategy.waiters.popleft()
    finally:
        strategy.lock.release()


def test_the_sweep_counts_registrations_since_the_waiter_list_was_last_empty() -> None:
    """Emptied without a publish (a channel takes each waiter it wakes), the list starts
    the sweep's count again: SWEEP_FLOOR - 1 registrations later nothing was swept, and
    the next one sweeps every waiter registered since but itself."""
    strategy = _BareStrategy(Freshness.never())
    _register_dropped(strategy, 40)
    _take_first(strategy, 40)
    _register_dropped(strategy, SWEEP_FLOOR - 1)
    assert len(strategy.waiters) == SWEEP_FLOOR - 1  # was swept at 24, with 40 counted
    _register_dropped(strategy, 1)
    assert len(strategy.waiters) == 1


def test_the_sweep_count_goes_on_while_some_waiters_stay_listed() -> None:
    """Taking only some waiters restarts nothing: those that gave up behind them are
    still swept SWEEP_FLOOR registrations after the list was last empty."""
    strategy = _BareStrategy(Freshness.never())
    _register_dropped(strategy, 40)
    _take_first(strategy, 1)
    _register_dropped(strategy, SWEEP_FLOOR - 40)
    assert len(strategy.waiters) == 1


# -- recycled_future: Futures reset in place ------------------------------------------------


def _recycled(capacity: int = 64) -> Any:
    from vts.strategies.recycled_future import RecycledFuture

    return RecycledFuture(Freshness.never(), capacity=capacity)


def test_recycled_future_hands_out_exact_futures_reset_in_place(run: Any) -> None:
    """A waiting call gets an exact asyncio.Future (the Task's C fast path), and once its
    awaiter is done with it the same object serves a later call."""

    async def main() -> None:
        strategy = _recycled()
        seen: list[int] = []
        for value in range(20):
            waiter = strategy.get()
            assert type(waiter) is asyncio.Future
            seen.append(id(waiter))
            asyncio.get_running_loop().call_soon(strategy.publish, value)
            assert await waiter == value
            del waiter
        assert len(set(seen)) <= 2  # steady state: the same Futures over and over

    run(main())


def test_recycled_future_never_resets_a_future_someone_still_holds(run: Any) -> None:
    """The hazard a stale reference would hit: a recycled Future showing its holder a
    later operation. A Future that anything but the pool still refers to is not reused."""

    async def main() -> None:
        strategy = _recycled()
        held = strategy.get()
        strategy.publish("first")
        assert await held == "first"
        later = [strategy.get() for _ in range(3)]
        assert all(future is not held for future in later)
        assert held.done() and held.result() == "first"  # untouched
        strategy.publish("second")
        assert [await future for future in later] == ["second"] * 3
        assert held.result() == "first"

    run(main())


def test_recycled_future_keeps_at_most_its_capacity(run: Any) -> None:
    async def main() -> None:
        strategy = _recycled(capacity=4)
        waiters = [asyncio.ensure_future(consume(strategy.get())) for _ in range(10)]
        await spin()
        strategy.publish(1)
        assert await asyncio.gather(*waiters) == [1] * 10
        assert len(strategy._recycled) == 4

    run(main())


def test_recycled_future_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"^capacity must be >= 1$"):
        _recycled(capacity=0)
