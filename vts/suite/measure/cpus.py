"""The machine's CPUs, shared by the cells measured at once (`CpuSlots`).

A timed cell whose scenario keeps more than one CPU busy (a producer or sender thread beside
the loop: `Scenario.cpus`) must not share the machine while pyperf times it: on 2 CPUs, its
second thread and the cell beside it take turns on one CPU, and both cells' times swing by
10-20% from one value to the next. So each cell holds one slot of `jobs` while it is
measured, and widens to `cpus` slots for its timed phase (`widened`): it waits for the
cells under way and is timed alone.

What it trades: the timed phases of those cells (46 of make bench's 332) run alone, for
times a reader can trust; their counting phases still run beside other cells (counts do
not depend on it), and runs without timing (`--allocs-only`) never widen.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["CpuSlots"]


class CpuSlots:
    """`total` slots, granted first come, first served: a request for many is not passed by
    later requests for one, which would otherwise keep it waiting for ever."""

    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError(f"total must be >= 1, not {total}")
        self.total = total
        self._free = total
        # The lock guards _free and _queue; worker threads wait on the condition until
        # their request is first in the queue and enough slots are free.
        self._changed = threading.Condition(threading.Lock())
        self._queue: deque[object] = deque()

    @property
    def free(self) -> int:
        """Slots nobody holds now (a snapshot: other threads may take them next)."""
        with self._changed:
            return self._free

    @contextmanager
    def held(self, wanted: int) -> Iterator[int]:
        """Hold min(wanted, total) slots for the block (at least one); yields how many."""
        count = self._acquire(wanted)
        try:
            yield count
        finally:
            self._release(count)

    @contextmanager
    def widened(self, holding: int, wanted: int) -> Iterator[int]:
        """From inside `held(holding)`: hold min(wanted, total) slots for the block, then
        `holding` again; yields how many. The held slots are given back first, so two
        holders widening at once take turns instead of each waiting for the other's."""
        if wanted <= holding:
            yield holding
            return
        self._release(holding)
        try:
            count = self._acquire(wanted)
            try:
                yield count
            finally:
                self._release(count)
        finally:
            self._acquire(holding)  # the caller's `held` gives these back

    def _acquire(self, wanted: int) -> int:
        count = max(1, min(wanted, self.total))
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            try:
                self._changed.wait_for(lambda: self._queue[0] is ticket and self._free >= count)
            finally:
                self._queue.remove(ticket)
                # The next in line may be waiting on a condition that is now true.
                self._changed.notify_all()
            self._free -= count
        return count

    def _release(self, count: int) -> None:
        with self._changed:
            self._free += count
            self._changed.notify_all()
