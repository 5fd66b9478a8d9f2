"""`vts bench` as a user runs it: bad names, an interrupted run, the report at the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vts.suite import results

ROOT = Path(__file__).resolve().parents[1]


def _vts(*args: str, **kwargs: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "vts", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)  # type: ignore[call-overload]


@pytest.mark.parametrize(("args", "message"), [
    (["-s", "nope"], "error: unknown strategy 'nope'; choose from: buffered_protocol, "
                     "cached_result, event_per_publish, floor, future_per_call, handwritten, "
                     "manual_reset, pooled, "
                     "reusable_source, sock_recv_into, streams"),
    (["-c", "nope"], "error: unknown scenario 'nope'; choose from: fresh, wait, thread, "
                     "fanout-1, fanout-10, fanout-100, fanout-1000, monitor, socket-64, "
                     "socket-4k, socket-64k, socket-ready-64, socket-ready-4k, wait-timeout"),
    (["-l", "tokio"], "error: unknown event loop 'tokio'; choose from: asyncio, uvloop"),
    (["-p", "2.7"], "error: interpreter 2.7 not found; installed: "),
])
def test_bad_names_get_one_line_and_exit_2(args: list[str], message: str) -> None:
    process = _vts("bench", *args)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert err.startswith(message)
    assert err.count("\n") == 1


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
