"""manual_reset: a source built on ManualResetCore, one per waiting call.

Section 4 of the article: the source holds only business logic (which strategy it waits
on) and forwards the protocol to `ManualResetCore`, which is written once, correctly,
with its own lock. A fresh call returns `ValueTask.from_result(value)`.

Trades: the most general source (any thread, flags, contexts) at the price of a source
object and a lock per waiting call. Pick it as the building block; pool it (`pooled`)
when waiting calls are frequent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, ClassVar, TypeVar

from vts.core import ManualResetCore
from vts.strategies.base import SourceStrategy
from vts.valuetask import ValueTask, source_task

T = TypeVar("T")

# What complete(value, error) raises for an error that is not an exception.
COMPLETE_NEEDS_EXCEPTION = "complete() needs an exception instance or None as its error"


class WaiterSource(ManualResetCore[Any]):
    """A ManualResetCore that knows the strategy it waits on, so it can be cancelled."""

    __slots__ = ("_owner",)

    def __init__(self, owner: ManualReset[Any]) -> None:
        super().__init__()
        self._owner = owner

    def complete(self, value: object, error: BaseException | None) -> None:
        if error is None:
            self.set_result(value)
        elif isinstance(error, BaseException):
            self.set_exception(error)
        else:  # the C core's complete() raises the same
            raise TypeError(COMPLETE_NEEDS_EXCEPTION)

    def cancel(self, token: int) -> bool:
        """Abandon the wait: leave the owner's waiter list, complete as cancelled."""
        if token != self._version or not self._owner.forget(self, token):
            return False
        self.set_exception(asyncio.CancelledError())
        return True


class ManualReset(SourceStrategy[T]):
    name = "manual_reset"
    # The protocol's pieces it is built on; manual_reset[c] swaps in the C ones
    # (vts.strategies.accelerated). Class attributes: reading one binds nothing.
    # (Typed Any: mypy would read a Callable class attribute as a method.)
    value_task: ClassVar[Any] = ValueTask
    make_task: ClassVar[Any] = staticmethod(source_task)
    source_class: ClassVar[Any] = WaiterSource

    def fresh(self, value: T) -> Awaitable[T]:
        task: Awaitable[T] = self.value_task(value)
        return task

    def _new_source(self) -> Any:
        return self.source_class(self)

    def _drop_source(self, source: Any) -> None:
        """A source that was not needed after all (the value turned fresh)."""

    def wait(self) -> Awaitable[T]:
        source = self._new_source()
        sample = self.register(source)
        if sample is not None:  # published while we got here
            self._drop_source(source)
            return self.fresh(sample[0])
        task: Awaitable[T] = self.make_task(source, source._version)
        return task
