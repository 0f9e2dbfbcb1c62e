"""The record of a rendering (omi.record): the answers file and the pristine base, written by
`plugins new`, read (and refused when damaged) by `plugins update`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from template_projects import (
    OLDER_TEMPLATE,
    PROJECT,
    edit_answers,
    invoke,
    render_project,
    snapshot,
    write_base,
)
from terminal import on_a_terminal

from omi import __version__
from omi.record import ANSWERS_FILE, BASE_FILE, fingerprint, read_record, record_files
from omi.update import UpdateError

pytestmark = pytest.mark.usefixtures("isolated_git")  # see conftest


def test_plugins_new_records_answers_and_the_pristine_base(tmp_path: Path):
    project = render_project(tmp_path)
    answers, base = read_record(project)
    assert answers["template"] == "embedding" and answers["name"] == "hello"
    assert answers["omi_openclaw_version"] == __version__
    assert answers["base"] == {"file": BASE_FILE, "fingerprint": fingerprint(base)}
    on_disk = {
        path: content
        for path, content in snapshot(project).items()
        if content != b"<dir>" and path not in (ANSWERS_FILE, BASE_FILE)
    }
    assert base == on_disk
    assert (
        json.loads((project / BASE_FILE).read_text())["files"]["README.md"][0] == f"# {PROJECT}\n"
    )  # one JSON string a line: the base diffs readably


@pytest.mark.slow
def test_answers_typed_at_the_prompts_are_recorded(tmp_path: Path):
    """On a terminal cookiecutter asks; what the author types (here the first question, the
    description) is what the answers file records, so re-rendering reproduces the project."""
    completed = on_a_terminal(
        ["plugins", "new", "embedding", "hello", "-o", str(tmp_path)],
        {"description": "Typed at the prompt"},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    project = tmp_path / PROJECT
    assert "Typed at the prompt" in (project / "README.md").read_text()
    assert read_record(project)[0]["variables"]["description"] == "Typed at the prompt"
    assert invoke(str(project), "--check").exit_code == 0


def test_base_round_trips_text_without_newline_crlf_and_binary(tmp_path: Path):
    files = {
        "a.txt": b"no newline",
        "b.txt": b"one\r\ntwo\r\n",
        "c.bin": bytes(range(256)),
        "d/e.txt": "ünïcode\n".encode(),
    }
    written = record_files({"template": "event", "name": "x", "variables": {}}, files)
    for name, content in written.items():
        (tmp_path / name).write_bytes(content)
    assert read_record(tmp_path)[1] == files


def damage_base(entries: dict[str, object]):
    return lambda p: write_base(p, {**read_record(p)[1], **entries})


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: (p / ANSWERS_FILE).unlink(), "run `omi plugins update --init`"),
        (lambda p: (p / BASE_FILE).unlink(), "restore it from version control"),
        (
            lambda p: (p / BASE_FILE).write_text(
                (p / BASE_FILE).read_text().replace("CI", "Cl", 1)
            ),
            "does not match",
        ),
        (lambda p: (p / BASE_FILE).write_text("{"), "damaged"),
        (lambda p: (p / ANSWERS_FILE).write_text("{nope"), "not valid JSON"),
        (
            lambda p: (p / ANSWERS_FILE).write_text(
                '{"template": "gizmo", "name": "x", "variables": {}}'
            ),
            "unknown template 'gizmo'",
        ),
        (lambda p: edit_answers(p, variables=[]), "'variables' must be a JSON object, not []"),
        (lambda p: edit_answers(p, skip="README.md"), "'skip' must be a list of globs"),
        (lambda p: edit_answers(p, skip=[3]), "'skip' must list globs as strings"),
        (lambda p: edit_answers(p, name=5), "'name' must be text, not 5"),
        (lambda p: edit_answers(p, variables={"author": 5}), "author must be text, got 5"),
        (lambda p: edit_answers(p, template=["embedding"]), "'template' must be text, not ["),
        (lambda p: edit_answers(p, template="../embedding"), "unknown template '../embedding'"),
        (lambda p: edit_answers(p, omi_openclaw_version={}), "'omi_openclaw_version' must be text"),
        (lambda p: edit_answers(p, suite_noted=["0.4.0"]), "'suite_noted' must be text, not ["),
        (lambda p: edit_answers(p, base="x"), "'base' must be a JSON object, not \"x\""),
        (lambda p: edit_answers(p, base={"file": "../x.json"}), "'base' must be {\"file\""),
        (lambda p: edit_answers(p, base={"fingerprint": 5}), "'base' must be {\"file\""),
        (lambda p: edit_answers(p, skip="y" * 5000), 'a list of globs, not "yyyyyyyy'),
        (lambda p: (p / ANSWERS_FILE).write_bytes(b'{"template": "\xff"}'), "not valid JSON"),
        (
            lambda p: (p / ANSWERS_FILE).write_text("[" * 100_000 + "]" * 100_000),
            "nested too deeply",
        ),
        (lambda p: (p / ANSWERS_FILE).write_text(" " * (4 << 20) + "{}"), "larger than 4 MiB"),
        (lambda p: (p / BASE_FILE).write_text(" " * (4 << 20) + "{}"), "larger than 4 MiB"),
        (lambda p: (p / BASE_FILE).write_text("[]"), "damaged: it has no 'files' object"),
        (damage_base({"README.md": ["a\n", 2]}), "the content of README.md is neither a list of"),
        (
            damage_base({"README.md": {"base64": "!!"}}),
            "the content of README.md is not valid base64",
        ),
        (damage_base({"README.md": {"base64": 5}}), "the content of README.md is neither"),
        (damage_base({"README.md": None}), "the content of README.md is neither"),
    ],
)
def test_a_missing_or_damaged_record_is_a_one_line_error_and_nothing_changes(
    old_project: Path, damage, message: str
):
    damage(old_project)
    before = snapshot(old_project)
    for option in ((), ("--check",), ("--dry-run",)):
        result = invoke(str(old_project), *option)
        assert result.exit_code == 2, result.output
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert len(result.stderr) < 500  # names what is wrong, does not quote it all
    assert snapshot(old_project) == before


@pytest.mark.parametrize("record", [ANSWERS_FILE, BASE_FILE])
def test_a_record_file_that_is_a_symlink_is_not_read(
    old_project: Path, tmp_path: Path, record: str
):
    """A symlink could make the update read (and quote) any file of the machine."""
    elsewhere = tmp_path / "elsewhere.json"
    (old_project / record).rename(elsewhere)
    (old_project / record).symlink_to(elsewhere)
    result = invoke(str(old_project), "--check")
    assert result.exit_code == 2, result.output
    assert f"{record} is a symlink or not a regular file" in result.stderr


def test_an_unknown_record_field_in_a_damaged_answers_file_is_an_update_error(tmp_path: Path):
    (tmp_path / ANSWERS_FILE).write_text('{"template": "embedding"}')
    with pytest.raises(UpdateError, match="lacks name, variables"):
        read_record(tmp_path)


# --- the project's bounds: paths from the record --------------------------------------------


NOT_PLAIN = {
    "../../victim.txt": "has a '..' segment",
    "src/../../../victim.txt": "'..' segment",
    "ABSOLUTE": "is absolute",
    "./README.md": "has a '.' segment",
    "src//x.py": "has an empty segment",
    "src/": "has an empty segment",
    "": "is empty",
    "src\\x.py": "contains a backslash",
    "C:/victim.txt": "starts with a drive letter",
    "x\0y": "contains a control character",
    "x\ny": "contains a control character",
    "a" * 300: "is too long",
    ".git/HEAD": "which no rendering has",
    "src/.GIT/config": "which no rendering has",
    ANSWERS_FILE: "which no rendering has",
}


@pytest.fixture
def deep_project(tmp_path: Path) -> Path:
    """A project two levels below tmp_path, so ../../victim.txt is tmp_path/victim.txt."""
    return render_project(tmp_path / "work", OLDER_TEMPLATE)


@pytest.mark.parametrize("entry", list(NOT_PLAIN), ids=[json.dumps(e)[:24] for e in NOT_PLAIN])
def test_a_base_naming_a_path_that_is_not_plain_is_refused_before_anything_is_touched(
    deep_project: Path, tmp_path: Path, entry: str
):
    """A base listing a file unchanged since it was rendered makes the update delete it: a
    base with ../../victim.txt or an absolute path (fingerprint recomputed) deleted both."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    reason = NOT_PLAIN[entry]
    entry = str(victim) if entry == "ABSOLUTE" else entry
    write_base(deep_project, {**read_record(deep_project)[1], entry: b"precious\n"})
    before = snapshot(deep_project)
    for option in ("--allow-dirty", "--check", "--dry-run"):
        result = invoke(str(deep_project), option)
        assert result.exit_code == 2, result.output
        assert len(result.stderr.strip().splitlines()) == 1
        assert f"{BASE_FILE} is damaged: " in result.stderr
        assert json.dumps(entry)[:40] in result.stderr or entry in result.stderr
        assert reason in result.stderr
    assert victim.read_text() == "precious\n"
    assert snapshot(deep_project) == before
