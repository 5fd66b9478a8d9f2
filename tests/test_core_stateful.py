"""ManualResetCore against a model of its states, driven by hypothesis.

The model is the table in vts/core.py's docstring: one version moves EMPTY -> WAITING
(on_completed) or COMPLETED (set_result / set_exception), then DONE (the other of the
two); reset() starts the next version from EMPTY. Every rule states what the model
expects, an exact error or an exact value; the invariants check that a continuation ran
exactly once for every version that was both registered and completed, and never
otherwise. Continuations are registered with flags NONE: registered before the
completion they run inline; registered after it they are queued to a worker thread (never
inline), and the rule waits for that one, so the model stays synchronous.

The same machine runs against the two hand-made sources that must obey the same table
(HandwrittenSource, WaiterSource); PooledSource is excluded, since its get_result also
resets it and sends it back to its pool (tests/test_strategies.py covers that).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from vts.core import VERSION_SPAN, ManualResetCore
from vts.impl import C_MISSING
from vts.strategies.handwritten import Handwritten, HandwrittenSource
from vts.strategies.manual_reset import ManualReset, WaiterSource
from vts.valuetask import (
    AlreadyCompletedError,
    CompletionFlags,
    MultipleAwaitError,
    NotCompletedError,
    SourceStatus,
    TokenMismatchError,
)

EMPTY, WAITING, COMPLETED, DONE = "empty", "waiting", "completed", "done"

# Mostly the current token, sometimes a stale or a future one.
token_offsets = st.sampled_from([0, 0, 0, 0, -1, -2, 1, 5])


class SourceMachine(RuleBasedStateMachine):
    """A source of one type, and the model it must match step by step."""

    make: ClassVar[Callable[[], Any]]

    def __init__(self) -> None:
        super().__init__()
        self.source = self.make()
        self.version = 0
        self.state = EMPTY
        self.result: object = None
        self.error: BaseException | None = None
        self.calls: Counter[int] = Counter()  # version registered -> invocations
        self.done_versions: set[int] = set()
        self.ran = threading.Event()  # a queued continuation ran

    # -- helpers -------------------------------------------------------------------------

    def token(self, offset: int) -> int:
        return self.version + offset

    def continuation(self, registered_for: object) -> None:
        assert isinstance(registered_for, int)
        self.calls[registered_for] += 1  # one writer at a time: the rule waits for it
        self.ran.set()

    def complete(self, value: object, error: BaseException | None) -> None:
        if error is None:
            self.source.set_result(value)
        else:
            self.source.set_exception(error)

    def completed(self, value: object, error: BaseException | None) -> None:
        """The model's side of a completion that the source accepted."""
        self.result, self.error = value, error
        if self.state == WAITING:
            self.state = DONE
            self.done_versions.add(self.version)
        else:
            self.state = COMPLETED

    def mismatch(self, token: int) -> str:
        return rf"^token {token} is not the source's current version {self.version}: "

    # -- rules ----------------------------------------------------------------------------

    @rule()
    def reset(self) -> None:
        self.source.reset()
        self.version = (self.version + 1) % VERSION_SPAN
        self.state = EMPTY
        self.result = self.error = None

    @rule(value=st.integers())
    def set_result(self, value: int) -> None:
        self._complete(value, None)

    @rule(cancelled=st.booleans())
    def set_exception(self, cancelled: bool) -> None:
        error = asyncio.CancelledError() if cancelled else OSError("no sample")
        self._complete(None, error)

    def _complete(self, value: object, error: BaseException | None) -> None:
        if self.state in (COMPLETED, DONE):
            with pytest.raises(AlreadyCompletedError, match=r"^the operation was already"):
                self.complete(value, error)
            return
        self.complete(value, error)
        self.completed(value, error)

    @rule(offset=token_offsets)
    def on_completed(self, offset: int) -> None:
        token = self.token(offset)
        register = self.source.on_completed
        if offset != 0:
            with pytest.raises(TokenMismatchError, match=self.mismatch(token)):
                register(self.continuation, self.version, token, CompletionFlags.NONE)
        elif self.state in (WAITING, DONE):
            with pytest.raises(MultipleAwaitError, match=r"^multiple awaits detected: "):
                register(self.continuation, self.version, token, CompletionFlags.NONE)
        else:
            self.ran.clear()
            register(self.continuation, self.version, token, CompletionFlags.NONE)
            if self.state == EMPTY:
                self.state = WAITING
            else:  # completed already: queued to a worker thread
                assert self.ran.wait(5), "the queued continuation never ran"
                self.state = DONE
                self.done_versions.add(self.version)

    @rule(offset=token_offsets)
    def get_status(self, offset: int) -> None:
        token = self.token(offset)
        if offset != 0:
            with pytest.raises(TokenMismatchError, match=self.mismatch(token)):
                self.source.get_status(token)
            return
        if self.state in (EMPTY, WAITING):
            expected = SourceStatus.PENDING
        elif self.error is None:
            expected = SourceStatus.SUCCEEDED
        elif isinstance(self.error, asyncio.CancelledError):
            expected = SourceStatus.CANCELED
        else:
            expected = SourceStatus.FAULTED
        assert self.source.get_status(token) is expected

    @rule(offset=token_offsets)
    def get_result(self, offset: int) -> None:
        token = self.token(offset)
        if offset != 0:
            with pytest.raises(TokenMismatchError, match=self.mismatch(token)):
                self.source.get_result(token)
        elif self.state in (EMPTY, WAITING):
            with pytest.raises(NotCompletedError, match=r"^the operation has not completed"):
                self.source.get_result(token)
        elif self.error is not None:
            with pytest.raises(type(self.error)) as raised:
                self.source.get_result(token)
            assert raised.value is self.error
        else:
            assert self.source.get_result(token) == self.result

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def each_continuation_ran_exactly_once_when_both_sides_arrived(self) -> None:
        assert self.calls == Counter(dict.fromkeys(self.done_versions, 1))

    @invariant()
    def the_version_is_the_models(self) -> None:
        assert self.source.version == self.version


class CoreMachine(SourceMachine):
    make = ManualResetCore

    @invariant()
    def the_repr_names_the_models_state(self) -> None:
        assert repr(self.source) == f"<ManualResetCore version={self.version} {self.state}>"


class HandwrittenMachine(SourceMachine):
    @staticmethod
    def make() -> HandwrittenSource:
        return HandwrittenSource(Handwritten(), threading.Lock())

    def complete(self, value: object, error: BaseException | None) -> None:
        self.source.complete(value, error)


class WaiterSourceMachine(SourceMachine):
    @staticmethod
    def make() -> WaiterSource:
        return WaiterSource(ManualReset())

    def complete(self, value: object, error: BaseException | None) -> None:
        self.source.complete(value, error)


# The same machines on the C accelerator, where it is built: the C core, and the
# strategy's waiter source on it.
if C_MISSING is None:
    from vts import _speedups
    from vts.strategies.accelerated import CWaiterSource, ManualResetC

    class CCoreMachine(CoreMachine):
        make = _speedups.ManualResetCore

    class CWaiterSourceMachine(WaiterSourceMachine):
        @staticmethod
        def make() -> Any:
            return CWaiterSource(ManualResetC())


SETTINGS = settings(max_examples=150, stateful_step_count=40, deadline=None)

TestManualResetCore = CoreMachine.TestCase
TestManualResetCore.settings = SETTINGS
TestHandwrittenSource = HandwrittenMachine.TestCase
TestHandwrittenSource.settings = SETTINGS
TestWaiterSource = WaiterSourceMachine.TestCase
TestWaiterSource.settings = SETTINGS
if C_MISSING is None:
    TestManualResetCoreC = CCoreMachine.TestCase
    TestManualResetCoreC.settings = SETTINGS
    TestWaiterSourceC = CWaiterSourceMachine.TestCase
    TestWaiterSourceC.settings = SETTINGS
