"""Builds the exact allocation counter, a tiny C extension (vts/suite/measure/_alloccount.c)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("vts.suite.measure._alloccount", sources=["vts/suite/measure/_alloccount.c"]),
    ]
)
