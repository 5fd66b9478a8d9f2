"""A timing worker of fast mode: every cell of one group open in one process, one value at
a time, when the parent (`vts.suite.measure.interleaved`) asks.

    python -m vts.suite.measure.interleave_worker --cells CELLS.json --out-dir DIR

CELLS.json lists the group's cells: [{"key", "scenario", "variant", "loop", "loops"}, ...];
each cell's workload is opened on an event loop of its own. The parent writes one line
per value to stdin, `<index> warmup` or `<index> value`; the worker times `loops`
operations of that cell (as `vts.suite.measure.pyperf_cell` times a pyperf value) and
answers `ok`. A cell that fails answers `error <one line>` and takes no more values. At
the end of its input the worker writes each cell's values as one pyperf run,
`DIR/<key>.json` (a pyperf benchmark suite of one benchmark), and exits.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from vts.suite.loops import new_event_loop
from vts.suite.scenarios import run_seconds, scenario


class _Cell:
    """One cell's workload, open, and its values so far."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.definition = scenario(spec["scenario"])
        self.loops: int = spec["loops"]
        self.warmups: list[tuple[int, float]] = []
        self.values: list[float] = []
        self.started: list[float] = []  # time.monotonic() as each value started
        self.error: str | None = None
        self.loop = new_event_loop(spec["loop"])
        self.workload: Any = None
        try:
            self.workload = self.definition.open(spec["variant"], self.loop)
        except Exception as exc:  # that cell's failure: the group's other cells go on
            self.fail(exc)

    def fail(self, exc: Exception) -> None:
        self.error = f"{type(exc).__name__}: {exc}".replace("\n", " ")

    def time_value(self) -> float:
        """Seconds per operation over one run of `loops` operations."""
        self.started.append(time.monotonic())
        return run_seconds(self.workload, self.loop, self.loops) / self.loops

    def pyperf_run(self) -> Any:
        import pyperf

        spec = self.spec
        metadata = {
            "name": f"{spec['scenario']}/{spec['loop']}", "loops": self.loops,
            "unit": "second", "vts_scenario": spec["scenario"],
            "vts_variant": spec["variant"], "vts_loop": spec["loop"],
            "description": self.definition.operation,
            # When its first and last values started (time.monotonic(), one clock for every
            # process here): how far the values were spread.
            "vts_first_value_at": self.started[0], "vts_last_value_at": self.started[-1],
        }
        return pyperf.Run(self.values, warmups=self.warmups, metadata=metadata,
                          collect_metadata=True)

    def close(self) -> None:
        try:
            if self.workload is not None:
                self.workload.close()
        finally:
            self.loop.close()


def _answer(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def serve(cells: list[_Cell], out_dir: Path) -> None:
    """Answer the parent's requests until its input ends, then write each cell's run."""
    for line in sys.stdin:
        index_text, kind = line.split()
        cell = cells[int(index_text)]
        if cell.error is not None:
            _answer(f"error {cell.error}")
            continue
        try:
            value = cell.time_value()
        except Exception as exc:  # that cell's failure: the group's other cells go on
            cell.fail(exc)
            _answer(f"error {cell.error}")
            continue
        if kind == "warmup":
            cell.warmups.append((cell.loops, value))
        else:
            cell.values.append(value)
        _answer("ok")
    import pyperf

    for cell in cells:
        if cell.error is None and cell.values:
            suite = pyperf.BenchmarkSuite([pyperf.Benchmark([cell.pyperf_run()])])
            suite.dump(str(out_dir / f"{cell.spec['key']}.json"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", required=True, type=Path)
    parser.add_argument("--out-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    cells: list[_Cell] = []
    try:
        for spec in json.loads(args.cells.read_text()):
            cells.append(_Cell(spec))
        _answer("ready")
        serve(cells, args.out_dir)
    finally:
        for cell in cells:
            cell.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
