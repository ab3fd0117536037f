"""Each header the orchestrator defines is named once, in ``orchestrator/headers.py``."""

from __future__ import annotations

import ast
from pathlib import Path

from orchestrator import headers

PACKAGE = Path(headers.__file__).resolve().parent
NAMES = [value for name, value in vars(headers).items() if name.isupper() and isinstance(value, str)]


def spelled_out(name: str) -> list[str]:
    """The modules of the package whose code (not their docstrings) spells ``name`` out."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        if any(
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and name.lower() in node.value.lower()
            and id(node) not in docstrings
            for node in ast.walk(tree)
        ):
            found.append(str(path.relative_to(PACKAGE)))
    return found


def test_the_timeout_header_is_among_the_names():
    assert "X-Request-Timeout-Ms" in NAMES


def test_each_header_is_spelled_out_only_where_it_is_defined():
    assert {name: spelled_out(name) for name in NAMES} == {name: ["headers.py"] for name in NAMES}
