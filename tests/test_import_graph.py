"""The module graph runs one way: no module imports a module that imports it back.

Each pair below was an import cycle, hidden by an import inside a function; the shared part now
lives in a module both import. Importing the first module of a pair, in a fresh interpreter,
must not import the second, and (but for config, which builds the built-in SQLite backend
when a config names it) no import statement anywhere in its source, inside functions too, may
name it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import omi

FORMER_CYCLES = {
    "omi.scaffold": ["omi.update"],
    "omi.record": ["omi.scaffold", "omi.update"],
    "omi.merge": ["omi.scaffold", "omi.update", "omi.record"],
    "omi.config": ["omi.builtin.sqlite"],
    "omi.builtin.sqlite": ["omi.config", "omi.host"],
    "omi.conformance.worker": ["omi.conformance.runner"],
    "omi.conformance.outcome": ["omi.conformance.runner", "omi.conformance.worker"],
}


@pytest.mark.parametrize("module", sorted(FORMER_CYCLES))
def test_importing_a_module_does_not_import_its_former_cycle_partner(module):
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                       text=True, check=True).stdout)
    assert [partner for partner in FORMER_CYCLES[module] if partner in loaded] == []


def _imported_modules(source: Path) -> set:
    """Every module an import statement in `source` names, at any depth."""
    names = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("module", sorted(set(FORMER_CYCLES) - {"omi.config"}))
def test_no_import_inside_a_function_hides_the_cycle_again(module):
    source = Path(omi.__file__).parent.joinpath(*module.split(".")[1:]).with_suffix(".py")
    assert sorted(set(FORMER_CYCLES[module]) & _imported_modules(source)) == []
