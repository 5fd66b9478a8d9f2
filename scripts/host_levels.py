"""How steady this machine's speed is: a fixed probe timed back to back on every CPU at
once, and how far and how long the host slowed each CPU.

    python scripts/host_levels.py                 # 30 s on every CPU
    python scripts/host_levels.py --seconds 60 --json levels.json
    python scripts/host_levels.py --cell pooled/wait/asyncio   # and a cell's values on CPU 0

Why: `make bench` marks a time unstable where its median is known to worse than +-5%
(`vts.suite.timing`). On a shared VM most marks come from the host, not the cell: this
shows whether a run's marks can be blamed on the machine before anyone reads them as a
property of a strategy. A quiet machine prints a slow share near 0%.

What it prints, per CPU: the share of probes at each speed (a probe's time over the fastest
probe of any CPU: they are the same hardware), the slow share (probes at SLOW or more), the
slow stretches (consecutive seconds whose median probe was SLOW or more: how many, the
longest), and the median of each second. Then the share of seconds every CPU was slow at
once. The probe is a pure-Python loop over cached small ints, sized to about PROBE_MS before
the start (less if the host was slow then): it allocates nothing, so the allocator's state
does not set its time. With `--cell`, the first CPU times that cell's workload in values of
about VALUE_MS between two probes instead, and the script prints how its values followed the
probe (`follow`).

What it trades: one CPU-bound loop stands for every workload. It slows with the host (on
this VM its level and a `fresh` cell's values moved together: correlation 0.78 over 30 s),
but not by the same factor for every workload, so it tells when, not how much (`--cell`
shows how one workload follows it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

SLOW = 1.4  # full speed read within 1.1-1.25x of the fastest here; slow stretches 1.5-2x
PROBE_MS = 5.0
VALUE_MS = 20.0
_SMALL_INTS = tuple(range(256)) * 4
_BANDS = (1.0, 1.1, 1.2, 1.4, 1.7, 2.0, float("inf"))


def _spin(rounds: int) -> int:
    total = 0
    for _round in range(rounds):
        for small in _SMALL_INTS:
            total ^= small
    return total


def probe_rounds(milliseconds: float) -> int:
    """Rounds of `_spin` lasting about `milliseconds` here, now (the fastest of 20 tries)."""
    best = min(_timed(10) for _try in range(20))
    return max(1, round(10 * milliseconds / 1000 / best))


def _timed(rounds: int) -> float:
    start = time.perf_counter()
    _spin(rounds)
    return time.perf_counter() - start


def _probe_cpu(cpu: int, rounds: int, seconds: float) -> list[tuple[float, float]]:
    """(start, seconds) of each probe on `cpu`, back to back for `seconds`."""
    os.sched_setaffinity(0, {cpu})
    probes = []
    clock = time.perf_counter
    end = clock() + seconds
    while (start := clock()) < end:
        _spin(rounds)
        probes.append((start, clock() - start))
    return probes


def _probe_cell(cpu: int, rounds: int, seconds: float,
                cell: str) -> list[tuple[float, float, float, float]]:
    """(start, probe before, seconds per operation, probe after) of each value of `cell`
    (STRATEGY/SCENARIO/LOOP) on `cpu`, back to back for `seconds`."""
    from vts.suite.loops import new_event_loop
    from vts.suite.scenarios import run_seconds, scenario

    os.sched_setaffinity(0, {cpu})
    strategy, name, kind = cell.split("/")
    loop = new_event_loop(kind)
    workload = scenario(name).open(strategy, loop)
    clock = time.perf_counter

    def per_op(ops: int) -> float:
        return run_seconds(workload, loop, ops) / ops

    try:
        ops = 1
        while per_op(ops) * ops < VALUE_MS / 1000:
            ops *= 2
        values = []
        end = clock() + seconds
        while (start := clock()) < end:
            _spin(rounds)
            before = clock() - start
            value = per_op(ops)
            after = clock()
            _spin(rounds)
            values.append((start, before, value, clock() - after))
    finally:
        workload.close()
        loop.close()
    return values


def follow(values: Sequence[tuple[float, float, float, float]]) -> dict[str, Any]:
    """How a cell's values followed the probe around them: the correlation of the slower
    probe with the value, and the values' median at each probe level (both relative to
    their fastest)."""
    probe_fastest = min(min(before, after) for _start, before, _value, after in values)
    value_fastest = min(value for _start, _before, value, _after in values)
    probes = [max(before, after) / probe_fastest for _start, before, _value, after in values]
    ratios = [value / value_fastest for _start, _before, value, _after in values]
    levels = {"under 1.2x": (0.0, 1.2), f"1.2-{SLOW}x": (1.2, SLOW), f"{SLOW}x up": (SLOW, 1e9)}
    by_level = {}
    for level, (low, high) in levels.items():
        chosen = [r for p, r in zip(probes, ratios, strict=True) if low <= p < high]
        by_level[level] = {"values": len(chosen),
                           "median": round(statistics.median(chosen), 3) if chosen else None}
    return {"values": len(values), "by_probe_level": by_level,
            "correlation": round(statistics.correlation(probes, ratios), 2)
            if len(values) > 2 and len(set(probes)) > 1 and len(set(ratios)) > 1 else None}


def _stretches(medians: Sequence[float]) -> list[int]:
    """Lengths, in seconds, of the runs of consecutive slow seconds."""
    runs, current = [], 0
    for median in medians:
        if median >= SLOW:
            current += 1
        elif current:
            runs.append(current)
            current = 0
    if current:
        runs.append(current)
    return runs


def summarise(per_cpu: dict[int, list[tuple[float, float]]]) -> dict[str, Any]:
    """Each CPU's levels against the fastest probe of all; see the module docstring."""
    fastest = min(took for probes in per_cpu.values() for _start, took in probes)
    origin = min(probes[0][0] for probes in per_cpu.values() if probes)
    cpus: dict[str, dict[str, Any]] = {}
    slow_seconds: dict[int, set[int]] = {}
    for cpu, probes in sorted(per_cpu.items()):
        ratios = [took / fastest for _start, took in probes]
        seconds: dict[int, list[float]] = {}
        for (start, _took), ratio in zip(probes, ratios, strict=True):
            seconds.setdefault(int(start - origin), []).append(ratio)
        medians = [statistics.median(seconds[s]) for s in sorted(seconds)]
        slow_seconds[cpu] = {s for s in seconds if statistics.median(seconds[s]) >= SLOW}
        stretches = _stretches(medians)
        cpus[str(cpu)] = {
            "probes": len(ratios),
            "bands": {f"{low:g}-{high:g}x": sum(low <= r < high for r in ratios) / len(ratios)
                      for low, high in itertools.pairwise(_BANDS)},
            "slow_share": sum(r >= SLOW for r in ratios) / len(ratios),
            "slow_stretches": len(stretches),
            "longest_stretch_s": max(stretches, default=0),
            "second_medians": [round(m, 2) for m in medians],
        }
    every = set.intersection(*slow_seconds.values()) if slow_seconds else set()
    total = max((len(c["second_medians"]) for c in cpus.values()), default=0)
    return {"fastest_ms": fastest * 1000, "slow": SLOW, "cpus": cpus,
            "all_slow_share": len(every) / total if total else 0.0}


def render(summary: dict[str, Any]) -> str:
    lines = [f"fastest probe {summary['fastest_ms']:.2f} ms; slow means {SLOW}x that or more"]
    for cpu, figures in summary["cpus"].items():
        bands = "  ".join(f"{band} {share:.0%}" for band, share in figures["bands"].items())
        lines += [f"CPU {cpu}: {figures['probes']} probes, slow {figures['slow_share']:.0%}, "
                  f"{figures['slow_stretches']} slow stretches (longest "
                  f"{figures['longest_stretch_s']} s)",
                  f"  {bands}",
                  "  per second: " + " ".join(f"{m:.2f}" for m in figures["second_medians"])]
    lines.append(f"every CPU slow at once: {summary['all_slow_share']:.0%} of the seconds")
    if cell := summary.get("cell"):
        levels = ", ".join(f"{level}: {f['values']} values, median {f['median']}"
                           for level, f in cell["by_probe_level"].items() if f["values"])
        lines.append(f"{cell['name']} on CPU {cell['cpu']}: {cell['values']} values; against "
                     f"the probe around each, correlation {cell['correlation']}; the values "
                     f"(over their fastest) by probe level: {levels}")
    return "\n".join(lines)


def _unknown(cell: str) -> str | None:
    """What is wrong with a STRATEGY/SCENARIO/LOOP name, in one line; None if nothing."""
    from vts.suite.errors import UsageError
    from vts.suite.loops import new_event_loop
    from vts.suite.scenarios import scenario

    if cell.count("/") != 2:
        return f"--cell takes STRATEGY/SCENARIO/LOOP, not {cell!r}"
    strategy, name, kind = cell.split("/")
    try:
        variants = scenario(name).variants
        new_event_loop(kind).close()
    except (LookupError, UsageError) as exc:
        return str(exc)
    if strategy not in variants:
        return f"unknown strategy {strategy!r} in {name}; choose from: {', '.join(variants)}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--json", metavar="FILE", help="also write the summary here")
    parser.add_argument("--cell", metavar="STRATEGY/SCENARIO/LOOP",
                        help="time this cell on the first CPU, between two probes a value")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        print("error: --seconds must be above 0", file=sys.stderr)
        return 2
    if args.cell is not None and (problem := _unknown(args.cell)):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    cpus = sorted(os.sched_getaffinity(0))
    rounds = probe_rounds(PROBE_MS)
    with multiprocessing.get_context("fork").Pool(len(cpus)) as pool:
        cell = (pool.apply_async(_probe_cell, (cpus[0], rounds, args.seconds, args.cell))
                if args.cell else None)
        probed = pool.starmap(_probe_cpu, [(cpu, rounds, args.seconds)
                                           for cpu in (cpus[1:] if cell else cpus)])
        values = cell.get() if cell else None
    per_cpu = dict(zip(cpus[1:] if values else cpus, probed, strict=True))
    if values:
        per_cpu[cpus[0]] = [(start, before) for start, before, _value, _after in values]
    summary = summarise(per_cpu)
    if values:
        summary["cell"] = {"name": args.cell, "cpu": cpus[0], **follow(values)}
    print(render(summary))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(summary, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
