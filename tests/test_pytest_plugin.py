"""vts.suite.pytest_plugin: the `allocations` fixture, through the real entry point.

The figures are the suite's own: an operation measured by the fixture costs what the
suite's counter says for the same loop body (plus exactly the one coroutine an async
function makes per call). Failure messages and skips are checked in a real pytest
subprocess (pytester), as a user would see them.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Iterator
from importlib import metadata
from itertools import repeat
from typing import Any

import pytest

from vts.strategies import Freshness, strategy_class
from vts.suite.gate import FIXED_COST_JITTER
from vts.suite.measure.calibration import EXPECTED_CALIBRATION
from vts.suite.measure.cell import measure_cell
from vts.suite.pytest_plugin import Allocations, AllocationsFixture
from vts.suite.scenarios import VALUE, scenario

THIS = sys.version_info[:2]
RESOLUTION = FIXED_COST_JITTER / 10_000  # of a figure from runs of 10,000 and 20,000 ops


async def returns_at_once() -> None:
    return None


def test_the_plugin_is_registered_by_its_entry_point(request: pytest.FixtureRequest) -> None:
    (entry,) = [e for e in metadata.entry_points(group="pytest11") if e.name == "vts"]
    assert entry.value == "vts.suite.pytest_plugin"
    assert request.config.pluginmanager.get_plugin("vts") is not None


# --- figures ---------------------------------------------------------------------------


def test_object_costs_one_allocation_of_16_bytes(allocations: AllocationsFixture) -> None:
    figures = allocations(lambda: object())
    assert figures.allocs_per_op == 1
    assert figures.gc_per_1k_ops == 0
    if sys.maxsize > 2**32:
        assert figures.bytes_per_op == 16
    assert figures.loop is None and figures.ops == (10_000, 20_000)


def test_await_of_a_coroutine_that_returns_at_once_costs_the_coroutine(
        allocations: AllocationsFixture) -> None:
    assert allocations(returns_at_once).allocs_per_op == 1
    # A plain function returning a coroutine is awaited the same way.
    assert allocations(lambda: returns_at_once()).allocs_per_op == 1


def test_an_awaitable_is_awaited_once_per_operation(allocations: AllocationsFixture) -> None:
    loop = asyncio.new_event_loop()
    try:
        done = loop.create_future()
        done.set_result(None)
        figures = allocations(done, loop=loop)
    finally:
        loop.close()
    assert figures.allocs_per_op == EXPECTED_CALIBRATION[THIS]["await done Future"]
    assert figures.loop == "asyncio"


@pytest.mark.parametrize("strategy", ["pooled", "future_per_call"])
def test_an_async_op_costs_the_suites_figure_plus_its_coroutine(
        allocations: AllocationsFixture, event_loop_kind: str, strategy: str) -> None:
    waiting = strategy_class(strategy)(Freshness.never())
    publish, get = waiting.publish, waiting.get

    async def wait_for_a_publish() -> None:
        asyncio.get_running_loop().call_soon(publish, VALUE)
        await get()

    figures = allocations(wait_for_a_publish, loop=event_loop_kind)
    suite = measure_cell("wait", strategy, event_loop_kind, with_latency=False)
    assert figures.allocs_per_op == pytest.approx(
        suite["allocs"]["allocs_per_op"] + 1, abs=RESOLUTION)
    assert figures.loop == event_loop_kind


def test_batch_measures_a_suite_workload_as_the_suite_does(
        allocations: AllocationsFixture) -> None:
    loop = asyncio.new_event_loop()
    workload = scenario("wait").open("pooled", loop)
    try:
        figures = allocations.batch(workload.run, loop=loop)
    finally:
        workload.close()
        loop.close()
    suite = measure_cell("wait", "pooled", "asyncio", with_latency=False)
    assert figures.allocs_per_op == pytest.approx(suite["allocs"]["allocs_per_op"],
                                                  abs=RESOLUTION)


def test_the_sites_say_where(allocations: AllocationsFixture) -> None:
    def two_objects() -> list[object]:
        return [object(), object()]

    figures = allocations(two_objects, sites="counter")
    source, top = figures.sites()
    assert source == "counter"
    assert (top[0].function, top[0].per_op) == ("two_objects", 3.0)


# --- misuse and bad input ----------------------------------------------------------------


def test_neither_callable_nor_awaitable_is_a_type_error(allocations: AllocationsFixture) -> None:
    with pytest.raises(TypeError, match=re.escape(
            "allocations(op): op must be a function, an async function or an awaitable; "
            "got 42 (int)")):
        allocations(42)


def test_a_coroutine_object_is_a_type_error_naming_the_fix(
        allocations: AllocationsFixture) -> None:
    with pytest.raises(TypeError, match=r"^allocations\(op\): got a coroutine object "
                       r"<coroutine object returns_at_once at 0x[0-9a-f]+>, which can be "
                       r"awaited only once; pass the async function itself: allocations\(f\), "
                       r"not allocations\(f\(\)\)$"):
        allocations(returns_at_once())


def test_a_function_returning_a_future_is_a_type_error(allocations: AllocationsFixture) -> None:
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(TypeError, match=r"^allocations\(op\): op returned <Future "
                           r"pending> \(Future\), an awaitable it would never await; pass an "
                           r"async function that awaits it: async def op\(\): await \.\.\.$"):
            allocations(loop.create_future)
    finally:
        loop.close()


def test_an_unknown_loop_is_a_value_error(allocations: AllocationsFixture) -> None:
    with pytest.raises(ValueError, match=re.escape(
            "allocations(op, loop='trio'): unknown event loop; choose from: asyncio, uvloop")):
        allocations(returns_at_once, loop="trio")


def test_an_unknown_site_source_is_a_value_error(allocations: AllocationsFixture) -> None:
    with pytest.raises(ValueError, match=re.escape(
            "allocations(op, sites='tracemalloc'): choose from: memray, counter (default: "
            "memray where it imports)")):
        allocations(returns_at_once, sites="tracemalloc")


def test_an_op_that_raises_fails_with_its_own_exception(allocations: AllocationsFixture) -> None:
    calls = iter(repeat(None, 500))

    def fails_later() -> None:
        next(calls)  # StopIteration after 500 calls, inside the warm-up

    with pytest.raises(StopIteration):
        allocations(fails_later)

    async def fails_at_once() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        allocations(fails_at_once)


@pytest.fixture
def restore_tracing() -> Iterator[None]:
    trace, profile = sys.gettrace(), sys.getprofile()
    yield
    sys.settrace(trace)
    sys.setprofile(profile)


def _tracer(frame: Any, event: str, arg: Any) -> None:
    return None


@pytest.mark.usefixtures("restore_tracing")
def test_a_tracer_skips_instead_of_counting_wrong(allocations: AllocationsFixture) -> None:
    sys.settrace(_tracer)
    with pytest.raises(pytest.skip.Exception, match=r"^vts allocations: a tracer is active "
                       r"\(sys\.gettrace\(\) is <function _tracer at 0x[0-9a-f]+>: coverage or "
                       r"a debugger\?\); exact counts would be wrong under it$"):
        allocations(lambda: None)
    sys.settrace(None)
    sys.setprofile(_tracer)
    with pytest.raises(pytest.skip.Exception, match=r"^vts allocations: a profiler is active"):
        allocations(lambda: None)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is new in 3.12")
def test_a_monitoring_tool_skips(allocations: AllocationsFixture) -> None:
    monitoring: Any = getattr(sys, "monitoring")  # noqa: B009  # absent before 3.12
    monitoring.use_tool_id(monitoring.PROFILER_ID, "a profiler")
    try:
        with pytest.raises(pytest.skip.Exception, match=re.escape(
                "vts allocations: a sys.monitoring tool is in use ('a profiler', id 2)")):
            allocations(lambda: None)
    finally:
        monitoring.free_tool_id(monitoring.PROFILER_ID)


# --- as a user sees it -------------------------------------------------------------------

FAILING = """
import asyncio

def test_limit(allocations):
    assert allocations(lambda: [object(), object()], sites={sites!r}).allocs_per_op <= 2
"""


@pytest.mark.parametrize("sites", ["memray", "counter"])
def test_a_failed_limit_shows_the_figure_and_the_top_sites(pytester: pytest.Pytester,
                                                           sites: str) -> None:
    pytester.makepyfile(test_limit=FAILING.format(sites=sites))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E       assert allocs_per_op <= 2, but allocs_per_op is 3",
        "E         3 allocations, 48 bytes, 0 GC runs per 1k, per op (no event loop; runs "
        "of 10000 and 20000)",
        f"E         top allocation sites ({sites}; it counts high, frames included):",
        "E            3.00/op  <lambda> at test_limit.py:4",
    ])


BENCHMARKED = """
import asyncio

async def returns_at_once():
    return None

def test_benchmarked(benchmark, allocations):
    loop = asyncio.new_event_loop()
    benchmark(lambda: loop.run_until_complete(returns_at_once()))
    loop.close()
    allocations(returns_at_once)
"""


def test_with_pytest_benchmark_the_figures_go_to_its_json(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_benchmarked=BENCHMARKED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                           "--benchmark-json=out.json")
    result.assert_outcomes(passed=1)
    (bench,) = json.loads((pytester.path / "out.json").read_text())["benchmarks"]
    assert bench["extra_info"] == {"allocs_per_op": 1.0, "bytes_per_op": bench["extra_info"][
        "bytes_per_op"], "gc_per_1k_ops": 0.0, "alloc_ops": [10_000, 20_000]}
    result.stdout.fnmatch_lines([
        "*vts allocations per operation (exact)*",
        "test *allocs/op*bytes/op*GC/1k ops*loop",
        "test_benchmarked *1.00 * 0.00  asyncio",
    ])


def test_repr_names_every_figure(allocations: AllocationsFixture) -> None:
    figures: Allocations = allocations(lambda: None)
    assert repr(figures) == ("Allocations(allocs_per_op=0.0, bytes_per_op=0.0, "
                             "gc_per_1k_ops=0.0, ops=(10000, 20000), loop=None)")


# --- inside a running loop (pytest-asyncio, anyio) -----------------------------------------

IN_A_LOOP = """
import asyncio, json, pytest

async def returns_at_once():
    return None

async def sleeps():
    await asyncio.sleep(0)

def figures(allocations):
    measured = {{}}
    for name, op in (("object", lambda: object()), ("coroutine", returns_at_once),
                     ("sleep", sleeps)):
        a = allocations(op)
        measured[name] = [float(a.allocs_per_op), float(a.bytes_per_op),
                          float(a.gc_per_1k_ops)]
    return measured

def test_plain(allocations):
    with open("plain.json", "w") as out:
        json.dump(figures(allocations), out)

@pytest.mark.asyncio
async def test_pytest_asyncio(allocations):
    with open("asyncio.json", "w") as out:
        json.dump(figures(allocations), out)
    with pytest.raises(ValueError) as info:
        allocations(returns_at_once, loop=asyncio.get_running_loop())
    with open("refused.txt", "w") as out:
        out.write(str(info.value))

@pytest.fixture
def anyio_backend():
    return "asyncio"

@pytest.mark.anyio
async def test_anyio(allocations):
    with open("anyio.json", "w") as out:
        json.dump(figures(allocations), out)
"""


def test_inside_a_running_loop_the_figures_are_the_same(pytester: pytest.Pytester) -> None:
    """pytest-asyncio's and anyio's tests run in a loop: the fixture measures in a thread
    of its own, and every figure equals the plain test's."""
    pytester.makepyfile(test_in_a_loop=IN_A_LOOP.format())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    plain = json.loads((pytester.path / "plain.json").read_text())
    assert plain["object"][0] == 1 and plain["coroutine"][0] == 1
    assert json.loads((pytester.path / "asyncio.json").read_text()) == plain
    assert json.loads((pytester.path / "anyio.json").read_text()) == plain
    assert (pytester.path / "refused.txt").read_text() == (
        "allocations(op, loop=...): the test's running loop cannot run the operation while "
        'the test waits; pass loop="asyncio" or "uvloop" (a new loop, in a thread)')


def test_a_limit_failed_at_zero_allocations_says_why_there_are_no_sites(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_zero="""
def test_limit(allocations):
    assert allocations(lambda: None).allocs_per_op >= 1
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E       assert allocs_per_op >= 1, but allocs_per_op is 0",
        "E         0 allocations, 0 bytes, 0 GC runs per 1k, per op (no event loop; runs "
        "of 10000 and 20000)",
        "E         no allocation sites to list: the operation allocates nothing per op (the "
        "long run allocated no more than the short one)",
    ])
    result.stdout.no_fnmatch_line("*top allocation sites*")


# --- without the suite extra ---------------------------------------------------------------

WITHOUT_THE_SUITE = """
import vts.suite.requirements as requirements

requirements.MODULES["vts-missing"] = "vts_no_such_module"
"""


def test_without_the_suite_the_fixture_names_the_extra(pytester: pytest.Pytester) -> None:
    """A user's pytest run is unaffected; asking for the fixture fails with the hint."""
    pytester.makeconftest(WITHOUT_THE_SUITE)
    pytester.makepyfile(test_user="""
def test_unrelated():
    assert True

def test_measured(allocations):
    allocations(lambda: None)
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "_* ERROR at setup of test_measured _*",
        "the allocations fixture needs the measuring suite (vts-missing not installed): "
        "pip install 'vts[suite]'"])
