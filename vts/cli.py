"""The `vts` command (also `python -m vts`): parse, dispatch, print user errors once.

Subcommands live in `vts.commands`, one module each; a missing module (work in progress)
is simply not offered. A `UsageError` anywhere below becomes one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vts.commands import SUBCOMMANDS, load
from vts.errors import UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vts", description="What does an await cost? Measure five awaitable strategies."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        try:
            module = load(name)
        except ModuleNotFoundError as exc:
            if exc.name != f"vts.commands.{SUBCOMMANDS[name]}":
                raise
            continue
        command = sub.add_parser(name, help=module.help, description=module.help)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return UsageError.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; results written so far are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
