"""Shared fixtures: the event loop kinds, and a way to run a coroutine on a fresh loop.

No pytest-asyncio: every test that needs a loop takes `event_loop_kind` (parametrized over
"asyncio" and "uvloop"; uvloop is skipped with a reason where it does not import) and runs
its coroutine with `run_in_loop(kind, coro)` or the `run` fixture. A fresh loop per call:
no state leaks from one test into the next.

`impl` runs a test once per implementation of the protocol's pieces (vts.impl: the
pure-Python reference, then the C accelerator where it is built); `source_kind` covers
both too, each source type once per implementation.

`source_kind` runs a protocol test once per source type (ManualResetCore,
HandwrittenSource, WaiterSource, PooledSource, ReceiveSource) through one small adapter,
since the producer side is spelled differently (`set_result` / `set_exception` on the
cores, `complete(value, error)` on the strategies' sources). The socket receive source is
completed through its core here, as its reader completes it; its sockets are closed when
the test ends.

The loop's exception handler records instead of logging: an error in a callback (a
duplicated wakeup, a continuation that raised) fails the test that caused it, instead of
scrolling past as a log line.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from vts.core import ManualResetCore
from vts.impl import PYTHON, Implementation, available
from vts.sockets import ReceiveSource
from vts.strategies.handwritten import Handwritten, HandwrittenSource
from vts.strategies.manual_reset import ManualReset, WaiterSource
from vts.strategies.pooled import Pooled, PooledSource
from vts.suite.environments import Interpreter, current_version
from vts.suite.measure.planning import Environment, prepare

pytest_plugins = ["pytester"]  # runs pytest in a subprocess, as a user would

# Started in the background of a shell without job control, pytest inherits SIGINT ignored,
# and so would every `vts` it starts: the interrupt tests' Ctrl-C would do nothing. A
# handler (not SIG_IGN) is reset to the default on exec, so the children take Ctrl-C.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

IMPLS = available()
C_IMPL = IMPLS[1] if len(IMPLS) > 1 else None
# VTS_TEST_IMPL=c runs the implementation-parametrized tests on C only (make memcheck).
if os.environ.get("VTS_TEST_IMPL"):
    IMPLS = tuple(impl for impl in IMPLS if impl.name == os.environ["VTS_TEST_IMPL"])
if C_IMPL is not None:
    from vts.strategies.accelerated import CPooledSource, CWaiterSource, ManualResetC, PooledC

    _C_WAITERS: tuple[type, ...] = (CWaiterSource,)
    _C_POOLED: tuple[type, ...] = (CPooledSource,)
else:
    _C_WAITERS = _C_POOLED = ()

T = TypeVar("T")

LOOP_KINDS = ("asyncio", "uvloop")

try:
    import uvloop
except ImportError as error:  # an optional extra; not built for every interpreter
    uvloop = None
    UVLOOP_MISSING = f"uvloop does not import here: {error}"
else:
    UVLOOP_MISSING = ""


# Test-only distributions (tests/plugins/), installed by `make test` off the venv's path.
TEST_PLUGINS = Path(sys.prefix) / "test-plugins"


@pytest.fixture
def installed_plugin(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """`installed_plugin("good")`: make the test distribution that `make test` installed
    in `.venv/test-plugins/good` visible, for this test only: on sys.path (this process)
    and on PYTHONPATH (the measuring subprocesses)."""

    def add(name: str) -> None:
        where = TEST_PLUGINS / name
        if not where.is_dir():
            pytest.fail(f"{where} is missing; run 'make test', which installs the test "
                        "distributions of tests/plugins/ there")
        monkeypatch.syspath_prepend(str(where))
        path = os.pathsep.join(filter(None, [str(where), os.environ.get("PYTHONPATH")]))
        monkeypatch.setenv("PYTHONPATH", path)

    return add


def new_loop(kind: str) -> asyncio.AbstractEventLoop:
    """A new, unset event loop of `kind`."""
    if kind == "asyncio":
        return asyncio.new_event_loop()
    if kind == "uvloop":
        assert uvloop is not None, UVLOOP_MISSING
        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop
    raise ValueError(f"unknown loop kind {kind!r}")


class LoopErrors(AssertionError):
    """The loop reported errors through its exception handler while the test ran."""


def run_in_loop(kind: str, main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on a fresh loop of `kind`, then tear the loop down.

    Tasks still pending when `main` returns are cancelled and awaited; anything the loop
    passed to its exception handler fails the call with LoopErrors.
    """
    loop = new_loop(kind)
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    asyncio.set_event_loop(loop)
    try:
        result = loop.run_until_complete(main)
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    if errors:
        raise LoopErrors(f"the loop reported {len(errors)} error(s); first: {errors[0]!r}")
    return result


@pytest.fixture(params=LOOP_KINDS)
def event_loop_kind(request: pytest.FixtureRequest) -> str:
    """Each loop kind in turn: "asyncio", then "uvloop" (skipped where it is missing)."""
    kind: str = request.param
    if kind == "uvloop" and UVLOOP_MISSING:
        pytest.skip(UVLOOP_MISSING)
    return kind


@pytest.fixture
def run(event_loop_kind: str) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """`run(coro)`: run a coroutine on a fresh loop of the current kind."""

    def run_coroutine(main: Coroutine[Any, Any, T]) -> T:
        return run_in_loop(event_loop_kind, main)

    return run_coroutine


# -- the two implementations of the protocol's pieces ---------------------------------


@pytest.fixture(params=IMPLS, ids=lambda impl: impl.name)
def impl(request: pytest.FixtureRequest) -> Implementation:
    """Each implementation in turn: the pure-Python reference, then C (where built)."""
    implementation: Implementation = request.param
    return implementation


# -- the source types under one adapter ----------------------------------------------


@dataclass(frozen=True)
class SourceKind:
    """How to make a fresh source of one type and complete it (value or error), and the
    implementation of the protocol's pieces (ValueTask, bridge) it is awaited through."""

    name: str
    make: Callable[[], Any]
    impl: Implementation = PYTHON

    def complete(
        self, source: Any, value: object = None, error: BaseException | None = None
    ) -> None:
        if isinstance(source, (WaiterSource, HandwrittenSource, *_C_WAITERS)):
            source.complete(value, error)
        elif error is None:
            source.set_result(value)
        else:
            source.set_exception(error)

    def recycle(self, source: Any) -> Any:
        """Make a consumed source ready for its next version, as its owner would.

        A PooledSource reset itself and went back to its pool in `get_result`: rent it
        again (the pool hands back the same object); a ReceiveSource reset itself there
        too. The others are reset by hand.
        """
        if isinstance(source, ReceiveSource):
            return source
        if isinstance(source, (PooledSource, *_C_POOLED)):
            assert source.in_pool
            again = source._pool.rent()
            assert again is source
            return again
        source.reset()
        return source

    def __str__(self) -> str:
        return self.name


def _handwritten_source() -> HandwrittenSource:
    # A strategy's sources share the strategy's lock; a lone source gets its own.
    return HandwrittenSource(Handwritten(), threading.Lock())


_open_sockets: list[socket.socket] = []  # closed by the source_kind fixture


def _receive_source() -> ReceiveSource:
    reading, writing = socket.socketpair()
    _open_sockets.extend((reading, writing))
    reading.setblocking(False)
    return ReceiveSource(reading)


SOURCE_KINDS: tuple[SourceKind, ...] = () if PYTHON not in IMPLS else (
    SourceKind("ManualResetCore", ManualResetCore),
    SourceKind("HandwrittenSource", _handwritten_source),
    SourceKind("WaiterSource", lambda: WaiterSource(ManualReset())),
    SourceKind("PooledSource", lambda: Pooled().pool.rent()),
    SourceKind("ReceiveSource", _receive_source),
)
# The same source types on the C accelerator, where it is built: the C core and the
# strategies' sources on it, and the handwritten source awaited through the C ValueTask.
if C_IMPL in IMPLS:
    SOURCE_KINDS += (
        SourceKind("ManualResetCore[c]", C_IMPL.ManualResetCore, C_IMPL),
        SourceKind("HandwrittenSource[c]", _handwritten_source, C_IMPL),
        SourceKind("WaiterSource[c]", lambda: CWaiterSource(ManualResetC()), C_IMPL),
        SourceKind("PooledSource[c]", lambda: PooledC().pool.rent(), C_IMPL),
    )


@pytest.fixture(params=SOURCE_KINDS, ids=str)
def source_kind(request: pytest.FixtureRequest) -> Iterator[SourceKind]:
    """Each source type in turn, behind the SourceKind adapter."""
    kind: SourceKind = request.param
    yield kind
    while _open_sockets:
        _open_sockets.pop().close()


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Path:
    """A directory this process cannot create files in. Root ignores file modes, so as root
    it is /sys/kernel (a read-only file system to root too); otherwise a 0o555 directory."""
    if os.geteuid() == 0:
        if not os.path.isdir("/sys/kernel"):
            pytest.skip("running as root without /sys: no directory is read-only to root")
        return Path("/sys/kernel")
    directory = tmp_path / "read-only"
    directory.mkdir()
    directory.chmod(0o555)
    return directory


def gate_as_if_baseline(run_dir: Path, section: str, figure: str, value: float,
                        capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`vts gate` on `run_dir`'s results against a baseline made of the same cells, each
    with `section.figure` set to `value` (what the baseline says the cells used to cost):
    its exit code and stdout. The baseline stays in `run_dir/baseline.json`."""
    from vts.suite import results
    from vts.suite.cli import main

    baseline = json.loads((run_dir / "results.json").read_text())
    for cell in baseline["cells"]:
        cell[section][figure] = value
    results.write_atomic(run_dir / "baseline.json", baseline)
    code = main(["gate", str(run_dir / "results.json"), "--baseline",
                 str(run_dir / "baseline.json")])
    return code, capsys.readouterr().out



@functools.cache
def this_environment() -> Environment:
    """This interpreter, ready to measure cells on asyncio (resolved once per session)."""
    return prepare([Interpreter(current_version(), Path(sys.executable))], ["asyncio"])[0]
