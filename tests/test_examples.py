"""examples/ is written on vts's public surface, and docs/writing-a-source.md on examples/.

- No example uses a private name: no attribute or method starting with `_` (dunders
  aside: a method named so would override a private hook) and no import of a `_` module
  or name from vts. What an example does, a user may copy.
- Every Python block of the guide is copied from examples/request_response, whose tests
  run with `make test`: the guide cannot drift from code that runs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
GUIDE = ROOT / "docs" / "writing-a-source.md"
GUIDE_CODE = EXAMPLES / "request_response"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_names(source: str) -> list[tuple[int, str]]:
    """(line, what) for every private attribute or method, and every private name
    imported from vts, in line order."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            found.extend((item.lineno, f"method {item.name}") for item in node.body
                         if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                         and _private(item.name))
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            found.append((node.lineno, f"attribute {node.attr}"))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, f"import {alias.name}") for alias in node.names
                         if alias.name.split(".")[0] == "vts"
                         and any(map(_private, alias.name.split("."))))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "vts":
            module = node.module or ""
            if any(map(_private, module.split("."))):
                found.append((node.lineno, f"from {module} import"))
            found.extend((node.lineno, f"from {module} import {alias.name}")
                         for alias in node.names if _private(alias.name))
    return sorted(found)


def test_the_scan_finds_each_kind_of_private_name() -> None:
    source = ("import vts._speedups\n"
              "from vts._speedups import ValueTask\n"
              "from vts.strategies.base import _references, Strategy\n"
              "class S(Strategy):\n"
              "    def _fresh(self, value):\n"
              "        return value\n"
              "    def wait(self):\n"
              "        self._lock.acquire()\n"
              "        return self.__class__, self.lock\n"
              "def _helper():\n"
              "    pass\n")
    assert private_names(source) == [
        (1, "import vts._speedups"), (2, "from vts._speedups import"),
        (3, "from vts.strategies.base import _references"), (5, "method _fresh"),
        (8, "attribute _lock")]


def test_the_examples_use_no_private_name() -> None:
    files = sorted(EXAMPLES.rglob("*.py"))
    assert len(files) >= 6  # both examples: the plugin's package and tests, the guide's code
    found = [f"{path.relative_to(ROOT)}:{line}: {what}" for path in files
             for line, what in private_names(path.read_text())]
    assert found == []


def test_every_code_block_of_the_guide_is_in_the_examples_code() -> None:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    assert len(blocks) == 3
    code = "\n".join(path.read_text() for path in sorted(GUIDE_CODE.glob("*.py")))
    missing = [block.splitlines()[0] for block in blocks if block not in code]
    assert missing == []


def test_the_figures_the_guide_quotes_are_the_ones_its_test_pins() -> None:
    # The table's rows: the pooled client on C, a Future per request, the pooled client
    # on Python; each (asyncio, uvloop).
    rows = re.findall(r"\|\s+([\d.]+) \|\s+([\d.]+) \|$", GUIDE.read_text(), flags=re.M)
    assert rows == [("21.2", "3.2"), ("23.2", "5.2"), ("28.2", "10.2")]
    pinned = (GUIDE_CODE / "test_request_response.py").read_text()
    assert '("c", "asyncio"): (21.2, 23.2), ("c", "uvloop"): (3.2, 5.2),' in pinned
    assert '("python", "asyncio"): (28.2, 23.2), ("python", "uvloop"): (10.2, 5.2),' in pinned
