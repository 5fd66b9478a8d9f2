"""Builds the suite's two C helpers: the exact allocation counter (_alloccount.c) and the
callgrind client requests of the instruction counter (_instrcount.c).

_instrcount needs valgrind's headers (valgrind/callgrind.h, in Debian's valgrind package):
it is optional, so a machine without them still builds, and the suite then says that
instruction counts are unavailable.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("vts.suite.measure._alloccount", sources=["vts/suite/measure/_alloccount.c"]),
        Extension("vts.suite.measure._instrcount", sources=["vts/suite/measure/_instrcount.c"],
                  optional=True),
    ]
)
