"""vts: what does an `await` cost? .NET's ValueTask machinery on asyncio, measured.

The public surface: the protocol (`ValueTask`, `ValueTaskSource`, ...), the reusable core
(`ManualResetCore`), the bounded `Pool`, the strategies with their base `Strategy` (the
extension point: its docstring lists the public hooks a strategy is written on), the
`Channel` whose waits await a strategy, and `PcMonitor`. `ValueTask`,
`SourceAwaiter` and `ManualResetCore` are the C accelerator's where it is built, else the
pure-Python reference; `VTS_IMPL=python|c` chooses (see `vts.impl`). The suite
(`vts.suite`: scenarios, runners, reports, gate) is reached through the `vts` command.

The package has two halves, and imports run one way (tests/test_layout.py holds it):

- the library, `vts` itself: `valuetask` (the protocol, ValueTask, the awaiter bridge),
  `core` (ManualResetCore), `pool`, `strategies` (the interface, one module per strategy,
  the registry), `channels` (a FIFO whose waits await a strategy), `sockets` (a reusable
  receive source), `monitor` (PcMonitor), `errors`;
- the measuring suite, `vts.suite`, built on the library: scenarios, the allocation
  counter and the runners, results, the gate, the reports and the `vts` command. The
  library imports nothing from it.

"The article" in docstrings is the write-up this port follows (docs/article.md).

Importing this package imports no third-party module except psutil (for PcMonitor, on
first use), so the measurement subprocesses stay small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vts import impl
from vts.channels import Channel, ChannelClosed, ChannelEmpty
from vts.errors import UnknownNameError
from vts.pool import DoubleReturnError, Pool
from vts.strategies import STRATEGIES, Freshness, Strategy, strategy_class
from vts.valuetask import (
    AlreadyAwaitedError,
    AlreadyCompletedError,
    CancellableSource,
    CompletionFlags,
    MultipleAwaitError,
    NotCompletedError,
    SourceStatus,
    TokenMismatchError,
    ValueTaskError,
    ValueTaskSource,
)

# The protocol's hot pieces: C where the accelerator is built, else pure Python;
# VTS_IMPL=python|c chooses (vts.impl). Type checkers see the Python reference.
if TYPE_CHECKING:
    from vts.core import ManualResetCore
    from vts.valuetask import SourceAwaiter, ValueTask
else:
    _selected = impl.selected()
    ValueTask = _selected.ValueTask
    SourceAwaiter = _selected.SourceAwaiter
    ManualResetCore = _selected.ManualResetCore

__version__ = "0.1.0"

__all__ = [
    "STRATEGIES",
    "AlreadyAwaitedError",
    "AlreadyCompletedError",
    "CancellableSource",
    "Channel",
    "ChannelClosed",
    "ChannelEmpty",
    "CompletionFlags",
    "DoubleReturnError",
    "Freshness",
    "ManualResetCore",
    "MultipleAwaitError",
    "NotCompletedError",
    "PcMonitor",
    "PcStatistics",
    "Pool",
    "SourceAwaiter",
    "SourceStatus",
    "Strategy",
    "TokenMismatchError",
    "UnknownNameError",
    "ValueTask",
    "ValueTaskError",
    "ValueTaskSource",
    "strategy_class",
]


def __getattr__(name: str) -> Any:
    # PcMonitor pulls in psutil: loaded on first use, not at import.
    if name in ("PcMonitor", "PcStatistics"):
        from vts import monitor

        return getattr(monitor, name)
    raise AttributeError(f"module 'vts' has no attribute {name!r}")
