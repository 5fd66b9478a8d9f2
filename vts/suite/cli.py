"""The `vts` command (also `python -m vts`): parse, dispatch, print user errors once.

Subcommands live in `vts.suite.commands`, one module each. A `UsageError` anywhere below,
or the library's `UnknownNameError` (an unknown strategy name), becomes one line on stderr
and exit 2. The command installs with the library: without the `suite` extra it says so
in one line (`vts.suite.requirements`) and exits 2, before importing any command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vts.errors import UnknownNameError
from vts.suite import requirements
from vts.suite.errors import UsageError


def build_parser() -> argparse.ArgumentParser:
    from vts.suite.commands import SUBCOMMANDS  # the commands import the suite's packages

    parser = argparse.ArgumentParser(
        prog="vts",
        description="What does an await cost? Measure six awaitable strategies (three also in C).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in SUBCOMMANDS.items():
        command = sub.add_parser(name, help=module.help, description=module.help)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    refused = requirements.refusal("the vts command")
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return UsageError.exit_code
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (UsageError, UnknownNameError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return UsageError.exit_code
    except KeyboardInterrupt:
        # Each command says what an interrupt keeps (vts bench: where its cells are).
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
