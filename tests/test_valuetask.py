"""vts.valuetask: ValueTask's three shapes, the await-once rule, the fast path, the bridge."""

from __future__ import annotations

import asyncio
import contextvars
import copy
import pickle
import threading
import traceback
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import pytest

from vts.core import ManualResetCore
from vts.impl import Implementation
from vts.valuetask import (
    AlreadyAwaitedError,
    CancellableSource,
    MultipleAwaitError,
    NotCompletedError,
    SourceStatus,
    TokenMismatchError,
    ValueTask,
    ValueTaskError,
    ValueTaskSource,
)

if TYPE_CHECKING:
    from conftest import SourceKind

ALREADY_AWAITED = (
    r"^this ValueTask was already awaited; call \.as_future\(\) to await it more than once$"
)
NOT_COMPLETED = (
    r"^the operation has not completed yet; await the ValueTask instead of calling "
    r"get_result\(\) early$"
)
MULTIPLE_AWAITS = (
    r"^multiple awaits detected: a continuation is already registered for this version; "
    r"call \.as_future\(\) to share one result between awaiters$"
)


def drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that must not suspend; return its value (no loop needed)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise AssertionError("the coroutine suspended")


async def consume(awaitable: Any) -> Any:
    return await awaitable


def make_vt(source_kind: SourceKind) -> tuple[Any, ValueTask[Any]]:
    source = source_kind.make()
    return source, source_kind.impl.ValueTask.from_source(source, source.version)


# -- the error hierarchy and the protocols ----------------------------------------------


def test_every_misuse_error_is_a_value_task_error_and_a_runtime_error() -> None:
    for error in (AlreadyAwaitedError(), NotCompletedError(), MultipleAwaitError()):
        assert isinstance(error, ValueTaskError)
        assert isinstance(error, RuntimeError)


def test_every_source_type_implements_the_protocol(source_kind: SourceKind) -> None:
    source = source_kind.make()
    assert isinstance(source, ValueTaskSource)
    # Only the strategies' sources know how to leave their waiter list.
    is_bare_core = source_kind.name in ("ManualResetCore", "ManualResetCore[c]")
    assert isinstance(source, CancellableSource) == (not is_bare_core)


# -- from_result ------------------------------------------------------------------------


def test_a_result_value_task_is_completed_and_awaits_without_suspending(
    impl: Implementation
) -> None:
    vt = impl.ValueTask(42)
    assert vt.is_completed
    assert vt.result() == 42
    assert vt.result() == 42  # nothing to consume: a plain value
    assert drive(consume(vt)) == 42
    assert drive(consume(vt)) == 42
    assert impl.ValueTask.from_result("x").result() == "x"
    assert repr(vt) == "<ValueTask result=42>"


def test_a_result_value_task_as_future_is_a_done_future(impl: Implementation, run: Any) -> None:
    async def main() -> None:
        future = impl.ValueTask(7).as_future()
        assert isinstance(future, asyncio.Future)
        assert future.done()
        assert await future == 7
        assert await asyncio.gather(future, future) == [7, 7]

    run(main())


# -- from_awaitable ---------------------------------------------------------------------


def test_a_future_value_task_follows_its_future(impl: Implementation, run: Any) -> None:
    async def main() -> None:
        future = asyncio.get_running_loop().create_future()
        vt = impl.ValueTask.from_awaitable(future)
        assert not vt.is_completed
        with pytest.raises(NotCompletedError, match=NOT_COMPLETED):
            vt.result()
        assert vt.as_future() is future
        future.set_result("ready")
        assert vt.is_completed
        assert vt.result() == "ready"
        assert await vt == "ready"
        assert repr(vt) == f"<ValueTask awaitable={future!r}>"

    run(main())


def test_a_coroutine_value_task_is_awaited_through_its_coroutine(
    impl: Implementation, run: Any
) -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 3

    async def main() -> None:
        vt = impl.ValueTask.from_awaitable(answer())
        assert not vt.is_completed
        with pytest.raises(NotCompletedError, match=NOT_COMPLETED):
            vt.result()
        assert await vt == 3
        shared = impl.ValueTask.from_awaitable(answer()).as_future()
        assert await asyncio.gather(shared, shared) == [3, 3]

    run(main())


# -- from_source: the fast path ------------------------------------------------------------


def test_the_fast_path_reads_a_completed_source_without_a_loop(source_kind: SourceKind) -> None:
    source, vt = make_vt(source_kind)
    assert not vt.is_completed
    with pytest.raises(NotCompletedError, match=NOT_COMPLETED):
        vt.result()  # does not consume: the caller may still await
    source_kind.complete(source, "sample")
    assert vt.is_completed
    assert vt.result() == "sample"
    with pytest.raises(AlreadyAwaitedError, match=ALREADY_AWAITED):
        vt.result()
    with pytest.raises(AlreadyAwaitedError, match=ALREADY_AWAITED):
        drive(consume(vt))


def test_the_fast_path_raises_the_stored_exception(source_kind: SourceKind) -> None:
    source, vt = make_vt(source_kind)
    source_kind.complete(source, error=KeyError("cpu"))
    assert vt.is_completed
    with pytest.raises(KeyError, match=r"^'cpu'$"):
        vt.result()


def test_awaiting_a_completed_source_does_not_suspend(source_kind: SourceKind) -> None:
    source, vt = make_vt(source_kind)
    source_kind.complete(source, 9)
    assert drive(consume(vt)) == 9


def test_a_pending_value_task_is_not_consumed_by_a_failed_fast_path(
    source_kind: SourceKind, run: Any
) -> None:
    async def main() -> None:
        source, vt = make_vt(source_kind)
        with pytest.raises(NotCompletedError, match=NOT_COMPLETED):
            vt.result()
        asyncio.get_running_loop().call_soon(source_kind.complete, source, "later")
        assert await vt == "later"

    run(main())


def test_repr_of_a_source_value_task(impl: Implementation) -> None:
    assert repr(impl.ValueTask.from_source(impl.ManualResetCore(), 3)) == (
        "<ValueTask source=ManualResetCore token=3>"
    )


def test_repr_of_a_bridge_names_its_source_and_token(impl: Implementation, run: Any) -> None:
    async def main() -> str:
        return repr(impl.SourceAwaiter(impl.ManualResetCore(), 0))

    assert run(main()) == "<SourceAwaiter source=<ManualResetCore version=0 empty> token=0>"


@pytest.mark.parametrize("how", ["copy", "deepcopy", "pickle"])
@pytest.mark.parametrize("what", ["ManualResetCore", "ValueTask", "SourceAwaiter"])
def test_the_protocols_types_refuse_copy_and_pickle(
    impl: Implementation, what: str, how: str, run: Any
) -> None:
    async def make() -> object:
        core = impl.ManualResetCore()
        made = {"ManualResetCore": core, "ValueTask": impl.ValueTask.from_source(core, 0),
                "SourceAwaiter": impl.SourceAwaiter(core, 0)}
        return made[what]

    target = run(make())
    copier = {"copy": copy.copy, "deepcopy": copy.deepcopy, "pickle": pickle.dumps}[how]
    with pytest.raises(TypeError, match=(
        rf"^cannot copy or pickle a {what} object: it is one operation's live state; "
        r"make a new one$"
    )):
        copier(target)


# -- awaiting once, as_future for more -----------------------------------------------------


@pytest.mark.parametrize("completed_first", [True, False], ids=["completed", "pending"])
def test_awaiting_a_source_value_task_twice_raises(
    source_kind: SourceKind, run: Any, completed_first: bool
) -> None:
    async def main() -> None:
        source, vt = make_vt(source_kind)
        if completed_first:
            source_kind.complete(source, 1)
        else:
            asyncio.get_running_loop().call_soon(source_kind.complete, source, 1)
        assert await vt == 1
        with pytest.raises(AlreadyAwaitedError, match=ALREADY_AWAITED):
            await vt

    run(main())


def test_as_future_can_be_awaited_many_times_and_gathered(
    source_kind: SourceKind, run: Any
) -> None:
    async def main() -> None:
        source, vt = make_vt(source_kind)
        future = vt.as_future()
        assert isinstance(future, asyncio.Future)
        asyncio.get_running_loop().call_soon(source_kind.complete, source, "shared")
        assert await future == "shared"
        assert await future == "shared"
        assert await asyncio.gather(future, future, future) == ["shared"] * 3
        assert await asyncio.wait_for(future, 5) == "shared"

    run(main())


def test_as_future_consumes_the_value_task_at_once(source_kind: SourceKind, run: Any) -> None:
    async def main() -> None:
        source, vt = make_vt(source_kind)
        future = vt.preserve()  # the .NET name
        with pytest.raises(AlreadyAwaitedError, match=ALREADY_AWAITED):
            await asyncio.wait_for(consume(vt), 5)  # not a TimeoutError: it must not wait
        with pytest.raises(AlreadyAwaitedError, match=ALREADY_AWAITED):
            vt.as_future()
        with pytest.raises(AlreadyAwaitedError, match=ALREADY_AWAITED):
            vt.result()
        source_kind.complete(source, 5)
        assert await future == 5

    run(main())


def test_as_future_after_an_await_raises(source_kind: SourceKind, run: Any) -> None:
    async def main() -> None:
        source, vt = make_vt(source_kind)
        source_kind.complete(source, 5)
        assert await vt == 5
        with pytest.raises(AlreadyAwaitedError, match=ALREADY_AWAITED):
            vt.as_future()

    run(main())


# -- resuming on the loop, errors with their traceback ------------------------------------


def test_completion_from_another_thread_resumes_the_awaiter_on_its_loop_thread(
    source_kind: SourceKind, run: Any
) -> None:
    async def main() -> None:
        source, vt = make_vt(source_kind)
        seen: dict[str, Any] = {}

        def produce() -> None:
            seen["status when produced"] = source.get_status(0)
            seen["producer"] = threading.current_thread()
            source_kind.complete(source, "from a thread")

        producer = threading.Thread(target=produce)
        # Runs once this Task has suspended on the ValueTask, so the completion is a wakeup.
        asyncio.get_running_loop().call_soon(producer.start)
        loop_thread = threading.current_thread()
        assert await vt == "from a thread"
        assert threading.current_thread() is loop_thread
        producer.join(5)
        assert seen["status when produced"] is SourceStatus.PENDING
        assert seen["producer"] is producer is not loop_thread

    run(main())


request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def test_the_awaiter_resumes_in_its_own_task_context(source_kind: SourceKind, run: Any) -> None:
    async def awaiter(vt: ValueTask[Any]) -> tuple[str, str, str]:
        request_id.set("set by the awaiting task")
        before = request_id.get()
        await vt
        after = request_id.get()
        # Resumed in the Task's own context, not in a copy: what it sets now is still
        # there after the next ordinary suspension.
        request_id.set("set after the resume")
        await asyncio.sleep(0)
        return before, after, request_id.get()

    async def main() -> None:
        source, vt = make_vt(source_kind)

        def produce() -> None:
            request_id.set("set by the producer")
            source_kind.complete(source, 1)

        task = asyncio.ensure_future(awaiter(vt))
        await asyncio.sleep(0)
        producer = threading.Thread(target=produce)
        producer.start()
        assert await task == (
            "set by the awaiting task",
            "set by the awaiting task",
            "set after the resume",
        )
        producer.join(5)
        assert request_id.get() == "none"  # nothing leaked into the caller's context

    run(main())


def raise_in_the_producer(source_kind: SourceKind, source: Any) -> None:
    try:
        raise OSError("no such sensor")
    except OSError as error:
        source_kind.complete(source, error=error)


def test_a_producers_exception_reaches_the_awaiter_with_its_traceback(
    source_kind: SourceKind, run: Any
) -> None:
    async def main() -> None:
        source, vt = make_vt(source_kind)
        producer = threading.Thread(target=raise_in_the_producer, args=(source_kind, source))
        asyncio.get_running_loop().call_soon(producer.start)
        with pytest.raises(OSError, match=r"^no such sensor$") as raised:
            await vt
        producer.join(5)
        frames = [frame.name for frame in traceback.extract_tb(raised.value.__traceback__)]
        assert "raise_in_the_producer" in frames
        assert "main" in frames

    run(main())


def test_one_error_read_twice_does_not_grow_its_traceback(impl: Implementation) -> None:
    core: ManualResetCore[int] = impl.ManualResetCore()
    raise_in_the_producer_core(core)
    lengths = []
    for _ in range(3):
        with pytest.raises(OSError, match=r"^no such sensor$") as raised:
            core.get_result(0)
        lengths.append(len(traceback.extract_tb(raised.value.__traceback__)))
    assert lengths[0] == lengths[1] == lengths[2]


def raise_in_the_producer_core(core: ManualResetCore[int]) -> None:
    try:
        raise OSError("no such sensor")
    except OSError as error:
        core.set_exception(error)


# -- cancelling an awaiter ------------------------------------------------------------------


def test_cancelling_an_awaiter_of_a_non_cancellable_source_waits_for_the_completion(
    impl: Implementation,
    run: Any,
) -> None:
    async def main() -> None:
        core: ManualResetCore[str] = impl.ManualResetCore()
        task = asyncio.ensure_future(consume(impl.ValueTask.from_source(core, 0)))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.sleep(0)
        assert not task.done()  # ManualResetCore cannot abandon: it waits for the result
        core.set_result("dropped")
        with pytest.raises(asyncio.CancelledError):
            await task
        # The awaiter consumed the result on its way out (a pooled source would go home).
        assert core.get_status(0) is SourceStatus.SUCCEEDED

    run(main())


# -- the bridge ------------------------------------------------------------------------------


def test_the_bridge_accepts_one_done_callback(impl: Implementation, run: Any) -> None:
    async def main() -> None:
        core: ManualResetCore[int] = impl.ManualResetCore()
        awaiter = impl.SourceAwaiter(core, 0)
        assert awaiter.get_loop() is asyncio.get_running_loop()
        assert not awaiter.done()
        assert awaiter.exception() is None
        awaiter.add_done_callback(lambda fut: None)
        with pytest.raises(MultipleAwaitError, match=MULTIPLE_AWAITS):
            awaiter.add_done_callback(lambda fut: None)
        assert awaiter.remove_done_callback(lambda fut: None) == 0
        assert not awaiter.cancel()  # a bare core cannot be cancelled
        core.set_result(1)
        assert awaiter.done()
        assert not awaiter.cancelled()

    run(main())


def test_the_bridge_result_raises_cancelled_error_for_a_cancelled_source(
    impl: Implementation, run: Any
) -> None:
    async def main() -> None:
        core: ManualResetCore[int] = impl.ManualResetCore()
        awaiter = impl.SourceAwaiter(core, 0)
        core.set_exception(asyncio.CancelledError())
        assert awaiter.cancelled()
        with pytest.raises(asyncio.CancelledError):
            awaiter.result()

    run(main())


def test_a_stale_token_through_the_bridge_is_rejected(impl: Implementation, run: Any) -> None:
    async def main() -> None:
        core: ManualResetCore[int] = impl.ManualResetCore()
        vt = impl.ValueTask.from_source(core, 0)
        core.reset()
        with pytest.raises(TokenMismatchError):
            await vt

    run(main())


# -- two concurrent awaits of one operation ----------------------------------------------


async def _ticks(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


@pytest.mark.timeout(30)
def test_a_second_concurrent_await_raises_in_the_second_task_and_the_first_gets_its_value(
    source_kind: SourceKind, run: Any
) -> None:
    """Two ValueTasks of one (source, token), each awaited in its own Task: the second
    Task raises MultipleAwaitError at its await (not in the loop's exception handler,
    which would leave it pending forever), and the first still gets the value."""

    async def main() -> None:
        source, vt = make_vt(source_kind)
        copy = source_kind.impl.ValueTask.from_source(source, source.version)
        first = asyncio.ensure_future(consume(vt))
        await _ticks()  # the first Task is suspended on the operation
        second = asyncio.ensure_future(consume(copy))
        await _ticks()
        assert second.done(), "the second await never finished"
        with pytest.raises(MultipleAwaitError, match=MULTIPLE_AWAITS) as raised:
            second.result()
        assert "consume" in [f.name for f in traceback.extract_tb(raised.value.__traceback__)]
        assert not first.done()
        source_kind.complete(source, "value")
        assert await asyncio.wait_for(first, 5) == "value"

    run(main())


@pytest.mark.timeout(30)
def test_cancelling_the_refused_second_await_leaves_the_first_alone(
    source_kind: SourceKind, run: Any
) -> None:
    async def main() -> None:
        source, vt = make_vt(source_kind)
        first = asyncio.ensure_future(consume(vt))
        await _ticks()
        copy = source_kind.impl.ValueTask.from_source(source, source.version)
        second = asyncio.ensure_future(consume(copy))
        await asyncio.sleep(0)  # suspended on its refused awaiter, woken next pass
        second.cancel()
        await _ticks()
        assert second.cancelled()
        assert source.get_status(source.version) is SourceStatus.PENDING
        source_kind.complete(source, "value")
        assert await asyncio.wait_for(first, 5) == "value"

    run(main())


@pytest.mark.timeout(30)
def test_a_copy_awaited_after_the_completion_never_leaves_the_first_waiting(
    source_kind: SourceKind, run: Any
) -> None:
    """The copy finds the operation complete and reads it synchronously before the first
    Task resumed. A source whose get_result consumes the operation (pooled, socket) moved
    on: the first Task raises TokenMismatchError instead of waiting forever."""

    async def main() -> None:
        source, vt = make_vt(source_kind)
        token = source.version
        first = asyncio.ensure_future(consume(vt))
        await _ticks()
        source_kind.complete(source, "value")
        assert await consume(source_kind.impl.ValueTask.from_source(source, token)) == "value"
        done, _ = await asyncio.wait({first}, timeout=5)
        assert done == {first}, "the first await never finished"
        if source.version == token:  # get_result does not consume: both read the value
            assert first.result() == "value"
        else:
            with pytest.raises(TokenMismatchError):
                first.result()

    run(main())
