"""scripts/channel_stress.py (`make stress`, 1e6 items) at 1e4 items: producer threads
to reader tasks on every strategy and both loops, none lost or duplicated; and the
script's own check, which must catch a channel that drops an item."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from vts.channels import Channel
from vts.strategies import STRATEGIES

SCRIPT = Path(__file__).parent.parent / "scripts" / "channel_stress.py"
COUNT = 10_000


def load_script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("channel_stress", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look it up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(600)
def test_ten_thousand_items_across_threads_none_lost_or_duplicated() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), str(COUNT)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 * len(STRATEGIES)  # every strategy on both loops
    assert all(line.startswith("ok ") and f" {COUNT:,} items " in line for line in lines)


def test_the_stress_check_catches_a_dropped_item(monkeypatch: pytest.MonkeyPatch) -> None:
    script = load_script(monkeypatch)
    sent = 0
    try_send = Channel.try_send

    def dropping_every_hundredth(self: Channel[Any], item: Any) -> bool:
        nonlocal sent
        sent += 1
        return True if sent % 100 == 0 else try_send(self, item)

    monkeypatch.setattr(Channel, "try_send", dropping_every_hundredth)
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(script.StressFailure, match=r"^producer \d: got item \d+, "
                           r"expected \d+$"):
            loop.run_until_complete(script.stress(1_000, "pooled", 2, 1, 16))
    finally:
        loop.close()


def test_bad_arguments_exit_2() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "0"], capture_output=True,
                            text=True)
    assert result.returncode == 2
    assert result.stderr == ("error: count, --producers, --readers and --capacity must be "
                             ">= 1\n")
