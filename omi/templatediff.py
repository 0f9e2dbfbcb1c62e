"""`omi plugins diff`: what the author changed against the template, as a unified diff.

The template side is the base the project records (`.omi-template-base.json`): the rendering
it was generated or last updated from, so the diff shows the author's own work and nothing the
installed templates changed since (`omi plugins update --dry-run` shows that). Paths are the
project's, `a/` the template's and `b/` the author's, as `git apply` reads them.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from omi.confine import UnsafePath, confined
from omi.record import as_text, read_record
from omi.textsafety import safe_lines

#: A file larger than this is said to differ, not shown line by line.
MAX_SHOWN_BYTES = 1 << 20


@dataclass
class FileDiff:
    """One template file the author changed."""

    path: str
    status: str  # modified, deleted, replaced (no longer a regular file) or binary
    lines: list[str]  # the unified diff, empty unless the change can be shown as text


def _current(project: Path, path: str) -> tuple[str, bytes]:
    """("file", its first bytes), ("missing", b"") or ("other", b"") for a path of the
    project that is a symlink, a folder, or behind a symlinked folder."""
    try:
        target = confined(project, path)
    except UnsafePath:
        return "other", b""
    if target.is_symlink() or (target.exists() and not target.is_file()):
        return "other", b""
    if not target.exists():
        return "missing", b""
    with target.open("rb") as stream:
        return "file", stream.read(MAX_SHOWN_BYTES + 1)


def _printable_or_none(text: str | None) -> str | None:
    """`text` when a terminal can show it raw (no control or format character but tabs and
    line ends: the files, the base even, may come from someone else), else None."""
    return text if text is None or safe_lines(text, layout="\t\r\n") else None


def _diff(path: str, template: bytes, project: Path) -> FileDiff | None:
    """How the author's `path` differs from the template's content, or None."""
    kind, yours = _current(project, path)
    if kind == "file" and yours == template:
        return None
    if kind == "other":
        return FileDiff(path, "replaced", [])
    old = _printable_or_none(as_text(template))
    new = "" if kind == "missing" else _printable_or_none(as_text(yours))
    if old is None or new is None or len(yours) > MAX_SHOWN_BYTES:
        return FileDiff(path, "deleted" if kind == "missing" else "binary", [])
    target = "/dev/null" if kind == "missing" else f"b/{path}"
    return FileDiff(
        path,
        "deleted" if kind == "missing" else "modified",
        list(
            difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", target
            )
        ),
    )


def template_diff(project: os.PathLike[str] | str) -> tuple[str, list[FileDiff]]:
    """The omi-openclaw release the project's template files were rendered with, and those
    of them the author changed, in path order."""
    project = Path(project).resolve()
    answers, base = read_record(project)
    changed = [found for path in sorted(base) if (found := _diff(path, base[path], project))]
    return str(answers.get("omi_openclaw_version", "?")), changed
