"""Calibration of the exact counter: operations whose allocation count is known.

The counter is trusted only where `calibrate()` equals `EXPECTED_CALIBRATION` for the
running interpreter (pinned on CPython 3.10-3.13 by the tests). Standard library only,
like `allocs`: the calibration probe imports it under bare interpreters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from itertools import repeat
from typing import Any

from vts.suite.measure.allocs import AllocationFigures, measure_async, measure_sync

__all__ = ["CALIBRATION", "EXPECTED_CALIBRATION", "calibrate"]


class _CachedExhausted:
    """``__await__`` returns one shared, already exhausted iterator: the await yields None."""

    __slots__ = ()
    _done = iter(())

    def __await__(self) -> Any:  # an iterator, where typeshed wants a Generator
        return self._done


class _RaisesValue:
    """A Python ``__next__`` that finishes the await with ``StopIteration(value)``."""

    __slots__ = ()

    def __await__(self) -> Any:  # an iterator, where typeshed wants a Generator
        return self

    def __iter__(self) -> _RaisesValue:
        return self

    def __next__(self) -> None:
        raise StopIteration(42)


async def _returns_at_once() -> None:
    return None


async def _empty(n: int) -> None:
    for _ in repeat(None, n):
        pass


async def _await_coro(n: int) -> None:
    for _ in repeat(None, n):
        await _returns_at_once()


async def _await_done_future(n: int) -> None:
    fut = asyncio.get_running_loop().create_future()
    fut.set_result(None)
    for _ in repeat(None, n):
        await fut


async def _await_exhausted_iter(n: int) -> None:
    ready = _CachedExhausted()
    for _ in repeat(None, n):
        await ready


async def _await_stopiteration_value(n: int) -> None:
    raises = _RaisesValue()
    for _ in repeat(None, n):
        await raises


async def _future_call_soon(n: int) -> None:
    loop = asyncio.get_running_loop()
    for _ in repeat(None, n):
        fut = loop.create_future()
        loop.call_soon(fut.set_result, None)
        await fut


def _reference_cycle() -> None:
    cycle: list[object] = []
    cycle.append(cycle)


_ONE = 1

# Each entry measures itself: sync cases with measure_sync, async ones on a fresh stock loop.
CALIBRATION: dict[str, Callable[[], AllocationFigures]] = {
    "pass": lambda: measure_sync(lambda: None),
    "object()": lambda: measure_sync(lambda: object()),
    "[x]": lambda: measure_sync(lambda: [_ONE]),
    "bytearray(100)": lambda: measure_sync(lambda: bytearray(100)),
    "a = []; a.append(a)": lambda: measure_sync(_reference_cycle),
    "async empty batch": lambda: measure_async(_empty),
    "await coro()": lambda: measure_async(_await_coro),
    "await done Future": lambda: measure_async(_await_done_future),
    "await exhausted iterator": lambda: measure_async(_await_exhausted_iter),
    "await StopIteration(value)": lambda: measure_async(_await_stopiteration_value),
    "create_future+call_soon+await": lambda: measure_async(_future_call_soon),
}

# Allocations per op of each CALIBRATION case, measured on CPython 3.10.13, 3.11.7, 3.12.1
# and 3.13.0 (x86_64, pyenv builds), identical on repeated runs. Counts hold for an
# interpreter build; an interpreter missing here is not calibrated.
_PINNED: dict[str, tuple[float, float, float, float]] = {
    #                                  3.10  3.11  3.12  3.13
    "pass":                           (0.0,  0.0,  0.0,  0.0),
    "object()":                       (1.0,  1.0,  1.0,  1.0),
    "[x]":                            (1.0,  1.0,  1.0,  1.0),
    "bytearray(100)":                 (2.0,  2.0,  2.0,  2.0),
    "a = []; a.append(a)":            (2.0,  2.0,  2.0,  2.0),
    "async empty batch":              (0.0,  0.0,  0.0,  0.0),
    "await coro()":                   (1.0,  1.0,  1.0,  1.0),
    # Free before 3.12 (the future iterator has a freelist); a real StopIteration after.
    "await done Future":              (0.0,  0.0,  1.0,  1.0),
    "await exhausted iterator":       (0.0,  0.0,  0.0,  0.0),
    "await StopIteration(value)":     (2.0,  3.0,  3.0,  3.0),
    # Mostly the loop: two passes of _run_once. The .2 (3.11+) is asyncio's current-task
    # dict, rebuilt every fifth task step.
    "create_future+call_soon+await":  (24.0, 24.2, 24.2, 22.2),
}  # fmt: skip

EXPECTED_CALIBRATION: dict[tuple[int, int], dict[str, float]] = {
    version: {name: row[column] for name, row in _PINNED.items()}
    for column, version in enumerate(((3, 10), (3, 11), (3, 12), (3, 13)))
}


def calibrate() -> dict[str, float]:
    """Allocations per op of every ``CALIBRATION`` case on this interpreter.

    Compare with ``EXPECTED_CALIBRATION[sys.version_info[:2]]``: counts are trusted only
    where the two are equal.
    """
    return {name: case().allocs_per_op for name, case in CALIBRATION.items()}


def check() -> dict[str, Any]:
    """Whether this interpreter's counts match its pinned calibration, and where not."""
    import sys

    expected = EXPECTED_CALIBRATION.get((sys.version_info[0], sys.version_info[1]))
    measured = calibrate()
    if expected is None:
        return {"calibrated": False, "mismatches": {}, "reason": "no pinned calibration"}
    mismatches = {name: {"expected": expected[name], "measured": value}
                  for name, value in measured.items() if expected.get(name) != value}
    return {"calibrated": not mismatches, "mismatches": mismatches, "reason": None}


if __name__ == "__main__":
    import json
    import sys

    json.dump(check(), sys.stdout)
