"""The public surface of `vts` is pinned: a change to it is a deliberate change here."""

import os
import subprocess
import sys

import pytest

import vts
from vts import impl
from vts.impl import C_MISSING

EXPECTED = [
    "STRATEGIES", "AlreadyAwaitedError", "AlreadyCompletedError", "CancellableSource",
    "Channel", "ChannelClosed", "ChannelEmpty", "CompletionFlags", "DoubleReturnError",
    "Freshness", "ManualResetCore", "MultipleAwaitError", "NotCompletedError", "PcMonitor",
    "PcStatistics", "Pool", "SourceAwaiter", "SourceStatus", "Strategy", "TokenMismatchError",
    "UnknownNameError", "ValueTask", "ValueTaskError", "ValueTaskSource", "strategy_class",
]


def test_all_is_pinned() -> None:
    assert vts.__all__ == EXPECTED


def test_every_public_name_resolves() -> None:
    for name in vts.__all__:
        assert getattr(vts, name) is not None, name


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("python", "vts.valuetask"), ("c", "vts._speedups"), ("", None)],
)
def test_vts_impl_selects_the_package_level_protocol_pieces(
    setting: str, expected: str | None
) -> None:
    if C_MISSING and setting != "python":
        pytest.skip(C_MISSING)
    probe = "import vts; print(vts.ValueTask.__module__, vts.ManualResetCore.__module__)"
    env = {**os.environ, "VTS_IMPL": setting}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    want = expected or "vts._speedups"  # unset: C where it is built
    assert out == [want, "vts.core" if want == "vts.valuetask" else "vts._speedups"]


def test_an_unknown_vts_impl_fails_the_import_with_the_choices() -> None:
    env = {**os.environ, "VTS_IMPL": "rust"}
    result = subprocess.run([sys.executable, "-c", "import vts"], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "ImportError: VTS_IMPL='rust' is not one of: python, c")


def test_both_implementations_are_importable_side_by_side() -> None:
    from vts import core, valuetask

    assert impl.PYTHON.ValueTask is valuetask.ValueTask
    assert impl.PYTHON.ManualResetCore is core.ManualResetCore
    if not C_MISSING:
        from vts import _speedups

        assert impl.c().ValueTask is _speedups.ValueTask

