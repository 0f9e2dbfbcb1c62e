"""The module graph runs one way: no module imports a module that imports it back.

Each pair below was an import cycle, hidden by an import inside a function; the shared part now
lives in a module both import. Importing the first module of a pair, in a fresh interpreter,
must not import the second, and (but for config, which builds the built-in SQLite backend
when a config names it) no import statement anywhere in its source, inside functions too, may
name it. Every arrow the README's Layout section draws is an import the code has.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import subprocess
import sys
from collections.abc import Iterable
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
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    assert [partner for partner in FORMER_CYCLES[module] if partner in loaded] == []


def _imported_modules(source: Path, nodes: Iterable[ast.AST] | None = None) -> set:
    """Every module an import statement in `source` names, at any depth (or among `nodes`)."""
    names = set()
    for node in nodes if nodes is not None else ast.walk(ast.parse(source.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@functools.cache
def _imported_anywhere(source: Path) -> set:
    return _imported_modules(source)


@pytest.mark.parametrize("module", sorted(set(FORMER_CYCLES) - {"omi.config"}))
def test_no_import_inside_a_function_hides_the_cycle_again(module):
    source = Path(omi.__file__).parent.joinpath(*module.split(".")[1:]).with_suffix(".py")
    assert sorted(set(FORMER_CYCLES[module]) & _imported_modules(source)) == []


# --- the README's module graph -------------------------------------------------------------

ARROW = re.compile(r"\s*(?:[├└]?─+>|·+>)\s*")


@functools.cache  # the README's drawing asks about some modules dozens of times
def _module_level_imports(source: Path) -> set:
    """What the import statements at the top of `source` (and in its top-level try/if blocks)
    name: what importing the module imports."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    top = [
        node
        for statement in tree.body
        for node in ast.walk(statement)
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and not _only_for_type_checkers(statement)
    ]
    return _imported_modules(source, top)


def _only_for_type_checkers(statement: ast.stmt) -> bool:
    """`if TYPE_CHECKING:` blocks never run, so they import nothing."""
    return isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test)


def _source_of(module: str) -> Path:
    path = Path(omi.__file__).parent.joinpath(*module.split(".")[1:])
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _resolve(name: str, near: str = "") -> str:
    """`conformance/suite` is omi.conformance.suite; a bare name is a module of the package of
    `near` (the module it is drawn beside) if there is one, else of omi."""
    dotted = name.replace("/", ".")
    sibling = f"{near.rpartition('.')[0]}.{dotted}"
    module = sibling if near and _source_of(sibling).exists() else f"omi.{dotted}"
    assert _source_of(module).exists(), f"the README draws {name!r}, which is no module of omi"
    return module


def readme_arrows() -> list:
    """(importer, imported, solid) for every arrow of the README's Layout drawing; a line that
    starts with an arrow continues from the first module of the line above that does not."""
    text = (Path(omi.__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    drawing = text.split("## Layout\n", 1)[1].split("```\n", 2)[1]
    arrows, head = [], ""
    for line in drawing.splitlines():
        line = line.split("(", 1)[0].rstrip()
        if not line.strip():
            continue
        parts = ARROW.split(line)
        kinds = ["·" not in arrow for arrow in ARROW.findall(line)]
        if not parts[0].strip():
            parts[0] = head
        else:
            head = parts[0] = _resolve(parts[0].strip())
        importer = parts[0]
        for solid, targets in zip(kinds, parts[1:], strict=True):
            names = [_resolve(name.strip(), importer) for name in targets.split(",")]
            arrows += [(importer, name, solid) for name in names]
            importer = names[-1]
    return arrows


def test_the_readme_draws_the_module_graph_as_the_code_has_it():
    arrows = readme_arrows()
    assert len(arrows) > 50  # the drawing was found and read
    wrong = []
    for importer, imported, solid in arrows:
        source = _source_of(importer)
        everywhere = _imported_anywhere(source)
        at_top = _module_level_imports(source)
        if solid and imported not in at_top:
            wrong.append(f"{importer} ──> {imported}: not imported at module level")
        if not solid and (imported in at_top or imported not in everywhere):
            wrong.append(f"{importer} ····> {imported}: not imported (only) inside a function")
    assert wrong == []


# --- the omi.cli package ---------------------------------------------------------------------


def test_every_omi_start_goes_through_a_package_that_imports_nothing():
    """The console script is omi.cli.launch, so Python imports omi.cli first on every start:
    were click imported there, the plain `plugins list` would pay for it again."""
    code = (
        "import json, sys, omi.cli, omi.cli.launch; "
        "print(json.dumps(sorted(m for m in sys.modules if m == 'click' or "
        "m.startswith('omi.'))))"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    assert loaded == ["omi.cli", "omi.cli.launch"]


def test_omi_cli_cli_is_still_the_click_group():
    """Earlier users' code (and mkdocs-click) import the group as omi.cli.cli."""
    import click

    from omi.cli import cli
    from omi.cli.root import cli as root_cli

    assert isinstance(cli, click.Group) and cli is root_cli
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        import omi.cli

        omi.cli.nothing  # noqa: B018


def test_the_conformance_package_has_no_import_cycle():
    """pluggy's shape: the check modules import `authoring` (never the registry), and the
    registry imports them by name (`CHECK_MODULES`); counting those names as imports, and
    every import statement at any depth, the graph of omi.conformance has no cycle."""
    from omi.conformance.registry import CHECK_MODULES

    package = Path(omi.__file__).parent / "conformance"
    modules = {
        f"omi.conformance.{path.stem}" for path in package.glob("*.py") if path.stem != "__init__"
    }
    edges = {
        module: {name for name in _imported_modules(_source_of(module)) if name in modules}
        for module in modules
    }
    edges["omi.conformance.registry"] |= set(CHECK_MODULES)
    assert set(CHECK_MODULES) <= modules

    def cycle_from(module: str, path: list) -> list | None:
        if module in path:
            return path[path.index(module) :] + [module]
        for imported in sorted(edges[module]):
            found = cycle_from(imported, [*path, module])
            if found:
                return found
        return None

    assert [cycle_from(module, []) for module in sorted(modules)] == [None] * len(modules)
