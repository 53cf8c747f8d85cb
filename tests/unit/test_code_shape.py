"""The shape issue 20 asked for, kept: short functions, and tests that use only public names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "transferkit"
TESTS = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 80
REASON_PREFIX = "# Long:"  # a comment right above a longer function says why it is long


def _functions(path: Path):
    lines = path.read_text(encoding="utf-8").splitlines()
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            above = lines[first - 2].strip() if first >= 2 else ""
            yield node, node.end_lineno - node.lineno + 1, above


def test_no_function_is_long_without_a_stated_reason():
    long = [
        f"{path.relative_to(SRC)}::{node.name} ({length} lines)"
        for path in sorted(SRC.rglob("*.py"))
        for node, length, above in _functions(path)
        if length > MAX_FUNCTION_LINES and not above.startswith(REASON_PREFIX)
    ]
    assert not long, f"split these, or say why above them with '{REASON_PREFIX} ...': {long}"


@pytest.mark.parametrize("path", sorted(TESTS.rglob("*.py")), ids=lambda p: str(p.relative_to(TESTS)))
def test_tests_import_only_public_names(path):
    private = [
        f"line {node.lineno}: {node.module}.{alias.name}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("transferkit")
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert not private, f"{path.name} imports private names (test the public API instead): {private}"
