"""PcMonitor: the article's application, on top of any strategy.

Machine statistics are sampled at a fixed interval, by a background thread (the
article's `System.Threading.Timer`) or by a loop timer, and published to a strategy;
`get_statistics()` returns the cached sample while it is fresh and otherwise waits for
the next one. A sampling error reaches the waiters as an exception; the next good sample
recovers. `close()` stops the sampler and joins its thread.

Trades: the thread sampler exercises cross-thread completion (the point of the
article) at the cost of a thread; the loop sampler stays on the loop thread.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import psutil

from vts.strategies import Freshness, Strategy, strategy_class


@dataclass(frozen=True)
class PcStatistics:
    """One sample of the machine. `cpu_temperature_c` is None where no sensor exists."""

    cpu_temperature_c: float | None
    cpu_percent: float
    load_average: tuple[float, float, float]
    memory_percent: float
    memory_available_bytes: int


# Sensor names psutil reports for the CPU package on common Linux drivers.
CPU_SENSORS = ("coretemp", "k10temp", "zenpower", "cpu_thermal", "acpitz")


def cpu_temperature() -> float | None:
    """The hottest CPU-ish sensor reading, or None (many VMs have no sensors)."""
    read = getattr(psutil, "sensors_temperatures", None)
    if read is None:
        return None
    try:
        sensors = read()
    except (OSError, RuntimeError):
        return None
    preferred = [entry.current for name in CPU_SENSORS for entry in sensors.get(name, [])]
    readings = preferred or [entry.current for entries in sensors.values() for entry in entries]
    return max(readings) if readings else None


def sample_statistics() -> PcStatistics:
    """Read the machine with psutil (non-blocking: cpu_percent since the last call)."""
    memory = psutil.virtual_memory()
    load = os.getloadavg() if hasattr(os, "getloadavg") else psutil.getloadavg()
    return PcStatistics(
        cpu_temperature_c=cpu_temperature(),
        cpu_percent=psutil.cpu_percent(interval=None),
        load_average=(load[0], load[1], load[2]),
        memory_percent=memory.percent,
        memory_available_bytes=memory.available,
    )


SamplerKind = Literal["thread", "loop"]


class PcMonitor:
    """Serves `PcStatistics` through a strategy chosen by name.

    Create it inside a running event loop (the loop timer sampler and the strategies
    bind to it), or pass `loop=`. `sample` and `clock` (what freshness is measured on)
    can be injected, as the tests do.
    """

    def __init__(
        self,
        strategy: str = "pooled",
        *,
        interval: float = 0.5,
        max_age: float | None = None,
        sampler: SamplerKind = "thread",
        sample: Callable[[], PcStatistics] = sample_statistics,
        loop: asyncio.AbstractEventLoop | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be > 0")
        if sampler not in ("thread", "loop"):
            raise ValueError(f"unknown sampler {sampler!r}; choose 'thread' or 'loop'")
        self.interval = interval
        self.sampler: SamplerKind = sampler
        self._sample = sample
        self._loop = loop if loop is not None else asyncio.get_running_loop()
        freshness = Freshness(interval if max_age is None else max_age, clock)
        self.strategy: Strategy[PcStatistics] = strategy_class(strategy)(freshness, loop=self._loop)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._timer: asyncio.Handle | None = None
        self.samples = 0
        self.errors = 0
        self._start()

    def get_statistics(self) -> Awaitable[PcStatistics]:
        """The cached sample while it is fresh, else the next one."""
        return self.strategy.get()

    def _take_sample(self) -> None:
        try:
            value = self._sample()
        except Exception as exc:  # a failing sampler reaches the waiters, then recovers
            self.errors += 1
            self.strategy.fail(exc)
        else:
            self.samples += 1
            self.strategy.publish(value)

    def _start(self) -> None:
        if self.sampler == "thread":
            self._thread = threading.Thread(
                target=self._run_thread, name="vts-pcmonitor-sampler", daemon=True
            )
            self._thread.start()
        else:
            self._timer = self._loop.call_soon(self._on_timer)

    def _run_thread(self) -> None:
        while not self._stop.is_set():
            self._take_sample()
            self._stop.wait(self.interval)

    def _on_timer(self) -> None:
        if self._stop.is_set():
            return
        self._take_sample()
        self._timer = self._loop.call_later(self.interval, self._on_timer)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the sampler (joining its thread) and cancel every waiter left."""
        self._stop.set()
        if self._timer is not None:
            self._timer.cancel()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("the sampler thread did not stop within the timeout")
        self.strategy.close()

    async def __aenter__(self) -> PcMonitor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()


__all__ = ["PcMonitor", "PcStatistics", "cpu_temperature", "sample_statistics"]
