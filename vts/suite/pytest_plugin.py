"""The pytest plugin (entry point `pytest11: vts`): exact allocation limits in tests.

    def test_parse_allocates_once(allocations):
        assert allocations(lambda: parse(b"ok")).allocs_per_op == 1

    async def fetch(): await cache.get()
    def test_fetch(allocations):
        assert allocations(fetch, loop="uvloop").allocs_per_op <= 2

`allocations(op)` measures with the suite's method (`vts.suite.measure.operation`): two
run lengths, GC paused, warm-up, after the counter's calibration check (once per
session). Each figure it returns is a float that remembers its measurement, so a failed
comparison shows the figure and the top allocation sites (`vts.suite.measure.sites`,
computed only then, by running the operation again under memray or the line tracer).
An active tracer, profiler or monitoring tool, or a counter that fails its calibration,
skips the test with the reason: the counts would be wrong, not worse.

With pytest-benchmark: in a test that also uses `benchmark`, the figures go to
`benchmark.extra_info` (so into pytest-benchmark's JSON), and the terminal summary lists
them under pytest-benchmark's table.

Inside a running event loop (a pytest-asyncio or anyio test), a loop cannot run the
operation: the measurement (and the calibration check, and a failed comparison's sites)
runs in a new thread with its own loop, while the test's thread waits in `join()`, which
allocates nothing. The figures are the same as outside a loop (a test holds it). The
running loop itself cannot be the one measured on: passing it is a one-line error.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from vts.suite import requirements
from vts.suite.measure import calibration, operation
from vts.suite.measure.allocs import AllocationFigures
from vts.suite.measure.sites import SOURCES, Site, top_sites
from vts.suite.records import Allocs

UNITS = {"allocs_per_op": "allocations per op", "bytes_per_op": "bytes requested per op",
         "gc_per_1k_ops": "GC runs per 1,000 ops"}
SITE_OPS = 2_000  # operations re-run to find the sites of a failed comparison
T = TypeVar("T")


def outside_a_running_loop(work: Callable[[], T]) -> T:
    """`work()`: here, or where this thread runs an event loop (an async test), in a new
    thread that has none, this one waiting for it (a loop cannot run inside another).

    The test's task leaves asyncio's table of current tasks meanwhile (it is not running:
    its thread waits): every task step of the measured loop enters and leaves that one
    dict, and a second entry in it changes how often it resizes (measured, 3.11: an
    `asyncio.sleep(0)` counted 14.11 allocations per op beside the test's task, 14.2 as
    in a plain test)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return work()
    task = asyncio.current_task(loop)
    if task is not None:
        asyncio.tasks._leave_task(loop, task)
    try:
        return _in_a_thread(work)
    finally:
        if task is not None:
            asyncio.tasks._enter_task(loop, task)


def _in_a_thread(work: Callable[[], T]) -> T:
    outcome: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:  # pytest's skip and fail are BaseExceptions
            outcome.append((False, exc))

    thread = threading.Thread(target=target, name="vts-allocations")
    thread.start()
    thread.join()
    done, value = outcome[0]
    if not done:
        raise value
    return value  # type: ignore[no-any-return]


class Figure(float):
    """One per-op figure; a float that remembers its measurement, for the assertion
    message of a failed comparison."""

    __slots__ = ("measurement", "name")
    measurement: Allocations
    name: str

    def __new__(cls, value: float, name: str, measurement: Allocations) -> Figure:
        self = super().__new__(cls, value)
        self.name = name
        self.measurement = measurement
        return self


class Allocations:
    """What `allocations(op)` returns: per-op figures, and the top sites on demand."""

    def __init__(self, figures: AllocationFigures, measured: operation.Operation,
                 sites_source: str | None) -> None:
        self.allocs_per_op = Figure(figures.allocs_per_op, "allocs_per_op", self)
        self.bytes_per_op = Figure(figures.bytes_per_op, "bytes_per_op", self)
        self.gc_per_1k_ops = Figure(figures.gc_per_1k_ops, "gc_per_1k_ops", self)
        self.ops = figures.ops
        self.loop = measured.loop
        self._operation = measured
        self._sites_source = sites_source
        self._sites: tuple[str, list[Site]] | None = None

    def sites(self, limit: int = 5) -> tuple[str, list[Site]]:
        """(source, top sites): runs the operation again under memray or the tracer."""
        if self._sites is None or len(self._sites[1]) < limit:
            self._sites = outside_a_running_loop(lambda: top_sites(
                self._operation.run, min(self.ops[0], SITE_OPS), limit=limit,
                source=self._sites_source))
        return self._sites[0], self._sites[1][:limit]

    def explain(self, limit: int = 5) -> list[str]:
        """The figures, then the top allocation sites, one line each."""
        where = f"on {self.loop}" if self.loop else "no event loop"
        lines = [f"{float(self.allocs_per_op):g} allocations, {float(self.bytes_per_op):g} "
                 f"bytes, {float(self.gc_per_1k_ops):g} GC runs per 1k, per op ({where}; "
                 f"runs of {self.ops[0]} and {self.ops[1]})"]
        if self.allocs_per_op <= 0:
            return [*lines, "no allocation sites to list: the operation allocates nothing "
                    "per op (the long run allocated no more than the short one)"]
        try:
            source, top = self.sites(limit)
        except Exception as exc:  # the explanation must never hide the assertion itself
            return [*lines, f"top allocation sites unavailable: {type(exc).__name__}: {exc}"]
        if not top:
            return [*lines, f"no allocation sites to list: {source} found none in the "
                    "operation's own frames"]
        lines.append(f"top allocation sites ({source}; it counts high, frames included):")
        lines.extend(str(site) for site in top)
        return lines

    def to_json(self) -> Allocs:
        """The figures as a cell's `allocs` section (and the loop they were measured on)."""
        return {"allocs_per_op": float(self.allocs_per_op),
                "bytes_per_op": float(self.bytes_per_op),
                "gc_per_1k_ops": float(self.gc_per_1k_ops), "ops": list(self.ops),
                "loop": self.loop}

    def __repr__(self) -> str:
        return (f"Allocations(allocs_per_op={float(self.allocs_per_op)!r}, "
                f"bytes_per_op={float(self.bytes_per_op)!r}, "
                f"gc_per_1k_ops={float(self.gc_per_1k_ops)!r}, ops={self.ops}, "
                f"loop={self.loop!r})")


_CALIBRATION = pytest.StashKey[dict[str, Any]]()
_BENCHMARKED = pytest.StashKey[list[tuple[str, Allocations]]]()


def _counter_trusted(config: pytest.Config) -> None:
    """Skip where exact counts would be wrong; warn where they cannot be checked."""
    reason = operation.active_tracer()
    if reason:
        pytest.skip(f"vts allocations: {reason}; exact counts would be wrong under it")
    if _CALIBRATION not in config.stash:
        config.stash[_CALIBRATION] = outside_a_running_loop(calibration.check)
    checked = config.stash[_CALIBRATION]
    if checked["mismatches"]:
        pytest.skip("vts allocations: the counter does not match its calibration on this "
                    f"interpreter ({', '.join(checked['mismatches'])}); counts are not trusted")
    if not checked["calibrated"]:
        warnings.warn(f"vts allocations: {checked['reason']} for this interpreter; the "
                      "counts are not checked against known ones", stacklevel=4)


class AllocationsFixture:
    """The `allocations` fixture: call it with an operation."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self._opened: list[operation.Operation] = []

    def __call__(self, op: object, *, loop: str | asyncio.AbstractEventLoop = "asyncio",
                 ops: tuple[int, int] = operation.DEFAULT_OPS,
                 warmup: int = operation.DEFAULT_WARMUP,
                 sites: str | None = None) -> Allocations:
        """Measure `op` (a function, an async function, or an awaitable awaited again and
        again); `loop`: "asyncio", "uvloop" or a loop to use; `sites`: "memray" or
        "counter" for a failed comparison (default: memray where it imports)."""
        _not_the_running_loop(loop, "allocations(op, loop=...)")
        return self._measure(lambda: operation.prepare(op, loop), ops, warmup, sites)

    def batch(self, run: operation.Batch, *, loop: str | asyncio.AbstractEventLoop,
              ops: tuple[int, int] = operation.DEFAULT_OPS,
              warmup: int = operation.DEFAULT_WARMUP, sites: str | None = None) -> Allocations:
        """Measure `await run(n)` per operation, where `run(n)` performs n operations."""
        _not_the_running_loop(loop, "allocations.batch(run, loop=...)")
        return self._measure(lambda: operation.prepare_batch(run, loop), ops, warmup, sites)

    def _measure(self, prepare: Callable[[], operation.Operation], ops: tuple[int, int],
                 warmup: int, sites: str | None) -> Allocations:
        if sites is not None and sites not in SOURCES:
            raise ValueError(f"allocations(op, sites={sites!r}): choose from: "
                             f"{', '.join(SOURCES)} (default: memray where it imports)")
        _counter_trusted(self._request.config)
        try:
            prepared = prepare()
        except operation.LoopUnavailable as exc:
            pytest.skip(f"vts allocations: {exc}")
        self._opened.append(prepared)
        figures = outside_a_running_loop(
            lambda: operation.measure_operation(prepared, ops, warmup))
        result = Allocations(figures, prepared, sites)
        self._benchmarked(result)
        return result

    def _benchmarked(self, result: Allocations) -> None:
        """Into pytest-benchmark's extra_info, where the test uses its fixture too."""
        if "benchmark" not in self._request.fixturenames:
            return
        benchmark = self._request.getfixturevalue("benchmark")
        extra_info = getattr(benchmark, "extra_info", None)
        if isinstance(extra_info, dict):
            extra_info.update({name: value for name, value in result.to_json().items()
                               if name in UNITS})
            extra_info["alloc_ops"] = list(result.ops)
            self._request.config.stash.setdefault(_BENCHMARKED, []).append(
                (self._request.node.name, result))

    def close(self) -> None:
        for opened in self._opened:
            outside_a_running_loop(opened.close)


def _not_the_running_loop(loop: object, call: str) -> None:
    """The test's own running loop cannot run the operation: say what to pass instead."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        return
    if loop is running:
        raise ValueError(f"{call}: the test's running loop cannot run the operation while "
                         "the test waits; pass loop=\"asyncio\" or \"uvloop\" (a new loop, "
                         "in a thread)")


@pytest.fixture
def allocations(request: pytest.FixtureRequest) -> Iterator[AllocationsFixture]:
    """`allocations(op)`: exact allocations, bytes and GC runs per call or await of `op`."""
    refused = requirements.refusal("the allocations fixture")
    if refused:
        pytest.fail(refused, pytrace=False)
    fixture = AllocationsFixture(request)
    try:
        yield fixture
    finally:
        fixture.close()


@pytest.hookimpl(tryfirst=True)
def pytest_assertrepr_compare(config: pytest.Config, op: str, left: object,
                              right: object) -> list[str] | None:
    """`assert figure <= limit` failed: the figure and where the operation allocates."""
    if isinstance(left, Figure):
        figure, other, said = left, right, f"{left.name} {op} {right!r}"
    elif isinstance(right, Figure):
        figure, other, said = right, left, f"{left!r} {op} {right.name}"
    else:
        return None
    del other
    lines = figure.measurement.explain()
    return [f"{said}, but {figure.name} is {float(figure):g}", *lines]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    """Under pytest-benchmark's table: the allocation figures of the benchmarked tests."""
    recorded = config.stash.get(_BENCHMARKED, [])
    if not recorded:
        return
    terminalreporter.write_sep("-", "vts allocations per operation (exact)")
    width = max(len(nodeid) for nodeid, _ in recorded)
    terminalreporter.write_line(
        f"{'test':<{width}}  {'allocs/op':>10}  {'bytes/op':>10}  {'GC/1k ops':>9}  loop")
    for nodeid, result in recorded:
        terminalreporter.write_line(
            f"{nodeid:<{width}}  {float(result.allocs_per_op):>10.2f}  "
            f"{float(result.bytes_per_op):>10.1f}  {float(result.gc_per_1k_ops):>9.2f}  "
            f"{result.loop or '-'}")
