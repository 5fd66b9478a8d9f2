"""Builds the exact allocation counter, a tiny C extension (vts/measure/_alloccount.c)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("vts.measure._alloccount", sources=["vts/measure/_alloccount.c"]),
    ]
)
