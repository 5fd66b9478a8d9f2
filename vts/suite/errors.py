"""The one user-error type of the suite.

Raised deep, printed once at the edge (`vts.suite.cli`) as ``error: <message>`` with exit code 2.
Programming errors stay ordinary exceptions, so a bug still shows its traceback.
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: an unknown name, a missing or corrupt file, a bad option.

    The message is one line that says what was wrong and, where it helps, what to do instead.
    """

    exit_code = 2
