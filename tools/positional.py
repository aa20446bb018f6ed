"""List the functions that take more than three positional parameters (STYLE.md, section 8).

``self`` and ``cls`` of methods are not counted. numba kernels (``@njit``) are left out:
numba binds a call from one compiled function to another by position only and cannot
give a keyword-only parameter its value. Prints one line per offender
(``path:line: name (n positional)``) and, last, how many functions there are in all::

    python tools/positional.py src/thresher
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

LIMIT = 3


def positional(fn: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> int:
    """How many parameters of ``fn`` can be given by position (``self``/``cls`` aside)."""
    n = len(fn.args.posonlyargs) + len(fn.args.args)
    static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)
    return n - 1 if method and not static and n else n


def kernel(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether ``fn`` is compiled by numba (``@njit``, ``@njit(...)``, ``@numba.njit``)."""
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in ("njit", "jit"):
            return True
    return False


def functions(tree: ast.AST) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef, bool]]:
    """Every function in ``tree``, and whether it is a method (defined in a class body)."""
    def walk(node: ast.AST, in_class: bool) -> Iterator[
            tuple[ast.FunctionDef | ast.AsyncFunctionDef, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield child, in_class
                yield from walk(child, False)
            else:
                yield from walk(child, isinstance(child, ast.ClassDef))
    yield from walk(tree, False)


def offenders(root: Path) -> tuple[list[str], int]:
    """``path:line: name (n positional)`` for each function over the limit under
    ``root`` (numba kernels aside), and how many functions there are in all (the same)."""
    found, total = [], 0
    for path in sorted(root.rglob("*.py")):
        for fn, method in functions(ast.parse(path.read_text(), str(path))):
            if kernel(fn):
                continue
            total += 1
            n = positional(fn, method)
            if n > LIMIT:
                found.append(f"{path}:{fn.lineno}: {fn.name} ({n} positional)")
    return found, total


def main() -> None:
    found, total = offenders(Path(sys.argv[1] if len(sys.argv) > 1 else "src/thresher"))
    print("\n".join(found))
    print(f"{len(found)} of {total} functions take more than {LIMIT} positional parameters "
          f"({100 * len(found) / max(total, 1):.1f}%)")


if __name__ == "__main__":
    main()
