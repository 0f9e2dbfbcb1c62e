"""A plugin project rendered from the older template (tests/data/older) and edited as its
author would: what the tests of `omi plugins update`, the record, the merge engines and the
atomic writes share. Their fixtures (`isolated_git`, `old_project`) are in conftest."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from omi import update
from omi.cli import cli
from omi.record import ANSWERS_FILE, BASE_FILE, read_record, record_files
from omi.scaffold import new_plugin

OLDER_TEMPLATE = Path(__file__).parent / "data" / "older" / "templates" / "embedding"
PROJECT = "omi-embedding-hello"
EMBEDDER = "src/omi_embedding_hello/embedder.py"
OUR_FILE = "src/omi_embedding_hello/tokens.py"
TEMPLATE_LINE = "`omi plugins update` can bring in later template improvements."
ENGINES = [
    "python",
    pytest.param(
        "git", marks=pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
    ),
]


def render_project(where: Path, template_dir: Path | None = None) -> Path:
    where.mkdir(exist_ok=True)
    made = new_plugin(
        "embedding",
        "hello",
        where,
        {"author": "Ada", "email": "ada@example.org"},
        template_dir=template_dir,
    )
    return made.project_dir


# What an author does to the project; each edit is a function of the text, so the tests can
# apply it to the template's current rendering and know the exact expected result.
def edit_embedder(text: str) -> str:
    old = "        return [self._hash_features(text) for text in texts]\n"
    assert old in text, "test data: the template's _embed_texts line changed"
    return text.replace(
        old,
        "        # Case-insensitive: our users shout.\n"
        "        return [self._hash_features(text.casefold()) "
        "for text in texts]\n",
    )


def edit_readme(text: str) -> str:
    return text.replace(
        "## Configuration\n",
        "## Why hello\n\nBecause every project starts with one.\n\n## Configuration\n",
        1,
    )


AUTHOR_EDITS = {EMBEDDER: edit_embedder, "README.md": edit_readme}


def edit_as_author(project: Path) -> None:
    for path, edit in AUTHOR_EDITS.items():
        (project / path).write_text(edit((project / path).read_text()))
    (project / OUR_FILE).write_text("def tokens(text):\n    return text.split()\n")


def snapshot(project: Path) -> dict[str, bytes]:
    """Every file's content and every folder (as b"<dir>") under `project`."""
    return {
        p.relative_to(project).as_posix(): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(project.rglob("*"))
    }


def current_rendering(project: Path) -> dict[str, bytes]:
    """What the installed template renders with `project`'s answers."""
    return update.render(read_record(project)[0])[0]


def invoke(*args: str):
    return CliRunner().invoke(cli, ["plugins", "update", *args])


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, check=True, capture_output=True, text=True
    ).stdout


def commit_all(project: Path) -> None:
    if not (project / ".git").exists():
        git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "snapshot")


def edit_answers(project: Path, **changes) -> None:
    """Change fields of the answers file by hand (its base fingerprint still matches)."""
    answers = json.loads((project / ANSWERS_FILE).read_text())
    (project / ANSWERS_FILE).write_text(json.dumps({**answers, **changes}))


def write_base(project: Path, files: dict[str, object]) -> None:
    """What anyone can do: write a base of their own and the fingerprint that matches it.
    A value that is not bytes goes into the base file as it is (a malformed entry)."""
    answers = {
        key: value
        for key, value in json.loads((project / ANSWERS_FILE).read_text()).items()
        if key != "base"
    }
    plain = {path: content for path, content in files.items() if isinstance(content, bytes)}
    record = record_files(answers, plain)
    base = json.loads(record[BASE_FILE])
    base["files"].update(
        {path: content for path, content in files.items() if not isinstance(content, bytes)}
    )
    (project / ANSWERS_FILE).write_bytes(record[ANSWERS_FILE])
    (project / BASE_FILE).write_text(json.dumps(base))
