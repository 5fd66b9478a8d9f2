"""Which implementation of the protocol's hot pieces vts uses: pure Python or C.

`vts.valuetask` and `vts.core` are the reference, in pure Python. `vts._speedups` holds the
same pieces in C (`ValueTask`, `SourceAwaiter`, `ManualResetCore`, `source_task`), built
with the package where a compiler is found, with the same behaviour, error types and
messages. Both stay importable side by side: `PYTHON` always, `c()` when the extension is
built (its `C_MISSING` says why not otherwise).

`VTS_IMPL` selects what the package-level names (`vts.ValueTask`, `vts.SourceAwaiter`,
`vts.ManualResetCore`) are: unset, C where built, else Python; `python`, always Python;
`c`, C or an ImportError naming the fix. The strategy registry is not affected: `pooled`
is always built on the Python pieces and `pooled[c]` on the C ones, so one process can
measure both.

Trades: the C pieces allocate nothing per await beyond the loop's own cost (see
docs/architecture.md), at the price of a second implementation to keep in step; the
tests run every protocol test against both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from vts import core, valuetask

ENV_VAR = "VTS_IMPL"
CHOICES = ("python", "c")


@dataclass(frozen=True)
class Implementation:
    """One implementation of the protocol's hot pieces."""

    name: str  # "python" or "c"
    ValueTask: Any
    SourceAwaiter: Any
    ManualResetCore: Any
    source_task: Any


PYTHON = Implementation(
    "python", valuetask.ValueTask, valuetask.SourceAwaiter, core.ManualResetCore,
    valuetask.source_task)

try:
    import vts._speedups as _speedups
except ImportError as error:  # not built: no compiler, or a free-threaded interpreter
    _C: Implementation | None = None
    C_MISSING: str | None = (
        f"the C accelerator vts._speedups is not built ({error}); "
        "install a C compiler and reinstall vts (pip install -e .)")
else:
    _C = Implementation(
        "c", _speedups.ValueTask, _speedups.SourceAwaiter, _speedups.ManualResetCore,
        _speedups.source_task)
    C_MISSING = None


def c() -> Implementation:
    """The C implementation; ImportError (saying how to build it) where it is missing."""
    if _C is None:
        raise ImportError(C_MISSING)
    return _C


def available() -> tuple[Implementation, ...]:
    """Every implementation importable here: Python, then C where built."""
    return (PYTHON,) if _C is None else (PYTHON, _C)


def selected() -> Implementation:
    """The implementation `VTS_IMPL` asks for (see the module docstring)."""
    choice = os.environ.get(ENV_VAR, "").strip().lower()
    if choice == "python":
        return PYTHON
    if choice == "c":
        return c()
    if choice:
        raise ImportError(f"{ENV_VAR}={choice!r} is not one of: {', '.join(CHOICES)}")
    return _C if _C is not None else PYTHON


__all__ = [
    "CHOICES",
    "C_MISSING",
    "ENV_VAR",
    "PYTHON",
    "Implementation",
    "available",
    "c",
    "selected",
]
