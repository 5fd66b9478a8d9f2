"""What was measured at a commit, kept: one JSON file per interpreter build and commit.

    <user cache>/vts/commits/<build key>/<commit sha>.json   {"method": 1, "cells": {id: entry}}

A commit's code and an interpreter build decide its counts (`vts.suite.builds`), so that
pair is the key, and a second `vts bisect` or `vts history --measure` over the same
commits measures nothing again. An entry holds the cell's `allocs` figures, its `sites`
(null: that commit has no attribution), and `instructions` once asked (a number, or a
string saying why there is none), or `unmeasurable`: why that commit cannot measure the
cell (it does not exist there, or crashes), which is as lasting as a count. A commit that
does not build is not kept: a missing compiler is this machine's state, not the commit's.

The directory is platformdirs' `user_cache_dir("vts")` (`$XDG_CACHE_HOME/vts` on Linux),
beside the other interpreters' venvs of an installed vts. Beside it, `commit-builds/<build
key>/<digest>/` keeps the extensions each distinct set of C sources built, so a commit
that changed no C copies them instead of compiling. `METHOD` changes when what an
entry means changes; files of another method are ignored. Trades: the cache trusts a
file it finds (written atomically, never partly); delete the directory to measure anew.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vts.suite.atomic import write_text

METHOD = 1

Entry = dict[str, Any]


def directory() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("vts")) / "commits"


def builds(build_key: str) -> Path:
    """Where commits' built extensions are kept for reuse, by the content of their C
    sources (`vts.suite.commits.tree.build`)."""
    return directory().parent / "commit-builds" / build_key


def _path(build_key: str, commit: str) -> Path:
    return directory() / build_key / f"{commit}.json"


def load(build_key: str, commit: str) -> dict[str, Entry]:
    """The entries kept for `commit` under `build_key`, by cell id (empty when none)."""
    try:
        data = json.loads(_path(build_key, commit).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("method") != METHOD:
        return {}
    cells = data.get("cells")
    return cells if isinstance(cells, dict) else {}


def store(build_key: str, commit: str, entries: dict[str, Entry]) -> None:
    """Keep `entries` for `commit` under `build_key`, beside the ones already kept."""
    path = _path(build_key, commit)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = {**load(build_key, commit), **entries}
    write_text(path, json.dumps({"method": METHOD, "cells": kept}, indent=1) + "\n")


__all__ = ["METHOD", "Entry", "builds", "directory", "load", "store"]
