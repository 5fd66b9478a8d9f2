"""The three source strategies on the C accelerator: handwritten[c], manual_reset[c],
pooled[c].

The same strategy code as `handwritten`, `manual_reset` and `pooled`, on the C pieces of
`vts._speedups` instead of the Python ones: the C `ValueTask` (its own awaiter iterator:
no generator, no StopIteration), the C bridge (the Task's lookups hand out freelist
methods: no bound method per suspension) and, for the two core-based strategies, the C
`ManualResetCore` (no lock: its state changes are atomic under the GIL). `handwritten[c]`
keeps its source written by hand in Python and takes only the C ValueTask and bridge.
So the suite shows design (pooled vs manual_reset) and language (pooled vs pooled[c])
separately.

Reuse, where the docstrings of `vts/_speedups.c` say so: ValueTask objects and the
bridge's bound methods come from freelists, and so on 3.12+ does the StopIteration an
await raises; CPython's own freelists avoid the allocator the same way.

Trades: the C variants allocate nothing per await beyond what the loop allocates for a
Future (measured by `vts bench`), at the price of a second implementation kept in step
with the Python one (every protocol test runs against both). Pick them wherever the
accelerator is built; `vts.impl.C_MISSING` says why it is not.
"""

from __future__ import annotations

from typing import Any, TypeVar

import vts._speedups as _speedups
from vts.pool import Pool
from vts.strategies.handwritten import Handwritten
from vts.strategies.manual_reset import ManualReset, WaiterSource
from vts.strategies.pooled import Pooled

T = TypeVar("T")


class CWaiterSource(_speedups.ManualResetCore[Any]):
    """`WaiterSource` on the C core: `complete` is the core's own, `cancel` the same
    Python function as WaiterSource's (it reads only `_version` and `_owner`)."""

    __slots__ = ("_owner",)

    def __init__(self, owner: ManualReset[Any]) -> None:
        super().__init__()
        self._owner = owner

    cancel = WaiterSource.cancel


class CPooledSource(CWaiterSource):
    """`PooledSource` on the C core: the core's `_pool` makes its `get_result` reset it and
    give it back (in C), and its `awaiter_for` re-arms its one bridge."""

    __slots__ = ("in_pool",)

    def __init__(self, owner: Pooled[Any], pool: Pool[Any]) -> None:
        super().__init__(owner)
        self._pool = pool
        self.in_pool = False


class HandwrittenC(Handwritten[T]):
    name = "handwritten[c]"
    value_task = _speedups.ValueTask
    make_task = staticmethod(_speedups.source_task)


class ManualResetC(ManualReset[T]):
    name = "manual_reset[c]"
    value_task = _speedups.ValueTask
    make_task = staticmethod(_speedups.source_task)
    source_class = CWaiterSource


class PooledC(Pooled[T]):
    name = "pooled[c]"
    value_task = _speedups.ValueTask
    make_task = staticmethod(_speedups.source_task)
    source_class = CPooledSource


__all__ = ["CPooledSource", "CWaiterSource", "HandwrittenC", "ManualResetC", "PooledC"]
