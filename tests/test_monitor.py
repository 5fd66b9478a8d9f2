"""vts.monitor: PcMonitor over every strategy, with an injected sampler and clock."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from vts.monitor import PcMonitor, PcStatistics, cpu_temperature, sample_statistics
from vts.strategies import STRATEGIES


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def counting_sampler(fail_on: frozenset[int] = frozenset()) -> Callable[[], PcStatistics]:
    """Sample number n has cpu_percent n; the calls in `fail_on` raise instead."""
    calls = 0

    def sample() -> PcStatistics:
        nonlocal calls
        calls += 1
        if calls in fail_on:
            raise OSError(f"sensor read {calls} failed")
        return PcStatistics(None, float(calls), (0.0, 0.0, 0.0), 50.0, 1 << 30)

    return sample


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_fresh_samples_are_served_from_the_cache_and_stale_ones_wait(strategy: str) -> None:
    clock = FakeClock()

    async def main() -> None:
        async with PcMonitor(strategy, interval=0.001, max_age=10.0, sampler="loop",
                             sample=counting_sampler(), clock=clock) as monitor:
            first = await monitor.get_statistics()  # waits for the first sample
            taken = monitor.samples
            again = await monitor.get_statistics()  # fresh on the fake clock
            assert again == first
            clock.now = 11.0  # stale now: the next call waits for a newer sample
            later = await monitor.get_statistics()
            assert later.cpu_percent > first.cpu_percent
            assert monitor.samples > taken

    asyncio.run(main())


def test_a_sampler_error_reaches_the_waiter_and_the_next_sample_recovers() -> None:
    clock = FakeClock()

    async def main() -> None:
        monitor = PcMonitor("pooled", interval=0.001, max_age=10.0, sampler="loop",
                            sample=counting_sampler(fail_on=frozenset({1})), clock=clock)
        try:
            with pytest.raises(OSError, match=r"^sensor read 1 failed$"):
                await monitor.get_statistics()
            clock.now = 20.0
            recovered = await monitor.get_statistics()
            assert recovered.cpu_percent >= 2.0
            assert monitor.errors == 1
        finally:
            monitor.close()

    asyncio.run(main())


def sampler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vts-pcmonitor-sampler"]


def test_the_thread_sampler_publishes_across_threads_and_close_joins_it() -> None:
    async def main() -> None:
        monitor = PcMonitor("manual_reset", interval=0.001, max_age=0.0, sampler="thread",
                            sample=counting_sampler())
        try:
            assert len(sampler_threads()) == 1
            values = [(await monitor.get_statistics()).cpu_percent for _ in range(5)]
            assert values == sorted(values) and len(set(values)) == 5  # each a newer sample
        finally:
            monitor.close()
        assert sampler_threads() == []

    asyncio.run(main())


def test_close_cancels_a_waiter_left_behind() -> None:
    async def main() -> None:
        monitor = PcMonitor("future_per_call", interval=3600.0, max_age=0.0, sampler="loop",
                            sample=counting_sampler())
        await monitor.get_statistics()  # the first sample, then nothing for an hour
        waiter = asyncio.ensure_future(monitor.get_statistics())
        await asyncio.sleep(0)
        monitor.close()
        with pytest.raises(asyncio.CancelledError):
            await waiter

    asyncio.run(main())


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"interval": 0}, r"^interval must be > 0$"),
    ({"sampler": "cron"}, r"^unknown sampler 'cron'; choose 'thread' or 'loop'$"),
])
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match=message):
            PcMonitor("pooled", loop=loop, **kwargs)  # type: ignore[arg-type]
    finally:
        loop.close()
    assert sampler_threads() == []


def test_the_real_sample_reads_the_machine() -> None:
    stats = sample_statistics()
    assert 0.0 <= stats.memory_percent <= 100.0
    assert stats.memory_available_bytes > 0
    assert all(load >= 0.0 for load in stats.load_average)
    temperature = cpu_temperature()  # many VMs have no sensor at all
    assert temperature is None or -50.0 < temperature < 150.0
