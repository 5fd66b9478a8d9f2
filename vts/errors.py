"""The library's one lookup error: a name that no registry knows.

The library raises it; the suite's command line prints it as one ``error:`` line with exit
code 2, as it does its own `UsageError`. A `LookupError`, so ``except KeyError`` code that
expected a dict lookup does not silently miss it, and ``except LookupError`` catches it.
"""

from __future__ import annotations


class UnknownNameError(LookupError):
    """A strategy (or other registered thing) asked for by a name that is not registered.

    The message is one line naming what was asked for and the valid names.
    """

    def __str__(self) -> str:
        # LookupError's KeyError-style repr quoting does not apply: the message is the text.
        return str(self.args[0]) if self.args else ""
