"""Test-only entry points, each broken in one way (and one that is fine).

`make test` installs this distribution with `pip install --target
.venv/test-plugins/broken`, off the venv's path: only the registry tests see it.
"""

from __future__ import annotations

from typing import Any

from vts.strategies.base import Strategy
from vts.strategies.future_per_call import FuturePerCall


class NotAStrategy:
    name = "not_a_strategy"


class HalfDone(Strategy[Any]):
    """Implements `fresh` only."""

    name = "half_done"

    def fresh(self, value: Any) -> Any:
        return value


class Misnamed(FuturePerCall[Any]):
    name = "something_else"


class Pooled2(FuturePerCall[Any]):
    name = "pooled"


class StillListed(FuturePerCall[Any]):
    """A working strategy beside the broken ones: it stays usable."""

    name = "still_listed"


NOT_A_SCENARIO = 42
