"""Atomic writes (omi.atomic) as `plugins update` uses them: confined to the project, all or
nothing, never over an author's file, undone on SIGTERM."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from template_projects import TEMPLATE_LINE, edit_as_author, invoke, snapshot

from omi import atomic, update
from omi.confine import UnsafePath

pytestmark = pytest.mark.usefixtures("isolated_git")  # see conftest


# --- confined writes ------------------------------------------------------------------------


def test_writes_and_deletes_are_confined_even_when_the_plan_is_wrong(
    old_project: Path, tmp_path: Path
):
    """Defence in depth: the atomic writer checks every path itself."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    plan = update.plan_update(old_project)
    plan.changes.append(update.Change("../victim.txt", "deleted", b"precious\n", None))
    before = snapshot(old_project)
    with pytest.raises(UnsafePath, match="has a '..' segment"):
        update.apply_update(plan)
    (old_project / "docs").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(UnsafePath, match="goes through docs, a symlink"):
        atomic.write_atomically(old_project, {"README.md": b"x", "docs/victim.txt": None})
    assert victim.read_text() == "precious\n"
    assert snapshot(old_project) == {**before, "docs": b"<dir>"}


# --- all or nothing -------------------------------------------------------------------------


def _fail_on_call(monkeypatch: pytest.MonkeyPatch, target, name: str, when: int) -> None:
    """Make `target.name` raise OSError (a full disk, say) on its `when`-th call."""
    real = getattr(target, name)
    calls = []

    def failing(*args, **kwargs):
        calls.append(args)
        if len(calls) == when:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, failing)


@pytest.mark.parametrize("phase", ["staging", "swapping"])
def test_a_failure_at_any_step_leaves_the_project_as_it_was(
    old_project: Path, monkeypatch: pytest.MonkeyPatch, phase: str
):
    """Staging writes each new file beside its target (mkstemp); swapping moves originals
    aside and the new files in (os.replace). Fail each call in turn: nothing may change."""
    edit_as_author(old_project)
    plan = update.plan_update(old_project)
    before = snapshot(old_project)
    target, name = (atomic.tempfile, "mkstemp") if phase == "staging" else (atomic.os, "replace")
    step = 1
    while True:
        with monkeypatch.context() as patch:
            _fail_on_call(patch, target, name, step)
            try:
                update.apply_update(plan)
            except OSError as error:
                assert "No space left" in str(error)
            else:
                break  # every call succeeded: past the last step
        assert snapshot(old_project) == before, f"{phase} step {step}"
        step += 1
    assert step > 5  # the record files and several project files were written
    assert TEMPLATE_LINE in (old_project / "README.md").read_text()


def test_a_file_named_like_a_backup_is_never_overwritten_or_deleted(old_project: Path):
    """Originals are moved aside under names made for the purpose (O_EXCL), so an author's
    `.README.md.omi-backup` survives the update as it was."""
    mine = old_project / ".README.md.omi-backup"
    mine.write_text("the author's own notes\n")
    result = invoke(str(old_project))
    assert result.exit_code == 0, result.output
    assert TEMPLATE_LINE in (old_project / "README.md").read_text()
    assert mine.read_text() == "the author's own notes\n"
    assert sorted(p.name for p in old_project.iterdir() if "omi-backup" in p.name) == [mine.name]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_while_the_update_swaps_files_puts_every_original_back(
    old_project: Path, monkeypatch: pytest.MonkeyPatch
):
    """SIGTERM arrives after the first original was moved aside: handled as Ctrl-C is, the
    update is undone and the command exits 143."""
    import signal

    edit_as_author(old_project)
    before = snapshot(old_project)
    real, calls = atomic.os.replace, []

    def replace(source, target):
        calls.append(target)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # handled before the next bytecode
        return real(source, target)

    monkeypatch.setattr(atomic.os, "replace", replace)
    handler = signal.getsignal(signal.SIGTERM)
    result = invoke(str(old_project), "--allow-dirty")
    assert result.exit_code == 143, result.output
    assert result.stderr == "Error: interrupted by SIGTERM: nothing was written\n"
    assert snapshot(old_project) == before
    assert signal.getsignal(signal.SIGTERM) == handler  # put back
