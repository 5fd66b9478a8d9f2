"""`python -m vts` runs the `vts` command (the suite's entry point; the library itself
imports nothing from the suite)."""

import sys

from vts.suite.cli import main

sys.exit(main())
