"""The figures of docs/channels.md: exact allocations per item of a vts Channel on each
strategy, with asyncio.Queue and the `wait` floor beside it; and instructions per item of
what `single_reader` changes.

    python scripts/channel_figures.py                  # allocations: asyncio and uvloop
    python scripts/channel_figures.py --instructions   # instructions, under callgrind

One operation of each row:
- waiting receive: `call_soon(try_send, item); await receive()`: the receive suspends and
  a loop callback sends (asyncio.Queue: `put_nowait` / `get()`);
- ready receive: `try_send(item); await receive()`: the item is there;
- waiting send: on a full channel of capacity 1, `call_soon(try_receive); await
  send(item)` (asyncio.Queue: `get_nowait` / `put()`);
- floor: the `wait` scenario's floor, one C Future reset in place and completed by a
  `call_soon` of `set_result` (vts.suite.scenarios.floors.WaitFloor).

Counted by the suite's counter (vts.suite.measure.allocs.measure_async: the difference of a
20,000- and a 10,000-operation run, GC off, lowest of three rounds), and instructions by
callgrind with the suite's harness (vts.suite.measure.instructions.measure_batch), each
cell in its own process on the asyncio loop.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vts.channels import DEFAULT_STRATEGY, Channel
from vts.strategies import STRATEGIES
from vts.suite.loops import new_event_loop
from vts.suite.measure import instructions
from vts.suite.measure.allocs import measure_async
from vts.suite.scenarios.channel_batches import (
    Batch,
    ready_receive,
    wait_floor,
    waiting_receive,
    waiting_send,
)


def measure(loop_name: str, make: Callable[[], Batch]) -> float:
    """Allocations per op of the batch `make()` builds (inside the loop it runs on)."""
    batch: Batch | None = None

    async def run(n: int) -> None:
        nonlocal batch
        if batch is None:
            batch = make()
        await batch(n)

    return measure_async(run, loop_factory=lambda: new_event_loop(loop_name)).allocs_per_op


def row(name: str, loop_name: str, makes: list[Callable[[], Batch]]) -> str:
    return " | ".join([name] + [f"{measure(loop_name, make):g}" for make in makes])


def allocation_tables() -> None:
    version = ".".join(map(str, sys.version_info[:3]))
    for loop_name in ("asyncio", "uvloop"):
        print(f"\nCPython {version}, {loop_name}: allocations per item")
        print("variant | waiting receive | ready receive | waiting send")
        print("---|---|---|---")
        print(f"floor (wait) | {measure(loop_name, lambda: wait_floor):g} | - | -")
        print(row("asyncio.Queue", loop_name, [
            lambda: waiting_receive(asyncio.Queue()),
            lambda: ready_receive(asyncio.Queue()),
            lambda: waiting_send(asyncio.Queue(1)),
        ]))
        for strategy in STRATEGIES:
            print(row(strategy, loop_name, [
                lambda s=strategy: waiting_receive(Channel(strategy=s)),  # type: ignore[misc]
                lambda s=strategy: ready_receive(Channel(strategy=s)),  # type: ignore[misc]
                lambda s=strategy: waiting_send(Channel(1, strategy=s)),  # type: ignore[misc]
            ]))


# The single_reader comparison: (row name, the batch's body, the channel's options).
CELLS: dict[str, tuple[Callable[[Any], Batch], dict[str, Any]]] = {
    "ready receive, asyncio.Queue": (ready_receive, {}),
    "ready receive": (ready_receive, {"strategy": DEFAULT_STRATEGY}),
    "ready receive, single_reader": (ready_receive,
                                     {"strategy": DEFAULT_STRATEGY, "single_reader": True}),
    "waiting receive, asyncio.Queue": (waiting_receive, {}),
    "waiting receive": (waiting_receive, {"strategy": DEFAULT_STRATEGY}),
    "waiting receive, single_reader": (waiting_receive,
                                       {"strategy": DEFAULT_STRATEGY, "single_reader": True}),
}


def count_instructions(cell: str, out_dir: Path) -> float:
    """Instructions per item of one cell, in this process (which runs under callgrind)."""
    body, options = CELLS[cell]
    loop = asyncio.new_event_loop()
    batch: Batch | None = None

    async def run(n: int) -> None:
        nonlocal batch
        if batch is None:
            batch = body(Channel(**options) if options else asyncio.Queue())
        await batch(n)

    try:
        return instructions.measure_batch(lambda n: loop.run_until_complete(run(n)), out_dir,
                                          most=20_000).instructions_per_op
    finally:
        loop.close()


def instruction_table() -> int:
    """Each cell in its own process under callgrind (callgrind numbers its dumps per
    process), as `vts bench --instructions` runs them."""
    if shutil.which("valgrind") is None:
        print("error: valgrind is not installed", file=sys.stderr)
        return 2
    version = ".".join(map(str, sys.version_info[:3]))
    print(f"\nCPython {version}, asyncio, {DEFAULT_STRATEGY}: instructions per item")
    print("cell | instructions")
    print("---|---")
    with tempfile.TemporaryDirectory(prefix="vts-channel-") as out_dir:
        for cell in CELLS:
            command = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                       f"--callgrind-out-file={out_dir}/cg.%p", sys.executable, __file__,
                       "--count-instructions", cell, out_dir]
            if shutil.which("setarch"):
                command = ["setarch", "-R", *command]
            result = subprocess.run(command, capture_output=True, text=True, check=True,
                                    env={**os.environ, "PYTHONHASHSEED": "0"})
            print(f"{cell} | {float(result.stdout):,.0f}")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--count-instructions"]:
        print(count_instructions(argv[1], Path(argv[2])))
        return 0
    if argv == ["--instructions"]:
        return instruction_table()
    if argv:
        print("error: usage: channel_figures.py [--instructions]", file=sys.stderr)
        return 2
    allocation_tables()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
