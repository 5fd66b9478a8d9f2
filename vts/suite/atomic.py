"""The suite's one atomic writer: a file is either its old version or its whole new one.

`write_text` writes a temp file in the target's directory, fsyncs it, `os.replace`s it over
the target and fsyncs the directory, so a run killed mid-write (SIGKILL, power loss) leaves
the previous version, never a torn file. Results, baselines and reports all go through it.
It trades a little speed (two fsyncs) for that guarantee; nothing the suite writes is hot.

Rules: a new file gets the mode `open()` would give it (0o666 less the umask), a replaced
file keeps its own, and a file nobody may write (no write bit, e.g. 0o444) is refused, not
replaced: a rename would succeed over it, since only the directory's mode decides that.
Every OSError becomes a one-line `UsageError` naming the file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from vts.suite.errors import UsageError

_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` (UTF-8) to `path` so that `path` always holds a complete file."""
    target = Path(path)
    mode = _mode_to_keep(target)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        # 0o666: the kernel takes the umask off, as for open(); O_EXCL: a file of that
        # name that someone else made is never reused.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise UsageError(f"{target}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            if mode is not None:
                os.fchmod(out.fileno(), mode)
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)  # atomic: a rename within one directory (POSIX)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise UsageError(f"{target}: cannot write ({exc.strerror})") from None
        raise
    with contextlib.suppress(OSError):  # persist the rename; not every OS can open a dir
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _mode_to_keep(target: Path) -> int | None:
    """The mode of the file being replaced (None: there is none); refuses a read-only one."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"{target}: cannot write ({exc.strerror})") from None
    if not mode & _WRITE_BITS:
        raise UsageError(f"{target}: the file is read-only; make it writable "
                         f"(chmod u+w {target}) to replace it")
    return mode
