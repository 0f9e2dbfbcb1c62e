"""A matrix as one self-contained HTML page: the grid coloured by status, each cell opening to
its failing checks and their messages, rows sortable by plugin or by grade.

The page loads nothing (its style and script are inline, and its Content-Security-Policy
forbids any other source). Every text in it, the plugins' output most of all, is escaped, and
its control characters are shown as escapes.
"""

from __future__ import annotations

from html import escape as escape_markup

from omi.matrix.cells import PASS, Cell
from omi.matrix.grade import TIERS
from omi.matrix.render import cell_text, column_title, columns, omi_title, row_title, summary
from omi.matrix.run import Matrix
from omi.textsafety import visible

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1f23}
table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:4px 8px;
vertical-align:top;text-align:left}th{background:#f6f8fa}
td.pass{background:#dafbe1}td.fail{background:#ffd8d3}td.install-error{background:#ffb3a8}
td.not-tested{background:#fff4c2}td.regression{outline:3px solid #cf222e;outline-offset:-3px}
summary{cursor:pointer;white-space:nowrap}ul{margin:4px 0;padding-left:1.2em;max-width:40em}
code{font-size:12px}button{margin-right:.5em}.meta{color:#57606a}
"""
SCRIPT = """
function sortRows(key){const body=document.querySelector('#grid tbody');
const rows=[...body.rows];rows.sort((a,b)=>key==='grade'
?(b.dataset.grade-a.dataset.grade)||a.dataset.plugin.localeCompare(b.dataset.plugin)
:a.dataset.plugin.localeCompare(b.dataset.plugin));rows.forEach(r=>body.appendChild(r));}
document.getElementById('by-plugin').onclick=()=>sortRows('plugin');
document.getElementById('by-grade').onclick=()=>sortRows('grade');
"""
POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def escape(text: str) -> str:
    """`text` as HTML text or attribute value: markup escaped, control characters shown."""
    return escape_markup(visible(text))


def _details(cell: Cell) -> str:
    """What opening a cell shows: its message, failing checks, grade and what the grade lacks."""
    items: list[str] = []
    if cell.message and cell.status != PASS:
        items.append(f"<li>{escape(cell.message)}</li>")
    items += [
        f"<li><code>{escape(str(item.get('check')))}</code> "
        f"({escape(str(item.get('plugin')))}): {escape(str(item.get('message')))}</li>"
        for item in cell.failed_checks
    ]
    items.append(
        f"<li>grade: {escape(cell.grade or 'none')}"
        + (f"; missing: {escape(', '.join(cell.grade_missing))}" if cell.grade_missing else "")
        + "</li>"
    )
    versions = f"plugin {cell.plugin_version or '?'}, omi {cell.omi_version or '?'}"
    items.append(
        f"<li class=meta>{escape(versions)}; {cell.seconds:.1f} s"
        f"{' (cached environment)' if cell.cached else ''}</li>"
    )
    return f"<ul>{''.join(items)}</ul>"


def _td(cell: Cell | None) -> str:
    if cell is None:
        return "<td>·</td>"
    classes = cell.status + (" regression" if cell.regression else "")
    return (
        f'<td class="{escape(classes)}"><details><summary>{escape(cell_text(cell))}'
        f"</summary>{_details(cell)}</details></td>"
    )


def _row_grade(cells: list[Cell]) -> int:
    """A row's rank for sorting: its lowest grade among the cells (-1 when one has none)."""
    ranks = [TIERS.index(c.grade) if c.grade in TIERS else -1 for c in cells]
    return min(ranks) if ranks else -1


def render_html(matrix: Matrix) -> str:
    by_key: dict[tuple[str, str, str], Cell] = {cell.key: cell for cell in matrix.cells}
    cols = columns(matrix)
    head = "".join(f"<th>{escape(column_title(matrix, *col))}</th>" for col in cols)
    rows = []
    for plugin in matrix.plugins:
        cells = [by_key.get((plugin, omi, python)) for omi, python, _ in cols]
        title = row_title(matrix, plugin)
        rank = _row_grade([cell for cell in cells if cell is not None])
        rows.append(
            f'<tr data-plugin="{escape(title)}" data-grade="{rank}">'
            f'<th title="{escape(plugin)}">{escape(title)}</th>'
            f"{''.join(_td(cell) for cell in cells)}</tr>"
        )
    baseline = f"; baseline {escape(omi_title(matrix, matrix.baseline))}" if matrix.baseline else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{POLICY}">
<title>omi plugins matrix</title><style>{STYLE}</style></head>
<body><h1>omi plugins matrix</h1>
<p>{escape(summary(matrix))}</p>
<p class=meta>Environments: {escape(matrix.installer or "unknown")}{baseline}.
Open a cell for its failing checks and grade.</p>
<p><button id="by-plugin" type="button">Sort by plugin</button><button id="by-grade"
type="button">Sort by grade</button></p>
<table id="grid"><thead><tr><th>plugin</th>{head}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<script>{SCRIPT}</script></body></html>
"""
