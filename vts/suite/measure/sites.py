"""Where an operation allocates: its top allocation sites, from memray or from the counter.

Attribution, not counting. Both ways run the operation again under a hook that allocates
itself (memray's profile hook, our line tracer: each makes the interpreter materialise
frame objects), so their per-op numbers run higher than the exact figure; they say
*where*, the counter says *how many*.

- memray (where it imports): a capture of `n` operations with Python-allocator tracing,
  read back in-process; each allocation goes to its innermost Python frame outside the
  harness.
- the counter's own: `sys.settrace` call/line/return events; the counter is paused while
  the tracer runs, and the allocations between two events go to the line that ran.

Lines of the harness itself (the loop that calls the operation) are left out, and so are
sites below 0.01 per op (a run's fixed costs, amortised).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from vts.suite.measure import allocs, operation

SOURCES = ("memray", "counter")
MIN_PER_OP = 0.01
_HARNESS = frozenset({operation.__file__, allocs.__file__, __file__})

Where = tuple[str, str, int]  # function, file, line


@dataclass(frozen=True)
class Site:
    function: str
    filename: str
    line: int
    per_op: float
    # The line's source text, where known: it names a site across commits that moved it.
    text: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.per_op:7.2f}/op  {self.function} at {_short(self.filename)}:{self.line}"


def _short(filename: str) -> str:
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive (Windows)
        return filename
    return filename if relative.startswith("..") else relative


def memray_available() -> bool:
    try:
        import memray  # noqa: F401
    except ImportError:
        return False
    return True


def top_sites(run: Callable[[int], object], ops: int, *, limit: int = 5,
              source: str | None = None) -> tuple[str, list[Site]]:
    """(the source used, the `limit` sites with the most allocations per op of `run`).

    `source` is "memray" or "counter"; None picks memray where it imports.
    """
    if source is None:
        source = "memray" if memray_available() else "counter"
    if source not in SOURCES:
        raise ValueError(f"unknown site source {source!r}; choose from: {', '.join(SOURCES)}")
    run(min(ops, 100))  # warm caches and freelists outside the capture
    counts = _memray_counts(run, ops) if source == "memray" else _counter_counts(run, ops)
    sites = [Site(function, filename, line, count / ops)
             for (function, filename, line), count in counts.most_common()
             if count / ops >= MIN_PER_OP]
    return source, sites[:limit]


def _memray_counts(run: Callable[[int], object], ops: int) -> Counter[Where]:
    import memray

    allocating = {memray.AllocatorType.PYMALLOC_MALLOC, memray.AllocatorType.PYMALLOC_CALLOC,
                  memray.AllocatorType.PYMALLOC_REALLOC, memray.AllocatorType.MALLOC,
                  memray.AllocatorType.CALLOC, memray.AllocatorType.REALLOC}
    counts: Counter[Where] = Counter()
    with tempfile.TemporaryDirectory(prefix="vts-sites-") as tmp:
        path = Path(tmp) / "capture.bin"
        with memray.Tracker(str(path), trace_python_allocators=True):
            run(ops)
        with memray.FileReader(str(path)) as reader:
            for record in reader.get_allocation_records():
                if record.allocator not in allocating:
                    continue
                where = next((frame for frame in record.stack_trace()
                              if frame[1] not in _HARNESS), None)
                if where is not None:
                    counts[where] += record.n_allocations
    return counts


def _counter_counts(run: Callable[[int], object], ops: int) -> Counter[Where]:
    counter = allocs.counter()
    counts: Counter[Where] = Counter()
    running: list[Where | None] = [None]  # the line whose allocations are being counted

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        counter.stop()  # the tracer's own allocations are not the operation's
        allocated = counter.read()[0]
        where = running[0]
        if allocated and where is not None and where[1] not in _HARNESS:
            counts[where] += allocated
        code = frame.f_code
        running[0] = (code.co_name, code.co_filename, frame.f_lineno)
        counter.reset()
        counter.start()
        return trace

    counter.reset()
    sys.settrace(trace)
    try:
        run(ops)
    finally:
        sys.settrace(None)
        counter.stop()
    return counts


def difference(before: Sequence[Site], after: Sequence[Site]) -> list[Site]:
    """The sites whose allocations per op changed from `before` to `after` (another
    commit, say), each with its change as `per_op`, the largest change first.

    Sites match by file, function and the line's text where both know it, else by line
    number: a commit that adds a line moves the numbers of every line below it. Changes
    below MIN_PER_OP are left out."""
    def key(site: Site) -> tuple[str, str, str | int]:
        return site.filename, site.function, site.text or site.line

    change: dict[tuple[str, str, str | int], float] = {}
    named: dict[tuple[str, str, str | int], Site] = {}
    for sign, sites in ((-1.0, before), (1.0, after)):
        for site in sites:
            change[key(site)] = change.get(key(site), 0.0) + sign * site.per_op
            named[key(site)] = site  # the after side names a site both sides have
    moved = [Site(named[k].function, named[k].filename, named[k].line, delta, named[k].text)
             for k, delta in change.items() if abs(delta) >= MIN_PER_OP]
    return sorted(moved, key=lambda site: -abs(site.per_op))


def changed_line(site: Site) -> str:
    """A site of `difference` as a line, its source text after it where known:
    '  +1.00/op  get at vts/strategies/pooled.py:42  extra = object()'."""
    where = f"{site.per_op:+7.2f}/op  {site.function} at {_short(site.filename)}:{site.line}"
    return f"{where}  {site.text}" if site.text else where


__all__ = ["SOURCES", "Site", "changed_line", "difference", "memray_available", "top_sites"]
