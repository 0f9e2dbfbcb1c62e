"""`omi plugins diff`: the author's changes against the template their project was rendered
from, as a patch `git apply` takes back (the record and the templates are real renderings)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from omi.cli import cli
from omi.scaffold import new_plugin
from omi.templatediff import MAX_SHOWN_BYTES, template_diff


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return new_plugin(
        "storage", "acme", tmp_path, {"author": "Ada", "email": "ada@example.org"}
    ).project_dir


def diff(*args: str):
    return CliRunner().invoke(cli, ["plugins", "diff", *args])


def test_an_untouched_project_has_no_changes(project: Path):
    assert template_diff(project)[1] == []
    result = diff(str(project))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "No changes against the omi-openclaw " in result.stderr


def test_the_diff_shows_edits_and_deletions_and_git_apply_takes_them_back(project: Path):
    readme, license_text = (project / "README.md").read_text(), (project / "LICENSE").read_text()
    (project / "README.md").write_text(readme.replace("## License", "## Licence"))
    (project / "LICENSE").write_text(license_text + "no newline")
    (project / "CHANGELOG.md").unlink()
    (project / "src/omi_storage_acme/extra.py").write_text("X = 1\n")  # added: not shown
    result = diff(str(project))
    assert result.exit_code == 0, result.output
    assert "--- a/README.md\n+++ b/README.md\n" in result.stdout
    assert "-## License\n+## Licence\n" in result.stdout
    assert "--- a/CHANGELOG.md\n+++ /dev/null\n" in result.stdout
    assert "+no newline\n\\ No newline at end of file\n" in result.stdout
    assert "extra.py" not in result.stdout
    assert diff(str(project), "--name-only").stdout.splitlines() == [
        "CHANGELOG.md",
        "LICENSE",
        "README.md",
    ]
    if shutil.which("git") is None:
        return
    subprocess.run(
        ["git", "apply", "-R", "-"],
        input=result.stdout,
        text=True,
        cwd=project,
        check=True,
        capture_output=True,
    )
    assert (project / "README.md").read_text() == readme
    assert (project / "LICENSE").read_text() == license_text
    assert template_diff(project)[1] == []


def test_files_that_cannot_be_shown_as_plain_text_are_named_and_not_printed(
    project: Path, tmp_path: Path
):
    (project / "README.md").write_bytes(b"\0binary")
    (project / "CHANGELOG.md").write_text("x" * (MAX_SHOWN_BYTES + 10))
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not the project's\n")
    (project / "LICENSE").unlink()
    (project / "LICENSE").symlink_to(outside)
    (project / "pyproject.toml").write_text("# \x1b]0;owned\x07 \u202e\u2028\n")
    (project / ".gitignore").write_text("tabs\tand CRLF\r\n")
    result = diff(str(project))
    assert result.exit_code == 0, result.output
    hidden = "changed (binary, control characters or over 1 MiB; not shown)"
    assert [line for line in result.stdout.splitlines() if ": " in line] == [
        f"CHANGELOG.md: {hidden}",
        "LICENSE: no longer a regular file",
        f"README.md: {hidden}",
        f"pyproject.toml: {hidden}",
    ]
    assert b"+tabs\tand CRLF\r\n" in result.stdout_bytes  # tabs and line ends: plain text
    assert "not the project's" not in result.output


def test_a_folder_without_a_record_is_a_one_line_error(tmp_path: Path):
    result = diff(str(tmp_path))
    assert result.exit_code == 2
    assert "has no .omi-template.json" in result.output
    assert len(result.output.strip().splitlines()) == 1
