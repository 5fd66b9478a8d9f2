"""Producer threads against one event loop: no lost and no duplicated wakeups.

Two bounded stress tests (each well under the timeout on a 2-core machine):

- sources: loop tasks await source-backed ValueTasks (a ManualResetCore per task, reset
  after every result; a PooledSource from one shared pool, which resets and returns
  itself in get_result; or a new HandwrittenSource per call, all sharing one lock as a
  strategy's do) while four producer threads complete them, some with errors.
  Completions land on both sides of the registration (the Sentinel path and the wakeup
  path). Every completion is delivered once, to the awaiter it was meant for.
- strategies: four producer threads publish continuously while loop tasks call `get()`
  on every strategy; every call returns a value some producer published.

A lost wakeup shows as a timeout with a count of what was missing; a duplicated one as
an error in a task (NotCompletedError, TokenMismatchError, DoubleReturnError) or in the
loop's exception handler, which the `run` fixture turns into a failure.
"""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from vts.core import ManualResetCore
from vts.impl import Implementation
from vts.strategies import STRATEGIES, strategy_class
from vts.strategies.base import Freshness
from vts.strategies.handwritten import Handwritten, HandwrittenSource
from vts.strategies.pooled import Pooled

PRODUCERS = 4
TASKS = 100
ROUNDS = 1000  # TASKS * ROUNDS = 100,000 completions per source type and loop kind
SWITCH_INTERVAL = 5e-6
STALL_SECONDS = 5.0  # no progress at all for this long = a lost wakeup


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads every few microseconds instead of every 5 ms: many more interleavings
    inside the protocol methods, where a missing lock would show."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    yield
    sys.setswitchinterval(old)


class Failure(Exception):
    """The error some completions carry; compared by its args."""


async def until_done(
    tasks: list[asyncio.Future[None]],
    progress: Callable[[], int],
    expected: int,
    producer_errors: list[BaseException],
) -> None:
    """Wait for `tasks`; fail as soon as STALL_SECONDS pass with no progress at all (a lost
    wakeup stalls its task forever), and re-raise the first error a task or a producer
    thread hit."""
    pending: set[asyncio.Future[None]] = set(tasks)
    last = -1
    while pending:
        _, pending = await asyncio.wait(
            pending, timeout=STALL_SECONDS, return_when=asyncio.FIRST_EXCEPTION
        )
        if producer_errors:
            raise producer_errors[0]
        for task in tasks:
            if task.done() and task.exception() is not None:
                task.result()
        now = progress()
        assert now != last, f"stalled at {now} of {expected}: wakeups were lost"
        last = now
    if producer_errors:
        raise producer_errors[0]


def recording_errors(errors: list[BaseException], body: Callable[..., None]) -> Callable[..., None]:
    """A thread target that keeps the exception that ended it (else it is only printed)."""

    def run(*args: Any) -> None:
        try:
            body(*args)
        except BaseException as error:
            errors.append(error)

    return run


def start_producers(
    requests: queue.SimpleQueue[Any], errors: list[BaseException]
) -> list[threading.Thread]:
    def produce() -> None:
        while (request := requests.get()) is not None:
            complete, outcome = request
            if isinstance(outcome, BaseException):
                complete(None, outcome)
            else:
                complete(outcome, None)

    producers = [
        threading.Thread(target=recording_errors(errors, produce), daemon=True)
        for _ in range(PRODUCERS)
    ]
    for producer in producers:
        producer.start()
    return producers


def stop_producers(requests: queue.SimpleQueue[Any], producers: list[threading.Thread]) -> None:
    for _ in producers:
        requests.put(None)
    for producer in producers:
        producer.join(10)
        assert not producer.is_alive()


def core_completer(core: ManualResetCore[Any]) -> Any:
    def complete(value: object, error: BaseException | None) -> None:
        if error is None:
            core.set_result(value)
        else:
            core.set_exception(error)

    return complete


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("fast_switching")
@pytest.mark.parametrize("source_type", ["manual_reset", "pooled", "handwritten"])
def test_producer_threads_complete_sources_awaited_on_one_loop(
    run: Any, source_type: str, impl: Implementation
) -> None:
    async def main() -> tuple[Counter[str], set[tuple[int, int]]]:
        requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        producer_errors: list[BaseException] = []
        producers = start_producers(requests, producer_errors)
        pooled: Pooled[Any] = strategy_class(  # type: ignore[call-arg]
            "pooled" if impl.name == "python" else "pooled[c]")(capacity=TASKS)
        assert isinstance(pooled, Pooled)
        handwritten: Handwritten[Any] = Handwritten()
        shared_lock = threading.Lock()
        delivered: set[tuple[int, int]] = set()
        counts: Counter[str] = Counter()

        async def worker(number: int) -> None:
            core: ManualResetCore[Any] = impl.ManualResetCore()
            for round_ in range(ROUNDS):
                if source_type == "pooled":
                    source: Any = pooled.pool.rent()
                    complete = source.complete
                elif source_type == "handwritten":
                    source = HandwrittenSource(handwritten, shared_lock)
                    complete = source.complete
                else:
                    source, complete = core, core_completer(core)
                vt = impl.ValueTask.from_source(source, source.version)
                key = (number, round_)
                failing = round_ % 10 == 9
                requests.put((complete, Failure(*key) if failing else key))
                if round_ % 3 == 1:  # give the producers a head start: the Sentinel path
                    await asyncio.sleep(0)
                try:
                    got = await vt
                except Failure as error:
                    assert failing and error.args == key
                    counts["error"] += 1
                else:
                    assert not failing and got == key
                    counts["value"] += 1
                assert key not in delivered
                delivered.add(key)
                if source_type == "manual_reset":
                    core.reset()

        workers = [asyncio.ensure_future(worker(number)) for number in range(TASKS)]
        try:
            await until_done(workers, lambda: len(delivered), TASKS * ROUNDS, producer_errors)
        finally:
            stop_producers(requests, producers)
        if source_type == "pooled":
            assert pooled.pool.created <= TASKS
            assert len(pooled.pool) == pooled.pool.created  # every source came home
        return counts, delivered

    counts, delivered = run(main())
    assert len(delivered) == TASKS * ROUNDS
    assert counts == Counter(value=TASKS * ROUNDS * 9 // 10, error=TASKS * ROUNDS // 10)


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("fast_switching")
@pytest.mark.parametrize("strategy_name", list(STRATEGIES))
def test_producer_threads_publish_while_the_loop_gets(run: Any, strategy_name: str) -> None:
    tasks, calls = 50, 100  # 5,000 get() calls per strategy and loop kind

    async def main() -> Counter[int]:
        strategy = strategy_class(strategy_name)(Freshness.never())
        stop = threading.Event()
        producer_errors: list[BaseException] = []
        published: list[set[tuple[int, int]]] = [set() for _ in range(PRODUCERS)]

        def produce(number: int) -> None:
            sequence = 0
            while not stop.is_set():
                sample = (number, sequence)
                published[number].add(sample)
                strategy.publish(sample)
                sequence += 1

        producers = [
            threading.Thread(
                target=recording_errors(producer_errors, produce), args=(number,), daemon=True
            )
            for number in range(PRODUCERS)
        ]
        for producer in producers:
            producer.start()
        by_producer: Counter[int] = Counter()

        async def caller() -> None:
            for _ in range(calls):
                sample = await strategy.get()
                assert sample in published[sample[0]]
                by_producer[sample[0]] += 1

        callers = [asyncio.ensure_future(caller()) for _ in range(tasks)]
        try:
            await until_done(
                callers, lambda: sum(by_producer.values()), tasks * calls, producer_errors
            )
        finally:
            stop.set()
            for producer in producers:
                producer.join(10)
        return by_producer

    by_producer = run(main())
    assert sum(by_producer.values()) == tasks * calls
