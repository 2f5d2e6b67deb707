"""Rules of the architecture that a reader cannot see from one module (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import redist
import theories

LIB = Path(redist.__file__).parent
THEORIES = Path(theories.__file__).parent


def _sources(*roots: Path) -> list[Path]:
    return sorted(p for r in roots for p in r.rglob("*.py"))


@pytest.mark.parametrize("path", _sources(LIB), ids=lambda p: str(p.relative_to(LIB.parent)))
def test_the_library_never_prints_or_exits(path):
    if "cli" in path.relative_to(LIB).parts:
        return  # the command line is the only code that prints
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("print", "exit", "quit"), f"{path.name}:{node.lineno}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            assert not (isinstance(owner, ast.Name) and owner.id == "sys" and node.func.attr == "exit"), (
                f"{path.name}:{node.lineno}"
            )


def test_nothing_parses_parameter_labels():
    for path in _sources(LIB):
        text = path.read_text(encoding="utf-8")
        assert 'split("[")' not in text and "index(\"ff" not in text, path


def test_the_sm_point_is_declared_once():
    """The SM value of cVL is typed out only in the WET theory (everything else asks its reference point)."""
    hits = [p for p in _sources(LIB, THEORIES) if "6.613" in p.read_text(encoding="utf-8")]
    assert hits == [THEORIES / "wet.py"]


def test_one_sample_scaling_rule():
    """Only redist/workspace.py multiplies histosys lo/hi data (the sample-scaling rule)."""
    hits = [p.name for p in _sources(LIB) if '"lo_data", "hi_data"' in p.read_text(encoding="utf-8")]
    assert hits == ["workspace.py"]
