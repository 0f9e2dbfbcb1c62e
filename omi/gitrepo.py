"""`omi plugins new --git`: make the new project a git repository holding one commit.

`omi plugins update` wants a clean work tree to merge into, so the project starts as one: every
file it was rendered with, committed. The commit is made before the project is moved into place,
so a git that fails leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

from omi.errors import OperationFailed, ScaffoldError

__all__ = ["commit_everything", "config_value", "git_environment", "require_git", "run_git"]

GIT_TIMEOUT = 60  # seconds for one git command: init, add and commit of a small project

#: What `git rev-parse --local-env-vars` names: the variables that tie git to one repository.
#: Inherited (inside a git hook, or `git rebase --exec`), they would make every git command OMI
#: runs act on that repository instead of the directory it is run in.
REPOSITORY_VARIABLES = frozenset({
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT", "GIT_OBJECT_DIRECTORY", "GIT_DIR", "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE", "GIT_INDEX_FILE", "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE", "GIT_PREFIX", "GIT_INTERNAL_SUPER_PREFIX", "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR",
})


def git_environment() -> Dict[str, str]:
    """This process's environment without the variables that point git at a repository
    (`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` go with GIT_CONFIG_COUNT): git then finds the
    repository from the directory it runs in, as a user typing the command would."""
    return {name: value for name, value in os.environ.items()
            if name not in REPOSITORY_VARIABLES
            and not name.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))}


def run_git(arguments: List[str], cwd: Optional[Path],
            timeout: float = GIT_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """`git ARGUMENTS` in `cwd` with `git_environment()`, its output captured as text: every
    git command OMI runs on a project goes through here. Raises OSError when git cannot be
    started and subprocess.TimeoutExpired after `timeout` seconds."""
    return subprocess.run(["git", *arguments], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=git_environment())


def require_git() -> None:
    """ScaffoldError unless a `git` program is on PATH."""
    if shutil.which("git") is None:
        raise ScaffoldError("--git needs git, which is not installed (no git program on PATH); "
                            "install git, or leave out --git")


def config_value(setting: str, cwd: Optional[Path] = None) -> str:
    """The value of a git setting as git sees it from `cwd` ('' when unset or git is missing)."""
    try:
        completed = run_git(["config", "--get", setting], cwd)
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
    _verify_commit(project)


def _verify_commit(project: Path) -> None:
    """OperationFailed unless `project` is the top of a repository whose HEAD is a commit:
    what `omi plugins new --git` says it made."""
    try:
        answer = run_git(["rev-parse", "--show-toplevel", "--verify", "HEAD^{commit}"], project)
        top = answer.stdout.splitlines()[0] if answer.returncode == 0 and answer.stdout else ""
        made = bool(top) and Path(top).resolve() == project.resolve()
    except (OSError, subprocess.SubprocessError):
        made = False
    if not made:
        raise OperationFailed(f"--git: git reported success but {project.name} holds no commit "
                              f"of its own; nothing was written")


def _git(project: Path, arguments: List[str]) -> None:
    verb = next(word for word in arguments if not word.startswith("-") and "=" not in word)
    try:
        completed = run_git(arguments, project)
        reason = " ".join((completed.stderr or completed.stdout).split()) or "no message"
        failed = completed.returncode != 0
    except (OSError, subprocess.SubprocessError) as error:
        reason, failed = str(error), True
    if failed:
        raise OperationFailed(f"--git: git {verb} failed: {reason}; nothing was written")
