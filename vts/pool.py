"""A bounded pool of reusable objects, safe to use from several threads.

It bounds what it *keeps*, not what it hands out: `rent()` on an empty pool makes a new
object, and `give_back()` on a full pool drops the object for the garbage collector.
So a burst of 1,000 waiters works, and afterwards at most `capacity` sources stay alive.

No lock: `deque.append` and `deque.pop` are single C calls, atomic under the GIL (and
internally locked on free-threaded builds), and a deque with `maxlen` drops from the
other end when full instead of growing. A double return is a bug in the caller (a
ValueTask awaited twice would cause it); `give_back` detects it with a flag on the item.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class Poolable(Protocol):
    in_pool: bool


P = TypeVar("P", bound=Poolable)


class DoubleReturnError(RuntimeError):
    """An object was given back to its pool while it was already there."""


class Pool(Generic[P]):
    """Keeps at most `capacity` objects made by `factory` for reuse."""

    __slots__ = ("_factory", "_items", "capacity", "created")

    def __init__(self, factory: Callable[[], P], capacity: int = 64) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._factory = factory
        self._items: deque[P] = deque(maxlen=capacity)
        self.capacity = capacity
        # Statistics, never used to decide anything (a += is not atomic across threads).
        # Only misses are counted: counting every return would allocate an int per
        # return once past 256, a cost the measured hot path must not carry.
        self.created = 0

    def rent(self) -> P:
        """An object from the pool, or a new one when the pool is empty."""
        try:
            item = self._items.pop()
        except IndexError:
            self.created += 1
            item = self._factory()
        item.in_pool = False
        return item

    def give_back(self, item: P) -> None:
        """Return an object; it must have been reset by the caller."""
        if item.in_pool:
            raise DoubleReturnError(f"{item!r} was given back to its pool twice")
        item.in_pool = True
        self._items.append(item)

    def __len__(self) -> int:
        return len(self._items)


__all__ = ["DoubleReturnError", "Pool", "Poolable"]
