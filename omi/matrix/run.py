"""Running a matrix: the cells, in parallel; the regressions against the baseline; the exit code;
and the omi-matrix/1 document that `--format json` writes and `merge` reads back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omi import __version__
from omi.errors import UsageError
from omi.matrix.cells import FAILING, PASS, STATUSES, Cell, CellSpec, Settings, run_cell
from omi.matrix.grade import TIERS

SCHEMA = "omi-matrix/1"
MAX_CELLS = 10_000
MAX_DOCUMENT = 64 * 2**20  # bytes of a report `merge` reads


@dataclass
class Matrix:
    """A run's cells, and what they were asked to be."""

    plugins: list[str]
    omis: list[str]
    pythons: list[str]
    baseline: str | None = None
    installer: str = ""
    cells: list[Cell] = field(default_factory=list)

    def candidates(self) -> list[Cell]:
        return [cell for cell in self.cells if not cell.baseline]

    def regressions(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.regression]

    def exit_code(self) -> int:
        """With a baseline, 1 only for a regression; without, 1 for any cell that failed or did
        not install."""
        if self.baseline is not None:
            return 1 if self.regressions() else 0
        return 1 if any(cell.status in FAILING for cell in self.cells) else 0

    def counts(self) -> dict[str, int]:
        counts = {status: 0 for status in STATUSES}
        for cell in self.candidates() or self.cells:
            counts[cell.status] += 1
        counts["regressions"] = len(self.regressions())
        return counts


def plan(
    plugins: Sequence[str], omis: Sequence[str], pythons: Sequence[str], baseline: str | None
) -> list[CellSpec]:
    """Every plugin x omi x python, the baseline's cells first."""
    columns = ([(baseline, True)] if baseline else []) + [(omi, False) for omi in omis]
    specs = [
        CellSpec(plugin, omi, python, is_baseline)
        for plugin in plugins
        for omi, is_baseline in columns
        for python in pythons
    ]
    if len(specs) > MAX_CELLS:
        raise UsageError(f"{len(specs)} cells is more than {MAX_CELLS}; split the plugin list")
    return specs


def mark_regressions(matrix: Matrix) -> None:
    """A candidate cell that fails where the baseline's cell of its plugin and Python passed."""
    passed = {(c.plugin, c.python) for c in matrix.cells if c.baseline and c.status == PASS}
    for cell in matrix.cells:
        cell.regression = (
            not cell.baseline and cell.status in FAILING and (cell.plugin, cell.python) in passed
        )


def run_matrix(
    matrix: Matrix,
    settings: Settings,
    jobs: int,
    progress: Callable[[int, int, Cell], None] | None = None,
) -> Matrix:
    """Run every cell of `matrix` (`jobs` at a time) and mark the regressions."""
    specs = plan(matrix.plugins, matrix.omis, matrix.pythons, matrix.baseline)
    matrix.installer = settings.installer.describe()
    done: dict[CellSpec, Cell] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(specs) or 1))) as pool:
        futures = {pool.submit(run_cell, spec, settings): spec for spec in specs}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            if progress:
                progress(len(done), len(specs), done[futures[future]])
    matrix.cells = [done[spec] for spec in specs]
    mark_regressions(matrix)
    return matrix


# --- the omi-matrix/1 document ----------------------------------------------------------------


def to_document(matrix: Matrix) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "omi_openclaw": __version__,
        "installer": matrix.installer,
        "plugins": matrix.plugins,
        "omis": matrix.omis,
        "pythons": matrix.pythons,
        "baseline": matrix.baseline,
        "summary": matrix.counts(),
        "exit_code": matrix.exit_code(),
        "cells": [cell.to_dict() for cell in matrix.cells],
    }


#: The JSON types each field of a cell may have in a report (None: the field may be null).
CELL_TYPES: dict[str, tuple[type, ...]] = {
    "plugin": (str,),
    "omi": (str,),
    "python": (str,),
    "status": (str,),
    "plugin_name": (str, type(None)),
    "plugin_version": (str, type(None)),
    "omi_version": (str, type(None)),
    "message": (str, type(None)),
    "grade": (str, type(None)),
    "baseline": (bool,),
    "regression": (bool,),
    "cached": (bool,),
    "seconds": (int, float),
    "failed_checks": (list,),
    "counts": (dict,),
    "grade_missing": (list,),
}


def _cell(data: Any, where: str) -> Cell:
    """A cell of a report, every field checked as data; one line naming what is wrong."""
    if not isinstance(data, dict) or data.get("status") not in STATUSES:
        raise UsageError(
            f"{where}: a cell is not an omi-matrix/1 cell (needs a status of {', '.join(STATUSES)})"
        )
    for name, types in CELL_TYPES.items():
        if (name in data or name in ("plugin", "omi", "python")) and not isinstance(
            data.get(name), types
        ):
            raise UsageError(
                f"{where}: a cell's {name!r} is not {' or '.join(t.__name__ for t in types)}"
            )
    if data.get("grade") not in (None, *TIERS):
        raise UsageError(f"{where}: a cell's grade is not one of {', '.join(TIERS)}")
    values = {name: data[name] for name in CELL_TYPES if name in data}
    values["failed_checks"] = [
        {key: str(item.get(key, "")) for key in ("plugin", "check", "message")}
        for item in data.get("failed_checks", [])
        if isinstance(item, dict)
    ]
    values["counts"] = {str(k): v for k, v in data.get("counts", {}).items() if isinstance(v, int)}
    values["grade_missing"] = [str(name) for name in data.get("grade_missing", [])]
    return Cell(**values)


def load_document(path: str) -> Matrix:
    """A report `--format json` wrote, checked as data: one line naming what is wrong."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_DOCUMENT + 1)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    if len(raw) > MAX_DOCUMENT:
        raise UsageError(f"{path} is larger than {MAX_DOCUMENT >> 20} MiB; is it a report?")
    try:
        document = json.loads(raw)
    except ValueError as error:
        raise UsageError(
            f"{path} is not JSON ({error}); give reports written by "
            f"omi plugins matrix --format json"
        ) from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise UsageError(
            f'{path} is not an {SCHEMA} report (its "schema" is '
            f"{document.get('schema') if isinstance(document, dict) else None!r})"
        )
    lists = {name: document.get(name) for name in ("plugins", "omis", "pythons", "cells")}
    if not all(isinstance(value, list) for value in lists.values()):
        raise UsageError(f"{path}: plugins, omis, pythons and cells must be lists")
    baseline = document.get("baseline")
    return Matrix(
        [str(p) for p in lists["plugins"] or []],
        [str(o) for o in lists["omis"] or []],
        [str(p) for p in lists["pythons"] or []],
        baseline if isinstance(baseline, str) else None,
        str(document.get("installer", "")),
        [_cell(cell, path) for cell in lists["cells"] or []],
    )


def merge(paths: Sequence[str]) -> Matrix:
    """One matrix of the cells of many reports (one per CI job), regressions marked anew."""
    parts = [load_document(path) for path in paths]
    baselines = {part.baseline for part in parts if part.baseline is not None}
    if len(baselines) > 1:
        raise UsageError(f"the reports name different baselines: {', '.join(sorted(baselines))}")
    merged = Matrix([], [], [], baselines.pop() if baselines else None)
    cells: dict[tuple[str, str, str], Cell] = {}
    for path, part in zip(paths, parts, strict=True):
        for cell in part.cells:
            if cell.key in cells:
                raise UsageError(
                    f"{path} has the cell {' x '.join(cell.key)} another report "
                    f"has too; merge each cell's report once"
                )
            cells[cell.key] = cell
        merged.installer = merged.installer or part.installer
        for mine, theirs in (
            (merged.plugins, part.plugins),
            (merged.omis, part.omis),
            (merged.pythons, part.pythons),
        ):
            mine += [item for item in theirs if item not in mine]
    if len(cells) > MAX_CELLS:
        raise UsageError(f"{len(cells)} cells is more than {MAX_CELLS}")
    order = {
        spec: n
        for n, spec in enumerate(plan(merged.plugins, merged.omis, merged.pythons, merged.baseline))
    }
    merged.cells = sorted(
        cells.values(),
        key=lambda c: order.get(CellSpec(c.plugin, c.omi, c.python, c.baseline), len(order)),
    )
    mark_regressions(merged)
    return merged


def write_text(path: str, text: str) -> None:
    """Write a report whole or not at all."""
    from omi.atomic import write_atomically

    target = Path(path).absolute()
    write_atomically(target.parent, {target.name: text.encode("utf-8")})
