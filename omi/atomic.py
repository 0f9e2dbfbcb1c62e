"""Writing files so that a failure changes nothing: `omi plugins update` rewrites a project
with it, and `omi plugins check -o` writes its report with it. Every path must stay inside the
root (`omi.confine.confined`), checked before anything is written.

New contents are staged in temporary files beside their targets; only when every one is
written are the originals moved aside and the new files renamed in, and a failure in that
phase moves every original back. New files get the mode open() would give them (0666 less the
umask, not mkstemp's 0600); replaced files keep theirs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from omi.confine import confined

__all__ = ["write_atomically"]


def write_atomically(root: Path, contents: Mapping[str, bytes | None]) -> None:
    """Set each `root/path` to its content (None deletes it); on any failure, change nothing.

    A path that could lead out of `root` raises `omi.confine.UnsafePath` before anything is
    written.
    New contents are first written to temporary files beside their targets (a failure there
    leaves the originals untouched); then originals are moved aside and the new files renamed
    into place, and a failure in that phase moves every original back.
    """
    targets = [(confined(root, path), content) for path, content in contents.items()]
    created_dirs: list[Path] = []
    staged: list[tuple[Path, Path | None]] = []
    try:
        for target, content in targets:
            staged.append(
                (target, None if content is None else _stage(target, content, created_dirs))
            )
    except BaseException:
        _discard([temporary for _, temporary in staged], created_dirs)
        raise
    swapped: list[tuple[Path, Path | None, bool]] = []
    try:
        for target, temporary in staged:
            backup = _reserve_backup(target) if target.exists() else None
            swapped.append((target, backup, False))
            if backup is not None:
                os.replace(target, backup)
            if temporary is not None:
                os.replace(temporary, target)
                swapped[-1] = (target, backup, True)
    except BaseException:
        for target, backup, placed in reversed(swapped):
            if placed:
                target.unlink()
            if backup is not None and target.exists():  # it was never moved aside
                backup.unlink()
            elif backup is not None:
                os.replace(backup, target)
        _discard([temporary for _, temporary in staged], created_dirs)
        raise
    for target, backup, _ in swapped:
        if backup is not None:
            backup.unlink()
        if not target.exists():
            _remove_empty_parents(target.parent, root)


def _reserve_backup(target: Path) -> Path:
    """A new, empty file beside `target` for its original, named `.NAME.omi-backup-XXXXXXXX`:
    created exclusively (O_EXCL), so a file of the project is never taken for one, overwritten
    or deleted, whatever it is called."""
    handle, backup = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.omi-backup-")
    os.close(handle)
    return Path(backup)


def _stage(target: Path, content: bytes, created_dirs: list[Path]) -> Path:
    missing = [parent for parent in reversed(target.parents) if not parent.exists()]
    for directory in missing:
        directory.mkdir()
        created_dirs.append(directory)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.omi-new-")
    with os.fdopen(handle, "wb") as stream:
        stream.write(content)
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask()
    os.chmod(temporary, mode)
    return Path(temporary)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _discard(temporaries: Iterable[Path | None], created_dirs: list[Path]) -> None:
    for temporary in temporaries:
        if temporary is not None and temporary.exists():
            temporary.unlink()
    for directory in reversed(created_dirs):
        if directory.exists() and not any(directory.iterdir()):
            directory.rmdir()


def _remove_empty_parents(directory: Path, root: Path) -> None:
    while directory != root and root in directory.parents and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent
