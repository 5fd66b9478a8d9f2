"""vts.channels: ordering, backpressure, completion, cancellation while waiting and
cross-thread writes, on every built-in strategy and both loops; the misuse messages.

`settle()` runs the loop until every callback scheduled so far has run, so a test can say
"this task is still waiting" without sleeping.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import deque
from collections.abc import Awaitable
from typing import Any

import pytest

from vts.channels import Channel, ChannelClosed, ChannelEmpty
from vts.channels.errors import (
    BLOCKING_NO_LOOP,
    BLOCKING_ON_LOOP,
    CAPACITY,
    COMPLETED_TWICE,
    EMPTY,
    OTHER_LOOP,
    RECEIVE_CLOSED,
    SECOND_READER,
    SEND_CLOSED,
)
from vts.errors import UnknownNameError
from vts.strategies import STRATEGIES
from vts.strategies.future_per_call import FuturePerCall

SETTLE_STEPS = 10  # loop iterations: more than any wake-up here takes
THREADS = 4
PER_THREAD = 2_000


@pytest.fixture(params=list(STRATEGIES))
def strategy(request: pytest.FixtureRequest) -> str:
    """Each built-in strategy in turn (the [c] ones where the accelerator is built)."""
    name: str = request.param
    return name


def exactly(message: str) -> str:
    """A `match=` pattern for exactly `message`."""
    return f"^{re.escape(message)}$"


async def settle() -> None:
    for _ in range(SETTLE_STEPS):
        await asyncio.sleep(0)


async def call(awaitable: Awaitable[Any]) -> Any:
    """A coroutine around an awaitable, for create_task."""
    return await awaitable


def start(awaitable: Awaitable[Any]) -> asyncio.Task[Any]:
    return asyncio.get_running_loop().create_task(call(awaitable))


# -- ordering and backpressure --------------------------------------------------------


def test_items_come_out_in_order_ready_or_waited_for(run: Any, strategy: str) -> None:
    async def main() -> list[int]:
        channel: Channel[int] = Channel(strategy=strategy)
        for item in range(5):  # ready: received without waiting
            await channel.send(item)
        received = [await channel.receive() for _ in range(5)]
        reader = start(gather_n(channel, 5))  # waiting: each receive suspends
        for item in range(5, 10):
            await settle()
            assert channel.try_send(item)
        return received + await reader

    assert run(main()) == list(range(10))


async def gather_n(channel: Channel[int], n: int) -> list[int]:
    return [await channel.receive() for _ in range(n)]


def test_a_full_channel_makes_send_wait_until_a_receive_makes_room(
        run: Any, strategy: str) -> None:
    async def main() -> None:
        channel: Channel[int] = Channel(2, strategy=strategy)
        await channel.send(1)
        await channel.send(2)
        assert not channel.try_send(3)
        sender = start(channel.send(3))
        await settle()
        assert not sender.done() and len(channel) == 2
        assert await channel.receive() == 1
        await settle()
        assert sender.done() and sender.result() is None
        assert [await channel.receive(), await channel.receive()] == [2, 3]

    run(main())


def test_waiting_senders_are_served_in_order(run: Any, strategy: str) -> None:
    async def main() -> None:
        channel: Channel[int] = Channel(1, strategy=strategy)
        channel.try_send(0)
        senders = []
        for item in range(1, 4):
            senders.append(start(channel.send(item)))
            await settle()
        assert [await channel.receive() for _ in range(4)] == [0, 1, 2, 3]
        await asyncio.gather(*senders)

    run(main())


def test_waiting_receivers_are_served_in_order(run: Any, strategy: str) -> None:
    async def main() -> None:
        channel: Channel[str] = Channel(strategy=strategy)
        readers = []
        for _ in range(3):
            readers.append(start(channel.receive()))
            await settle()
        for item in "abc":
            channel.try_send(item)
        assert await asyncio.gather(*readers) == ["a", "b", "c"]

    run(main())


# -- completion ---------------------------------------------------------------------


def test_complete_lets_readers_drain_then_raises_channel_closed(
        run: Any, strategy: str) -> None:
    async def main() -> None:
        channel: Channel[int] = Channel(strategy=strategy)
        channel.try_send(1)
        channel.complete()
        assert channel.completed
        assert await channel.receive() == 1
        with pytest.raises(ChannelClosed, match=exactly(RECEIVE_CLOSED)) as closed:
            await channel.receive()
        assert closed.value.__cause__ is None
        with pytest.raises(ChannelClosed, match=exactly(RECEIVE_CLOSED)):
            channel.try_receive()

    run(main())


def test_complete_with_an_error_is_the_cause_of_channel_closed(
        run: Any, strategy: str) -> None:
    async def main() -> None:
        channel: Channel[int] = Channel(strategy=strategy)
        reader = start(channel.receive())
        await settle()
        error = ValueError("the producer failed")
        channel.complete(error)
        with pytest.raises(ChannelClosed, match=exactly(RECEIVE_CLOSED)) as closed:
            await reader
        assert closed.value.__cause__ is error
        with pytest.raises(ChannelClosed) as iterating:
            async for _ in channel:
                pass
        assert iterating.value.__cause__ is error

    run(main())


def test_async_for_ends_when_completed_and_drained(run: Any, strategy: str) -> None:
    async def main() -> list[int]:
        channel: Channel[int] = Channel(strategy=strategy)

        async def produce() -> None:
            for item in range(4):
                await settle()
                channel.try_send(item)
            channel.complete()

        producer = start(produce())
        received = [item async for item in channel]
        await producer
        return received

    assert run(main()) == [0, 1, 2, 3]


def test_complete_wakes_waiting_senders_whose_items_stay_out(run: Any, strategy: str) -> None:
    async def main() -> None:
        channel: Channel[int] = Channel(1, strategy=strategy)
        channel.try_send(1)
        sender = start(channel.send(2))
        await settle()
        channel.complete()
        with pytest.raises(ChannelClosed, match=exactly(SEND_CLOSED)):
            await sender
        assert [item async for item in channel] == [1]

    run(main())


def test_send_and_complete_on_a_completed_channel_raise_at_the_call(strategy: str) -> None:
    channel: Channel[int] = Channel(strategy=strategy)
    channel.complete()
    with pytest.raises(ChannelClosed, match=exactly(SEND_CLOSED)):
        channel.send(1)
    with pytest.raises(ChannelClosed, match=exactly(SEND_CLOSED)):
        channel.try_send(1)
    with pytest.raises(ChannelClosed, match=exactly(COMPLETED_TWICE)):
        channel.complete()


# -- cancellation while waiting -----------------------------------------------------


def test_a_cancelled_receive_leaves_the_next_item_for_the_next_reader(
        run: Any, strategy: str) -> None:
    async def main() -> None:
        channel: Channel[int] = Channel(strategy=strategy)
        reader = start(channel.receive())
        await settle()
        reader.cancel()
        await settle()
        assert reader.cancelled()
        channel.try_send(1)
        assert channel.try_receive() == 1

    run(main())


def test_a_receive_cancelled_after_its_wake_up_does_not_swallow_the_item(
        run: Any, strategy: str) -> None:
    async def main() -> None:
        channel: Channel[int] = Channel(strategy=strategy)
        woken = start(channel.receive())
        await settle()
        next_in_line = start(channel.receive())
        await settle()
        channel.try_send(1)  # wakes `woken`, which has not run yet
        woken.cancel()
        await settle()
        assert woken.cancelled()
        assert next_in_line.done() and next_in_line.result() == 1  # the wake-up passed on

    run(main())


def test_a_cancelled_send_does_not_enqueue(run: Any, strategy: str) -> None:
    async def main() -> None:
        channel: Channel[int] = Channel(1, strategy=strategy)
        channel.try_send(1)
        sender = start(channel.send(2))
        await settle()
        sender.cancel()
        await settle()
        assert sender.cancelled()
        assert channel.try_receive() == 1
        with pytest.raises(ChannelEmpty, match=exactly(EMPTY)):
            channel.try_receive()

    run(main())


def test_a_send_cancelled_after_its_wake_up_does_not_enqueue(run: Any, strategy: str) -> None:
    async def main() -> None:
        channel: Channel[int] = Channel(1, strategy=strategy)
        channel.try_send(1)
        woken = start(channel.send(2))
        await settle()
        next_in_line = start(channel.send(3))
        await settle()
        assert channel.try_receive() == 1  # room: wakes `woken`, which has not run yet
        woken.cancel()
        await settle()
        assert woken.cancelled() and next_in_line.done()  # the room passed on
        assert channel.try_receive() == 3
        assert len(channel) == 0

    run(main())


def test_wait_for_times_out_a_receive_and_loses_nothing(run: Any, strategy: str) -> None:
    async def main() -> None:
        channel: Channel[int] = Channel(strategy=strategy)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(call(channel.receive()), 0.01)
        channel.try_send(7)
        assert await channel.receive() == 7

    run(main())


# -- other threads --------------------------------------------------------------------


def test_producer_threads_lose_and_duplicate_nothing(run: Any, strategy: str) -> None:
    async def main() -> None:
        channel: Channel[tuple[int, int]] = Channel(strategy=strategy)
        done = threading.Barrier(THREADS + 1)

        def produce(thread: int) -> None:
            for item in range(PER_THREAD):
                assert channel.try_send((thread, item))
            done.wait()

        threads = [threading.Thread(target=produce, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        loop = asyncio.get_running_loop()
        completer = loop.run_in_executor(None, lambda: (done.wait(), channel.complete()))
        received = [item async for item in channel]
        await completer
        for thread in threads:
            thread.join()
        per_thread: dict[int, list[int]] = {n: [] for n in range(THREADS)}
        for thread_id, item in received:
            per_thread[thread_id].append(item)
        assert all(items == list(range(PER_THREAD)) for items in per_thread.values())

    run(main())


def test_send_blocking_waits_for_room_from_another_thread(run: Any, strategy: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        channel: Channel[int] = Channel(2, strategy=strategy, loop=loop)

        def produce() -> None:
            for item in range(50):
                channel.send_blocking(item)
            channel.complete()

        producer = loop.run_in_executor(None, produce)
        received = [item async for item in channel]
        await producer
        assert received == list(range(50))

    run(main())


# -- misuse ------------------------------------------------------------------------


@pytest.mark.parametrize("capacity", [0, -1, 1.5, True])
def test_capacity_must_be_a_positive_int_or_none(capacity: Any) -> None:
    with pytest.raises(ValueError, match=exactly(CAPACITY)):
        Channel(capacity)


def test_an_unknown_strategy_name_lists_the_choices() -> None:
    with pytest.raises(UnknownNameError, match=r"^unknown strategy 'pooled2'; choose from: "):
        Channel(strategy="pooled2")


def test_a_strategy_whose_waiters_are_shared_is_refused() -> None:
    class Shared(FuturePerCall[Any]):
        name = "shared"
        independent_waiters = False

    with pytest.raises(ValueError, match=r"^strategy 'shared' cannot serve a channel: its "
                       r"waiting calls share a waiter \(independent_waiters = False\)$"):
        Channel(strategy=Shared)


def test_a_strategy_must_be_a_name_or_a_strategy_class() -> None:
    with pytest.raises(TypeError, match=r"^strategy must be a name or a vts.Strategy "
                       r"subclass, not <class 'collections.deque'>$"):
        Channel(strategy=deque)  # type: ignore[arg-type]


def test_complete_needs_an_exception() -> None:
    with pytest.raises(TypeError, match=r"^error must be an exception or None, not 'no'$"):
        Channel().complete("no")  # type: ignore[arg-type]


def test_try_receive_on_an_empty_channel_raises_channel_empty() -> None:
    with pytest.raises(ChannelEmpty, match=exactly(EMPTY)):
        Channel().try_receive()


def test_a_second_waiting_receive_on_a_single_reader_channel_raises(run: Any) -> None:
    async def main() -> None:
        channel: Channel[int] = Channel(single_reader=True)
        reader = start(channel.receive())
        await settle()
        with pytest.raises(RuntimeError, match=exactly(SECOND_READER)):
            await channel.receive()
        reader.cancel()

    run(main())


def test_a_channel_waits_on_one_loop_only(run: Any) -> None:
    channel: Channel[int] = Channel()

    async def wait_briefly() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(call(channel.receive()), 0.01)

    run(wait_briefly())

    async def on_another_loop() -> None:
        with pytest.raises(RuntimeError, match=exactly(OTHER_LOOP)):
            await channel.receive()

    run(on_another_loop())


def test_send_blocking_refuses_the_loop_thread_and_an_unknown_loop(run: Any) -> None:
    unbound: Channel[int] = Channel(1)
    unbound.try_send(1)
    with pytest.raises(RuntimeError, match=exactly(BLOCKING_NO_LOOP)):
        unbound.send_blocking(2)

    async def main() -> None:
        channel: Channel[int] = Channel(1, loop=asyncio.get_running_loop())
        channel.try_send(1)
        with pytest.raises(RuntimeError, match=exactly(BLOCKING_ON_LOOP)):
            channel.send_blocking(2)

    run(main())
