"""Build the allocation counter for THIS interpreter and print its calibration as JSON.

Usage: <python> tests/calibration_probe.py BUILD_DIR   (with PYTHONPATH at the source tree)

Run by tests/test_allocs.py under every installed interpreter. Those are bare interpreters
(3.12+ have no setuptools, none has the suite's dependencies), so the extension is compiled
with the compiler and flags the interpreter was built with (sysconfig), as setuptools would,
plus -Wall -Wextra -Werror. Exit status 3 means the interpreter has no C headers.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import shlex
import subprocess
import sys
import sysconfig
import types
from pathlib import Path

EXIT_NO_HEADERS = 3


def stub_packages() -> Path:
    """Register `vts`, `vts.suite` and `vts.suite.measure` without running their `__init__`;
    return vts's directory.

    `vts/__init__.py` re-exports the public surface, which may import third-party packages
    the bare interpreters lack; the probe needs only `vts.suite.measure.allocs` and
    `vts.suite.measure.calibration` (stdlib only).
    """
    spec = importlib.machinery.PathFinder.find_spec("vts")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("error: package 'vts' not found; set PYTHONPATH to the source tree")
    vts_dir = Path(next(iter(spec.submodule_search_locations)))
    for name, path in (("vts", vts_dir), ("vts.suite", vts_dir / "suite"),
                       ("vts.suite.measure", vts_dir / "suite" / "measure")):
        package = types.ModuleType(name)
        package.__path__ = [str(path)]
        sys.modules[name] = package
    return vts_dir


def build(source: Path, build_dir: Path) -> Path:
    include = sysconfig.get_paths()["include"]
    if not (Path(include) / "Python.h").is_file():
        print(f"no Python.h under {include} (install the interpreter's headers)", file=sys.stderr)
        sys.exit(EXIT_NO_HEADERS)
    config = sysconfig.get_config_var
    build_dir.mkdir(parents=True, exist_ok=True)
    obj = build_dir / "_alloccount.o"
    shared = build_dir / f"_alloccount{config('EXT_SUFFIX')}"
    compile_cmd = [
        *shlex.split(config("CC")),
        *shlex.split(config("CFLAGS") or ""),
        *shlex.split(config("CCSHARED") or ""),
        "-Wall", "-Wextra", "-Werror",
        f"-I{include}", "-c", str(source), "-o", str(obj),
    ]  # fmt: skip
    link_cmd = [*shlex.split(config("LDSHARED")), str(obj), "-o", str(shared)]
    for cmd in (compile_cmd, link_cmd):
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"error: {shlex.join(cmd)}\n{done.stdout}{done.stderr}")
    return shared


def load_counter(shared: Path) -> None:
    name = "vts.suite.measure._alloccount"
    spec = importlib.util.spec_from_file_location(name, shared)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module


def main() -> None:
    vts_dir = stub_packages()
    load_counter(build(vts_dir / "suite" / "measure" / "_alloccount.c", Path(sys.argv[1])))
    from vts.suite.measure import calibration

    figures = {name: case() for name, case in calibration.CALIBRATION.items()}
    json.dump(
        {
            "version": list(sys.version_info[:2]),
            "allocs_per_op": {name: f.allocs_per_op for name, f in figures.items()},
            "bytes_per_op": {name: f.bytes_per_op for name, f in figures.items()},
            "gc_per_1k_ops": {name: f.gc_per_1k_ops for name, f in figures.items()},
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
