"""The package's two halves and the direction of their imports.

Rule (as this test states it): every module of the library (`vts/**`, outside `vts/suite/`,
except the command's entry point `vts/__main__.py`) imports nothing from `vts.suite`; and
no chain of imports between vts's own modules leads back to where it started. Imports are
read from the source with `ast`, at any depth (a lazy import inside a function counts too).
An edge goes to the module named, or to `pkg.name` where `from pkg import name` names a
submodule.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "vts"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The vts modules that `path` imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in known else node.module)
    return {name for name in found if name == "vts" or name.startswith("vts.")}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, set(known)) for name, path in known.items()}


def is_suite(name: str) -> bool:
    return name == "vts.suite" or name.startswith("vts.suite.")


def test_the_library_imports_nothing_from_the_suite() -> None:
    offenders = sorted(
        f"{name} imports {target}"
        for name, targets in graph().items()
        if not is_suite(name) and name != "vts.__main__"
        for target in targets
        if is_suite(target)
    )
    assert offenders == []


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `edges` as a path [a, b, ..., a], or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for target in sorted(edges.get(node, ())):
            if target in on_path:
                return [*path[path.index(target):], target]
            if target not in done:
                cycle = visit(target)
                if cycle:
                    return cycle
        on_path.discard(path.pop())
        done.add(node)
        return None

    for start in sorted(edges):
        if start not in done:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_no_import_cycle_among_vts_modules() -> None:
    edges = {name: targets - {name} for name, targets in graph().items()}
    assert find_cycle(edges) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    # The checker itself must be able to fail.
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_gate_decides_and_the_report_renders() -> None:
    # The gate imports neither the report side nor its number formatting (it did, and
    # the report imported the gate: a cycle hidden behind TYPE_CHECKING).
    gate = graph()["vts.suite.gate"]
    render = ("vts.suite.report", "vts.suite.formatting")
    assert sorted(t for t in gate if t.startswith(render)) == []


def test_the_suite_finds_the_repository_root() -> None:
    # Runs, .venvs and the cells' PYTHONPATH hang off it; the move changed its depth.
    from vts.suite.environments import ROOT

    assert PACKAGE.parent == ROOT and (ROOT / "pyproject.toml").is_file()


def commands_importing_commands(edges: dict[str, set[str]]) -> list[str]:
    """Every "command imports another command" edge: commands share code through the
    suite's core modules (`vts.suite.measure.session`, `vts.suite.report.write`), never
    through each other. The package itself (`commands/__init__`, the table of them) may
    import them all."""
    package = "vts.suite.commands"
    return sorted(f"{name} imports {target}" for name, targets in edges.items()
                  if name.startswith(package + ".")
                  for target in targets
                  if target.startswith(package + ".") and target != name)


def test_no_command_imports_another() -> None:
    assert commands_importing_commands(graph()) == []


def test_the_command_check_finds_a_command_importing_another() -> None:
    edges = {"vts.suite.commands.gate": {"vts.suite.commands.bench", "vts.suite.gate"},
             "vts.suite.commands": {"vts.suite.commands.gate"},
             "vts.suite.commands.bench": {"vts.suite.measure.session"}}
    assert commands_importing_commands(edges) == [
        "vts.suite.commands.gate imports vts.suite.commands.bench"]


SUITE_MODULE_LINES = 350  # about one screenful of jobs; a longer module says why
LONG_MODULE_REASON = "Over 350 lines because"


def long_suite_modules(sources: dict[str, str]) -> list[str]:
    """Suite modules over SUITE_MODULE_LINES lines whose docstring does not say why."""
    return sorted(name for name, text in sources.items()
                  if text.count("\n") > SUITE_MODULE_LINES and LONG_MODULE_REASON not in text)


def test_suite_modules_stay_short_or_say_why() -> None:
    sources = {name: path.read_text(encoding="utf-8") for name, path in modules().items()
               if name.startswith("vts.suite")}
    assert long_suite_modules(sources) == []


def test_the_length_check_finds_a_long_module() -> None:
    long = "x = 1\n" * 351
    assert long_suite_modules({"a": long, "b": f'"""{LONG_MODULE_REASON} it must."""\n{long}',
                               "c": "x = 1\n"}) == ["a"]
