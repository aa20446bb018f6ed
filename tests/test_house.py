"""House rules checked on the source (STYLE.md, section 8): at most three positional
parameters per function, the rest keyword-only (``tools/positional.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

import thresher
from tests.tools import load_tool

ROOT = Path(__file__).resolve().parent.parent
SRC = Path(thresher.__file__).parent

# Functions left with more than three positional parameters, each with why (numba
# kernels are not counted: see tools/positional.py). None is left.
ALLOWED: dict[str, str] = {}


def _over_limit() -> set[str]:
    tool = load_tool("positional")
    found = set()
    for path in sorted(SRC.rglob("*.py")):
        for fn, method in tool.functions(ast.parse(path.read_text(), str(path))):
            if not tool.kernel(fn) and tool.positional(fn, method) > tool.LIMIT:
                found.add(f"{path.relative_to(SRC).as_posix()}:{fn.name}")
    return found


def test_functions_take_at_most_three_positional_parameters() -> None:
    over = _over_limit()
    assert not over - set(ALLOWED), f"keyword-only past the third: {sorted(over - set(ALLOWED))}"
    assert not set(ALLOWED) - over, f"drop from ALLOWED: {sorted(set(ALLOWED) - over)}"


def test_the_count_sees_methods_kernels_and_keyword_only_parameters() -> None:
    tool = load_tool("positional")
    tree = ast.parse(
        "def a(x, y, z, w): pass\n"
        "def b(x, y, z, *, w): pass\n"
        "class C:\n"
        "    def m(self, x, y, z): pass\n"
        "    @staticmethod\n"
        "    def s(x, y, z, w): pass\n"
        "@njit(cache=True)\n"
        "def k(x, y, z, w): pass\n")
    over = {fn.name for fn, method in tool.functions(tree)
            if not tool.kernel(fn) and tool.positional(fn, method) > tool.LIMIT}
    assert over == {"a", "s"}
