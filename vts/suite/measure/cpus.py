"""The machine's CPUs, shared by the cells measured at once (`CpuSlots`).

A timed cell whose scenario keeps more than one CPU busy (a producer or sender thread beside
the loop: `Scenario.cpus`) must not share the machine: on 2 CPUs, its second thread and
the cell beside it take turns on one CPU, and both cells' times swing by 10-20% from one
value to the next. So each cell holds `cpus` slots of `jobs` while it is measured; one
that needs every slot waits for the cells under way and runs alone.

What it trades: those cells run one at a time (about 50 of make bench's 236), for times a
reader can trust. Counts do not depend on it, so runs without timing (`--allocs-only`) take
one slot a cell, as before.
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

    @contextmanager
    def held(self, wanted: int) -> Iterator[int]:
        """Hold min(wanted, total) slots for the block (at least one); yields how many."""
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
        try:
            yield count
        finally:
            with self._changed:
                self._free += count
                self._changed.notify_all()
