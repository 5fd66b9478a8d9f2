"""How a cell is measured, each in the process it needs.

- `allocs` (over the C hook `_alloccount`) and `calibration`: the exact allocation
  counter, its two-run-length difference and its pinned calibration cases;
- `latency`: the per-operation distribution (the suite's one percentile definition);
- `cell`, `pyperf_cell`, `memray_cell`: one cell in a subprocess of the target
  interpreter (counter + latency, pyperf's Runner, a memray capture);
- in the CLI's process, one cell's path: `session` (the one measuring function of
  `vts bench` and `vts gate --measure`), `planning` (each interpreter resolved once into a
  ready environment; the cells), `scheduling` (cells `jobs` at a time into the run),
  `measurement` (one cell's subprocesses, pyperf's file post-processed), `processes`
  (every subprocess started and killed), `valgrind` (the callgrind servers);
- `operation` and `sites`: one operation a user hands over (the pytest plugin's
  `allocations` fixture), measured with `allocs` in the test's own process, and where it
  allocates (memray or the counter under a line tracer) when a limit fails.
"""
