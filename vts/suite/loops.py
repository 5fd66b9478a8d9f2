"""Event loop kinds by name: the stock asyncio loop and uvloop (where it installs)."""

from __future__ import annotations

import asyncio
import importlib.util

from vts.suite.errors import UsageError

LOOPS: tuple[str, ...] = ("asyncio", "uvloop")


def loop_available(kind: str) -> bool:
    """True if `kind` can run here (uvloop is an optional extra)."""
    if kind == "asyncio":
        return True
    return kind == "uvloop" and importlib.util.find_spec("uvloop") is not None


def available_loops() -> list[str]:
    return [kind for kind in LOOPS if loop_available(kind)]


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """A new event loop of `kind` (not set as the current loop)."""
    if kind == "asyncio":
        return asyncio.new_event_loop()
    if kind == "uvloop":
        if not loop_available("uvloop"):
            raise UsageError("uvloop is not installed here; install the 'uvloop' extra")
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop
    raise UsageError(f"unknown event loop {kind!r}; choose from: {', '.join(LOOPS)}")


def loop_version(kind: str) -> str:
    """The version of the loop's implementation (the interpreter's for asyncio)."""
    if kind == "uvloop" and loop_available("uvloop"):
        import uvloop

        return str(getattr(uvloop, "__version__", "unknown"))
    import platform

    return platform.python_version()


__all__ = ["LOOPS", "available_loops", "loop_available", "loop_version", "new_event_loop"]
