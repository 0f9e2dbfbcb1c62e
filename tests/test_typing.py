"""omi passes the strict type check that pyproject.toml configures: plain `mypy` in the
repository's root checks every module of omi with --strict, for Python 3.10.

mypy keeps its cache where it does for a developer (.mypy_cache, ignored by git): after the
first run it analyses only what changed, in about a second.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted((ROOT / "omi").rglob("*.py"))


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m mypy ARGS` in the repository's root, so that pyproject.toml configures it."""
    return subprocess.run(
        [sys.executable, "-m", "mypy", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_the_configured_mypy_run_finds_no_error_in_any_module_of_omi():
    result = mypy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"Success: no issues found in {len(MODULES)} source files", (
        result.stdout
    )


def test_the_configured_mypy_run_is_strict_and_for_python_3_10(tmp_path: Path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import tomllib\n\n\ndef untyped(value):\n    return value\n", encoding="utf-8"
    )
    result = mypy(str(probe))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Function is missing a type annotation  [no-untyped-def]" in result.stdout
    assert (
        'Cannot find implementation or library stub for module named "tomllib"' in result.stdout
    )  # tomllib is new in 3.11


def test_the_lazy_names_of_omi_conformance_are_typed_as_what_they_import():
    """`omi.conformance` imports its names on first use (`_HOMES`); type checkers read them
    from its `if TYPE_CHECKING:` imports and `__all__`, which must name the same things."""
    import omi.conformance

    source = ast.parse((ROOT / "omi" / "conformance" / "__init__.py").read_text("utf-8"))
    [block] = [
        node
        for node in source.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    ]
    typed = {
        node.module: {alias.name for alias in node.names}
        for node in block.body
        if isinstance(node, ast.ImportFrom)
    }
    assert typed == {
        f"omi.conformance.{module}": set(names) for module, names in omi.conformance._HOMES.items()
    }
    assert omi.conformance.__all__ == sorted(omi.conformance._MODULE_OF)
