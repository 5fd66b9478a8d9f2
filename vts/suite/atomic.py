"""The suite's one atomic writer: a file is either its old version or its whole new one.

`write_text` writes a temp file in the target's directory, fsyncs it, `os.replace`s it over
the target and fsyncs the directory, so a run killed mid-write (SIGKILL, power loss) leaves
the previous version, never a torn file. Results, baselines and reports all go through it.
It trades a little speed (two fsyncs) for that guarantee; nothing the suite writes is hot.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` (UTF-8) to `path` so that `path` always holds a complete file.

    The temp file lives in the same directory (so `os.replace` is a rename on one file
    system, atomic on POSIX); it is fsynced before the rename and the directory after it.
    """
    target = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as tmp:
            tmp.write(text)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    with contextlib.suppress(OSError):  # persist the rename; not every OS can open a dir
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
