"""Every module in streams/ has its own test module here, named after it, and every operator's
module draws its marble sketch; the package's public names are where the package says."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import streams

ROOT = Path(__file__).resolve().parents[2]
#: What the operators are built on rather than operators themselves: no diagram to draw.
NOT_OPERATORS = {"lean", "subscriptions"}


def modules() -> list[str]:
    return sorted(path.stem for path in (ROOT / "streams").glob("*.py") if path.stem != "__init__")


def test_every_module_has_a_test_module_of_its_name():
    tests = {path.stem for path in (ROOT / "tests" / "streams").glob("test_*.py")}
    assert [name for name in modules() if f"test_{name}" not in tests] == []


def test_every_test_module_here_tests_a_module_there():
    """A test module left behind by a renamed module would hide the new one's lack of tests."""
    tests = {path.stem.removeprefix("test_") for path in (ROOT / "tests" / "streams").glob("test_*.py")}
    assert sorted(tests - set(modules()) - {"every_operator"}) == []


def test_every_operator_module_draws_its_marble_sketch():
    undrawn = []
    for name in modules():
        docstring = ast.get_docstring(ast.parse((ROOT / "streams" / f"{name}.py").read_text())) or ""
        if name not in NOT_OPERATORS and "::" not in docstring:
            undrawn.append(name)
    assert undrawn == []


def test_the_package_public_names_are_the_modules_own():
    for name in streams.__all__:
        exported = getattr(streams, name)
        module = importlib.import_module(exported.__module__)
        assert module.__name__.startswith("streams."), name
        assert getattr(module, name) is exported, name
