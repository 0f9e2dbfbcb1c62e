"""The house style, held by the suite so that CI keeps it: ruff's lint and formatter are clean
on everything the project writes, and no function of omi is longer than a screen."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["omi", "tests", "bench", "docs"]
#: The longest function worth reading in one go, counted from `def` to its last line.
LONGEST_FUNCTION = 60


@pytest.mark.parametrize(
    "command", [["check"], ["format", "--check"]], ids=["ruff check", "ruff format --check"]
)
def test_ruff_is_clean(command: list[str]):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--no-cache", *CHECKED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def long_functions(source: str, longest: int) -> list[str]:
    """The functions of `source` longer than `longest` lines, as 'name (N lines)'."""
    return [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > longest
    ]


def test_long_functions_finds_a_long_one_and_passes_a_short_one():
    body = "\n".join(f"    x{i} = {i}" for i in range(LONGEST_FUNCTION))
    assert long_functions(f"def long():\n{body}\n", LONGEST_FUNCTION) == ["long (61 lines)"]
    assert long_functions("def short():\n    return 1\n", LONGEST_FUNCTION) == []


def test_no_function_of_omi_is_over_sixty_lines():
    found = {
        str(path.relative_to(ROOT)): long_functions(
            path.read_text(encoding="utf-8"), LONGEST_FUNCTION
        )
        for path in sorted((ROOT / "omi").rglob("*.py"))
    }
    assert {path: names for path, names in found.items() if names} == {}
