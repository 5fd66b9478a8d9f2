"""Builds the package's C extensions (declared in vts/suite/extensions.py, where the suite
reads them too when it builds them for another interpreter)."""

import runpy

from setuptools import setup

setup(ext_modules=runpy.run_path("vts/suite/extensions.py")["ext_modules"]())
