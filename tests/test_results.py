"""vts.suite.results: atomic writes, one-line load errors, merge, cell helpers."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from vts.suite import results
from vts.suite.errors import UsageError
from vts.suite.records import figure

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent


def make_cell(strategy: str, scenario: str, python: str = "3.11", loop: str = "asyncio",
              allocs: float | None = 1.0) -> dict[str, Any]:
    return {
        "id": results.cell_id(strategy, scenario, python, loop),
        "strategy": strategy, "scenario": scenario, "python": python, "loop": loop,
        "status": "ok", "error": None,
        "allocs": None if allocs is None else {"allocs_per_op": allocs, "bytes_per_op": 8.0,
                                               "gc_per_1k_ops": 0.0, "ops": [10, 20]},
        "timing": None, "latency": None, "memray": None, "extra": {},
    }


def make_run(*cells: dict[str, Any], host: str = "a", mode: str = "fast") -> dict[str, Any]:
    run = results.new_run(mode, {"hostname": host}, {"wait": {"operation": "one await"}})
    for cell in cells:
        run["environments"][results.env_key(cell["python"], cell["loop"])] = {
            "python": cell["python"], "loop": cell["loop"], "packages": {"vts": host},
        }
        results.add_cell(run, cell)
    return run


def test_cell_id_says_what_is_measured() -> None:
    assert results.cell_id("pooled", "wait", "3.12", "uvloop") == "pooled/wait/3.12/uvloop"


def test_new_run_has_every_schema_key() -> None:
    run = results.new_run("fast", {"hostname": "h"}, {})
    assert run["schema_version"] == results.SCHEMA_VERSION == 4
    assert all(key in run for key in results.RUN_KEYS)
    assert run["created"].endswith("+00:00")
    with pytest.raises(ValueError, match=r"^mode must be one of fast, full, allocs-only"):
        results.new_run("quick", {}, {})


def test_add_cell_replaces_same_id_in_place() -> None:
    run = make_run(make_cell("a", "wait"), make_cell("b", "wait"))
    results.add_cell(run, make_cell("a", "wait", allocs=5.0))
    assert [c["id"] for c in run["cells"]] == ["a/wait/3.11/asyncio", "b/wait/3.11/asyncio"]
    assert run["cells"][0]["allocs"]["allocs_per_op"] == 5.0
    bad = make_cell("a", "wait") | {"id": "a/fresh/3.11/asyncio"}
    with pytest.raises(ValueError, match=r"^cell id 'a/fresh/3.11/asyncio' should be"):
        results.add_cell(run, bad)


def test_machine_metadata_fields() -> None:
    machine = results.machine_metadata()
    assert set(machine) == {"hostname", "platform", "cpu_model", "cpu_count",
                            "memory_total_bytes", "git_commit", "git_dirty"}
    assert machine["memory_total_bytes"] > 0
    assert machine["git_commit"] is None or len(machine["git_commit"]) == 40


def test_write_then_load_round_trips(tmp_path: Path) -> None:
    run = make_run(make_cell("pooled", "wait"))
    path = tmp_path / "results.json"
    results.write_atomic(path, run)
    assert results.load(path) == run
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temp file left


def test_fixture_loads() -> None:
    run = results.load(FIXTURES / "run_small.json")
    assert len(run["environments"]) == 2


WRITER = """
import sys
from vts.suite.results import write_atomic
path = sys.argv[1]
cells = [{"id": f"s/{i}/3.11/asyncio", "payload": "x" * 200} for i in range(5000)]
n = 0
while True:
    write_atomic(path, {"n": n, "cells": cells})
    if n == 0:
        print("ready", flush=True)
    n += 1
"""


def test_atomic_writer_survives_sigkill_mid_write(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    rng = random.Random(1234)
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=env,
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "ready\n"
            time.sleep(rng.uniform(0.0, 0.15))  # land the kill at a random point of a write
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        data = json.loads(path.read_text(encoding="utf-8"))
        assert len(data["cells"]) == 5000


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(UsageError) as info:
        results.load(path)
    assert str(info.value) == f"{path}: no such results file"


def test_load_invalid_json_with_hint(tmp_path: Path) -> None:
    path = write(tmp_path, '{"schema_version": 1,')
    with pytest.raises(UsageError) as info:
        results.load(path, kind="baseline", hint="recreate it")
    assert str(info.value) == (
        f"{path}: not valid JSON (Expecting property name enclosed in double quotes "
        "at line 1 column 22); recreate it"
    )


def test_load_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path, "[]")
    with pytest.raises(UsageError) as info:
        results.load(path)
    assert str(info.value) == f"{path}: not a results file (expected a JSON object)"


def test_load_wrong_schema_version(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(make_run() | {"schema_version": 5}))
    with pytest.raises(UsageError) as info:
        results.load(path)
    assert str(info.value) == (f"{path}: schema_version 5 is not supported (this vts reads "
                               "1, 2, 3 and 4)")


def test_load_missing_keys(tmp_path: Path) -> None:
    run = make_run()
    del run["cells"], run["machine"]
    path = write(tmp_path, json.dumps(run))
    with pytest.raises(UsageError) as info:
        results.load(path)
    assert str(info.value) == f"{path}: missing key(s) machine, cells"


def test_load_cell_missing_keys(tmp_path: Path) -> None:
    run = make_run(make_cell("a", "wait"))
    del run["cells"][0]["status"]
    path = write(tmp_path, json.dumps(run))
    with pytest.raises(UsageError) as info:
        results.load(path)
    assert str(info.value) == f"{path}: cell a/wait/3.11/asyncio lacks key(s) status"


def test_merge_later_cells_win_and_machines_are_kept() -> None:
    first = make_run(make_cell("a", "wait", allocs=1.0), make_cell("b", "wait"), host="one")
    second = make_run(make_cell("a", "wait", allocs=2.0),
                      make_cell("a", "wait", loop="uvloop"), host="two", mode="full")
    second["scenarios"]["fresh"] = {"operation": "sync get"}
    merged = results.merge([first, second])
    assert [c["id"] for c in merged["cells"]] == [
        "a/wait/3.11/asyncio", "b/wait/3.11/asyncio", "a/wait/3.11/uvloop"]
    assert merged["cells"][0]["allocs"]["allocs_per_op"] == 2.0
    assert set(merged["environments"]) == {"3.11/asyncio", "3.11/uvloop"}
    assert merged["environments"]["3.11/asyncio"]["packages"] == {"vts": "two"}
    assert set(merged["scenarios"]) == {"wait", "fresh"}
    assert [m["hostname"] for m in merged["machines"]] == ["one", "two"]
    assert [m["run_id"] for m in merged["machines"]] == [first["run_id"], second["run_id"]]
    assert merged["mode"] == "mixed"
    # merging a merged run keeps every source machine once
    again = results.merge([merged, make_run(host="three")])
    assert [m["hostname"] for m in again["machines"]] == ["one", "two", "three"]
    # the inputs are untouched
    assert first["cells"][0]["allocs"]["allocs_per_op"] == 1.0


def test_rebase_rewrites_relative_paths(tmp_path: Path) -> None:
    cell = make_cell("a", "wait")
    cell["memray"] = {"flamegraph": "memray/a.html"}
    cell["timing"] = {"mean_ns": 1.0, "pyperf_json": "/abs/p.json"}
    run = make_run(cell)
    rebased = results.rebase(run, tmp_path / "runs" / "r1", tmp_path / "out")
    assert rebased["cells"][0]["memray"]["flamegraph"] == "../runs/r1/memray/a.html"
    assert rebased["cells"][0]["timing"]["pyperf_json"] == "/abs/p.json"
    assert run["cells"][0]["memray"]["flamegraph"] == "memray/a.html"


def _broken(tmp_path: Path, edit: Any) -> Path:
    data = json.loads((FIXTURES / "gate_run.json").read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _set(*keys: object, value: object) -> Any:
    def edit(data: Any) -> None:
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value
    return edit


POOLED = "cell pooled/wait/3.12/asyncio"


@pytest.mark.parametrize(("edit", "message"), [
    (_set("environments", value=[{"python": "3.12"}]),
     "'environments' must be an object, not a list ([{\"python\": \"3.12\"}])"),
    (_set("machine", value=None), "'machine' must be an object, not null"),
    (_set("environments", "3.12/asyncio", value="3.12"),
     "'environments.3.12/asyncio' must be an object, not a string ('3.12')"),
    (_set("scenarios", "wait", value=7), "'scenarios.wait' must be an object, not a number (7)"),
    (_set("run_id", value=12), "'run_id' must be a string, not a number (12)"),
    (_set("cells", 2, "timing", "mean_ns", value="fast"),
     f"{POOLED}: 'timing.mean_ns' must be a finite number or null, not a string ('fast')"),
    (_set("cells", 2, "allocs", value=[1, 2]),
     f"{POOLED}: 'allocs' must be an object or null, not a list ([1, 2])"),
    (_set("cells", 2, "allocs", "ops", value=[10000]),
     f"{POOLED}: 'allocs.ops' must be two run lengths [short, long], not a list "
     "([10000])"),
    (_set("cells", 2, "status", value="fine"),
     f"{POOLED}: 'status' must be 'ok' or 'failed', not a string ('fine')"),
    (_set("cells", 2, "error", value=["x"]),
     f"{POOLED}: 'error' must be a string or null, not a list ([\"x\"])"),
    (_set("cells", 2, "extra", value=None), f"{POOLED}: 'extra' must be an object, not null"),
    (_set("cells", 2, "deterministic", value="yes"),
     f"{POOLED}: 'deterministic' must be true or false, not a string ('yes')"),
    (_set("cells", 2, "latency", value={"p50_ns": True}),
     f"{POOLED}: 'latency.p50_ns' must be a finite number or null, not true"),
    (_set("cells", 2, "python", value=3.12),
     f"{POOLED}: 'python' must be a string, not a number (3.12)"),
    (_set("jobs", value=0), "'jobs' must be an integer >= 1, not a number (0)"),
])
def test_a_wrongly_typed_field_is_one_line_naming_it(tmp_path: Path, edit: Any,
                                                     message: str) -> None:
    path = _broken(tmp_path, edit)
    with pytest.raises(UsageError) as info:
        results.load(path)
    assert str(info.value) == f"{path}: {message}"


def test_report_on_a_wrongly_typed_file_exits_2(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from vts.suite.cli import main

    path = _broken(tmp_path, _set("environments", value=[]))
    assert main(["report", str(path), "-o", str(tmp_path / "report.html")]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"error: {path}: 'environments' must be an object, not a list ([])\n")


def test_a_version_1_file_loads_as_a_run_without_instruction_counts(tmp_path: Path) -> None:
    old = make_run(make_cell("pooled", "wait"))
    old["schema_version"] = 1
    del old["instruction_counter"]
    for cell in old["cells"]:
        cell.pop("instructions", None)
    run = results.load(write(tmp_path, json.dumps(old)))
    assert run["schema_version"] == 4
    assert run["instruction_counter"] is None
    assert [cell["instructions"] for cell in run["cells"]] == [None]
    assert run["jobs"] == 1


def test_a_version_2_file_loads_as_a_run_of_one_cell_at_a_time(tmp_path: Path) -> None:
    old = make_run(make_cell("pooled", "wait"))
    old["schema_version"] = 2
    old.pop("jobs", None)
    run = results.load(write(tmp_path, json.dumps(old)))
    assert (run["schema_version"], run["jobs"]) == (4, 1)
    assert results.machines_of(run)[0]["jobs"] == 1


def test_a_merged_run_says_the_most_cells_any_source_measured_at_a_time() -> None:
    one, two = make_run(make_cell("pooled", "wait")), make_run(make_cell("floor", "wait"))
    one["jobs"], two["jobs"] = 1, 2
    merged = results.merge([one, two])
    assert merged["jobs"] == 2
    assert [machine["jobs"] for machine in merged["machines"]] == [1, 2]


def test_the_schema_and_the_typed_records_name_the_same_fields() -> None:
    # One set of field names: the schema checks what the records type (vts.suite.records).
    from typing import get_args

    from vts.suite import records, schema

    def keys(kind: Any) -> set[str]:
        return set(kind.__required_keys__ | kind.__optional_keys__)

    assert set(schema.RUN_FIELDS) == keys(records.Run)
    assert set(schema.REQUIRED_RUN) == set(records.Run.__required_keys__)
    assert set(schema.CELL_FIELDS) == keys(records.Cell)
    assert set(schema.REQUIRED_CELL) == set(records.Cell.__required_keys__)
    assert set(schema.SECTION_FIELDS) == set(records.SECTIONS) == set(get_args(records.Section))
    for section, fields in schema.SECTION_FIELDS.items():
        assert set(fields) <= keys(records.SECTIONS[section]), section
    numbers = {name for fields in schema.SECTION_FIELDS.values()
               for name, kind in fields.items() if kind.expected.startswith("a finite number")}
    assert set(get_args(records.Figure)) == numbers


@pytest.mark.parametrize(("allocs_per_op", "gc_per_1k_ops", "problem"), [
    (-0.0004, 0.0, None),  # within the resolution of runs of 10,000 and 20,000 ops
    (-0.0005, 0.0, "'allocs.allocs_per_op' is -0.0005, below zero: measure the cell again"),
    (0.0, -1.0, "'allocs.gc_per_1k_ops' is -1, below zero: measure the cell again"),
])
def test_the_schema_holds_the_bounds_of_every_valid_run(
        tmp_path: Path, allocs_per_op: float, gc_per_1k_ops: float, problem: str | None) -> None:
    cell = make_cell("pooled", "wait")
    cell["allocs"].update(allocs_per_op=allocs_per_op, gc_per_1k_ops=gc_per_1k_ops,
                          ops=[10_000, 20_000])
    path = tmp_path / "results.json"
    path.write_text(json.dumps(make_run(cell)), encoding="utf-8")
    if problem is None:
        assert results.load(path)["cells"][0]["allocs"] == cell["allocs"]
    else:
        with pytest.raises(UsageError) as raised:
            results.load(path)
        assert str(raised.value) == f"{path}: cell pooled/wait/3.11/asyncio: {problem}"


MERGE_TIMED = Path(__file__).parent / "fixtures" / "merge_timed.json"
MERGE_COUNTED = Path(__file__).parent / "fixtures" / "merge_counted.json"


def test_merge_figures_keeps_each_measure_from_the_run_that_measured_it() -> None:
    """A timed run, then a later allocation-only run with instruction counts (make gate's
    kind): the times stay, the counts come in, the later allocations win, and the failed
    cell of the timed run is shown from the run that measured it."""
    merged = results.merge_figures([results.load(MERGE_TIMED), results.load(MERGE_COUNTED)])
    cells = {cell["strategy"]: cell for cell in merged.run["cells"]}
    pooled = cells["pooled"]
    assert figure(pooled, "timing", "mean_ns") == 16100.0
    assert figure(pooled, "latency", "p99_ns") == 41000.0
    assert figure(pooled, "instructions", "instructions_per_op") == 75439.0
    assert figure(pooled, "allocs", "allocs_per_op") == 27.2  # the later run's
    assert cells["manual_reset"]["status"] == "ok"
    assert figure(cells["manual_reset"], "allocs", "allocs_per_op") == 32.2
    assert merged.note() == ("measured in more than one run, the later run's kept: allocs of "
                             "2 cells; 1 cell failed in one run and shown from another that "
                             "measured it")
    # The whole-cell merge (the baseline's) still replaces cells whole.
    whole = {c["strategy"]: c for c in results.merge([results.load(MERGE_TIMED),
                                                      results.load(MERGE_COUNTED)])["cells"]}
    assert whole["pooled"]["timing"] is None


def test_merge_figures_of_disjoint_runs_says_nothing() -> None:
    merged = results.merge_figures([make_run(make_cell("a", "wait")),
                                    make_run(make_cell("b", "wait"))])
    assert merged.note() == "" and len(merged.run["cells"]) == 2


def test_report_of_a_timed_and_a_counted_run_keeps_both(
        capsys: pytest.CaptureFixture[str]) -> None:
    from vts.suite.cli import main

    assert main(["report", str(MERGE_TIMED), str(MERGE_COUNTED), "--format", "markdown",
                 "--baseline", str(MERGE_COUNTED)]) == 0
    out = capsys.readouterr().out
    assert "Merged runs: measured in more than one run, the later run's kept: allocs of 2 " in out
    # The scenario table's row (the verdict's matrix, above it, has a "| pooled |" row too).
    row = next(line for line in out.splitlines() if "| pooled |" in line and "µs" in line)
    assert "16.100 µs" in row and "75,439" in row and "27.2" in row


def test_a_version_3_file_loads_with_builds_from_its_environments(tmp_path: Path) -> None:
    """Schema 4 keys cells by interpreter build; a version 3 file's build comes from its
    environment's implementation, full version and sys.version's compiler."""
    old = make_run(make_cell("pooled", "wait", python="3.12"))
    old["schema_version"] = 3
    old.pop("builds")
    old["environments"] = {"3.12/asyncio": {
        "implementation": "CPython", "python_full": "3.12.1",
        "build": "3.12.1 (main, May  9 2026, 07:36:11) [GCC 12.2.0]"}}
    run = results.load(write(tmp_path, json.dumps(old)))
    assert [cell["build"] for cell in run["cells"]] == ["cpython-3.12.1-gcc-12.2.0"]
    assert run["builds"] == {"cpython-3.12.1-gcc-12.2.0": {
        "implementation": "cpython", "version": "3.12.1", "compiler": "GCC 12.2.0",
        "debug": False, "freethreaded": False, "nopymalloc": False}}
