"""The package's C extensions, declared once: `setup.py` builds them for an install, and
`vts.suite.environments` builds them in place for each interpreter of a run.

- vts.suite.measure._alloccount: the exact allocation counter (_alloccount.c);
- vts.suite.measure._instrcount: the callgrind client requests of the instruction counter
  (_instrcount.c). It needs valgrind's headers (valgrind/callgrind.h, in Debian's valgrind
  package): it is optional, so a machine without them still builds, and the suite then
  says that instruction counts are unavailable;
- vts._speedups: the protocol's hot pieces in C (vts/_speedups.c), optional: where it does
  not build (no compiler, a free-threaded interpreter) the pure-Python versions serve and
  `vts bench` says so in one line.

Loaded by path (`runpy.run_path`), never imported as part of vts: a build has setuptools
but need not have vts importable.
"""

from __future__ import annotations

from setuptools import Extension


def ext_modules() -> list[Extension]:
    """The extensions, with sources relative to the directory holding the `vts` package."""
    return [
        Extension("vts.suite.measure._alloccount", sources=["vts/suite/measure/_alloccount.c"]),
        Extension("vts.suite.measure._instrcount", sources=["vts/suite/measure/_instrcount.c"],
                  optional=True),
        Extension("vts._speedups", sources=["vts/_speedups.c"], optional=True),
    ]
