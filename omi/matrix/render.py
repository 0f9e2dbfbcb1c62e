"""A matrix for people and for machines: the terminal table, Markdown (a pull-request comment),
the omi-matrix/1 JSON, and a GitHub Actions strategy matrix of its cells.

Plugin names, versions and messages are text OMI did not write: the table shows them
`visible`, Markdown escapes what GitHub would read as markup or HTML.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from omi.matrix.cells import FAIL, INSTALL_ERROR, NOT_TESTED, PASS, Cell
from omi.matrix.run import Matrix, to_document
from omi.textsafety import one_line

MARKS = {PASS: "✓", FAIL: "✗", NOT_TESTED: "⚠", INSTALL_ERROR: "✗"}
MAX_GITHUB_JOBS = 256  # GitHub runs at most this many jobs of one matrix


def short(requirement: str) -> str:
    """A requirement as a column or row heading: a path by its last part."""
    return os.path.basename(requirement.rstrip("/")) if os.sep in requirement else requirement


def columns(matrix: Matrix) -> list[tuple[str, str, bool]]:
    """(omi, python, is the baseline) of each column, the baseline's first."""
    omis = ([(matrix.baseline, True)] if matrix.baseline else []) + [
        (o, False) for o in matrix.omis
    ]
    return [(omi, python, base) for omi, base in omis for python in matrix.pythons]


def omi_title(matrix: Matrix, omi: str) -> str:
    """An omi requirement as a heading: a wheel or directory by the version it installed."""
    versions = {c.omi_version for c in matrix.cells if c.omi == omi and c.omi_version}
    if not (os.sep in omi or os.path.exists(omi)):
        return omi
    return f"omi {versions.pop()}" if len(versions) == 1 else short(omi)


def column_title(matrix: Matrix, omi: str, python: str, baseline: bool) -> str:
    return f"{omi_title(matrix, omi)} py{python}" + (" [baseline]" if baseline else "")


def row_title(matrix: Matrix, plugin: str) -> str:
    named = [c for c in matrix.cells if c.plugin == plugin and c.plugin_name]
    if named:
        return f"{named[0].plugin_name} {named[0].plugin_version or ''}".strip()
    return short(plugin)


def cell_text(cell: Cell | None) -> str:
    """What a table cell says: its mark, then its grade, failure count or status."""
    if cell is None:
        return "·"
    if cell.status == PASS:
        text = f"✓ {cell.grade or 'no grade'}"
    elif cell.status == FAIL:
        text = f"✗ {len(cell.failed_checks) or ''} failed".replace("  ", " ")
    elif cell.status == INSTALL_ERROR:
        text = "✗ install error"
    else:
        text = "⚠ not tested"
    return text + (" REGRESSION" if cell.regression else "")


def grid(matrix: Matrix) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of the table: plugins down, omi x python across."""
    by_key: dict[tuple[str, str, str], Cell] = {cell.key: cell for cell in matrix.cells}
    cols = columns(matrix)
    header = ["plugin"] + [column_title(matrix, *col) for col in cols]
    rows = [
        [row_title(matrix, plugin)]
        + [cell_text(by_key.get((plugin, omi, python))) for omi, python, _ in cols]
        for plugin in matrix.plugins
    ]
    return header, rows


def summary(matrix: Matrix) -> str:
    """The counts of the cells (the candidates' when there is a baseline)."""
    counts = matrix.counts()
    counted = len(matrix.candidates() or matrix.cells)
    line = (
        f"{counted} cell(s): {counts[PASS]} ✓ pass, {counts[FAIL]} ✗ fail, "
        f"{counts[NOT_TESTED]} ⚠ not tested, {counts[INSTALL_ERROR]} ✗ install error"
    )
    if matrix.baseline is not None:
        line += (
            f"; {counts['regressions']} regression(s) against {omi_title(matrix, matrix.baseline)}"
        )
        if matrix.candidates():
            line += f"; its own {len(matrix.cells) - counted} cell(s) are not counted"
    return line


def problems(matrix: Matrix, line: Callable[[str], str]) -> list[str]:
    """What went wrong in each cell that did not pass, `line` applied to every text."""
    out = []
    for cell in matrix.cells:
        if cell.status == PASS:
            continue
        where = (
            f"{row_title(matrix, cell.plugin)} x {omi_title(matrix, cell.omi)} x py{cell.python}"
        )
        flag = " (REGRESSION)" if cell.regression else ""
        out.append(line(f"{MARKS[cell.status]} {where}: {cell.status}{flag}: {cell.message or ''}"))
        out += [
            "    "
            + line(f"{item.get('check')} ({item.get('plugin')}): {_cut(str(item.get('message')))}")
            for item in cell.failed_checks
        ]
    return out


def _cut(message: str, limit: int = 200) -> str:
    """A check's message in a table's notes (the JSON and HTML keep it whole)."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def render_text(matrix: Matrix) -> str:
    header, rows = grid(matrix)
    rows = [[one_line(text) for text in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [f"Environments: {one_line(matrix.installer) or 'unknown'}"]
    for n, row in enumerate(rows):
        cells = (text.ljust(width) for text, width in zip(row, widths, strict=True))
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * width for width in widths))
    lines.append(summary(matrix))
    lines += problems(matrix, one_line)
    return "\n".join(lines)


def markdown_text(text: str) -> str:
    """`text` as literal Markdown: no HTML, no link, no table cell break, no emphasis."""
    text = one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in "\\`*_[]|#!":
        text = text.replace(char, "\\" + char)
    return text


def render_markdown(matrix: Matrix) -> str:
    header, rows = grid(matrix)
    lines = [
        "### omi plugins matrix",
        "",
        "| " + " | ".join(markdown_text(text) for text in header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(markdown_text(text) for text in row) + " |" for row in rows]
    lines += [
        "",
        markdown_text(summary(matrix)) + f" — environments: {markdown_text(matrix.installer)}",
    ]
    found = problems(matrix, markdown_text)
    if found:
        lines += ["", "<details><summary>What failed</summary>", ""]
        lines += [f"  - {text.strip()}" if text.startswith(" ") else f"- {text}" for text in found]
        lines += ["", "</details>"]
    return "\n".join(lines)


def render_json(matrix: Matrix) -> str:
    return json.dumps(to_document(matrix), indent=2, ensure_ascii=False)


def github_matrix(matrix: Matrix) -> str:
    """The cells as a GitHub Actions strategy matrix: each job runs one cell with
    `omi plugins matrix --plugin PLUGIN OMI_FLAG OMI --python PYTHON`."""
    from omi.errors import UsageError
    from omi.matrix.run import plan

    specs = plan(matrix.plugins, matrix.omis, matrix.pythons, matrix.baseline)
    if len(specs) > MAX_GITHUB_JOBS:
        raise UsageError(
            f"{len(specs)} cells is more than the {MAX_GITHUB_JOBS} jobs GitHub "
            f"runs of one matrix; split the plugin list"
        )
    include = [
        {
            "name": f"{short(s.plugin)} x {short(s.omi)} x py{s.python}",
            "plugin": s.plugin,
            "omi": s.omi,
            "omi_flag": "--baseline" if s.baseline else "--omi",
            "python": s.python,
        }
        for s in specs
    ]
    return json.dumps({"include": include}, ensure_ascii=False)


RENDERERS: dict[str, Callable[[Matrix], str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
}
