"""vts: what does an `await` cost? .NET's ValueTask machinery on asyncio, measured.

The public surface: the protocol (`ValueTask`, `ValueTaskSource`, ...), the reusable core
(`ManualResetCore`), the bounded `Pool`, the strategies and `PcMonitor`. The suite
(scenarios, runners, reports, gate) is reached through the `vts` command.

Importing this package imports no third-party module except psutil (for PcMonitor, on
first use), so the measurement subprocesses stay small.
"""

from __future__ import annotations

from typing import Any

from vts.core import ManualResetCore
from vts.errors import UsageError
from vts.pool import DoubleReturnError, Pool
from vts.strategies import STRATEGIES, Freshness, Strategy, strategy_class
from vts.valuetask import (
    AlreadyAwaitedError,
    AlreadyCompletedError,
    CancellableSource,
    CompletionFlags,
    MultipleAwaitError,
    NotCompletedError,
    SourceAwaiter,
    SourceStatus,
    TokenMismatchError,
    ValueTask,
    ValueTaskError,
    ValueTaskSource,
)

__version__ = "0.1.0"

__all__ = [
    "STRATEGIES",
    "AlreadyAwaitedError",
    "AlreadyCompletedError",
    "CancellableSource",
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
    "UsageError",
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
