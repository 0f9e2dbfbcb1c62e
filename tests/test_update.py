"""`omi plugins update`: a project rendered from an older template, edited by its author, then
updated to the installed templates; --check, --dry-run, --init, --skip, --set; the git work
tree; what an update must not do on its own; files written once."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from template_projects import (
    EMBEDDER,
    ENGINES,
    OLDER_TEMPLATE,
    OUR_FILE,
    PROJECT,
    TEMPLATE_LINE,
    commit_all,
    current_rendering,
    edit_answers,
    edit_as_author,
    edit_readme,
    git,
    invoke,
    render_project,
    snapshot,
    write_base,
)

from omi import __version__, update
from omi.record import ANSWERS_FILE, BASE_FILE, read_record
from omi.scaffold import new_plugin
from omi.update import UpdateError

pytestmark = pytest.mark.usefixtures("isolated_git")  # see conftest


# --- the project's bounds: symlinked folders ------------------------------------------------


@pytest.mark.parametrize("option", ["--allow-dirty", "--check", "--dry-run"])
def test_a_symlinked_folder_is_not_followed_out_of_the_project(tmp_path: Path, option: str):
    """With src/omi_embedding_hello a symlink to a folder elsewhere, `update --set` rewrote
    the files there; now nothing is read or written through it."""
    project = render_project(tmp_path / "work")
    package = project / "src" / "omi_embedding_hello"
    elsewhere = tmp_path / "elsewhere"
    package.rename(elsewhere)
    package.symlink_to(elsewhere, target_is_directory=True)
    outside, before = snapshot(elsewhere), snapshot(project)
    result = invoke(str(project), option, "--set", "description=Rewritten")
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert "goes through src/omi_embedding_hello, a symlink" in result.stderr
    assert "or --skip that folder" in result.stderr
    assert snapshot(elsewhere) == outside and snapshot(project) == before


# --- updating from the older template -------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_update_keeps_the_authors_edits_and_brings_the_templates_changes(
    old_project: Path, engine: str
):
    edit_as_author(old_project)
    ours = (old_project / OUR_FILE).read_bytes()
    embedder = (old_project / EMBEDDER).read_bytes()
    plan = update.plan_update(old_project, engine=engine)
    statuses = {change.path: change.status for change in plan.changes}
    assert EMBEDDER not in statuses  # the author's since `new` wrote it: never merged into
    assert statuses[".github/workflows/ci.yml"] == "updated"
    assert statuses[".github/workflows/release.yml"] == "added"
    assert statuses["MANIFEST.in"] == "deleted"
    assert statuses["README.md"] == "merged"
    assert plan.behind and not plan.conflicts
    update.apply_update(plan)

    fresh = current_rendering(old_project)
    readme = (old_project / "README.md").read_text()
    assert readme == edit_readme(fresh["README.md"].decode())
    assert TEMPLATE_LINE in readme and "## Why hello" in readme  # both sides, in one file
    assert (old_project / EMBEDDER).read_bytes() == embedder != fresh[EMBEDDER]
    for path in (".github/workflows/ci.yml", ".github/workflows/release.yml", "pyproject.toml"):
        assert (old_project / path).read_bytes() == fresh[path], path
    assert "windows-latest" in (old_project / ".github/workflows/ci.yml").read_text()
    assert not (old_project / "MANIFEST.in").exists()
    assert (old_project / OUR_FILE).read_bytes() == ours
    assert not [
        p
        for p in old_project.rglob("*")
        if ".rej" in p.name or ".omi-" in p.name and p.name not in (ANSWERS_FILE, BASE_FILE)
    ]

    answers, base = read_record(old_project)
    assert answers["omi_openclaw_version"] == __version__
    assert base == fresh
    again = update.plan_update(old_project, engine=engine)
    assert not again.behind and not again.changes and not again.record_changed


@pytest.mark.parametrize("engine", ENGINES)
def test_an_edit_to_lines_the_template_changed_is_a_conflict_with_markers(
    old_project: Path, engine: str
):
    ci = old_project / ".github/workflows/ci.yml"
    ci.write_text(ci.read_text().replace('["3.10", "3.11", "3.12"]', '["3.11", "3.12"]'))
    plan = update.plan_update(old_project, engine=engine)
    [conflict] = plan.conflicts
    assert conflict.path == ".github/workflows/ci.yml"
    assert "resolve the 1 <<<<<<< block(s)" in conflict.note
    update.apply_update(plan)
    text = ci.read_text()
    mine, theirs = (
        text.split("<<<<<<< yours\n")[1]
        .split(">>>>>>> template (omi-openclaw")[0]
        .split("=======\n")
    )
    assert '["3.11", "3.12"]' in mine and '"3.13"' in theirs
    assert "- name: Check the distributions" in text  # the template's other change merged
    assert TEMPLATE_LINE in (old_project / "README.md").read_text()  # other files updated


def test_files_the_template_added_or_deleted_against_the_authors_changes(old_project: Path):
    (old_project / "MANIFEST.in").write_text("include README.md\ninclude NOTICE\n")
    (old_project / ".github/workflows/release.yml").write_text("name: Our release\n")
    (old_project / ".github/workflows/ci.yml").unlink()
    plan = update.plan_update(old_project)
    notes = {change.path: change.note for change in plan.conflicts}
    assert "the template deleted it but you changed it" in notes["MANIFEST.in"]
    assert "you and the template both added it" in notes[".github/workflows/release.yml"]
    assert "you deleted it and the template changed it" in notes[".github/workflows/ci.yml"]
    update.apply_update(plan)
    assert (old_project / "MANIFEST.in").read_text() == "include README.md\ninclude NOTICE\n"
    release = (old_project / ".github/workflows/release.yml").read_text()
    assert "<<<<<<< yours\nname: Our release\n=======\n" in release
    assert not (old_project / ".github/workflows/ci.yml").exists()  # not resurrected
    (old_project / ".github/workflows/release.yml").write_text("name: Our release\n")
    assert not update.plan_update(old_project).behind  # reported once; the base moved on


def test_a_folder_where_the_template_has_a_file_is_a_one_line_error(old_project: Path):
    (old_project / ".github/workflows/release.yml").mkdir()
    before = snapshot(old_project)
    result = invoke(str(old_project))
    assert result.exit_code == 2, result.output
    assert (
        "is not a regular file" in result.stderr
        and "--skip .github/workflows/release.yml" in result.stderr
    )
    assert snapshot(old_project) == before


def test_path_defaults_to_the_current_directory(old_project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(old_project)
    result = invoke("--check")
    assert result.exit_code == 1 and "A .github/workflows/release.yml" in result.output
    result = invoke("--init")
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert invoke("--init", "--check").exit_code == 2


def test_skip_leaves_matching_files_alone_and_is_remembered(old_project: Path):
    edit_as_author(old_project)
    readme = (old_project / "README.md").read_text()
    result = invoke(str(old_project), "--skip", "README.md", "--skip", ".github/")
    assert result.exit_code == 0, result.output
    assert "S README.md: --skip" in result.output
    assert (old_project / "README.md").read_text() == readme
    assert not (old_project / ".github/workflows/release.yml").exists()
    assert not (old_project / "MANIFEST.in").exists()  # not skipped: deleted as the template did
    assert read_record(old_project)[0]["skip"] == ["README.md", ".github/"]
    # A later update (here: a changed answer) still leaves README.md alone.
    result = invoke(str(old_project), "--set", "description=Vectors that say hello")
    assert result.exit_code == 0, result.output
    assert (old_project / "README.md").read_text() == readme
    assert 'description = "Vectors that say hello"' in (old_project / "pyproject.toml").read_text()


def test_skip_on_a_current_project_is_recorded_without_touching_files(tmp_path: Path):
    project = render_project(tmp_path)
    before = snapshot(project)
    result = invoke(str(project), "--skip", "LICENSE")
    assert result.exit_code == 0, result.output
    assert "Recorded the new answers" in result.output
    after = snapshot(project)
    assert {path for path in before if before[path] != after[path]} == {ANSWERS_FILE}
    assert read_record(project)[0]["skip"] == ["LICENSE"]


def test_set_changes_an_answer_and_re_renders(tmp_path: Path):
    project = render_project(tmp_path)
    result = invoke(str(project), "--set", "description=Vectors that say hello")
    assert result.exit_code == 0, result.output
    assert "M README.md" in result.output and "M pyproject.toml" in result.output
    assert "Vectors that say hello\n" in (project / "README.md").read_text()
    assert read_record(project)[0]["variables"]["description"] == "Vectors that say hello"
    assert invoke(str(project), "--check").exit_code == 0


@pytest.mark.parametrize(
    "setting, message",
    [
        ("colour=red", "Unknown template variable(s) colour"),
        ("license=WTFPL", "Unknown license 'WTFPL'"),
        ("description", "--set takes KEY=VALUE"),
    ],
)
def test_a_bad_set_is_a_one_line_error_and_nothing_changes(
    old_project: Path, setting: str, message: str
):
    before = snapshot(old_project)
    result = invoke(str(old_project), "--set", setting)
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert snapshot(old_project) == before


# --- --check and --dry-run ------------------------------------------------------------------


def test_check_exits_0_on_a_current_project_and_1_on_a_behind_one(
    tmp_path: Path, old_project: Path
):
    current = render_project(tmp_path / "current")
    result = invoke(str(current), "--check")
    assert result.exit_code == 0, result.output
    assert f"{PROJECT} is current with the omi-openclaw {__version__} templates" in result.output

    before = snapshot(old_project)
    result = invoke(str(old_project), "--check")
    assert result.exit_code == 1, result.output
    assert "is behind" in result.output
    for line in (
        "M .github/workflows/ci.yml",
        "A .github/workflows/release.yml",
        "D MANIFEST.in",
        "M README.md",
    ):
        assert f"  {line}" in result.output.splitlines(), line
    assert snapshot(old_project) == before


def test_dry_run_prints_the_diff_and_writes_nothing(old_project: Path):
    edit_as_author(old_project)
    before = snapshot(old_project)
    result = invoke(str(old_project), "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "--- /dev/null\n+++ b/.github/workflows/release.yml\n" in out
    assert "--- a/MANIFEST.in\n+++ /dev/null\n" in out
    assert "\n-        os: [ubuntu-latest]\n" in out
    assert "\n+        os: [ubuntu-latest, macos-latest, windows-latest]\n" in out
    assert (
        f"+{TEMPLATE_LINE}\n" in out
        and "## Why hello" not in out.split("+++ b/README.md")[1].split("@@")[0]
    )
    assert "nothing written" in out
    assert snapshot(old_project) == before


@pytest.mark.parametrize("plugin_type", ["embedding", "storage", "event"])
def test_every_template_re_renders_exactly_so_a_new_project_is_current(
    tmp_path: Path, plugin_type: str
):
    made = new_plugin(plugin_type, "acme", tmp_path, {"license": "Apache-2.0"})
    result = invoke(str(made.project_dir), "--check")
    assert result.exit_code == 0, result.output
    result = invoke(str(made.project_dir), "--set", "license=BSD-3-Clause")
    assert result.exit_code == 0, result.output
    assert "M LICENSE" in result.output
    assert "Redistribution and use" in (made.project_dir / "LICENSE").read_text()


def test_check_and_dry_run_together_are_refused(old_project: Path):
    result = invoke(str(old_project), "--check", "--dry-run")
    assert result.exit_code == 2 and "pick one" in result.stderr


# --- the git work tree ----------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_dirty_work_tree_is_refused_unless_allowed(old_project: Path):
    commit_all(old_project)
    edit_as_author(old_project)
    before = snapshot(old_project)
    result = invoke(str(old_project))
    assert result.exit_code == 2, result.output
    assert "uncommitted changes" in result.stderr and "--allow-dirty" in result.stderr
    assert snapshot(old_project) == before

    commit_all(old_project)
    result = invoke(str(old_project))  # clean now: one reviewable change
    assert result.exit_code == 0, result.output
    assert "Note:" not in result.output
    changed = git(old_project, "status", "--porcelain").splitlines()
    assert (
        " M .github/workflows/ci.yml" in changed and "?? .github/workflows/release.yml" in changed
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_status_asks_the_projects_repository_not_the_one_git_dir_names(
    old_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Run from a git hook of another repository (GIT_DIR, GIT_WORK_TREE set), the update
    still checks the project's own work tree: clean, so no refusal and no note."""
    commit_all(old_project)
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    (other / "dirty.txt").write_text("uncommitted\n")
    git(other, "add", "dirty.txt")  # staged, uncommitted: a dirty tree there
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    result = invoke(str(old_project))
    assert result.exit_code == 0, result.output
    assert "Note:" not in result.output and "uncommitted" not in result.output
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name)
    assert " M README.md" in git(old_project, "status", "--porcelain").splitlines()


def test_outside_git_it_updates_and_says_so(old_project: Path):
    result = invoke(str(old_project))
    assert result.exit_code == 0, result.output
    assert "is not in a git work tree" in result.stderr


def test_without_git_installed_it_updates_with_the_python_merge(tmp_path: Path, old_project: Path):
    edit_as_author(old_project)
    no_git = tmp_path / "bin"
    no_git.mkdir()
    env = {**os.environ, "PATH": str(no_git)}
    omi = str(Path(sys.executable).with_name("omi"))
    completed = subprocess.run(
        [omi, "plugins", "update", str(old_project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "git is not installed" in completed.stderr
    readme = (old_project / "README.md").read_text()
    assert TEMPLATE_LINE in readme and "## Why hello" in readme


# --- --init ---------------------------------------------------------------------------------


def test_init_records_answers_from_pyproject(tmp_path: Path):
    project = render_project(tmp_path)
    (project / ANSWERS_FILE).unlink()
    (project / BASE_FILE).unlink()
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', 'version = "0.4.0"'))
    license_file = project / "LICENSE"
    license_file.write_text(
        re.sub(r"Copyright \(c\) \d{4}", "Copyright (c) 1999", license_file.read_text())
    )
    result = invoke(str(project))
    assert result.exit_code == 2 and "--init" in result.stderr

    result = invoke(str(project), "--init")
    assert result.exit_code == 0, result.output
    answers, base = read_record(project)
    assert answers["template"] == "embedding" and answers["name"] == "hello"
    assert answers["variables"] == {
        "description": "An OMI embedding provider",
        "author": "Ada",
        "email": "ada@example.org",
        "version": "0.4.0",
        "license": "MIT",
        "year": "1999",
        "repository": "",
    }
    assert (project / "pyproject.toml").read_bytes() == base["pyproject.toml"]
    assert invoke(str(project), "--check").exit_code == 0

    again = invoke(str(project), "--init")
    assert again.exit_code == 2 and "already exists" in again.stderr


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is new in Python 3.11")
@pytest.mark.parametrize(
    "content, message",
    [
        (b"[project\nname = 1\n", "is not valid TOML ("),
        (b'[project]\nname = "omi-embedding-caf\xe9"\n', "is not UTF-8 text; save it as UTF-8"),
        (b"# " + b"x" * (1024 * 1024) + b"\n", "is larger than 1024 KiB"),
        (b"[[[[" * 2000, "is not valid TOML ("),
    ],
)
def test_init_refuses_a_bad_pyproject_in_one_line(tmp_path: Path, content: bytes, message: str):
    project = render_project(tmp_path)
    (project / ANSWERS_FILE).unlink()
    (project / BASE_FILE).unlink()
    (project / "pyproject.toml").write_bytes(content)
    result = invoke(str(project), "--init")
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {project / 'pyproject.toml'} {message}")
    assert not (project / ANSWERS_FILE).exists() and not (project / BASE_FILE).exists()


def test_repository_is_an_answer_set_init_and_update_agree_on(tmp_path: Path):
    url = "https://github.com/ada/omi-embedding-hello"
    project = render_project(tmp_path)
    commit_all(project)
    result = invoke(str(project), "--set", f"repository={url}")
    assert result.exit_code == 0, result.output
    assert f'Issues = "{url}/issues"' in (project / "pyproject.toml").read_text()
    (project / ANSWERS_FILE).unlink()
    (project / BASE_FILE).unlink()
    assert invoke(str(project), "--init").exit_code == 0
    assert read_record(project)[0]["variables"]["repository"] == url
    assert invoke(str(project), "--check").exit_code == 0


def test_init_takes_a_project_as_current_and_lists_where_it_differs(old_project: Path):
    (old_project / ANSWERS_FILE).unlink()
    (old_project / BASE_FILE).unlink()
    result = invoke(str(old_project), "--init")
    assert result.exit_code == 0, result.output
    assert "count as your own edits" in result.output and "README.md" in result.output
    assert invoke(str(old_project), "--check").exit_code == 0


@pytest.mark.parametrize(
    "pyproject, message",
    [
        (None, "has no pyproject.toml"),
        ('[project]\nname = "requests"\n', "not omi-<type>-<name>"),
        ('[project]\nname = "omi-embedding-Bad_Name"\n', "Invalid plugin name"),
        ("[project\n", "not valid TOML"),
    ],
)
def test_init_refuses_what_is_not_an_omi_plugin(tmp_path: Path, pyproject, message: str):
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject)
    result = invoke(str(tmp_path), "--init")
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not (tmp_path / ANSWERS_FILE).exists() and not (tmp_path / BASE_FILE).exists()


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("glob", ["", "/", "./", " "])
def test_an_empty_skip_glob_is_a_usage_error_and_is_not_remembered(old_project: Path, glob: str):
    before = snapshot(old_project)
    result = invoke(str(old_project), "--allow-dirty", "--skip", glob)
    assert result.exit_code == 2, result.output
    assert "names no file" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert snapshot(old_project) == before
    for record in (ANSWERS_FILE, BASE_FILE):
        (old_project / record).unlink()
    result = invoke(str(old_project), "--init", "--skip", glob)
    assert result.exit_code == 2 and "names no file" in result.stderr
    assert not (old_project / ANSWERS_FILE).exists()


@pytest.mark.parametrize("option", [(), ("--check",), ("--dry-run",)])
def test_a_project_from_a_newer_omi_openclaw_is_not_taken_back_to_older_templates(
    old_project: Path, option: tuple
):
    edit_answers(old_project, omi_openclaw_version="99.1.0")
    before = snapshot(old_project)
    result = invoke(str(old_project), "--allow-dirty", *option)
    assert result.exit_code == 2, result.output
    assert f"newer than the installed {__version__}" in result.stderr
    assert "pip install -U omi-openclaw" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(old_project) == before
    edit_answers(old_project, omi_openclaw_version="0.0.9")
    assert invoke(str(old_project), "--check").exit_code == 1  # older: just behind


def test_run_from_inside_the_project_names_the_project_to_update(old_project: Path):
    result = invoke(str(old_project / "src"))
    assert result.exit_code == 2, result.output
    assert f"inside the plugin project {old_project}; run omi plugins update there" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_license_the_templates_no_longer_offer_is_not_silently_replaced(old_project: Path):
    """Before, the update fell back to MIT and rewrote LICENSE and pyproject's license."""
    edit_answers(
        old_project,
        variables={**read_record(old_project)[0]["variables"], "license": "GPL-3.0-only"},
    )
    before = snapshot(old_project)
    result = invoke(str(old_project), "--allow-dirty")
    assert result.exit_code == 2, result.output
    assert (
        "records the license 'GPL-3.0-only', which the installed templates do not offer"
        in result.stderr
        and "--set license=NAME" in result.stderr
    )
    assert snapshot(old_project) == before
    chosen = invoke(str(old_project), "--allow-dirty", "--set", "license=Apache-2.0")
    assert chosen.exit_code == 0, chosen.output
    assert read_record(old_project)[0]["variables"]["license"] == "Apache-2.0"


EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("omi-*"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_packages_are_current_with_the_templates(example: Path):
    """The examples were rendered by `omi plugins new`; a template change is merged into them
    with `omi plugins update examples/<name>` (the test that keeps them honest)."""
    result = invoke(str(example), "--check")
    assert result.exit_code == 0, result.output
    assert "is current with" in result.output


@pytest.mark.parametrize(
    ("recorded", "refused"),
    [
        (f"{__version__}.post1", True),  # a post-release of the installed version is newer
        (f"{__version__}rc1", False),  # its release candidate is older
        (f"{__version__}.dev3", False),
    ],
)
def test_recorded_versions_are_ordered_as_pep_440_orders_them(
    old_project: Path, recorded: str, refused: bool
):
    edit_answers(old_project, omi_openclaw_version=recorded)
    result = invoke(str(old_project), "--allow-dirty", "--check")
    assert (result.exit_code == 2) is refused, result.output


# --- what an update must not do on its own (issue 14) ---------------------------------------


def test_committed_conflict_markers_fail_check_dry_run_and_update(old_project: Path):
    """Before, markers committed after a conflicted update made --check say "current"."""
    ci = old_project / ".github/workflows/ci.yml"
    ci.write_text(ci.read_text().replace('["3.10", "3.11", "3.12"]', '["3.11", "3.12"]'))
    assert invoke(str(old_project), "--allow-dirty").exit_code == 1  # the conflict
    assert "<<<<<<< yours\n" in ci.read_text()
    commit_all(old_project)
    before = snapshot(old_project)
    for options in [("--check",), ("--dry-run",), (), ("--set", "description=Changed")]:
        result = invoke(str(old_project), *options)
        assert result.exit_code == 2, result.output
        assert result.stderr == (
            "Error: .github/workflows/ci.yml still hold(s) <<<<<<< conflict markers from an "
            "earlier update; resolve them (keep the lines you want, delete the marker lines), "
            "commit, then run omi plugins update again\n"
        )
        assert snapshot(old_project) == before
    ci.write_text(current_rendering(old_project)[".github/workflows/ci.yml"].decode())
    result = invoke(str(old_project), "--check")
    assert result.exit_code == 0 and "is current" in result.output, result.output


@pytest.mark.parametrize(
    "text",
    [
        "Usage\n=======\n\nRun it.\n",  # a heading underline alone
        "<<<<<<< quoted\n\nUsage\n=======\n",  # no closing marker
        "Usage\n=======\n>>>>>>> quoted\n",  # no opening marker before it
    ],
)
def test_text_that_only_looks_like_a_marker_is_not_a_conflict(tmp_path: Path, text: str):
    project = render_project(tmp_path)
    (project / "README.md").write_text(text)
    result = invoke(str(project), "--check")
    assert result.exit_code == 0, result.output


def test_markers_in_files_the_template_does_not_manage_are_the_authors_business(old_project: Path):
    (old_project / OUR_FILE).write_text("<<<<<<< a\nx = 1\n=======\nx = 2\n>>>>>>> b\n")
    assert invoke(str(old_project), "--check").exit_code == 1  # behind, not refused
    assert update.has_conflict_block((old_project / OUR_FILE).read_text())
    (old_project / "README.md").write_text("<<<<<<< a\r\nx\r\n=======\r\ny\r\n>>>>>>> b")
    assert invoke(str(old_project), "--check").exit_code == 2  # CRLF, no final newline


def test_the_conflict_scan_is_linear_in_the_file_size(old_project: Path):
    """Megabytes of lines that each start a marker block (the shape that made the old
    multi-line regular expression backtrack for minutes on a 29 KB README) are scanned at
    the speed of reading them."""
    import time

    kilobytes = "<<<<<<< x\n=======\n" * 50 + "plain text line\n" * 60
    readme = old_project / "README.md"
    for size in (1, 4):  # megabytes
        readme.write_text(kilobytes * (size * 1024 * 1024 // len(kilobytes)))
        start = time.perf_counter()
        assert update.has_conflict_block(readme.read_text()) is False
        took = time.perf_counter() - start
        assert took < 2.0, f"{size} MB took {took:.1f} s"
    readme.write_text(readme.read_text() + ">>>>>>> y\n")
    assert invoke(str(old_project), "--check").exit_code == 2


@pytest.mark.parametrize(
    "text, found",
    [
        ("<<<<<<< a\nx\n=======\ny\n>>>>>>> b\n", True),
        ("<<<<<<<\n=======\n>>>>>>>", True),
        ("<<<<<<< a\r\n=======\r\n>>>>>>>\r\n", True),
        ("<<<<<<< a\n<<<<<<< b\nx\n=======\n=======\n>>>>>>> b\n", True),
        ("=======\n<<<<<<< a\n>>>>>>> b\n=======\n", False),  # out of order
        ("<<<<<<<a\n=======\n>>>>>>> b\n", False),  # no space after the marker
        ("<<<<<<< a\n=======\n>>>>>>>b\n", False),
        ("<<<<<<< a\n========\n>>>>>>> b\n", False),  # a longer underline
        ("<<<<<<< a\n=======", False),  # the separator must end its line
    ],
)
def test_a_conflict_block_is_three_marker_lines_in_order(text: str, found: bool):
    assert update.has_conflict_block(text) is found


def as_if_made_by(project: Path, release: str) -> None:
    """Make `project` look rendered by omi-openclaw `release`, in its files and its base: the
    suite_version its tests were written for and the requirement range its pyproject has."""
    major, minor = release.split(".")[:2]
    installed = ".".join(__version__.split(".")[:2])
    installed_next = f"{installed.split('.')[0]}.{int(installed.split('.')[1]) + 1}"

    def older(text: str) -> str:
        return text.replace(
            f'suite_version = "{__version__}"', f'suite_version = "{release}"'
        ).replace(
            f"omi-openclaw>={installed},<{installed_next}",
            f"omi-openclaw>={major}.{minor},<{major}.{int(minor) + 1}",
        )

    base = {
        path: older(content.decode()).encode() for path, content in read_record(project)[1].items()
    }
    for path in ("tests/test_conformance.py", "pyproject.toml"):
        (project / path).write_bytes(base[path])
    edit_answers(project, omi_openclaw_version=release)
    write_base(project, base)


def suite_of(release: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every registered check one that suite `release` already had."""
    from omi.conformance import registry

    for check in registry.all_checks():
        monkeypatch.setitem(
            registry.REGISTRY, check.name, dataclasses.replace(check, since=release)
        )


def test_update_never_raises_suite_version_and_says_a_newer_suite_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    suite_of("0.3.0", monkeypatch)
    project = render_project(tmp_path)
    as_if_made_by(project, "0.3.0")
    tests = project / "tests/test_conformance.py"
    suite_note = (
        f"Note: conformance suite {__version__} is available; "
        f"tests/test_conformance.py has suite_version = '0.3.0', which the update "
        f"leaves as it is; no embedding check was added since, so raise it when you "
        f"like"
    )
    result = invoke(str(project), "--check")
    assert result.exit_code == 1, result.output
    assert "tests/test_conformance.py" not in result.output.split("Note:")[0]
    assert suite_note in result.output.splitlines()

    result = invoke(str(project))
    assert result.exit_code == 0, result.output
    assert 'suite_version = "0.3.0"' in tests.read_text()
    assert suite_note in result.output.splitlines()
    assert read_record(project)[0]["suite_noted"] == __version__
    for again in (["--check"], []):  # said once: neither repeats it
        result = invoke(str(project), *again)
        assert result.exit_code == 0 and "Note:" not in result.output, result.output
        assert "is current with" in result.output


def test_the_suite_note_is_said_until_an_update_records_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A project already current: `--check` (read-only) says it each time; the first
    `update` says it, records that in the answers file, and nothing says it again."""
    suite_of("0.3.0", monkeypatch)
    project = render_project(tmp_path)
    tests = project / "tests/test_conformance.py"
    tests.write_text(tests.read_text().replace(f'"{__version__}"', '"0.3.0"'))
    for _ in range(2):
        result = invoke(str(project), "--check")
        assert result.exit_code == 0 and "Note: conformance suite" in result.output
    commit_all(project)
    (project / "README.md").write_text("work in progress\n")  # a dirty tree does not stop it
    result = invoke(str(project))
    assert result.exit_code == 0, result.output
    assert (
        f"Recorded that the note below was shown in {ANSWERS_FILE}; omi-embedding-hello is current"
    ) in result.output and "Note: conformance suite" in result.output
    for again in (["--check"], []):
        result = invoke(str(project), *again)
        assert result.exit_code == 0 and "Note:" not in result.output, result.output


# --- files written once ---------------------------------------------------------------------


def test_files_the_author_owns_are_never_updated_nor_restored(old_project: Path):
    """The implementation module and its unit tests changed in the template: the update
    leaves the author's module as it is, does not bring back the deleted test, and says which
    files it leaves alone."""
    edit_as_author(old_project)
    embedder = (old_project / EMBEDDER).read_bytes()
    (old_project / "tests/test_embedder.py").unlink()
    fresh = current_rendering(old_project)
    base = read_record(old_project)[1]
    assert base[EMBEDDER] != fresh[EMBEDDER]  # the template did change them
    assert base["tests/test_embedder.py"] != fresh["tests/test_embedder.py"]
    result = invoke(str(old_project), "--check")
    assert result.exit_code == 1
    assert EMBEDDER not in result.output.split("Yours")[0]
    assert (
        f"Yours, never updated (written once): {EMBEDDER}, tests/test_embedder.py; the "
        f"update keeps the other 12 template file(s) current."
    ) in result.output
    result = invoke(str(old_project))
    assert result.exit_code == 0, result.output
    assert (old_project / EMBEDDER).read_bytes() == embedder
    assert not (old_project / "tests/test_embedder.py").exists()
    assert not update.plan_update(old_project).behind


def test_a_file_the_author_owns_that_the_template_adds_is_written_once(old_project: Path):
    answers, base = read_record(old_project)
    del base["tests/test_embedder.py"]  # as if the older template had no such test
    (old_project / "tests/test_embedder.py").unlink()
    write_base(old_project, base)
    plan = update.plan_update(old_project)
    [added] = [change for change in plan.changes if change.path == "tests/test_embedder.py"]
    assert added.status == "added"
    update.apply_update(plan)
    fresh = current_rendering(old_project)
    assert (old_project / "tests/test_embedder.py").read_bytes() == fresh["tests/test_embedder.py"]
    (old_project / "tests/test_embedder.py").write_text("def test_mine() -> None: ...\n")
    assert not update.plan_update(old_project).behind


@pytest.mark.parametrize("plugin_type", ["embedding", "storage", "event"])
def test_each_template_names_its_implementation_module_and_unit_tests_written_once(
    tmp_path: Path, plugin_type: str
):
    made = new_plugin(plugin_type, "acme", tmp_path)
    plan = update.plan_update(made.project_dir)
    module = {"embedding": "embedder", "storage": "backend", "event": "handler"}[plugin_type]
    assert plan.yours == [f"src/omi_{plugin_type}_acme/{module}.py", f"tests/test_{module}.py"]
    assert "tests/test_conformance.py" in plan.managed and "README.md" in plan.managed
    assert (
        "_written_once"
        not in json.loads((made.project_dir / ANSWERS_FILE).read_text())["variables"]
    )


def test_a_bad_written_once_list_is_a_one_line_error(tmp_path: Path):
    template = tmp_path / "template"
    shutil.copytree(OLDER_TEMPLATE, template)
    project = render_project(tmp_path / "p", template)
    config = json.loads((template / "cookiecutter.json").read_text())
    (template / "cookiecutter.json").write_text(json.dumps({**config, "_written_once": "x"}))
    with pytest.raises(UpdateError, match="'_written_once' must be a list of globs"):
        update.plan_update(project, template_dir=template)


def test_the_suite_note_lists_the_checks_added_since_the_authors_suite_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from omi.conformance import registry

    suite_of("0.3.0", monkeypatch)
    [batch] = [check for check in registry.all_checks() if check.name == "batch_matches_single"]
    newer = dataclasses.replace(batch, since=__version__)
    monkeypatch.setitem(registry.REGISTRY, newer.name, newer)
    project = render_project(tmp_path)
    as_if_made_by(project, "0.3.0")
    result = invoke(str(project), "--check")
    assert (
        f"Note: conformance suite {__version__} is available; tests/test_conformance.py "
        f"has suite_version = '0.3.0', which the update leaves as it is; checks added "
        f"since: batch_matches_single; raise it once the plugin passes them"
    ) in result.output.splitlines(), result.output


def test_a_new_omi_openclaw_requirement_range_is_said_explicitly(tmp_path: Path):
    project = render_project(tmp_path)
    as_if_made_by(project, "0.3.0")
    installed = ".".join(__version__.split(".")[:2])
    next_minor = f"{installed.split('.')[0]}.{int(installed.split('.')[1]) + 1}"
    note = (
        f"Note: pyproject.toml: the omi-openclaw requirement moves from "
        f"'omi-openclaw>=0.3,<0.4' to 'omi-openclaw>={installed},<{next_minor}': the "
        f"plugin's next release drops users of the omi-openclaw releases the old range "
        f"allowed; give it a new version and say so in CHANGELOG.md"
    )
    for option in ("--check", "--dry-run"):
        assert note in invoke(str(project), option).output.splitlines()
    result = invoke(str(project))
    assert result.exit_code == 0, result.output
    assert "  M pyproject.toml" in result.output.splitlines()
    assert note in result.output.splitlines()
    assert f"omi-openclaw>={installed},<{next_minor}" in (project / "pyproject.toml").read_text()
    assert "requirement" not in invoke(str(project), "--check").output  # said once


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("repository", ["project", "parent"])
def test_untracked_files_block_an_update_only_when_it_would_overwrite_them(
    old_project: Path, repository: str
):
    """Before, any untracked file (a scratch note, a new module) refused the update."""
    root = old_project if repository == "project" else old_project.parent
    commit_all(root)
    (old_project / "notes.txt").write_text("to do\n")
    release = old_project / ".github/workflows/release.yml"
    release.write_text("name: Our release\n")  # the update would write it
    before = snapshot(old_project)
    result = invoke(str(old_project))
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "Error: the update would overwrite .github/workflows/release.yml, which git does not "
        "track and could not give back; commit or move them aside first, or pass "
        "--allow-dirty\n"
    )
    assert snapshot(old_project) == before

    release.unlink()
    result = invoke(str(old_project))
    assert result.exit_code == 0, result.output
    assert (old_project / "notes.txt").read_text() == "to do\n"
    assert release.is_file() and "uncommitted" not in result.output


def test_the_requirement_note_comes_even_when_the_author_changed_that_line(tmp_path: Path):
    project = render_project(tmp_path)
    as_if_made_by(project, "0.3.0")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("omi-openclaw>=0.3,<0.4", "omi-openclaw>=0.3,<0.5")
    )
    result = invoke(str(project), "--check")
    assert (
        "  C pyproject.toml: you and the template changed the same lines; resolve the 1 "
        "<<<<<<< block(s)" in result.output.splitlines()
    ), result.output
    assert (
        "Note: pyproject.toml: the omi-openclaw requirement moves from "
        "'omi-openclaw>=0.3,<0.4' to 'omi-openclaw>=" in result.output
    )
    result = invoke(str(project), "--check", "--skip", "pyproject.toml")
    assert "requirement" not in result.output, result.output
