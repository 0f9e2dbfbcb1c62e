"""The inner loop (`-m "not slow"`) reaches every module of omi.

A module counts when a test file that has a test the inner loop runs imports it (at any depth,
inside functions too, through the helper modules of tests/), or when a module so reached
imports it: what the inner loop's tests load. Imports named in strings count too: a module
name alone (the check registry's list), an import statement in a string (the plugin sources
tests write out), `"-m", "omi"` (omi/__main__.py). A module only the slow tests reach fails here:
give it a fast test.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

import omi

PACKAGE = Path(omi.__file__).parent
TESTS = Path(__file__).parent
MODULE = r"omi(?:\.\w+)*"
IN_STRING = re.compile(rf"^({MODULE})$|\b(?:from|import)\s+({MODULE})")
RUN_AS_MAIN = re.compile(rf"[\"']-m[\"'],\s*[\"']({MODULE})[\"']")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _named(source: Path) -> set[str]:
    """Every module an import statement in `source` names, at any depth, with its parents."""
    text = source.read_text(encoding="utf-8")
    names = {f"{package}.__main__" for package in RUN_AS_MAIN.findall(text)}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.update(
                filter(None, (name for found in IN_STRING.findall(node.value) for name in found))
            )
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {
        ".".join(name.split(".")[:end]) for name in names for end in range(1, name.count(".") + 2)
    }


def _reached(start: Iterable[Path], graph: dict[str, Path]) -> set[str]:
    """The omi modules `start` (test files) import, and theirs in turn, and tests/' helpers'."""
    helpers = {path.stem: path for path in TESTS.glob("*.py")}
    todo, seen = list(start), set()
    reached: set[str] = set()
    while todo:
        source = todo.pop()
        if source in seen:
            continue
        seen.add(source)
        for name in _named(source):
            if name in graph:
                reached.add(name)
                todo.append(graph[name])
            elif name in helpers:
                todo.append(helpers[name])
    return reached


@pytest.mark.slow  # it collects the suite in another pytest: the whole suite checks the inner loop
def test_every_module_of_omi_is_reached_by_a_test_of_the_inner_loop():
    collected = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-m",
            "not slow",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            str(TESTS),
        ],
        cwd=TESTS.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    files = {
        TESTS.parent / line.split("::")[0] for line in collected.stdout.splitlines() if "::" in line
    }
    assert TESTS / "test_plugins.py" in files and len(files) > 20  # the collection was read
    assert TESTS / "test_examples.py" not in files  # slow as a whole: the selection was made
    graph = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    assert sorted(set(graph) - _reached(files, graph)) == []
