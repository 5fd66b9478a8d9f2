"""vts.core: the .NET reference semantics of a ValueTask source, pinned for every source type.

Most tests run once per source type (`source_kind`: ManualResetCore, HandwrittenSource,
WaiterSource, PooledSource, ReceiveSource), since every one of them must obey the same
protocol. The `run_continuations_asynchronously` switch exists only on ManualResetCore
(and the sources built on it).
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import re
import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from vts.core import VERSION_SPAN, ManualResetCore, next_version, status_of
from vts.impl import Implementation
from vts.valuetask import (
    AlreadyCompletedError,
    CompletionFlags,
    MultipleAwaitError,
    NotCompletedError,
    SourceStatus,
    TokenMismatchError,
)

if TYPE_CHECKING:
    from conftest import SourceKind

NONE = CompletionFlags.NONE
FLOW = CompletionFlags.FLOW_EXECUTION_CONTEXT
SCHED = CompletionFlags.USE_SCHEDULING_CONTEXT

NOT_COMPLETED = (
    r"^the operation has not completed yet; await the ValueTask instead of calling "
    r"get_result\(\) early$"
)
ALREADY_COMPLETED = r"^the operation was already completed; call reset\(\) before reusing it$"
MULTIPLE_AWAITS = (
    r"^multiple awaits detected: a continuation is already registered for this version; "
    r"call \.as_future\(\) to share one result between awaiters$"
)


NO_CONTINUATION_MESSAGE = (
    r"^continuation must not be None: pass the callable on_completed\(\) should run when "
    r"the operation completes$"
)


def token_mismatch(token: int, version: int) -> str:
    return (
        rf"^token {token} is not the source's current version {version}: this ValueTask "
        r"was already consumed or its source was recycled$"
    )


class Calls:
    """A continuation that records (state, thread) per call; list.append is atomic.

    It records the Thread object, not its ident: an ident is reused once a thread ends.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[object, threading.Thread]] = []
        self.event = threading.Event()

    def __call__(self, state: object) -> None:
        self.calls.append((state, threading.current_thread()))
        self.event.set()

    @property
    def states(self) -> list[object]:
        return [state for state, _ in self.calls]

    def wait(self) -> None:
        assert self.event.wait(5), "the continuation never ran"


def ignore(state: object) -> None:
    pass


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads every microsecond, so that races actually interleave."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


# -- tokens ----------------------------------------------------------------------------


def test_a_new_source_is_pending_at_version_0(source_kind: SourceKind) -> None:
    source = source_kind.make()
    assert source.version == 0
    assert source.get_status(0) is SourceStatus.PENDING


@pytest.mark.parametrize("token", [1, -1, 7])
def test_a_wrong_token_is_rejected_by_all_three_methods(
    source_kind: SourceKind, token: int
) -> None:
    source = source_kind.make()
    message = token_mismatch(token, 0)
    with pytest.raises(TokenMismatchError, match=message):
        source.get_status(token)
    with pytest.raises(TokenMismatchError, match=message):
        source.on_completed(ignore, None, token, NONE)
    source_kind.complete(source, "value")
    with pytest.raises(TokenMismatchError, match=message):
        source.get_result(token)
    assert source.get_result(0) == "value"  # the rejected calls changed nothing


def test_a_stale_token_is_rejected_after_reset(source_kind: SourceKind) -> None:
    source = source_kind.make()
    calls = Calls()
    source.on_completed(calls, "old", 0, NONE)
    source.reset()
    assert source.version == 1
    message = token_mismatch(0, 1)
    with pytest.raises(TokenMismatchError, match=message):
        source.get_status(0)
    with pytest.raises(TokenMismatchError, match=message):
        source.on_completed(ignore, None, 0, NONE)
    with pytest.raises(TokenMismatchError, match=message):
        source.get_result(0)
    # The new version starts empty: the old continuation is forgotten, not run.
    assert source.get_status(1) is SourceStatus.PENDING
    source_kind.complete(source, "new")
    assert calls.calls == []
    with pytest.raises(TokenMismatchError, match=message):
        source.get_result(0)
    assert source.get_result(1) == "new"


def test_a_completed_result_is_not_readable_with_the_token_of_the_previous_version(
    source_kind: SourceKind,
) -> None:
    source = source_kind.make()
    source_kind.complete(source, "first")
    source.reset()
    source_kind.complete(source, "second")
    with pytest.raises(TokenMismatchError, match=token_mismatch(0, 1)):
        source.get_result(0)
    assert source.get_result(1) == "second"


def test_versions_wrap_like_a_16_bit_token(source_kind: SourceKind) -> None:
    """.NET's token is a short; vts counts modulo VERSION_SPAN (2**14) through preallocated
    ints. A token is rejected after one reset and accepted again only after exactly
    VERSION_SPAN resets."""
    assert VERSION_SPAN == 1 << 14
    assert next_version(VERSION_SPAN - 1) == 0
    source = source_kind.make()
    source.reset()
    with pytest.raises(TokenMismatchError, match=token_mismatch(0, 1)):
        source.get_status(0)
    for _ in range(VERSION_SPAN - 2):
        source.reset()
    assert source.version == VERSION_SPAN - 1
    with pytest.raises(TokenMismatchError, match=token_mismatch(0, VERSION_SPAN - 1)):
        source.get_status(0)
    source.reset()
    assert source.version == 0
    source_kind.complete(source, "again")
    assert source.get_result(0) == "again"


# -- get_result ----------------------------------------------------------------------


@pytest.mark.timeout(5)
def test_get_result_before_completion_raises_and_never_blocks(source_kind: SourceKind) -> None:
    source = source_kind.make()
    with pytest.raises(NotCompletedError, match=NOT_COMPLETED):
        source.get_result(0)
    source.on_completed(ignore, None, 0, NONE)  # a registered awaiter changes nothing
    with pytest.raises(NotCompletedError, match=NOT_COMPLETED):
        source.get_result(0)
    assert source.get_status(0) is SourceStatus.PENDING
    source_kind.complete(source, 5)
    assert source.get_result(0) == 5


def test_get_result_returns_the_value_once_completed(source_kind: SourceKind) -> None:
    source = source_kind.make()
    source_kind.complete(source, {"cpu": 41.5})
    assert source.get_status(0) is SourceStatus.SUCCEEDED
    assert source.get_result(0) == {"cpu": 41.5}


def test_get_result_raises_the_stored_exception(source_kind: SourceKind) -> None:
    source = source_kind.make()
    error = ValueError("sensor unplugged")
    source_kind.complete(source, error=error)
    assert source.get_status(0) is SourceStatus.FAULTED
    with pytest.raises(ValueError, match=r"^sensor unplugged$") as raised:
        source.get_result(0)
    assert raised.value is error


def test_a_cancelled_error_makes_the_status_canceled(source_kind: SourceKind) -> None:
    source = source_kind.make()
    source_kind.complete(source, error=asyncio.CancelledError())
    assert source.get_status(0) is SourceStatus.CANCELED
    with pytest.raises(asyncio.CancelledError):
        source.get_result(0)


def test_status_of_reads_the_current_version(impl: Implementation) -> None:
    core: ManualResetCore[int] = impl.ManualResetCore()
    core.reset()
    assert status_of(core) is SourceStatus.PENDING
    core.set_result(1)
    assert status_of(core) is SourceStatus.SUCCEEDED


@pytest.mark.parametrize("error", [42, OSError], ids=["an int", "an exception class"])
def test_set_exception_refuses_anything_but_an_exception_instance_at_once(
    impl: Implementation, error: Any
) -> None:
    core: ManualResetCore[int] = impl.ManualResetCore()
    with pytest.raises(TypeError, match=r"^set_exception\(\) needs an exception instance$"):
        core.set_exception(error)
    assert status_of(core) is SourceStatus.PENDING
    core.set_result(1)  # nothing was stored
    assert core.get_result(0) == 1


# -- completing twice, awaiting twice ---------------------------------------------------


@pytest.mark.parametrize("second", ["value", "error"])
def test_completing_twice_raises_and_keeps_the_first_outcome(
    source_kind: SourceKind, second: str
) -> None:
    source = source_kind.make()
    source_kind.complete(source, "first")
    with pytest.raises(AlreadyCompletedError, match=ALREADY_COMPLETED):
        if second == "value":
            source_kind.complete(source, "second")
        else:
            source_kind.complete(source, error=ValueError("late"))
    assert source.get_status(0) is SourceStatus.SUCCEEDED
    assert source.get_result(0) == "first"


def test_completing_twice_raises_after_the_continuation_ran(source_kind: SourceKind) -> None:
    source = source_kind.make()
    calls = Calls()
    source.on_completed(calls, "s", 0, NONE)
    source_kind.complete(source, 1)
    with pytest.raises(AlreadyCompletedError, match=ALREADY_COMPLETED):
        source_kind.complete(source, 2)
    assert calls.states == ["s"]


def test_on_completed_twice_before_completion_raises(source_kind: SourceKind) -> None:
    source = source_kind.make()
    first, second = Calls(), Calls()
    source.on_completed(first, "first", 0, NONE)
    with pytest.raises(MultipleAwaitError, match=MULTIPLE_AWAITS):
        source.on_completed(second, "second", 0, NONE)
    source_kind.complete(source, 1)
    assert first.states == ["first"]
    assert second.calls == []


def test_on_completed_twice_after_completion_raises(source_kind: SourceKind) -> None:
    source = source_kind.make()
    source_kind.complete(source, 1)
    first, second = Calls(), Calls()
    source.on_completed(first, "first", 0, NONE)  # completed already: queued
    with pytest.raises(MultipleAwaitError, match=MULTIPLE_AWAITS):
        source.on_completed(second, "second", 0, NONE)
    first.wait()
    assert second.calls == []
    assert first.states == ["first"]


def test_a_reset_allows_a_new_continuation(source_kind: SourceKind) -> None:
    source = source_kind.make()
    for version in range(3):
        calls = Calls()
        source.on_completed(calls, version, version, NONE)
        source_kind.complete(source, version * 10)
        assert calls.states == [version]
        assert source.get_result(version) == version * 10
        source = source_kind.recycle(source)


@pytest.mark.parametrize("token", [0, 7], ids=["current", "wrong"])
def test_on_completed_with_no_continuation_raises_type_error_and_registers_nothing(
    source_kind: SourceKind, token: int
) -> None:
    """.NET's ArgumentNullException(nameof(continuation)): raised before the token is
    checked, and the slot stays free for the real awaiter."""
    source = source_kind.make()
    with pytest.raises(TypeError, match=NO_CONTINUATION_MESSAGE):
        source.on_completed(None, "state", token, NONE)
    calls = Calls()
    source.on_completed(calls, "real", 0, NONE)  # no MultipleAwaitError: nothing was taken
    source_kind.complete(source, 1)
    assert calls.states == ["real"]
    source = source_kind.make()
    source_kind.complete(source, 1)
    with pytest.raises(TypeError, match=NO_CONTINUATION_MESSAGE):
        source.on_completed(None, "state", token, NONE)  # nothing queued either
    late = Calls()
    source.on_completed(late, "late", 0, NONE)
    late.wait()
    assert late.states == ["late"]


# -- where and when the continuation runs -----------------------------------------------


def test_flags_none_run_the_continuation_inline_on_the_completing_thread(
    source_kind: SourceKind,
) -> None:
    source = source_kind.make()
    calls = Calls()
    source.on_completed(calls, "state", 0, NONE)
    producer = threading.Thread(target=source_kind.complete, args=(source, 1))
    producer.start()
    producer.join(5)
    assert calls.calls == [("state", producer)]


@pytest.mark.parametrize("flags", [NONE, FLOW, SCHED], ids=["none", "flow", "sched"])
def test_a_late_registration_without_a_loop_is_queued_to_a_worker_thread(
    source_kind: SourceKind, flags: CompletionFlags
) -> None:
    """.NET's OnCompleted never runs a continuation inline when the operation already
    completed: it queues it (here to a worker thread when no loop runs), whatever the
    flags say, so the registering caller's stack never dives into it."""
    source = source_kind.make()
    source_kind.complete(source, 1)
    calls = Calls()
    source.on_completed(calls, "state", 0, flags)
    calls.wait()
    [(state, thread)] = calls.calls
    assert state == "state"
    assert thread is not threading.current_thread()


@pytest.mark.parametrize("flags", [NONE, FLOW, SCHED], ids=["none", "flow", "sched"])
def test_a_late_registration_on_a_loop_is_queued_to_that_loop(
    source_kind: SourceKind, run: Any, flags: CompletionFlags
) -> None:
    async def main() -> None:
        source = source_kind.make()
        source_kind.complete(source, 1)
        calls = Calls()
        source.on_completed(calls, "state", 0, flags)
        assert calls.calls == []  # queued with call_soon, not run inline
        await asyncio.sleep(0)
        assert calls.calls == [("state", threading.current_thread())]

    run(main())


@pytest.mark.timeout(60)
@pytest.mark.usefixtures("fast_switching")
def test_a_completion_racing_on_completed_runs_the_continuation_exactly_once(
    source_kind: SourceKind,
) -> None:
    iterations = 3000
    sources = [source_kind.make() for _ in range(iterations)]
    calls: list[list[threading.Thread]] = [[] for _ in range(iterations)]
    barrier = threading.Barrier(2)
    jitter = random.Random(1234)
    delays = [(jitter.randrange(3000), jitter.randrange(3000)) for _ in range(iterations)]

    def continuation(index: object) -> None:
        assert isinstance(index, int)
        calls[index].append(threading.current_thread())

    def spin(n: int) -> None:
        for _ in range(n):
            pass

    def register() -> None:
        for index, source in enumerate(sources):
            barrier.wait()
            spin(delays[index][0])
            source.on_completed(continuation, index, 0, NONE)

    def complete() -> None:
        for index, source in enumerate(sources):
            barrier.wait()
            spin(delays[index][1])
            source_kind.complete(source, index)

    threads = [threading.Thread(target=register), threading.Thread(target=complete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(50)
        assert not thread.is_alive()
    # A registration that found the value already there queued its continuation to a
    # worker thread: wait for those to run.
    deadline = time.monotonic() + 30
    while any(not ran for ran in calls) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [len(ran) for ran in calls] == [1] * iterations
    # Which side won depends on the scheduler (both orders are pinned deterministically
    # by the waiting/sentinel tests): the completing thread ran it inline, or a worker.
    assert threads[0] not in {ran[0] for ran in calls}
    assert [source.get_result(0) for source in sources] == list(range(iterations))


@pytest.mark.timeout(10)
@pytest.mark.parametrize("registered_first", [True, False], ids=["waiting", "sentinel"])
def test_an_inline_continuation_that_reads_the_result_at_once_does_not_deadlock(
    source_kind: SourceKind, registered_first: bool
) -> None:
    """The article's first bug: the completing thread runs the continuation inline, the
    continuation calls get_result at once, and get_result must not wait on the producer.
    (Registered after the completion, it runs on a worker thread instead.)"""
    source = source_kind.make()
    results: list[tuple[object, threading.Thread]] = []
    ran = threading.Event()

    def continuation(state: object) -> None:
        results.append((source.get_result(0), threading.current_thread()))
        ran.set()

    def produce() -> None:
        source_kind.complete(source, "sample")
        if not registered_first:
            source.on_completed(continuation, None, 0, NONE)

    if registered_first:
        source.on_completed(continuation, None, 0, NONE)
    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    producer.join(5)
    assert not producer.is_alive(), "the producer deadlocked"
    assert ran.wait(5), "the continuation never ran"
    [(value, thread)] = results
    assert value == "sample"
    assert (thread is producer) == registered_first


# -- execution context ---------------------------------------------------------------

sensor: contextvars.ContextVar[str] = contextvars.ContextVar("sensor", default="unset")


@pytest.mark.parametrize("registered_first", [True, False], ids=["waiting", "sentinel"])
def test_flow_execution_context_runs_the_continuation_in_the_awaiters_context(
    source_kind: SourceKind, registered_first: bool
) -> None:
    source = source_kind.make()
    seen: list[str] = []
    ran = threading.Event()

    def continuation(state: object) -> None:
        seen.append(sensor.get())
        sensor.set("set by the continuation")
        ran.set()

    def produce() -> None:
        sensor.set("producer")
        source_kind.complete(source, 1)

    def run_in_fresh_context() -> None:
        sensor.set("awaiter")
        if not registered_first:
            produce_in_thread()
        source.on_completed(continuation, None, 0, FLOW)
        # It runs in a copy: what it set does not leak into the awaiter.
        assert sensor.get() == "awaiter"
        sensor.set("changed after on_completed")
        if registered_first:
            produce_in_thread()
        assert sensor.get() == "changed after on_completed"

    def produce_in_thread() -> None:
        producer = threading.Thread(target=produce)
        producer.start()
        producer.join(5)

    contextvars.Context().run(run_in_fresh_context)
    assert ran.wait(5), "the continuation never ran"
    assert seen == ["awaiter"]


def test_without_flow_execution_context_the_continuation_sees_the_producers_context(
    source_kind: SourceKind,
) -> None:
    source = source_kind.make()
    seen: list[str] = []
    sensor.set("awaiter")
    source.on_completed(lambda state: seen.append(sensor.get()), None, 0, NONE)

    def produce() -> None:
        sensor.set("producer")
        source_kind.complete(source, 1)

    contextvars.Context().run(produce)
    assert seen == ["producer"]


def _context_seen(seen: list[dict[object, object]], event: threading.Event) -> Any:
    """A continuation that records every variable set in the context it runs in."""

    def continuation(state: object) -> None:
        seen.append(dict(contextvars.copy_context().items()))
        event.set()

    return continuation


def test_without_flow_execution_context_a_late_registration_runs_in_a_fresh_empty_context(
    source_kind: SourceKind, run: Any
) -> None:
    """.NET runs it under the default context; call_soon would copy the registering
    code's context instead."""

    async def main() -> None:
        source = source_kind.make()
        source_kind.complete(source, 1)
        sensor.set("set by the registering code")
        seen: list[dict[object, object]] = []
        source.on_completed(_context_seen(seen, threading.Event()), None, 0, NONE)
        await asyncio.sleep(0)
        assert seen == [{}]

    run(main())


def test_without_flow_execution_context_a_late_registration_on_a_worker_sees_nothing(
    source_kind: SourceKind,
) -> None:
    def register() -> None:
        sensor.set("set by the registering code")
        source.on_completed(_context_seen(seen, ran), None, 0, NONE)

    source = source_kind.make()
    source_kind.complete(source, 1)
    seen: list[dict[object, object]] = []
    ran = threading.Event()
    contextvars.Context().run(register)
    assert ran.wait(5), "the continuation never ran"
    assert seen == [{}]


def test_without_flow_execution_context_a_posted_completion_runs_in_a_fresh_empty_context(
    source_kind: SourceKind, run: Any
) -> None:
    """Registered first with USE_SCHEDULING_CONTEXT and completed from a thread: the
    producer's contextvars do not travel to the loop with the continuation."""

    async def main() -> None:
        source = source_kind.make()
        seen: list[dict[object, object]] = []
        ran = asyncio.Event()
        record = _context_seen(seen, threading.Event())
        source.on_completed(lambda state: (record(state), ran.set()), None, 0, SCHED)

        def produce() -> None:
            sensor.set("set by the producer")
            source_kind.complete(source, 1)

        producer = threading.Thread(target=contextvars.Context().run, args=(produce,))
        producer.start()
        await asyncio.wait_for(ran.wait(), 5)
        producer.join(5)
        assert seen == [{}]

    run(main())


def test_an_explicit_context_is_the_one_the_continuation_runs_in(source_kind: SourceKind) -> None:
    source = source_kind.make()
    captured = contextvars.Context()
    captured.run(sensor.set, "explicit")
    seen: list[tuple[str, object]] = []

    def continuation(state: object) -> None:
        seen.append((sensor.get(), contextvars.copy_context().get(sensor)))

    source.on_completed(continuation, None, 0, FLOW, context=captured)
    source_kind.complete(source, 1)
    assert seen == [("explicit", "explicit")]


# -- the scheduling context (an event loop) -----------------------------------------------


def test_use_scheduling_context_from_another_thread_runs_on_the_loop_thread(
    source_kind: SourceKind, run: Any
) -> None:
    async def main() -> tuple[threading.Thread, list[tuple[object, threading.Thread]]]:
        source = source_kind.make()
        calls = Calls()
        done = asyncio.get_running_loop().create_future()
        source.on_completed(lambda state: (calls(state), done.set_result(None)), "s", 0, SCHED)
        producer = threading.Thread(target=source_kind.complete, args=(source, 1))
        producer.start()
        await done
        producer.join(5)
        return threading.current_thread(), calls.calls

    loop_thread, calls = run(main())
    assert calls == [("s", loop_thread)]


@pytest.mark.parametrize("registered_first", [True, False], ids=["waiting", "sentinel"])
def test_use_scheduling_context_on_the_loop_thread_never_runs_inline(
    source_kind: SourceKind, run: Any, registered_first: bool
) -> None:
    async def main() -> None:
        source = source_kind.make()
        calls = Calls()
        if registered_first:
            source.on_completed(calls, "s", 0, SCHED)
            source_kind.complete(source, 1)
        else:
            source_kind.complete(source, 1)
            source.on_completed(calls, "s", 0, SCHED)
        assert calls.calls == []  # posted with call_soon, not run inline
        await asyncio.sleep(0)
        assert calls.calls == [("s", threading.current_thread())]

    run(main())


# -- run_continuations_asynchronously (ManualResetCore only) ------------------------------


@pytest.mark.parametrize("registered_first", [True, False], ids=["waiting", "sentinel"])
def test_run_continuations_asynchronously_without_a_loop_uses_another_thread(impl: Implementation,
    registered_first: bool,
) -> None:
    core: ManualResetCore[int] = impl.ManualResetCore(run_continuations_asynchronously=True)
    calls = Calls()
    producer = threading.Thread(target=core.set_result, args=(1,))
    if registered_first:
        core.on_completed(calls, "s", 0, NONE)
        producer.start()
    else:
        producer.start()
        producer.join(5)
        core.on_completed(calls, "s", 0, NONE)
    producer.join(5)
    calls.wait()
    assert len(calls.calls) == 1
    state, thread = calls.calls[0]
    assert state == "s"
    assert thread is not producer
    assert thread is not threading.current_thread()


@pytest.mark.parametrize("registered_first", [True, False], ids=["waiting", "sentinel"])
def test_run_continuations_asynchronously_on_a_loop_posts_to_the_loop(impl: Implementation,
    run: Any, registered_first: bool
) -> None:
    async def main() -> None:
        core: ManualResetCore[int] = impl.ManualResetCore(run_continuations_asynchronously=True)
        calls = Calls()
        if registered_first:
            core.on_completed(calls, "s", 0, NONE)
            core.set_result(1)
        else:
            core.set_result(1)
            core.on_completed(calls, "s", 0, NONE)
        assert calls.calls == []  # not inline, though the flags are NONE
        await asyncio.sleep(0)
        assert calls.calls == [("s", threading.current_thread())]

    run(main())


def test_run_continuations_asynchronously_from_a_producer_thread_resumes_on_the_loop(
    impl: Implementation,
    run: Any,
) -> None:
    async def main() -> None:
        core: ManualResetCore[int] = impl.ManualResetCore(run_continuations_asynchronously=True)
        calls = Calls()
        done = asyncio.get_running_loop().create_future()
        core.on_completed(lambda state: (calls(state), done.set_result(None)), "s", 0, NONE)
        producer = threading.Thread(target=core.set_result, args=(1,))
        producer.start()
        await done
        producer.join(5)
        assert calls.calls == [("s", threading.current_thread())]

    run(main())


def test_without_run_continuations_asynchronously_flags_none_run_inline_on_the_loop(
    impl: Implementation,
    run: Any,
) -> None:
    async def main() -> None:
        core: ManualResetCore[int] = impl.ManualResetCore()
        calls = Calls()
        core.on_completed(calls, "s", 0, NONE)
        core.set_result(1)
        assert calls.calls == [("s", threading.current_thread())]

    run(main())


# -- repr ------------------------------------------------------------------------------


def test_repr_names_the_version_and_the_state(impl: Implementation) -> None:
    core: ManualResetCore[int] = impl.ManualResetCore()
    assert repr(core) == "<ManualResetCore version=0 empty>"
    core.on_completed(ignore, None, 0, NONE)
    assert repr(core) == "<ManualResetCore version=0 waiting>"
    core.set_result(1)
    assert repr(core) == "<ManualResetCore version=0 done>"
    core.reset()
    core.set_result(2)
    assert repr(core) == "<ManualResetCore version=1 completed>"
    assert re.fullmatch(r"<ManualResetCore version=\d+ \w+>", repr(core))
