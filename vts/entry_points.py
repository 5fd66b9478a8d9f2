"""Things an installed distribution adds through an entry-point group, checked and named.

Used by the strategy registry (group `vts.strategies`, library side) and the scenario
registry (group `vts.scenarios`, suite side). Each entry point is loaded once per
`sys.path` (entry points are exactly what the distributions on `sys.path` declare, so a
changed path is a new answer), and checked by the registry's `check`: an entry point that
fails to import, fails the check or reuses a taken name does not stop the others; it is
kept as a `Broken` record whose `message` is one line naming it, its distribution and the
fix, for `vts list` to print and for a lookup of that name to raise.

Trades: third-party code runs at the first lookup of a registry, not at `import vts`, so
importing the library stays cheap; a broken distribution is reported where it is used,
not where it is installed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Generic, TypeVar

T = TypeVar("T")

BUILT_IN = "built-in"


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered thing and where it comes from: `BUILT_IN` or a distribution name."""

    name: str
    value: T
    origin: str


@dataclass(frozen=True)
class Broken:
    """An entry point that could not be registered; `message` is the one-line error."""

    name: str
    origin: str
    message: str


@dataclass(frozen=True)
class Loaded(Generic[T]):
    entries: dict[str, Entry[T]]  # built-ins first, then entry points by name
    broken: dict[str, Broken]


def _origin(entry_point: metadata.EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    return dist.name if dist is not None else "an unknown distribution"


def _where(kind: str, entry_point: metadata.EntryPoint) -> str:
    return f"{kind} {entry_point.name!r} from {_origin(entry_point)} ({entry_point.value})"


def load(group: str, kind: str,
         check: Callable[[str, object], T]) -> tuple[list[Entry[T]], list[Broken]]:
    """Every entry point of `group`, by name: loaded and passing `check`, or broken.

    `check(name, obj)` returns the thing to register or raises TypeError saying what is
    wrong with `obj`, as a predicate ("is 42, not a Strategy subclass; point ...").
    """
    entries: list[Entry[T]] = []
    broken: list[Broken] = []
    for entry_point in sorted(metadata.entry_points(group=group), key=lambda e: e.name):
        name, origin = entry_point.name, _origin(entry_point)
        try:
            obj = entry_point.load()
        except Exception as exc:  # any import-time failure of third-party code
            broken.append(Broken(name, origin, f"{_where(kind, entry_point)} failed "
                                 f"to import: {type(exc).__name__}: {_first_line(exc)}"))
            continue
        try:
            entries.append(Entry(name, check(name, obj), origin))
        except TypeError as exc:
            broken.append(Broken(name, origin, f"{_where(kind, entry_point)} {exc}"))
    return entries, broken


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


class Registry(Generic[T]):
    """Built-ins (read at every call: they may be added to) and the entry points of one
    group (loaded once per `sys.path`), merged; an entry point reusing a taken name is
    broken."""

    def __init__(self, group: str, kind: str, built_in: Mapping[str, T],
                 check: Callable[[str, object], T]) -> None:
        self.group, self.kind = group, kind
        self._built_in = built_in
        self._check = check
        self._path: tuple[str, ...] | None = None
        self._plugins: tuple[list[Entry[T]], list[Broken]] = ([], [])

    def loaded(self) -> Loaded[T]:
        path = tuple(sys.path)
        if path != self._path:
            # Assigned together after loading: a concurrent caller at worst loads twice.
            self._plugins, self._path = load(self.group, self.kind, self._check), path
        plugins, broken_list = self._plugins
        entries: dict[str, Entry[T]] = {
            name: Entry(name, value, BUILT_IN) for name, value in self._built_in.items()}
        broken = {b.name: b for b in broken_list}
        for entry in plugins:
            if entry.name in entries:
                taken = entries[entry.name].origin
                owner = "the built-in one" if taken == BUILT_IN else taken
                broken[entry.name] = Broken(
                    entry.name, entry.origin,
                    f"{self.kind} {entry.name!r} from {entry.origin}: the name is taken by "
                    f"{owner}; rename the entry point in {self.group}")
            elif entry.name not in broken:
                entries[entry.name] = entry
        return Loaded(entries, broken)


__all__ = ["BUILT_IN", "Broken", "Entry", "Loaded", "Registry", "load"]
