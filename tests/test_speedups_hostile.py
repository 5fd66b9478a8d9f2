"""vts._speedups under a hostile caller: it never crashes, corrupts or leaks.

One test per class of defect the C accelerator had (issue 17), each written to fail
before its fix. A case that crashed the interpreter (a segfault, a use after free, a C
stack overflow) runs in a child process with `PYTHONMALLOC=debug`, whose freed memory is
overwritten, so a use after free crashes at once: a crash fails that one test, not the
run. Where the Python reference (vts.valuetask, vts.core, vts.strategies) defines the
behaviour, the test runs on both implementations and pins the same result.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import os
import pickle
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path
from typing import Any

import pytest

from vts.impl import C_MISSING, Implementation
from vts.valuetask import CANCELED, PENDING, AlreadyAwaitedError

if C_MISSING:
    pytest.skip(C_MISSING, allow_module_level=True)

from vts import _speedups
from vts.strategies.accelerated import CWaiterSource
from vts.strategies.manual_reset import COMPLETE_NEEDS_EXCEPTION, WaiterSource

ROOT = Path(__file__).resolve().parents[1]

# A source written in Python whose methods the child scripts turn hostile.
PRELUDE = """
import asyncio, gc, sys
import vts._speedups as S
from vts.valuetask import PENDING, SUCCEEDED, TokenMismatchError

class Source:
    def __init__(self):
        self.status = PENDING
        self.hook = None
    def get_status(self, token):
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()
        return self.status
    def on_completed(self, continuation, state, token, flags, *, context=None):
        pass
    def get_result(self, token):
        return 42
"""


def run_child(body: str) -> str:
    """Run PRELUDE + body in a new interpreter; its stdout. A crash or an error fails."""
    env = {**os.environ, "PYTHONMALLOC": "debug"}
    child = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env, check=False)
    assert child.returncode == 0, f"exit status {child.returncode}\n{child.stderr[-4000:]}"
    return child.stdout


# -- destruction: tp_finalize, the freelist, the trashcan ------------------------------------


def test_a_dropped_suspended_value_task_abandons_an_awaiter_of_any_type() -> None:
    """vt_dealloc cast the awaiter to the C bridge without a check."""
    out = run_child("""
        class Foreign:
            def abandon(self):
                print("abandoned")
        class ForeignSource(Source):
            def awaiter_for(self, token):
                return Foreign()
        task = S.source_task(ForeignSource(), 0)
        step = task.__await__()
        assert type(next(step)) is Foreign
        del task, step
        gc.collect()
    """)
    assert out == "abandoned\n"


def test_an_error_while_a_dropped_value_task_is_finalised_is_reported_once() -> None:
    """get_status raising in vt_dealloc reached PyErr_WriteUnraisable on the dying object,
    which re-entered dealloc until the C stack overflowed."""
    out = run_child("""
        reports = []
        sys.unraisablehook = lambda u: reports.append(type(u.exc_value).__name__)
        class Failing(Source):
            failing = False
            def get_status(self, token):
                if self.failing:
                    raise LookupError("boom")
                return self.status
        async def main():
            source = Failing()
            task = S.source_task(source, 0)
            step = task.__await__()
            next(step)
            source.failing = True
            del task, step
        asyncio.run(main())
        print(reports)
    """)
    assert out == "['LookupError']\n"


def test_a_value_task_an_unraisablehook_keeps_is_never_reused() -> None:
    """Dealloc put the ValueTask the hook kept on the freelist: another operation's next."""
    out = run_child("""
        kept = []
        sys.unraisablehook = lambda u: kept.append(u.object)
        async def main():
            source = Source()
            task = S.source_task(source, 0)
            step = task.__await__()
            next(step)
            def boom():
                raise LookupError("boom")
            source.hook = boom
            del task, step
            others = [S.source_task(source, n) for n in range(1000)]
            print(len(kept), any(other is kept[0] for other in others), repr(kept[0]))
        asyncio.run(main())
    """)
    assert out == "1 False <ValueTask source=Source token=0>\n"


@pytest.mark.parametrize("chain", ["core", "value_task", "awaiter"])
def test_a_chain_of_a_million_objects_is_freed_without_recursion(chain: str) -> None:
    """Dealloc recursed once per link: no trashcan."""
    link = {
        "core": "node = S.ManualResetCore(); node._pool = head",
        "value_task": "node = S.ValueTask(head)",
        "awaiter": "node = S.SourceAwaiter(head, 0)",
    }[chain]
    out = run_child(f"""
        async def main():
            head = None
            for _ in range(1_000_000):
                {link}
                head = node
            del head, node
            print("freed")
        asyncio.run(main())
    """)
    assert out == "freed\n"


# -- the type of self --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["get_loop", "done", "result", "cancel", "abandon"])
def test_the_bridge_s_descriptors_refuse_an_object_of_another_type(name: str) -> None:
    """descr_get bound any object: get_loop.__get__(b"A" * 64)() read a chosen pointer."""
    out = run_child(f"""
        try:
            S.SourceAwaiter.__dict__[{name!r}].__get__(b"A" * 64)()
        except TypeError as error:
            print(error)
    """)
    assert out == (f"descriptor '{name}' for 'vts._speedups.SourceAwaiter' objects doesn't "
                   "apply to a 'bytes' object\n")


# -- complete(value, error) ----------------------------------------------------------------------


def test_c_complete_with_an_error_that_is_no_exception_raises_type_error() -> None:
    """The C complete() read and wrote the object as a BaseException."""
    out = run_child("""
        from vts.strategies.accelerated import CWaiterSource
        core = CWaiterSource(None)
        for error in (5, "text", object()):
            try:
                core.complete(1, error)
            except TypeError as raised:
                print(raised, core._state)
    """)
    assert out == f"{COMPLETE_NEEDS_EXCEPTION} 0\n" * 3


@pytest.mark.parametrize("source_class", [WaiterSource, CWaiterSource], ids=["python", "c"])
def test_complete_with_an_error_that_is_no_exception_raises_the_same_type_error(
    source_class: Any,
) -> None:
    source = source_class(None)
    with pytest.raises(TypeError) as raised:
        source.complete(1, 5)
    assert str(raised.value) == COMPLETE_NEEDS_EXCEPTION
    source.complete(2, None)
    assert source.get_result(source.version) == 2


# -- references held across Python code --------------------------------------------------------


def test_resume_holds_the_callback_that_get_status_abandons() -> None:
    """resume() held the Task's callback borrowed across get_status, which abandoned the
    awaiter and so freed the callback before it was called."""
    out = run_child("""
        async def main():
            source = Source()
            awaiter = S.SourceAwaiter(source, 0)
            awaiter.add_done_callback(lambda woken: print("woken", woken is awaiter))
            source.status = SUCCEEDED
            source.hook = awaiter.abandon
            S.resume(awaiter)
        asyncio.run(main())
    """)
    assert out == "woken True\n"


@pytest.mark.parametrize("method", ["done", "cancelled", "result", "__repr__"])
def test_the_bridge_holds_its_source_and_token_across_the_token_comparison(
    method: str,
) -> None:
    """A token whose __ne__ re-arms the bridge freed the core and the token that the
    bridge's methods were still using, borrowed."""
    out = run_child(f"""
        class Token:
            def __ne__(self, other):
                awaiter.rearm(S.ManualResetCore(), 0)
                return True
            def __repr__(self):
                awaiter.rearm(S.ManualResetCore(), 0)
                return "Token"
        async def main():
            global awaiter
            awaiter = S.SourceAwaiter(S.ManualResetCore(), Token())
            try:
                print(getattr(awaiter, {method!r})())
            except TokenMismatchError:
                print("mismatch")
        asyncio.run(main())
    """)
    assert out.startswith("<SourceAwaiter source=") if method == "__repr__" else out == (
        "mismatch\n")


# -- the garbage collector ---------------------------------------------------------------------


def _subclass_instances() -> list[Any]:
    class Core(_speedups.ManualResetCore):  # type: ignore[misc]
        pass

    class Awaiter(_speedups.SourceAwaiter):  # type: ignore[misc]
        def __init__(self) -> None:
            pass

    class Task(_speedups.ValueTask):  # type: ignore[misc]
        pass

    return [Core(), Awaiter(), Task(1)]


def test_a_subclass_instance_reports_its_type_once() -> None:
    """tp_traverse visited the static type too: the collector subtracted 2 per instance
    from a heap subclass's reference count."""
    for instance in _subclass_instances():
        assert gc.get_referents(instance).count(type(instance)) == 1


def test_a_subclass_held_by_a_live_local_is_not_cleared() -> None:
    """With one instance in garbage, the double visit left the class a count of 0: judged
    unreachable while a frame held it, its __dict__ was emptied and __mro__ set to None."""
    out = run_child("""
        def use():
            class Sub(S.ManualResetCore):
                pass
            garbage = Sub()
            garbage.me = garbage
            del garbage
            gc.collect()
            return Sub.__mro__[0].__name__, Sub.__dict__["__module__"], Sub().version
        print(use())
    """)
    assert out == "('Sub', '__main__', 0)\n"


def test_cycles_through_subclasses_are_collected() -> None:
    refs = []
    for instance in _subclass_instances():
        instance.me = instance
        refs.append(weakref.ref(instance))
        del instance
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]


# -- subinterpreters -----------------------------------------------------------------------------


def test_a_subinterpreter_gets_an_import_error() -> None:
    """The module's globals (error types, statuses) are the main interpreter's: in a
    subinterpreter they were taken for its own."""
    testcapi = pytest.importorskip("_testcapi")
    assert hasattr(testcapi, "run_in_subinterp")
    out = run_child("""
        import _testcapi
        _testcapi.run_in_subinterp('''if 1:
            import sys
            try:
                import vts._speedups
            except ImportError as error:
                print("ImportError:", error)
            else:
                print("loaded")
            sys.stdout.flush()
        ''')
    """)
    assert out.startswith("ImportError:") and "subinterpreter" in out


def test_a_task_pending_at_exit_is_torn_down_after_the_module() -> None:
    """The last module's m_free releases the globals; a coroutine closed after that (a
    Task still pending at exit) must not use them."""
    out = run_child("""
        core = S.ManualResetCore()
        async def waiter():
            return await S.source_task(core, core.version)
        loop = asyncio.new_event_loop()
        task = loop.create_task(waiter())
        loop.run_until_complete(asyncio.sleep(0))
        print("exiting")
    """)
    assert out == "exiting\n"


# -- rules the Python form keeps: both implementations, one result -----------------------------


def test_two_tasks_on_one_value_task_as_the_python_form(impl: Implementation) -> None:
    """The second Task raises; the first gets the value (the C form gave it None)."""
    async def main() -> list[Any]:
        core = impl.ManualResetCore()
        task = impl.source_task(core, core.version)
        first, second = asyncio.ensure_future(task), asyncio.ensure_future(task)
        asyncio.get_running_loop().call_soon(core.set_result, 5)
        return await asyncio.gather(first, second, return_exceptions=True)

    value, error = asyncio.run(main())
    assert value == 5
    assert isinstance(error, AlreadyAwaitedError)


def test_a_value_task_is_no_coroutine(impl: Implementation) -> None:
    async def seven() -> int:
        return 7

    async def main() -> list[Any]:
        made = impl.ValueTask.from_awaitable
        unused = seven()
        assert not asyncio.iscoroutine(made(unused))
        with pytest.raises(TypeError):
            asyncio.get_running_loop().create_task(made(unused))
        unused.close()
        return [await asyncio.ensure_future(made(seven())),
                *await asyncio.gather(made(seven())),
                await asyncio.wait_for(made(seven()), 5)]

    assert asyncio.run(main()) == [7, 7, 7]


def test_stop_iteration_thrown_into_an_await_is_a_runtime_error(impl: Implementation) -> None:
    """PEP 479: the C form made the await evaluate to the StopIteration's value."""
    async def main() -> None:
        core = impl.ManualResetCore()
        step = impl.source_task(core, core.version).__await__()
        next(step)
        with pytest.raises(RuntimeError, match=r"^generator raised StopIteration$") as raised:
            step.throw(StopIteration(7))
        assert isinstance(raised.value.__cause__, StopIteration)

    asyncio.run(main())


def test_the_stop_iteration_of_an_await_keeps_nothing_alive(impl: Implementation) -> None:
    """3.12+ kept one StopIteration, with the traceback and frames it passed through."""
    class Big:
        pass

    def consume() -> weakref.ref[Big]:
        big = Big()
        core = impl.ManualResetCore()
        core.set_result(5)
        step = impl.source_task(core, core.version).__await__()
        try:
            next(step)
        except StopIteration as stop:
            assert stop.value == 5
        return weakref.ref(big)

    kept = consume()
    gc.collect()
    assert kept() is None


def test_list_of_a_value_task_raises_as_the_python_form(impl: Implementation) -> None:
    core = impl.ManualResetCore()
    core.set_result(5)
    task = impl.source_task(core, core.version)
    with pytest.raises(TypeError) as raised:
        list(task)
    assert str(raised.value) == "'ValueTask' object is not iterable"
    assert task.result() == 5


def test_a_value_task_is_not_iterable_while_or_after_it_is_awaited(
    impl: Implementation,
) -> None:
    """C's iter(vt) answered from __await__() on: list(vt) stepped a Task's await (it
    raised NotCompletedError) and consumed a result ValueTask once awaited."""

    async def main() -> list[str]:
        core = impl.ManualResetCore()
        pending, done = impl.source_task(core, 0), impl.ValueTask(3)
        task = asyncio.ensure_future(pending)
        await asyncio.sleep(0)
        assert await done == 3
        seen = []
        for each in (pending, done):
            with pytest.raises(TypeError) as raised:
                list(each)
            seen.append(str(raised.value))
        core.set_result(4)
        assert await task == 4
        return seen

    assert asyncio.run(main()) == ["'ValueTask' object is not iterable"] * 2


def test_from_awaitable_on_a_subclass_makes_the_subclass(impl: Implementation) -> None:
    class Task(impl.ValueTask):  # type: ignore[misc,name-defined]
        def __init__(self, a: int, b: int) -> None:  # not called
            raise AssertionError

    async def main() -> tuple[type, object]:
        future = asyncio.get_running_loop().create_future()
        future.set_result(3)
        made = Task.from_awaitable(future)
        return type(made), await made

    assert asyncio.run(main()) == (Task, 3)


def test_as_future_of_a_tuple_result(impl: Implementation) -> None:
    """C passed the result to set_result as an argument tuple."""

    async def main() -> object:
        return await impl.ValueTask((1, 2)).as_future()

    assert asyncio.run(main()) == (1, 2)


@pytest.mark.parametrize(("call", "message"), [
    (lambda i: i.ValueTask(), "ValueTask.__init__() missing 1 required positional argument: "
                              "'result'"),
    (lambda i: i.SourceAwaiter(i.ManualResetCore()),
     "SourceAwaiter.__init__() missing 1 required positional argument: 'token'"),
    (lambda i: i.SourceAwaiter(), "SourceAwaiter.__init__() missing 2 required positional "
                                  "arguments: 'source' and 'token'"),
    (lambda i: i.SourceAwaiter(1, 2, 3),
     "SourceAwaiter.__init__() takes 3 positional arguments but 4 were given"),
    (lambda i: i.ManualResetCore(x=1),
     "ManualResetCore.__init__() got an unexpected keyword argument 'x'"),
    (lambda i: i.ManualResetCore().on_completed(print, None, 0),
     "ManualResetCore.on_completed() missing 1 required positional argument: 'flags'"),
    (lambda i: i.ManualResetCore().set_result(),
     "ManualResetCore.set_result() missing 1 required positional argument: 'result'"),
    (lambda i: i.ManualResetCore().reset(1),
     "ManualResetCore.reset() takes 1 positional argument but 2 were given"),
    (lambda i: i.ValueTask.from_source(i.ManualResetCore(), source=1),
     "ValueTask.from_source() got multiple values for argument 'source'"),
    (lambda i: i.source_task(1, 2, 3), "source_task() takes 2 positional arguments but 3 "
                                       "were given"),
], ids=["ValueTask()", "SourceAwaiter(core)", "SourceAwaiter()", "SourceAwaiter(1, 2, 3)",
        "ManualResetCore(x=1)", "on_completed", "set_result()", "reset(1)", "from_source",
        "source_task"])
def test_argument_errors_are_python_s_own(
    impl: Implementation, call: Any, message: str
) -> None:
    """C's argument parsers worded these their own way (`takes exactly one argument`)."""

    async def main() -> None:
        with pytest.raises(TypeError) as raised:
            call(impl)
        assert str(raised.value) == message

    asyncio.run(main())


def test_the_bridge_s_methods_refuse_arguments(impl: Implementation) -> None:
    """C's done(1), result(1), abandon(1) ignored the argument."""

    async def main() -> list[str]:
        awaiter = impl.SourceAwaiter(impl.ManualResetCore(), 0)
        seen = []
        for name in ("done", "cancelled", "result", "exception", "abandon", "get_loop"):
            with pytest.raises(TypeError) as raised:
                getattr(awaiter, name)(1)
            seen.append(str(raised.value))
        return seen

    assert asyncio.run(main()) == [
        f"SourceAwaiter.{name}() takes 1 positional argument but 2 were given"
        for name in ("done", "cancelled", "result", "exception", "abandon", "get_loop")]


def test_protocol_methods_set_on_the_instance_are_used(impl: Implementation) -> None:
    """C looked awaiter_for and get_result up on the type; getattr finds the instance's."""

    class Core(impl.ManualResetCore):  # type: ignore[misc,name-defined]
        pass

    async def main() -> tuple[bool, object]:
        core = Core()
        made = []
        core.awaiter_for = lambda token: made.append(token) or impl.SourceAwaiter(core, token)
        core.get_result = lambda token: "the instance's"
        task = asyncio.ensure_future(impl.source_task(core, 0))
        await asyncio.sleep(0)
        core.set_result(1)
        return made == [0], await task

    assert asyncio.run(main()) == (True, "the instance's")


def test_abandon_raising_in_throw_propagates(impl: Implementation) -> None:
    """C reported the abandon() error as unraisable and raised the thrown one."""

    class Core(impl.ManualResetCore):  # type: ignore[misc,name-defined]
        __slots__ = ()

        def cancel(self, token: int) -> bool:
            raise OSError("cancel failed")

    async def awaiting(task: Any) -> object:
        return await task

    async def main() -> None:
        coroutine = awaiting(impl.source_task(Core(), 0))
        coroutine.send(None)
        thrown = ValueError("thrown in")
        with pytest.raises(OSError, match=r"^cancel failed$") as raised:
            coroutine.throw(thrown)
        assert raised.value.__context__ is thrown

    asyncio.run(main())


def test_flags_wider_than_a_c_long_are_accepted(impl: Implementation) -> None:
    ran = []
    core = impl.ManualResetCore()
    core.on_completed(ran.append, "state", core.version, (1 << 70) | 4)
    core.set_result(1)
    assert ran == ["state"]


def test_an_exception_whose_class_says_cancelled_is_canceled(impl: Implementation) -> None:
    class Disguised(Exception):
        @property  # type: ignore[misc]
        def __class__(self) -> type:
            return asyncio.CancelledError

    core = impl.ManualResetCore()
    core.set_exception(Disguised())
    assert core.get_status(core.version) is CANCELED


def test_subclasses_with_their_own_init(impl: Implementation) -> None:
    class Task(impl.ValueTask):  # type: ignore[misc,name-defined]
        def __init__(self, a: int, b: int) -> None:
            super().__init__(a + b)

    class Awaiter(impl.SourceAwaiter):  # type: ignore[misc,name-defined]
        def __init__(self, label: str) -> None:
            self.label = label

    assert Task(1, 2).result() == 3
    assert Awaiter("x").label == "x"
    assert impl.ValueTask.__new__(impl.ValueTask) is not None


def test_copy_and_pickle_are_refused_as_in_the_python_form(impl: Implementation) -> None:
    """The C form copied a ValueTask (a second owner of one operation's live state) and
    refused the others with its own text; a subclass's message names the subclass.
    tests/test_valuetask.py pins the three types themselves."""

    class Core(impl.ManualResetCore):  # type: ignore[misc,name-defined]
        __slots__ = ()

    class Task(impl.ValueTask):  # type: ignore[misc,name-defined]
        __slots__ = ()

    class Awaiter(impl.SourceAwaiter):  # type: ignore[misc,name-defined]
        pass

    async def main() -> list[object]:
        return [Core(), Task(5), Awaiter(Core(), 0)]

    for made in asyncio.run(main()):
        name = type(made).__name__
        for duplicate in (copy.copy, copy.deepcopy, lambda x: pickle.loads(pickle.dumps(x))):
            with pytest.raises(TypeError) as raised:
                duplicate(made)
            assert str(raised.value) == (f"cannot copy or pickle a {name} object: it is one "
                                         "operation's live state; make a new one")


def test_a_source_whose_cancel_is_none_is_not_cancellable(impl: Implementation) -> None:
    class Source:
        cancel = None

        def get_status(self, token: int) -> Any:
            return PENDING

    async def main() -> object:
        return impl.SourceAwaiter(Source(), 0).cancel()

    assert asyncio.run(main()) is False


def test_a_source_whose_awaiter_for_is_none_gets_a_new_bridge(impl: Implementation) -> None:
    class Source:
        awaiter_for = None

        def get_status(self, token: int) -> Any:
            return PENDING

    async def main() -> type:
        step = impl.source_task(Source(), 0).__await__()
        awaiter = next(step)
        step.close()
        return type(awaiter)

    assert asyncio.run(main()) is impl.SourceAwaiter


def test_the_bridge_s_bound_methods_compare_equal(impl: Implementation) -> None:
    async def main() -> None:
        awaiter = impl.SourceAwaiter(impl.ManualResetCore(), 0)
        assert awaiter.done == awaiter.done
        assert hash(awaiter.done) == hash(awaiter.done)
        assert awaiter.done != awaiter.result
        assert awaiter.done != impl.SourceAwaiter(impl.ManualResetCore(), 0).done

    asyncio.run(main())
