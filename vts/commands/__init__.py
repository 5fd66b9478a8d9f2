"""One module per `vts` subcommand, in workflow order.

Each module exposes ``help: str``, ``add_arguments(parser)`` and ``run(args) -> int``; the
return value is the exit code (0 ok, 1 the verdict failed, 2 unusable input).
"""

from __future__ import annotations

import importlib
from types import ModuleType

# Subcommand name -> module name under vts.commands, in the order `vts --help` lists them.
SUBCOMMANDS: dict[str, str] = {
    "list": "list_",
    "bench": "bench",
    "profile": "profile",
    "report": "report",
    "gate": "gate",
    "baseline": "baseline",
    "monitor": "monitor",
}


def load(name: str) -> ModuleType:
    """Import the module of subcommand `name`."""
    return importlib.import_module(f"vts.commands.{SUBCOMMANDS[name]}")
