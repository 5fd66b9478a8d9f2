"""How many times a scenario's run suspends: `suspensions(scenario, variant, loop, n)`.

Tests of the stdlib and channel scenarios use it to hold what each operation does (one
suspension per item, or none); the workloads themselves carry nothing for it.
"""

from __future__ import annotations

import types
from collections.abc import Coroutine, Generator
from typing import Any

from vts.suite.loops import new_event_loop
from vts.suite.scenarios import scenario


@types.coroutine
def counting_yields(coro: Coroutine[Any, Any, Any]) -> Generator[Any, Any, int]:
    """Drive `coro` as `await` would and return how many times it suspended."""
    yields, sent, thrown = 0, None, None
    while True:
        try:
            yielded = coro.throw(thrown) if thrown is not None else coro.send(sent)
        except StopIteration:
            return yields
        yields += 1
        sent, thrown = None, None
        try:
            sent = yield yielded
        except BaseException as exc:  # handed on to the coroutine
            thrown = exc


def suspensions(name: str, variant: str, loop_kind: str, n: int) -> int:
    """How many times `n` operations of `variant` in scenario `name` suspended its task."""
    loop = new_event_loop(loop_kind)
    workload = scenario(name).open(variant, loop)
    try:
        return int(loop.run_until_complete(counting_yields(workload.run(n))))
    finally:
        workload.close()
        loop.close()
