"""`vts monitor`: a live view of PcMonitor through any strategy."""

from __future__ import annotations

import argparse
import asyncio
import time

from rich.live import Live
from rich.markup import escape
from rich.table import Table

from vts.monitor import PcMonitor, PcStatistics
from vts.strategies import STRATEGIES, strategy_class
from vts.suite.loops import LOOPS, new_event_loop

help = "watch PcMonitor live (psutil sampler) through a chosen strategy"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--strategy", default="pooled", help=", ".join(STRATEGIES))
    parser.add_argument("-l", "--loop", default="asyncio", choices=LOOPS)
    parser.add_argument("--interval", type=float, default=0.5, help="sampling interval (s)")
    parser.add_argument("--sampler", choices=("thread", "loop"), default="thread")
    parser.add_argument("--duration", type=float, default=None,
                        help="stop after this many seconds (default: until Ctrl-C)")


def _table(stats: PcStatistics, calls: int, waited: int, strategy: str) -> Table:
    table = Table("figure", "value", title=escape(f"PcMonitor via {strategy}"))
    temperature = stats.cpu_temperature_c
    shown = "no sensor" if temperature is None else f"{temperature:.1f} °C"
    table.add_row("CPU temperature", shown)
    table.add_row("CPU percent", f"{stats.cpu_percent:.1f} %")
    table.add_row("load average", " ".join(f"{value:.2f}" for value in stats.load_average))
    table.add_row("memory used", f"{stats.memory_percent:.1f} %")
    table.add_row("memory available", f"{stats.memory_available_bytes / 2**20:,.0f} MiB")
    table.add_row("get_statistics() calls", f"{calls:,} ({waited:,} waited for a sample)")
    return table


async def _watch(args: argparse.Namespace) -> None:
    monitor = PcMonitor(args.strategy, interval=args.interval, sampler=args.sampler)
    calls = waited = 0
    deadline = None if args.duration is None else time.monotonic() + args.duration
    try:
        stats = await monitor.get_statistics()
        with Live(_table(stats, calls, waited, args.strategy), refresh_per_second=4) as live:
            while deadline is None or time.monotonic() < deadline:
                before = monitor.samples
                stats = await monitor.get_statistics()
                calls += 1
                waited += monitor.samples != before
                live.update(_table(stats, calls, waited, args.strategy))
                await asyncio.sleep(0.05)
    finally:
        monitor.close()


def run(args: argparse.Namespace) -> int:
    strategy_class(args.strategy)  # a one-line error for an unknown name, before any output
    loop = new_event_loop(args.loop)
    try:
        loop.run_until_complete(_watch(args))
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a watch without --duration ends: no error, nothing to keep
    finally:
        loop.close()
    return 0
