"""How a cell is measured, each in the process it needs.

- `allocs` (over the C hook `_alloccount`) and `calibration`: the exact allocation
  counter, its two-run-length difference and its pinned calibration cases;
- `latency`: the per-operation distribution (the suite's one percentile definition);
- `cell`, `pyperf_cell`, `memray_cell`: one cell in a subprocess of the target
  interpreter (counter + latency, pyperf's Runner, a memray capture);
- `runner`: plans a slice of the matrix and runs those subprocesses, one cell at a time;
- `operation` and `sites`: one operation a user hands over (the pytest plugin's
  `allocations` fixture), measured with `allocs` in the test's own process, and where it
  allocates (memray or the counter under a line tracer) when a limit fails.
"""
