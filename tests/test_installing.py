"""Installing the toolkit as the documentation says: the commands of the guide's "Installing"
section run for real (from a copy named as a clone is, and from a git URL), and every extra the
documents name exists, with the same name in omi-openclaw and in the generated plugins."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from venvs import copy_checkout, make_venv

from omi import tomlfile
from omi.scaffold import new_plugin

ROOT = Path(__file__).resolve().parent.parent
INDEX = ROOT / "docs" / "pages" / "index.md"
#: The documents a plugin author reads.
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs" / "pages").rglob("*.md"))]
#: Where a plugin project is installed: the generated files, `new`'s next steps, the release
#: workflow's plugins, the guide's first plugin.
PLUGIN_DOCUMENTS = [
    ROOT / "templates" / "_shared" / "README.md",
    ROOT / "templates" / "_shared" / "workflows" / "ci.yml",
    ROOT / "omi" / "cli" / "plugin_commands.py",
    ROOT / ".github" / "workflows" / "release.yml",
    ROOT / "docs" / "pages" / "guide" / "first-plugin.md",
]
#: `omi-openclaw[extra]` in any install form, and the README's `pip install -e ".[extra]"`.
OMI_EXTRA = re.compile(r"omi[-_]openclaw[^\s\[\"']*\[(\w+)\]|\.whl\)\[(\w+)\]")
README_EXTRA = re.compile(r"""pip install -e ["']\.\[(\w+)\]""")
#: A plugin project's `-e .[extra]` or `-e DIR[extra]`.
PLUGIN_EXTRA = re.compile(r"""-e\s+["']?(?:\.|\{where\}|[\w-]*release-check)\[(\w+)\]""")


def extras(pyproject: Path) -> list[str]:
    return sorted(tomlfile.load(str(pyproject))["project"]["optional-dependencies"])


def named(pattern: re.Pattern[str], documents: list[Path]) -> set[str]:
    return {
        extra
        for path in documents
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
        for extra in match.groups()
        if extra
    }


def test_every_extra_the_documents_name_exists_with_one_name_on_both_sides(tmp_path: Path):
    plugin = new_plugin("event", "acme", tmp_path).project_dir
    assert extras(ROOT / "pyproject.toml") == ["dev", "docs", "testing"]
    assert extras(plugin / "pyproject.toml") == ["testing"]
    assert (
        {"testing", "docs"} <= named(OMI_EXTRA, DOCUMENTS) <= set(extras(ROOT / "pyproject.toml"))
    )
    assert named(README_EXTRA, [ROOT / "README.md"]) == {"docs", "testing"}  # its own, a plugin's
    assert named(PLUGIN_EXTRA, PLUGIN_DOCUMENTS) == {"testing"}


def test_no_document_says_pip_install_omi_openclaw_alone():
    """Until the first release, a bare `pip install omi-openclaw` fails: every install line
    takes a path, a wheel or a URL, or says what to do before the release."""
    for path in DOCUMENTS + PLUGIN_DOCUMENTS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.search(r"pip install (-U )?[\"']?omi-openclaw(\[\w+\])?[\"']?\s*($|#)", line):
                assert "before its first release" in line, (path, line)


def documented(prefix: str) -> str:
    """The command of the Installing section that starts with `prefix`, comment dropped."""
    section = INDEX.read_text(encoding="utf-8").split("## Installing", 1)[1].split("\n## ")[0]
    [line] = [line for line in section.splitlines() if line.startswith(prefix)]
    return line.split("  #")[0].strip()


def install(command: str, cwd: Path, tmp_path: Path) -> Path:
    """Run a documented pip command in a new virtual environment; return its bin folder."""
    bin_dir = make_venv(tmp_path / "venv", pip=True)
    completed = subprocess.run(
        ["bash", "-c", f'PATH="{bin_dir}:$PATH"; {command}'],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return bin_dir


def clone(tmp_path: Path) -> Path:
    """A copy of this repository in a folder named as `git clone` names it."""
    return copy_checkout(tmp_path / "omi-openclaw")


def assert_usable(bin_dir: Path, cwd: Path) -> None:
    """`omi` runs, renders a plugin, and omi.testing imports (pytest came with [testing])."""
    completed = subprocess.run(
        [str(bin_dir / "python"), "-c", "import omi, omi.testing, pytest; print(omi.__file__)"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert Path(completed.stdout.strip()).is_relative_to(bin_dir.parent)
    made = subprocess.run(
        [str(bin_dir / "omi"), "plugins", "new", "event", "first", "--no-input"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr


@pytest.mark.slow
def test_the_documented_install_from_a_clone_works(tmp_path: Path):
    clone(tmp_path)
    bin_dir = install(documented('pip install "./omi-openclaw[testing]"'), tmp_path, tmp_path)
    assert_usable(bin_dir, tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_documented_install_from_a_git_url_works(tmp_path: Path):
    """The same line with a file URL for the repository: no network needed. (The URL names
    localhost: some releases of pip refuse a git+file:/// URL without a host.)"""
    source = clone(tmp_path / "src")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "x"],
    ):
        subprocess.run(["git", *args], cwd=source, check=True, capture_output=True)
    command = documented('pip install "omi-openclaw[testing] @ git+').replace(
        "https://github.com/OWNER/omi-openclaw", f"file://localhost{source.as_posix()}"
    )
    assert "git+file://localhost/" in command
    bin_dir = install(command, tmp_path, tmp_path)
    assert_usable(bin_dir, tmp_path)
