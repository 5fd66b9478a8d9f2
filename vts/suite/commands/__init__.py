"""One module per `vts` subcommand, in workflow order.

Each module exposes ``help: str``, ``add_arguments(parser)`` and ``run(args) -> int``; the
return value is the exit code (0 ok, 1 the verdict failed, 2 unusable input). No command
imports another (tests/test_layout.py): what two share lives in the suite's core, as typed
functions (`measure.session.measure_slice` for bench and gate, `report.write.write_report`
for report and bench), never another command's `run` with a hand-built Namespace.
"""

from __future__ import annotations

from types import ModuleType

from vts.suite.commands import (
    baseline,
    bench,
    bisect,
    gate,
    history,
    list_,
    monitor,
    profile,
    report,
)

# Subcommand name -> module, in the order `vts --help` lists them.
SUBCOMMANDS: dict[str, ModuleType] = {
    "list": list_,
    "bench": bench,
    "profile": profile,
    "report": report,
    "gate": gate,
    "baseline": baseline,
    "history": history,
    "bisect": bisect,
    "monitor": monitor,
}
