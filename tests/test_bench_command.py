"""`vts bench` as a user runs it: bad names, an interrupted run, the report at the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from vts.impl import C_MISSING
from vts.strategies import all_strategies
from vts.suite import results
from vts.suite.scenarios import all_scenarios

ROOT = Path(__file__).resolve().parents[1]


def _vts(*args: str, **kwargs: object) -> subprocess.Popen[str]:
    # This checkout first, then what this process was given (a test plugin's directory).
    path = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    return subprocess.Popen([sys.executable, "-m", "vts", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)  # type: ignore[call-overload]


# The names vts itself offers, and the example plugin `make test` installs
# (examples/vts-event-strategy): every run lists them; another installed plugin adds more.
OFFERED_STRATEGIES = [
    "buffered_protocol", "cached_result", "event_per_publish", "floor", "future_per_call",
    "handwritten", "manual_reset", "pooled", "recycled_future", "reusable_source",
    "sock_recv_into", "streams",
    *([] if C_MISSING else ["handwritten[c]", "manual_reset[c]", "pooled[c]"])]
OFFERED_SCENARIOS = [
    "fresh", "wait", "thread", "fanout-1", "fanout-10", "fanout-100", "fanout-1000", "monitor",
    "socket-64", "socket-4k", "socket-64k", "socket-ready-64", "socket-ready-4k"]


def _one_line_error(*args: str) -> str:
    process = _vts("bench", *args)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert err.count("\n") == 1, err
    return err


def test_a_bad_strategy_name_lists_every_choice_in_one_line() -> None:
    head = "error: unknown strategy 'nope'; choose from: "
    err = _one_line_error("-s", "nope")
    assert err.startswith(head)
    listed = err[len(head):].rstrip("\n").split(", ")
    assert listed == sorted(listed)
    assert set(OFFERED_STRATEGIES) <= set(listed)  # and whatever plugins add
    assert set(all_strategies()) <= set(listed)


def test_a_bad_scenario_name_lists_every_choice_in_one_line() -> None:
    err = _one_line_error("-c", "nope")
    assert err == f"error: unknown scenario 'nope'; choose from: {', '.join(all_scenarios())}\n"
    listed = list(all_scenarios())
    assert listed[:len(OFFERED_SCENARIOS)] == OFFERED_SCENARIOS  # installed ones follow
    assert "wait-timeout" in listed[len(OFFERED_SCENARIOS):]


@pytest.mark.parametrize(("args", "message"), [
    (["-l", "tokio"], "error: unknown event loop 'tokio'; choose from: asyncio, uvloop"),
    (["-p", "2.7"], "error: interpreter 2.7 not found; installed: "),
])
def test_bad_names_get_one_line_and_exit_2(args: list[str], message: str) -> None:
    assert _one_line_error(*args).startswith(message)


def test_an_interrupted_run_keeps_every_cell_it_measured(tmp_path: Path) -> None:
    process = _vts("bench", "-c", "fanout-100", "-l", "asyncio", "--allocs-only",
                   "--no-report", "-o", str(tmp_path))
    path = tmp_path / "results.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if path.exists() and json.loads(path.read_text())["cells"]:
            break
        time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("no cell was written within 120 s")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "error: interrupted" in err
    assert f"the cells measured so far are in {path}" in " ".join(out.split())
    saved = results.load(path)  # still a valid results file
    measured = [cell for cell in saved["cells"] if cell["status"] == "ok"]
    assert measured and len(saved["cells"]) < 6
    assert all(cell["allocs"]["allocs_per_op"] > 0 for cell in measured)


def test_an_interrupted_parallel_run_stops_the_cells_under_way(
        tmp_path: Path, installed_plugin: Callable[[str], None]) -> None:
    installed_plugin("good")  # test-hang: a cell that sleeps an hour
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ["PYTHONPATH"]])}
    process = subprocess.Popen(
        [sys.executable, "-m", "vts", "bench", "-c", "test-hang,fresh", "-s", "sleeps,floor",
         "-l", "asyncio", "--allocs-only", "--no-report", "-j", "2", "-o", str(tmp_path)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    path = tmp_path / "results.json"
    deadline = time.monotonic() + 120
    while not (path.exists() and json.loads(path.read_text())["cells"]):
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the quick cell was not written within 120 s")
        time.sleep(0.1)
    sleeping = [child for child in psutil.Process(process.pid).children(recursive=True)
                if "test-hang" in child.cmdline()]
    assert sleeping, "the hanging cell should be running beside the quick one"
    process.send_signal(signal.SIGINT)
    # Without stopping it, the run would wait for the hanging cell (--cell-timeout 300 s).
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE
                   for child in sleeping)
    saved = results.load(path)
    assert [cell["id"] for cell in saved["cells"]] == [f"floor/fresh/{_version()}/asyncio"]
    assert saved["jobs"] == 2


def test_an_interrupted_timing_phase_keeps_the_counted_cells_and_stops_its_workers(
        tmp_path: Path) -> None:
    process = _vts("bench", "-c", "fresh,wait", "-s", "cached_result,pooled", "-l", "asyncio",
                   "--no-report", "--no-instructions", "-o", str(tmp_path))
    deadline = time.monotonic() + 120
    workers: list[psutil.Process] = []
    while not workers:
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("the timing phase did not start within 120 s")
        workers = [child for child in psutil.Process(process.pid).children(recursive=True)
                   if "vts.suite.measure.interleave_worker" in _cmdline(child)]
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert not any(worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE
                   for worker in workers)
    saved = results.load(tmp_path / "results.json")  # every cell counted, none timed
    assert len(saved["cells"]) == 6  # each scenario's floor goes with any strategy
    assert all(cell["status"] == "ok" and cell["allocs"] for cell in saved["cells"])
    assert not any(cell["timing"] for cell in saved["cells"])


def _cmdline(process: psutil.Process) -> list[str]:
    """Its command line; [] once it has ended (the run's processes come and go)."""
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def _version() -> str:
    return "{}.{}".format(*sys.version_info[:2])


QUICK = ["-c", "fresh", "-s", "floor", "-l", "asyncio", "--allocs-only", "--no-report"]


def _cells(path: Path) -> list[str]:
    return [cell["id"] for cell in results.load(path)["cells"]]


def test_bench_into_an_existing_run_refuses_unless_appending(tmp_path: Path) -> None:
    here = "{}.{}".format(*sys.version_info[:2])
    first = _vts("bench", *QUICK, "-o", str(tmp_path))
    assert first.communicate(timeout=300)[1] == "" and first.returncode == 0
    before = (tmp_path / "results.json").read_bytes()
    again = _vts("bench", *QUICK[:3], "cached_result", *QUICK[4:], "-o", str(tmp_path))
    _, err = again.communicate(timeout=120)
    assert again.returncode == 2
    assert err == (f"error: {tmp_path} already holds a run (1 cell); measure into a new "
                   "directory, or add --append to add these cells to it\n")
    assert (tmp_path / "results.json").read_bytes() == before
    appended = _vts("bench", *QUICK[:3], "cached_result", *QUICK[4:], "-o", str(tmp_path),
                    "--append")
    assert appended.communicate(timeout=300)[1] == "" and appended.returncode == 0
    assert _cells(tmp_path / "results.json") == [f"floor/fresh/{here}/asyncio",
                                                 f"cached_result/fresh/{here}/asyncio"]


def test_append_keeps_the_runs_mode(tmp_path: Path) -> None:
    first = _vts("bench", *QUICK, "-o", str(tmp_path))
    assert first.communicate(timeout=300)[1] == "" and first.returncode == 0
    other = _vts("bench", *QUICK[:6], "--fast", "--no-report", "-o", str(tmp_path), "--append")
    _, err = other.communicate(timeout=120)
    assert other.returncode == 2
    assert err == (f"error: {tmp_path} holds a run measured with --allocs-only; append to it "
                   "with --allocs-only\n")


@pytest.mark.parametrize(("args", "message"), [
    (["-p", ""], "error: -p/--python got an empty name; give interpreter versions like 3.12, "
                 "or 'all'\n"),
    (["-p", "3.11,"], "error: -p/--python got an empty name; give interpreter versions like "
                      "3.12, or 'all'\n"),
    (["-s", ""], "error: -s/--strategy got an empty name; give strategy names\n"),
    (["--cell-timeout", "0"], "usage: "),
])
def test_empty_selections_are_errors(args: list[str], message: str) -> None:
    process = _vts("bench", *args)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert err.startswith(message)


def test_a_repeated_interpreter_is_measured_once(tmp_path: Path) -> None:
    here = "{}.{}".format(*sys.version_info[:2])
    process = _vts("bench", *QUICK, "-p", f"{here},{here}", "-p", here, "-o", str(tmp_path))
    out, err = process.communicate(timeout=300)
    assert (process.returncode, err) == (0, "")
    assert f"measuring 1 cells into {tmp_path}" in " ".join(out.split())


def test_the_cell_time_limit_is_an_option(tmp_path: Path,
                                          installed_plugin: Callable[[str], None]) -> None:
    installed_plugin("good")  # test-hang: a cell that never finishes
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ["PYTHONPATH"]])}
    process = subprocess.run(
        [sys.executable, "-m", "vts", "bench", "-c", "test-hang", "-l", "asyncio",
         "--allocs-only", "--no-report", "--cell-timeout", "2", "-o", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert process.returncode == 1  # a failed cell
    (cell,) = results.load(tmp_path / "results.json")["cells"]
    assert (cell["status"], cell["error"]) == ("failed", "timed out after 2 s")
