"""Paths that files from elsewhere name, kept inside the folder they belong to.

`.omi-template.json` and `.omi-template-base.json` may come from someone else's pull request,
and `omi plugins update --check` reads them in CI. Every path they name (and every path an
update reads, writes or deletes) must stay inside the project: a plain relative path in posix
form, reached through no symlinked folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

__all__ = ["UnsafePath", "check_relative", "confined"]

DRIVE = re.compile(r"[A-Za-z]:")


class UnsafePath(ValueError):
    """A path that is not a plain relative path, or that leads out of its folder."""


def check_relative(path: object) -> str:
    """`path` if it is a plain relative posix path: no '.', '..' or empty segments, no
    backslash, drive letter or control character; else UnsafePath says what is wrong."""
    if not isinstance(path, str):
        problem = "is not text"
    elif not path:
        problem = "is empty"
    elif any(ord(char) < 32 or ord(char) == 127 for char in path):
        problem = "contains a control character"
    elif "\\" in path:
        problem = "contains a backslash (paths use /)"
    elif path.startswith("/"):
        problem = "is absolute"
    elif DRIVE.match(path):
        problem = "starts with a drive letter"
    elif ".." in path.split("/"):
        problem = "has a '..' segment"
    elif "." in path.split("/"):
        problem = "has a '.' segment"
    elif "" in path.split("/"):
        problem = "has an empty segment (// or a trailing /)"
    elif len(path) > 4096 or any(len(part.encode()) > 255 for part in path.split("/")):
        problem = "is too long for a file system"
    else:
        return path
    raise UnsafePath(
        f"the path {_quoted(path)} {problem}; paths must be relative to the "
        f"project, like src/pkg/module.py"
    )


def confined(root: Path, path: str) -> Path:
    """`root / path`, once `path` is plain (see `check_relative`) and no folder between `root`
    and the file is a symlink, which would lead somewhere else. The file itself may be one:
    replacing or deleting a symlink acts on the link, and readers check it themselves."""
    check_relative(path)
    folder = root
    for part in path.split("/")[:-1]:
        folder = folder / part
        if folder.is_symlink():
            raise UnsafePath(
                f"the path {_quoted(path)} goes through "
                f"{folder.relative_to(root).as_posix()}, a symlink that may lead "
                f"out of the project"
            )
    return root / path


def _quoted(path: object) -> str:
    """A path for a one-line message: quoted, escaped, and cut short."""
    text = json.dumps(path)
    return text if len(text) <= 80 else text[:77] + '..."'
