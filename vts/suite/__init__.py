"""The measuring suite, built on the library (`vts`): what an await costs, measured.

- `scenarios`: the workloads every runner drives (floors, loop workloads, sockets);
- `measure`: the exact allocation counter (a C allocator hook), the per-cell runners
  (counter + latency distribution, pyperf, memray) and, in the CLI's process, the
  session that plans, schedules and measures a slice (`measure.session`);
- `results` (the results.json contract), `atomic` (the one atomic writer), `formatting`;
- `gate` (verdicts against the baseline), `baseline` (maintaining it);
- `report` (HTML, Markdown, terminal; it renders, never measures);
- `cli` and `commands` (the `vts` command; no command imports another), `selection`
  (the slice options), `environments` and `loops`.

Imports run downwards: commands -> report -> gate -> results; measure -> scenarios ->
the library. Nothing in the library imports from here (tests/test_layout.py).
"""
