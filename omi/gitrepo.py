"""`omi plugins new --git`: make the new project a git repository holding one commit.

`omi plugins update` wants a clean work tree to merge into, so the project starts as one: every
file it was rendered with, committed. The commit is made before the project is moved into place,
so a git that fails leaves nothing behind.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

from omi.errors import OperationFailed, ScaffoldError

__all__ = ["commit_everything", "config_value", "require_git"]

GIT_TIMEOUT = 60  # seconds for one git command: init, add and commit of a small project


def require_git() -> None:
    """ScaffoldError unless a `git` program is on PATH."""
    if shutil.which("git") is None:
        raise ScaffoldError("--git needs git, which is not installed (no git program on PATH); "
                            "install git, or leave out --git")


def config_value(setting: str, cwd: Optional[Path] = None) -> str:
    """The value of a git setting as git sees it from `cwd` ('' when unset or git is missing)."""
    try:
        completed = subprocess.run(["git", "config", "--get", setting], cwd=cwd,
                                   capture_output=True, text=True, timeout=GIT_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return ""
    return completed.stdout.strip()


def commit_everything(project: Path, message: str, identity: Dict[str, str]) -> None:
    """`git init`, `git add -A` and one commit in `project`; OperationFailed with git's reason.

    `identity` ({"user.name": ..., "user.email": ...}, from the author answers) is used only for
    what git's own configuration leaves unset, so a machine without a git identity can commit.
    """
    _git(project, ["init", "--quiet", "--initial-branch=main"])
    settings: List[str] = []
    for setting, value in identity.items():
        if not config_value(setting, project):
            settings += ["-c", f"{setting}={value}"]
    _git(project, ["add", "--all"])
    _git(project, [*settings, "commit", "--quiet", "--message", message])


def _git(project: Path, arguments: List[str]) -> None:
    verb = next(word for word in arguments if not word.startswith("-") and "=" not in word)
    try:
        completed = subprocess.run(["git", *arguments], cwd=project, capture_output=True,
                                   text=True, timeout=GIT_TIMEOUT)
        reason = " ".join((completed.stderr or completed.stdout).split()) or "no message"
        failed = completed.returncode != 0
    except (OSError, subprocess.SubprocessError) as error:
        reason, failed = str(error), True
    if failed:
        raise OperationFailed(f"--git: git {verb} failed: {reason}; nothing was written")
