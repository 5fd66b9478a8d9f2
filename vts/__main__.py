"""`python -m vts` runs the `vts` command."""

import sys

from vts.cli import main

sys.exit(main())
