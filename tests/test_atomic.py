"""vts.suite.atomic: complete files, the usual mode, read-only targets respected."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from vts.suite import atomic
from vts.suite.errors import UsageError


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_gets_the_usual_mode(tmp_path: Path, umask: None) -> None:
    target = tmp_path / "results.json"
    atomic.write_text(target, "{}\n")
    assert _mode(target) == 0o644  # 0o666 less the umask, as open() would make it
    os.umask(0o077)
    private = tmp_path / "private.json"
    atomic.write_text(private, "{}\n")
    assert _mode(private) == 0o600


def test_a_replaced_file_keeps_its_mode(tmp_path: Path, umask: None) -> None:
    target = tmp_path / "baseline.json"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)
    atomic.write_text(target, "new\n")
    assert (target.read_text(encoding="utf-8"), _mode(target)) == ("new\n", 0o640)


def test_a_read_only_file_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "baseline.json"
    target.write_text("kept\n", encoding="utf-8")
    target.chmod(0o444)
    with pytest.raises(UsageError) as info:
        atomic.write_text(target, "new\n")
    assert str(info.value) == (f"{target}: the file is read-only; make it writable "
                               f"(chmod u+w {target}) to replace it")
    assert target.read_text(encoding="utf-8") == "kept\n"
    assert [p.name for p in tmp_path.iterdir()] == ["baseline.json"]


def test_a_read_only_directory_is_one_line(read_only_dir: Path) -> None:
    target = read_only_dir / "results.json"
    with pytest.raises(UsageError) as info:
        atomic.write_text(target, "{}\n")
    assert str(info.value) == f"{target}: cannot write (Permission denied)"
