"""The C accelerator against the Python reference: a differential fuzz, driven by hypothesis.

One machine holds two worlds, one per implementation (vts.impl: PYTHON and the C pieces),
each with its own event loop and its own ManualResetCore (or a subclass of it). Every rule
does the same thing in both worlds and compares what came out as plain data: a value, or
the type name and message of what was raised, and the log of what ran meanwhile
(continuations, Tasks finishing, errors the loop's exception handler saw). Nothing is
modelled by hand: the Python reference is the model.

The operations: completing (set_result, set_exception with plain, cancellation and
non-exception errors), reset, misuse (completing twice, get_result early, on_completed
twice, stale and future tokens, tokens of another type), continuations that raise or
re-enter the core (and the contextvars they see), the bridge's methods called directly,
throw and close into a suspended `await` (a coroutine driven by hand), several awaits of
one ValueTask in one coroutine, several Tasks on one ValueTask (gather, ensure_future
twice, as_future, wait_for), Task cancellation, subclasses of the three types, the
strategies' own sources (WaiterSource, PooledSource and their C twins), sources with
their own methods set on the instance and a cancel() that raises (so abandon() raises
inside throw()), constructors and methods given wrong arguments, the messages Python
builds from a type's name, and copy and pickle.

Every difference fails: there is no list of tolerated ones. The differences the design
needs (docs/architecture.md, "Intended differences between the C and Python forms") are
outside what the rules look at, or normalised away: messages are compared after object
addresses (`0x7f...`) and `vts._speedups.` (a static C type's `tp_name` carries its
module; a Python class's does not) are dropped. Every source here is a ManualResetCore
or a subclass of it, and every suspended await is closed or cancelled at the end.

`make test` runs a bounded number of examples (`VTS_FUZZ_EXAMPLES`, 60 by default, a few
seconds); `make fuzz` runs the long run.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import os
import pickle
import re
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from vts.impl import C_MISSING, PYTHON, Implementation
from vts.impl import c as c_impl
from vts.strategies.manual_reset import ManualReset
from vts.strategies.pooled import Pooled

if C_MISSING is not None:
    pytest.skip(C_MISSING, allow_module_level=True)

from vts.strategies.accelerated import ManualResetC, PooledC

try:
    import uvloop
except ImportError:  # an optional extra
    uvloop = None

EXAMPLES = int(os.environ.get("VTS_FUZZ_EXAMPLES", "60"))

WHERE: contextvars.ContextVar[str] = contextvars.ContextVar("WHERE")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

Outcome = tuple[Any, ...]


def normalise(message: str) -> str:
    message = _ADDRESS.sub("", message).replace("vts._speedups.", "")
    # The strategies' sources on the C core are other classes with other names.
    return message.replace("CPooledSource", "PooledSource").replace("CWaiterSource",
                                                                    "WaiterSource")


def describe(value: object) -> object:
    """A value as plain, comparable data."""
    if value is None or isinstance(value, (bool, int, str, float)):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(describe(item) for item in value)
    if isinstance(value, BaseException):
        return ("error", type(value).__name__, normalise(str(value)))
    name = normalise(type(value).__name__)
    if type(value).__module__ == "vts.valuetask" and name == "SourceStatus":
        return str(value)
    return ("object", name)


def attempt(op: Callable[[], object]) -> Outcome:
    """What `op()` did: ("ok", value), ("stop", value) or ("raise", type, message)."""
    try:
        value = op()
    except StopIteration as stop:
        return ("stop", describe(stop.value))
    except BaseException as error:  # the outcome is the point, whatever it is
        return ("raise", type(error).__name__, normalise(str(error)))
    return ("ok", describe(value))


def future_outcome(future: asyncio.Future[Any]) -> Outcome:
    if future.cancelled():
        return ("cancelled",)
    error = future.exception()  # marks it retrieved: no "never retrieved" log at GC time
    if error is not None:
        return ("raise", type(error).__name__, normalise(str(error)))
    return ("ok", describe(future.result()))


class FakeCancel(Exception):
    """Says it is a CancelledError through __class__ (isinstance believes it)."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return asyncio.CancelledError


class SubCancelled(asyncio.CancelledError):
    pass


ERRORS: dict[str, Callable[[], object]] = {
    "oserror": lambda: OSError("no sample"),
    "cancelled": asyncio.CancelledError,
    "cancelled_msg": lambda: asyncio.CancelledError("stop now"),
    "sub_cancelled": SubCancelled,
    "fake_cancel": FakeCancel,
    "not_an_exception": lambda: 42,
    "exception_class": lambda: OSError,
}


class Types:
    """One implementation's types, and subclasses of each made the same way for both."""

    def __init__(self, impl: Implementation, strategies: tuple[type, type]) -> None:
        self.impl = impl
        base_core, base_vt, base_aw = impl.ManualResetCore, impl.ValueTask, impl.SourceAwaiter

        class SlotCore(base_core):  # type: ignore[misc, valid-type]
            __slots__ = ()

        class DictCore(base_core):  # type: ignore[misc, valid-type]
            def __init__(self) -> None:
                super().__init__()
                self.label = "dict"

        class OverridingCore(base_core):  # type: ignore[misc, valid-type]
            """Every protocol method overridden (the C form calls them through Python)."""

            __slots__ = ()

            def get_status(self, token: int) -> Any:
                return super().get_status(token)

            def get_result(self, token: int) -> Any:
                return super().get_result(token)

            def on_completed(self, *args: Any, **kwargs: Any) -> None:
                super().on_completed(*args, **kwargs)

        class CancellableCore(base_core):  # type: ignore[misc, valid-type]
            """Cancelled through the bridge, as WaiterSource is."""

            __slots__ = ()

            def cancel(self, token: int) -> bool:
                if token != self.version or self._state >= 2:
                    return False
                self.set_exception(asyncio.CancelledError())
                return True

        class CancelNoneCore(base_core):  # type: ignore[misc, valid-type]
            __slots__ = ()
            cancel = None

        class RaisingCancelCore(base_core):  # type: ignore[misc, valid-type]
            """abandon() raises (a Task cancelled, a throw() into the await)."""

            __slots__ = ()

            def cancel(self, token: int) -> bool:
                raise OSError(f"cancel({token!r}) failed")

        class InstanceMethodsCore(base_core):  # type: ignore[misc, valid-type]
            """Protocol methods set on the instance: getattr finds them, not the type's."""

            def __init__(self) -> None:
                super().__init__()
                self.awaiter_for = lambda token: SubAwaiter(self, token)
                self.get_result = lambda token: ("instance", base_core.get_result(self, token))

        class SubValueTask(base_vt):  # type: ignore[misc, valid-type]
            __slots__ = ()

        class InitValueTask(base_vt):  # type: ignore[misc, valid-type]
            def __init__(self, first: object, second: object) -> None:
                super().__init__((first, second))

        class SubAwaiter(base_aw):  # type: ignore[misc, valid-type]
            __slots__ = ()

        class InitAwaiter(base_aw):  # type: ignore[misc, valid-type]
            def __init__(self, source: Any, token: int, label: str) -> None:
                super().__init__(source, token)
                self.label = label

        self.cores: dict[str, Callable[[], Any]] = {
            "plain": base_core, "slots": SlotCore, "dict": DictCore,
            "overriding": OverridingCore, "cancellable": CancellableCore,
            "cancel_none": CancelNoneCore, "raising_cancel": RaisingCancelCore,
            "instance_methods": InstanceMethodsCore,
            # The strategies' own sources, registered as a waiting call registers them
            # (so their cancel() can take them off the waiter list).
            "waiter": lambda: self.registered(strategies[0]()._new_source()),
            "pooled": lambda: self.registered(strategies[1]()._new_source()),
        }
        self.SubValueTask, self.InitValueTask = SubValueTask, InitValueTask
        self.SubAwaiter, self.InitAwaiter = SubAwaiter, InitAwaiter

    @staticmethod
    def registered(source: Any) -> Any:
        assert source._owner.register(source) is None
        return source


PY_TYPES = Types(PYTHON, (ManualReset, Pooled))
C_TYPES = Types(c_impl(), (ManualResetC, PooledC))


async def awaiting(vt: Any) -> object:
    return await vt


async def awaiting_twice(vt: Any) -> object:
    first = await vt
    return first, await vt


async def returning(value: object) -> object:
    return value


class World:
    """One implementation's side: a loop, a core, and everything made so far."""

    def __init__(self, types: Types, new_loop: Callable[[], asyncio.AbstractEventLoop],
                 core_kind: str, run_async: bool) -> None:
        self.types = types
        self.impl = types.impl
        self.loop = new_loop()
        self.log: list[object] = []
        self.loop.set_exception_handler(self._loop_error)
        self.core = types.cores[core_kind]()
        self.core.run_continuations_asynchronously = run_async
        self.vts: list[Any] = []
        self.futures: list[asyncio.Future[Any]] = []  # pending futures a ValueTask wraps
        self.watched: list[asyncio.Future[Any]] = []  # Tasks and futures being awaited
        self.drives: list[tuple[Coroutine[Any, Any, Any], Any]] = []  # (coroutine, yielded)
        self.bridges: list[Any] = []
        self.coroutines: list[Coroutine[Any, Any, Any]] = []

    def _loop_error(self, loop: object, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if error is None:
            self.log.append(("loop", normalise(context["message"])))
        else:
            self.log.append(("loop", type(error).__name__, normalise(str(error))))

    def run(self, op: Callable[[World], object]) -> tuple[Outcome, list[object]]:
        """`op(self)` inside a running loop, then the loop until nothing is left to run."""

        async def body() -> Outcome:
            WHERE.set("a rule")  # what the completing code's own context carries
            outcome = attempt(lambda: op(self))
            for _ in range(8):  # a wake-up takes a few loop iterations to reach a Task
                await asyncio.sleep(0)
            return outcome

        outcome = self.loop.run_until_complete(body())
        log, self.log = self.log, []
        return outcome, log

    def watch(self, future: asyncio.Future[Any]) -> None:
        label = len(self.watched)
        self.watched.append(future)
        future.add_done_callback(lambda f: self.log.append(("done", label, future_outcome(f))))

    def continuation(self, kind: str, label: int) -> Callable[[object], None]:
        def run(state: object) -> None:
            self.log.append(("continuation", label, describe(state), WHERE.get("unset")))
            core = self.core
            if kind == "raise":
                raise ValueError(f"continuation {label} failed")
            if kind == "get_result":
                self.log.append(("reentry", attempt(lambda: core.get_result(state))))
            elif kind == "reset":
                self.log.append(("reentry", attempt(core.reset)))
            elif kind == "set_result":
                self.log.append(("reentry", attempt(lambda: core.set_result("again"))))
            elif kind == "on_completed":
                again = self.continuation("record", label + 100)
                self.log.append(("reentry", attempt(
                    lambda: core.on_completed(again, core.version, core.version, 0))))

        return run

    def close(self) -> None:
        self.loop.set_exception_handler(lambda loop, context: None)
        for coroutine, _ in self.drives:
            attempt(coroutine.close)
        for coroutine in self.coroutines:
            coroutine.close()
        pending = [task for task in asyncio.all_tasks(self.loop) if not task.done()]
        for task in pending:
            attempt(task.cancel)  # the source's cancel() may raise
        for _ in range(3):
            self.loop.run_until_complete(asyncio.sleep(0))
        for task in pending:
            if not task.done():  # waiting on an operation nobody will complete
                attempt(task.get_coro().close)  # type: ignore[union-attr]
        self.loop.close()


CORE_KINDS = sorted(PY_TYPES.cores)


def _core(w: World) -> Any:
    """A plain core: the messages name the class that defines the method."""
    return w.impl.ManualResetCore()


def _bridge(w: World) -> Any:
    return w.impl.SourceAwaiter(w.core, w.core.version)


# Calls a caller may get wrong; the messages are Python's own (initialize_locals' wording).
BAD_CALLS: dict[str, Callable[[World], object]] = {
    "ValueTask()": lambda w: w.impl.ValueTask(),
    "ValueTask(1, 2)": lambda w: w.impl.ValueTask(1, 2),
    "ValueTask(x=1)": lambda w: w.impl.ValueTask(x=1),
    "ValueTask(1, result=1)": lambda w: w.impl.ValueTask(1, result=1),
    "SourceAwaiter()": lambda w: w.impl.SourceAwaiter(),
    "SourceAwaiter(core)": lambda w: w.impl.SourceAwaiter(w.core),
    "SourceAwaiter(core, 0, 1)": lambda w: w.impl.SourceAwaiter(w.core, 0, 1),
    "SourceAwaiter(token=0)": lambda w: w.impl.SourceAwaiter(token=0),
    "SourceAwaiter(core, source=core)": lambda w: w.impl.SourceAwaiter(w.core, source=w.core),
    "ManualResetCore(1)": lambda w: w.impl.ManualResetCore(1),
    "ManualResetCore(x=1)": lambda w: w.impl.ManualResetCore(x=1),
    "ManualResetCore(True, run_continuations_asynchronously=True)": lambda w: (
        w.impl.ManualResetCore(True, run_continuations_asynchronously=True)),
    "on_completed()": lambda w: _core(w).on_completed(),
    "on_completed(print, None, 0)": lambda w: _core(w).on_completed(print, None, 0),
    "on_completed(print, None, 0, 0, None)": lambda w: _core(w).on_completed(
        print, None, 0, 0, None),
    "on_completed(..., ctx=None)": lambda w: _core(w).on_completed(print, None, 0, 0, ctx=None),
    "add_done_callback()": lambda w: _bridge(w).add_done_callback(),
    "add_done_callback(print, None)": lambda w: _bridge(w).add_done_callback(print, None),
    "cancel(1, 2)": lambda w: _bridge(w).cancel(1, 2),
    "cancel(1, msg=2)": lambda w: _bridge(w).cancel(1, msg=2),
    "rearm(core)": lambda w: _bridge(w).rearm(w.core),
    "from_source(core)": lambda w: w.impl.ValueTask.from_source(w.core),
    "from_source(source=core, token=0)": lambda w: w.impl.ValueTask.from_source(
        source=w.core, token=w.core.version),
    "source_task(core, 0, 1)": lambda w: w.impl.source_task(w.core, 0, 1),
    "from_result()": lambda w: w.impl.ValueTask.from_result(),
    "from_result(result=1)": lambda w: w.impl.ValueTask.from_result(result=1),
    "from_awaitable(1, 2)": lambda w: w.impl.ValueTask.from_awaitable(1, 2),
    "vt.result(1)": lambda w: w.impl.ValueTask(1).result(1),
    "vt.as_future(x=1)": lambda w: w.impl.ValueTask(1).as_future(x=1),
    "reset(1)": lambda w: _core(w).reset(1),
    "set_result()": lambda w: _core(w).set_result(),
    "set_result(result=1)": lambda w: _core(w).set_result(result=1),
    "set_exception(1, 2)": lambda w: _core(w).set_exception(1, 2),
    "get_status()": lambda w: _core(w).get_status(),
    "get_status(token=version)": lambda w: _core(w).get_status(token=0),
    "get_result(0, 0)": lambda w: _core(w).get_result(0, 0),
    "_check(tok=0)": lambda w: _core(w)._check(tok=0),
    "done(1)": lambda w: _bridge(w).done(1),
    "cancelled(x=1)": lambda w: _bridge(w).cancelled(x=1),
    "bridge.result(1)": lambda w: _bridge(w).result(1),
    "exception(1)": lambda w: _bridge(w).exception(1),
    "abandon(1)": lambda w: _bridge(w).abandon(1),
    "get_loop(1)": lambda w: _bridge(w).get_loop(1),
    "remove_done_callback()": lambda w: _bridge(w).remove_done_callback(),
    "remove_done_callback(fn=print)": lambda w: _bridge(w).remove_done_callback(fn=print),
}


# Mostly the current token; sometimes a stale or a future one, or the current one as
# another type (a float compares equal, a str does not).
offsets = st.sampled_from([0, 0, 0, 0, -1, 1, "float", "str"])


def token_for(core: Any, offset: int | str) -> object:
    if offset == "float":
        return float(core.version)
    if offset == "str":
        return str(core.version)
    assert isinstance(offset, int)
    return core.version + offset

indexes = st.integers(min_value=0, max_value=15)
values = st.one_of(st.integers(-3, 300), st.text(max_size=3), st.none())
CONTINUATIONS = ("record", "record", "raise", "get_result", "reset", "set_result",
                 "on_completed", "none")
FLAGS = (0, 0, 1, 2, 3, 1 << 70)


class DifferentialMachine(RuleBasedStateMachine):
    """Both worlds, driven step by step; every step's outcomes must be equal."""

    new_loop: ClassVar[Callable[[], asyncio.AbstractEventLoop]] = asyncio.new_event_loop

    def __init__(self) -> None:
        super().__init__()
        self.worlds: list[World] = []
        self.labels = 0

    # -- machinery -------------------------------------------------------------------------

    def both(self, what: str, op: Callable[[World], object]) -> None:
        """`op` in each world; their outcomes and logs must be equal."""
        py, c = (world.run(op) for world in self.worlds)
        if py != c:
            raise AssertionError(f"{what}: Python and C differ\n  python: {py}\n  c:      {c}")

    def teardown(self) -> None:
        for world in self.worlds:
            world.close()

    @staticmethod
    def pick(items: list[Any], index: int) -> Any:
        if not items:
            raise LookupError("nothing to pick")  # the same outcome in both worlds
        return items[index % len(items)]

    # -- the core --------------------------------------------------------------------------

    @initialize(core_kind=st.sampled_from(CORE_KINDS), run_async=st.booleans())
    def start(self, core_kind: str, run_async: bool) -> None:
        """The two worlds, each with a new core of one kind (or a subclass's)."""
        self.worlds = [World(types, type(self).new_loop, core_kind, run_async)
                       for types in (PY_TYPES, C_TYPES)]

    @rule()
    def reset(self) -> None:
        self.both("reset", lambda w: w.core.reset())

    @rule(value=values)
    def set_result(self, value: object) -> None:
        self.both("set_result", lambda w: w.core.set_result(value))

    @rule(error=st.sampled_from(sorted(ERRORS)))
    def set_exception(self, error: str) -> None:
        self.both(f"set_exception({error})", lambda w: w.core.set_exception(ERRORS[error]()))

    @rule(offset=offsets)
    def get_status(self, offset: int | str) -> None:
        self.both("get_status", lambda w: w.core.get_status(token_for(w.core, offset)))

    @rule(offset=offsets)
    def get_result(self, offset: int | str) -> None:
        self.both("get_result", lambda w: w.core.get_result(token_for(w.core, offset)))

    @rule()
    def inspect_core(self) -> None:
        self.both("version/repr", lambda w: (w.core.version, normalise(repr(w.core))))

    @rule(kind=st.sampled_from(CONTINUATIONS), offset=offsets, flags=st.sampled_from(FLAGS))
    def on_completed(self, kind: str, offset: int | str, flags: int) -> None:
        self.labels += 1
        label = self.labels

        def register(w: World) -> None:
            WHERE.set(f"registered {label}")  # what a flowed context carries
            continuation = None if kind == "none" else w.continuation(kind, label)
            token = token_for(w.core, offset)
            w.core.on_completed(continuation, token, token, flags)

        self.both(f"on_completed({kind}, flags={flags})", register)

    # -- ValueTasks ------------------------------------------------------------------------

    @rule(kind=st.sampled_from(["source", "source", "source_task", "result", "from_result",
                                "sub_result", "sub_from_result", "sub_from_awaitable",
                                "init_subclass", "future_done", "future_pending",
                                "coroutine"]),
          offset=offsets, value=values)
    def new_value_task(self, kind: str, offset: int | str, value: object) -> None:
        def make(w: World) -> object:
            vt_type, types = w.impl.ValueTask, w.types
            token = token_for(w.core, offset)
            if kind == "source":
                vt = vt_type.from_source(w.core, token)
            elif kind == "source_task":
                vt = w.impl.source_task(w.core, token)
            elif kind == "result":
                vt = vt_type(value)
            elif kind == "from_result":
                vt = vt_type.from_result(value)
            elif kind == "sub_result":
                vt = types.SubValueTask(value)
            elif kind == "sub_from_result":
                vt = types.SubValueTask.from_result(value)
            elif kind == "init_subclass":
                vt = types.InitValueTask(value, offset)
            elif kind == "coroutine":
                coroutine = returning(value)
                w.coroutines.append(coroutine)
                vt = vt_type.from_awaitable(coroutine)
            else:
                future = w.loop.create_future()
                if kind == "future_done":
                    future.set_result(value)
                else:
                    w.futures.append(future)
                maker = types.SubValueTask if kind == "sub_from_awaitable" else vt_type
                vt = maker.from_awaitable(future)
            w.vts.append(vt)
            return type(vt).__name__, normalise(repr(vt)) if kind != "coroutine" else None

        self.both(f"new ValueTask ({kind})", make)

    @rule(index=indexes, value=values, fail=st.booleans())
    def complete_future(self, index: int, value: object, fail: bool) -> None:
        def complete(w: World) -> None:
            future = self.pick(w.futures, index)
            if fail:
                future.set_exception(OSError("future failed"))
            else:
                future.set_result(value)

        self.both("complete a future", complete)

    @rule(index=indexes)
    def is_completed(self, index: int) -> None:
        self.both("is_completed", lambda w: self.pick(w.vts, index).is_completed)

    @rule(index=indexes)
    def result(self, index: int) -> None:
        self.both("result()", lambda w: self.pick(w.vts, index).result())

    @rule(index=indexes)
    def iterate(self, index: int) -> None:
        self.both("list(vt)", lambda w: list(self.pick(w.vts, index)))

    @rule(index=indexes)
    def is_coroutine(self, index: int) -> None:
        self.both("iscoroutine", lambda w: asyncio.iscoroutine(self.pick(w.vts, index)))

    @rule(index=indexes, how=st.sampled_from(["await", "await_twice", "ensure_future",
                                              "ensure_future_twice", "gather", "as_future",
                                              "wait_for"]))
    def spawn(self, index: int, how: str) -> None:
        """Await a ValueTask from one or more Tasks; each Task's outcome is logged."""
        def start(w: World) -> None:
            vt = self.pick(w.vts, index)
            if how == "await":
                w.watch(w.loop.create_task(awaiting(vt)))
            elif how == "await_twice":
                w.watch(w.loop.create_task(awaiting_twice(vt)))
            elif how == "ensure_future":
                w.watch(asyncio.ensure_future(vt))
            elif how == "ensure_future_twice":
                w.watch(asyncio.ensure_future(vt))
                w.watch(asyncio.ensure_future(vt))
            elif how == "gather":
                w.watch(asyncio.gather(vt, vt))
            elif how == "wait_for":
                w.watch(w.loop.create_task(asyncio.wait_for(vt, 10)))
            else:
                w.watch(vt.as_future())

        self.both(f"spawn({how})", start)

    @rule(index=indexes, message=st.sampled_from([None, "stop"]))
    def cancel(self, index: int, message: str | None) -> None:
        self.both("Task.cancel", lambda w: self.pick(w.watched, index).cancel(message))

    # -- a suspended await, driven by hand ---------------------------------------------------

    @rule(index=indexes)
    def drive(self, index: int) -> None:
        def start(w: World) -> object:
            coroutine = awaiting(self.pick(w.vts, index))
            yielded = coroutine.send(None)  # StopIteration: done at once, nothing to keep
            w.drives.append((coroutine, yielded))
            return yielded

        self.both("drive: first send", start)

    @rule(index=indexes)
    def drive_send(self, index: int) -> None:
        self.both("drive: send", lambda w: self.pick(w.drives, index)[0].send(None))

    @rule(index=indexes, error=st.sampled_from(["value", "cancelled", "stop", "exit"]))
    def drive_throw(self, index: int, error: str) -> None:
        made: dict[str, Callable[[], BaseException]] = {
            "value": lambda: ValueError("thrown in"),
            "cancelled": asyncio.CancelledError,
            "stop": lambda: StopIteration(7),
            "exit": GeneratorExit,
        }
        self.both(f"drive: throw({error})",
                  lambda w: self.pick(w.drives, index)[0].throw(made[error]()))

    @rule(index=indexes)
    def drive_close(self, index: int) -> None:
        self.both("drive: close", lambda w: self.pick(w.drives, index)[0].close())

    # -- the bridge ---------------------------------------------------------------------------

    @rule(offset=offsets, kind=st.sampled_from(["plain", "sub", "init"]))
    def new_bridge(self, offset: int | str, kind: str) -> None:
        def make(w: World) -> object:
            token = token_for(w.core, offset)
            if kind == "plain":
                bridge = w.impl.SourceAwaiter(w.core, token)
            elif kind == "sub":
                bridge = w.types.SubAwaiter(w.core, token)
            else:
                bridge = w.types.InitAwaiter(w.core, token, "label")
            w.bridges.append(bridge)
            return type(bridge).__name__

        self.both(f"new bridge ({kind})", make)

    @rule(index=indexes, method=st.sampled_from(
        ["done", "cancelled", "result", "exception", "cancel", "cancel_msg",
         "add_done_callback", "remove_done_callback", "registered", "abandon", "get_loop",
         "rearm", "blocking", "repr", "equality"]),
          yielded=st.booleans())
    def bridge(self, index: int, method: str, yielded: bool) -> None:
        """A bridge's method, on one made directly or one a suspended await yielded."""
        self.labels += 1
        label = self.labels

        def call(w: World) -> object:
            if yielded:
                bridge = self.pick(w.drives, index)[1]
                if not isinstance(bridge, w.impl.SourceAwaiter):
                    return ("not a bridge", type(bridge).__name__)
            else:
                bridge = self.pick(w.bridges, index)
            if method == "cancel":
                return bridge.cancel()
            if method == "cancel_msg":
                return bridge.cancel("message")
            if method == "add_done_callback":
                def woken(awaiter: object) -> None:
                    w.log.append(("woken", label, awaiter is bridge))
                return bridge.add_done_callback(woken, context=None)
            if method == "remove_done_callback":
                return bridge.remove_done_callback(print)
            if method == "registered":
                return bridge.registered
            if method == "get_loop":
                return bridge.get_loop() is w.loop
            if method == "rearm":
                return bridge.rearm(w.core, w.core.version)
            if method == "blocking":
                return bridge._asyncio_future_blocking
            if method == "repr":
                return normalise(repr(bridge))
            if method == "equality":
                return bridge.done == bridge.done
            return getattr(bridge, method)()

        self.both(f"bridge.{method}", call)

    # -- copy and pickle --------------------------------------------------------------------

    @rule(what=st.sampled_from(["core", "vt", "bridge"]), index=indexes,
          how=st.sampled_from(["copy", "deepcopy", "pickle"]))
    def copy_or_pickle(self, what: str, index: int, how: str) -> None:
        def take(w: World) -> object:
            if what == "core":
                target = w.core
            elif what == "vt":
                target = self.pick(w.vts, index)
            else:
                target = self.pick(w.bridges, index)
            if how == "pickle":
                return type(pickle.loads(pickle.dumps(target))).__name__
            duplicate = copy.copy(target) if how == "copy" else copy.deepcopy(target)
            return type(duplicate).__name__

        self.both(f"{how}({what})", take)

    # -- wrong arguments, and the messages Python words from a type's name ------------------

    @rule(call=st.sampled_from(sorted(BAD_CALLS)))
    def bad_arguments(self, call: str) -> None:
        self.both(f"bad arguments: {call}", lambda w: BAD_CALLS[call](w))

    @rule(what=st.sampled_from(["core", "vt", "bridge"]), index=indexes,
          how=st.sampled_from(["missing", "new_attribute", "compare", "call", "len", "iter"]))
    def type_message(self, what: str, index: int, how: str) -> None:
        def take(w: World) -> object:
            target = {"core": lambda: w.core, "vt": lambda: self.pick(w.vts, index),
                      "bridge": lambda: self.pick(w.bridges, index)}[what]()
            if how == "missing":
                return target.missing
            if how == "new_attribute":
                target.label = "new"
                return target.label
            if how == "compare":
                return target < target
            if how == "call":
                return target()
            if how == "len":
                return len(target)
            return iter(target)

        self.both(f"{how}({what})", take)


SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

TestDifferentialAsyncio = DifferentialMachine.TestCase
TestDifferentialAsyncio.settings = SETTINGS

if uvloop is not None:

    class UvloopMachine(DifferentialMachine):
        new_loop = uvloop.new_event_loop

    TestDifferentialUvloop = UvloopMachine.TestCase
    TestDifferentialUvloop.settings = SETTINGS
