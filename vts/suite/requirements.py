"""What the measuring suite needs beyond the library: the `suite` extra, checked at the door.

`pip install vts` installs the library (its one dependency is psutil) with the `vts`
command and the pytest plugin, because a console script and an entry point cannot belong
to an extra. Both need the suite: the command and the `allocations` fixture check here
first and, where a package is missing, say in one line what to install (`HINT`) instead of
failing on an import deep inside. The plugin itself loads without them, so a pytest run
that does not ask for the fixture is unaffected.

Trades: the check looks modules up (`importlib.util.find_spec`) without importing them,
so a package that is present but broken still fails at its import, with its own error.
"""

from __future__ import annotations

import importlib.util

HINT = "pip install 'vts[suite]'"
# The importable name of each package of the `suite` extra (pyproject.toml; a test holds
# the two together). pytest is not here: the fixture runs inside it, and the command
# never imports it.
MODULES = {"pyperf": "pyperf", "memray": "memray", "matplotlib": "matplotlib",
           "jinja2": "jinja2", "rich": "rich", "platformdirs": "platformdirs"}


def missing() -> list[str]:
    """The suite's packages that are not installed here, by distribution name."""
    return [name for name, module in MODULES.items()
            if importlib.util.find_spec(module) is None]


def refusal(what: str) -> str | None:
    """One line saying that `what` needs the suite and how to install it, or None."""
    absent = missing()
    if not absent:
        return None
    return f"{what} needs the measuring suite ({', '.join(absent)} not installed): {HINT}"


__all__ = ["HINT", "MODULES", "missing", "refusal"]
