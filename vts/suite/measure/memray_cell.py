"""memray for one cell, in its own process: a capture, an offline flamegraph, top sites.

    python -m vts.suite.measure.memray_cell --scenario wait --variant pooled --loop asyncio \
        --out-dir reports/runs/<id>/memray

memray attributes, it does not count: with `trace_python_allocators` it installs a
profile hook that makes the interpreter materialise frame objects, so its allocation
counts run higher than the exact counter's (4 per `loop.create_future()` where the exact
count is 1). Use it for *where* (flamegraph, top sites), peak memory and leaks.
The flamegraph is written with `--no-web` so its scripts are inlined and it opens
offline; without the flag it loads them from the network.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import memray

from vts.suite.loops import new_event_loop
from vts.suite.scenarios import scenario

MEMRAY_NOTE = (
    "memray's counts run higher than the exact counter: its Python-allocator tracing "
    "installs a profile hook that makes the interpreter materialise frame objects. "
    "Use it for attribution (where), peak memory and leaks; use allocs/op for how many."
)


def capture(scenario_name: str, variant: str, loop_kind: str, path: Path, ops: int) -> None:
    """Record `ops` operations of one cell (after a warm-up outside the capture)."""
    loop = new_event_loop(loop_kind)
    workload = scenario(scenario_name).open(variant, loop)
    try:
        loop.run_until_complete(workload.run(min(ops, 1_000)))
        path.unlink(missing_ok=True)
        with memray.Tracker(str(path), trace_python_allocators=True):
            loop.run_until_complete(workload.run(ops))
    finally:
        workload.close()
        loop.close()


def top_sites(stats: dict[str, Any], limit: int = 10) -> list[dict[str, Any]]:
    """The allocation sites with the most allocations, from `memray stats --json`
    (whose locations read "function:file:line")."""
    by_size = {entry["location"]: entry["size"]
               for entry in stats.get("top_allocations_by_size", [])}
    out = []
    for entry in stats.get("top_allocations_by_count", [])[:limit]:
        function, _, where = entry["location"].partition(":")
        out.append({
            "location": f"{function} at {where}",
            "allocations": entry["count"],
            "bytes": by_size.get(entry["location"]),
        })
    return out


def profile_cell(
    scenario_name: str, variant: str, loop_kind: str, out_dir: Path, *, ops: int = 2_000
) -> dict[str, Any]:
    """Capture, render the flamegraph and summarise; paths are relative to out_dir's parent."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{variant}__{scenario_name}__{loop_kind}"
    capture_path = out_dir / f"{stem}.bin"
    html_path = out_dir / f"{stem}.html"
    stats_path = out_dir / f"{stem}.stats.json"
    capture(scenario_name, variant, loop_kind, capture_path, ops)
    memray_cli = [sys.executable, "-m", "memray"]
    subprocess.run([*memray_cli, "flamegraph", "--no-web", "-f", "-o", str(html_path),
                    str(capture_path)], check=True, capture_output=True)
    subprocess.run([*memray_cli, "stats", "--json", "-n", "10", "-f", "-o", str(stats_path),
                    str(capture_path)], check=True, capture_output=True)
    stats = json.loads(stats_path.read_text())
    capture_path.unlink()  # large, and everything it says is in the two files
    return {
        "flamegraph": f"{out_dir.name}/{html_path.name}",
        "stats_json": f"{out_dir.name}/{stats_path.name}",
        "ops": ops,
        "peak_bytes": stats.get("metadata", {}).get("peak_memory"),
        "total_allocations": stats.get("total_num_allocations"),
        "allocations_per_op": (stats.get("total_num_allocations") or 0) / ops,
        "bytes_per_op": (stats.get("total_bytes_allocated") or 0) / ops,
        "top_sites": top_sites(stats),
        "note": MEMRAY_NOTE,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vts.suite.measure.memray_cell")
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--variant", required=True)
    parser.add_argument("--loop", required=True)
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--ops", type=int, default=2_000)
    args = parser.parse_args(argv)
    summary = profile_cell(args.scenario, args.variant, args.loop, args.out_dir, ops=args.ops)
    json.dump(summary, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
