"""What identifies an interpreter build: the key a baseline's cells are recorded under.

Allocation counts are exact for one build, and a build is what decides them:

- the implementation and its full version (`cpython`, `3.12.1`): a patch release can
  change what the interpreter allocates (a freelist, a cache, a resized table);
- the compiler (`gcc-12.2.0`, from `platform.python_compiler()`): it decides inlining and
  struct layout, and instruction counts follow it;
- the configure flags that change allocation paths: a debug build (`Py_DEBUG`: extra
  fields, refcount bookkeeping), a free-threaded one (`Py_GIL_DISABLED`: mimalloc, deferred
  reference counts) and one without pymalloc (`WITH_PYMALLOC` off).

The key is those, joined: `cpython-3.12.1-gcc-12.2.0`, with `+debug`, `+freethreaded` and
`+nopymalloc` appended where they hold. Left out on purpose: `sys.version`'s build date and
time and the distributor's label (pyenv, setup-python, Debian rebuild the same source with
the same compiler: the same counts under a different timestamp), the path and the machine.
Trades: two builds of one version and compiler with different optimisation flags (PGO,
LTO) get one key; a baseline recorded on one and gated on the other would show it as
instruction changes, never as allocation changes, which the flags do not move.

`python -m vts.suite.builds` prints this interpreter's description as JSON (the suite asks
each interpreter of a run once).
"""

from __future__ import annotations

import json
import platform
import re
import sys
import sysconfig
from collections.abc import Mapping
from typing import Any

# The flags of the key, in the order they are appended, and what sets each.
FLAGS = ("debug", "freethreaded", "nopymalloc")


def describe() -> dict[str, Any]:
    """This interpreter's build: implementation, version, compiler, flags, and its key."""
    description: dict[str, Any] = {
        "implementation": platform.python_implementation().lower(),
        "version": platform.python_version(),
        "compiler": platform.python_compiler(),
        "debug": hasattr(sys, "gettotalrefcount"),
        "freethreaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        # Windows has no config var for it; its builds have pymalloc, as the default does.
        "nopymalloc": sysconfig.get_config_var("WITH_PYMALLOC") == 0,
    }
    description["key"] = key(description)
    return description


def key(description: Mapping[str, Any]) -> str:
    """The key of a build description (`describe`'s fields)."""
    compiler = "-".join(str(description["compiler"]).lower().split()[:2]) or "unknown"
    compiler = re.sub(r"[^a-z0-9.+-]", "", compiler)
    flags = "".join(f"+{flag}" for flag in FLAGS if description.get(flag))
    implementation = str(description["implementation"]).lower()
    return f"{implementation}-{description['version']}-{compiler}{flags}"


def from_environment(environment: Mapping[str, Any]) -> dict[str, Any] | None:
    """The build of an environment recorded before builds were (results schema 1-3), from
    its implementation, full version and `sys.version` (whose last bracket names the
    compiler); the flags are taken as the default build's (a debug or free-threaded build
    was never measured by those versions of vts). None where the environment lacks them."""
    implementation = environment.get("implementation")
    version = environment.get("python_full")
    found = re.findall(r"\[([^\]]+)\]", str(environment.get("build") or ""))
    if not (isinstance(implementation, str) and isinstance(version, str) and found):
        return None
    description: dict[str, Any] = {
        "implementation": implementation.lower(), "version": version,
        "compiler": found[-1], "debug": False, "freethreaded": False, "nopymalloc": False,
    }
    description["key"] = key(description)
    return description


def name(description: Mapping[str, Any]) -> str:
    """A build as a message says it: 'Python 3.12 build cpython-3.12.1-gcc-12.2.0'."""
    major_minor = ".".join(str(description.get("version", "?")).split(".")[:2])
    return f"Python {major_minor} build {description.get('key', '?')}"


if __name__ == "__main__":
    json.dump(describe(), sys.stdout)
    sys.stdout.write("\n")
