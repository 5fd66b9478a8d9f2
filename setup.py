"""Builds the package's C extensions.

- vts.suite.measure._alloccount: the exact allocation counter (_alloccount.c);
- vts.suite.measure._instrcount: the callgrind client requests of the instruction counter
  (_instrcount.c). It needs valgrind's headers (valgrind/callgrind.h, in Debian's valgrind
  package): it is optional, so a machine without them still builds, and the suite then
  says that instruction counts are unavailable;
- vts._speedups: the protocol's hot pieces in C (vts/_speedups.c), optional: where it does
  not build (no compiler, a free-threaded interpreter) the pure-Python versions serve and
  `vts bench` says so in one line.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("vts.suite.measure._alloccount", sources=["vts/suite/measure/_alloccount.c"]),
        Extension("vts.suite.measure._instrcount", sources=["vts/suite/measure/_instrcount.c"],
                  optional=True),
        Extension("vts._speedups", sources=["vts/_speedups.c"], optional=True),
    ]
)
