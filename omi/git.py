"""Every git command OMI runs, and the one environment it runs them in.

- `plugins new --git` makes the new project a repository holding one commit (`plugins update`
  wants a clean work tree to merge into), before the project is moved into place, so a git
  that fails leaves nothing behind;
- `plugins update` asks whether the work tree is clean and which files git does not track;
- a three-way merge of one file uses `git merge-file` where git is installed.

Git runs without the variables that tie it to one repository (`git_environment`), so inside
a git hook or `git rebase --exec` it still acts on the directory it is run in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from omi.errors import OperationFailed, ScaffoldError

__all__ = [
    "available",
    "commit_everything",
    "config_value",
    "git_environment",
    "merge_file",
    "require_git",
    "run_git",
    "untracked_among",
    "worktree_state",
]

GIT_TIMEOUT = 60  # seconds for one git command: init, add and commit of a small project

#: What `git rev-parse --local-env-vars` names: the variables that tie git to one repository.
#: Inherited (inside a git hook, or `git rebase --exec`), they would make every git command OMI
#: runs act on that repository instead of the directory it is run in.
REPOSITORY_VARIABLES = frozenset(
    {
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CONFIG",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
        "GIT_OBJECT_DIRECTORY",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_IMPLICIT_WORK_TREE",
        "GIT_GRAFT_FILE",
        "GIT_INDEX_FILE",
        "GIT_NO_REPLACE_OBJECTS",
        "GIT_REPLACE_REF_BASE",
        "GIT_PREFIX",
        "GIT_INTERNAL_SUPER_PREFIX",
        "GIT_SHALLOW_FILE",
        "GIT_COMMON_DIR",
    }
)


def git_environment() -> dict[str, str]:
    """This process's environment without the variables that point git at a repository
    (`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` go with GIT_CONFIG_COUNT): git then finds the
    repository from the directory it runs in, as a user typing the command would."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in REPOSITORY_VARIABLES
        and not name.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))
    }


def run_git(
    arguments: list[str], cwd: Path | None, timeout: float = GIT_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """`git ARGUMENTS` in `cwd` with `git_environment()`, its output captured as text: every
    git command OMI runs on a project goes through here. Raises OSError when git cannot be
    started and subprocess.TimeoutExpired after `timeout` seconds."""
    return subprocess.run(
        ["git", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=git_environment(),
    )


def available() -> bool:
    """Whether a `git` program is on PATH."""
    return shutil.which("git") is not None


def require_git() -> None:
    """ScaffoldError unless a `git` program is on PATH."""
    if not available():
        raise ScaffoldError(
            "--git needs git, which is not installed (no git program on PATH); "
            "install git, or leave out --git"
        )


def config_value(setting: str, cwd: Path | None = None) -> str:
    """The value of a git setting as git sees it from `cwd` ('' when unset or git is missing)."""
    try:
        completed = run_git(["config", "--get", setting], cwd)
    except (OSError, subprocess.SubprocessError):
        return ""
    return completed.stdout.strip()


def commit_everything(project: Path, message: str, identity: dict[str, str]) -> None:
    """`git init`, `git add -A` and one commit in `project`; OperationFailed with git's reason.

    `identity` ({"user.name": ..., "user.email": ...}, from the author answers) is used only for
    what git's own configuration leaves unset, so a machine without a git identity can commit.
    """
    _git(project, ["init", "--quiet", "--initial-branch=main"])
    settings: list[str] = []
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
        raise OperationFailed(
            f"--git: git reported success but {project.name} holds no commit "
            f"of its own; nothing was written"
        )


def _git(project: Path, arguments: list[str]) -> None:
    verb = next(word for word in arguments if not word.startswith("-") and "=" not in word)
    try:
        completed = run_git(arguments, project)
        reason = " ".join((completed.stderr or completed.stdout).split()) or "no message"
        failed = completed.returncode != 0
    except (OSError, subprocess.SubprocessError) as error:
        reason, failed = str(error), True
    if failed:
        raise OperationFailed(f"--git: git {verb} failed: {reason}; nothing was written")


# --- the work tree `plugins update` writes into --------------------------------------------


def _answer(project: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    """git's answer in `project`, or None when git is not installed."""
    try:
        return run_git(list(args), project)
    except FileNotFoundError:
        return None


def worktree_state(project: Path) -> tuple[str, str]:
    """("clean" | "dirty" | "no-git" | "not-a-repo" | "failed", detail) for the project's
    directory: the changed tracked files (one a line) when dirty, git's message when it
    failed; untracked files do not count (see `untracked_among`)."""
    completed = _answer(project, "status", "--porcelain", "--untracked-files=no", "--", ".")
    if completed is None:
        return "no-git", "git is not installed"
    if completed.returncode != 0:
        if "not a git repository" in completed.stderr:
            return "not-a-repo", f"{project} is not in a git work tree"
        return "failed", " ".join(completed.stderr.split())
    changed = [line[3:] for line in completed.stdout.splitlines() if line.strip()]
    return ("dirty", "\n".join(changed)) if changed else ("clean", "")


def untracked_among(project: Path, paths: Sequence[str]) -> list[str] | None:
    """The `paths` (relative to `project`) that exist but git does not track, ignored ones
    included (what git could not give back if they were overwritten or deleted); None when
    git cannot tell."""
    if not paths:
        return []
    completed = _answer(project, "--literal-pathspecs", "ls-files", "--others", "-z", "--", *paths)
    if completed is None or completed.returncode != 0:
        return None
    return sorted(name for name in completed.stdout.split("\0") if name)


# --- merging one file ----------------------------------------------------------------------


def merge_file(base: str, ours: str, theirs: str, labels: tuple[str, str, str]) -> tuple[str, int]:
    """`git merge-file` of three texts: the merged text and its number of conflicts, marked
    with `labels` (ours, base, theirs). RuntimeError when git fails."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="omi-merge-") as scratch:
        paths = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(scratch) / name
            path.write_bytes(text.encode("utf-8"))
            paths.append(str(path))
        completed = subprocess.run(
            [
                "git",
                "-c",
                "merge.conflictStyle=merge",
                "merge-file",
                "-p",
                "-L",
                labels[0],
                "-L",
                labels[1],
                "-L",
                labels[2],
                *paths,
            ],
            capture_output=True,
            cwd=scratch,
            timeout=GIT_TIMEOUT,
            env=git_environment(),
        )
    if not 0 <= completed.returncode < 128:
        raise RuntimeError(f"git merge-file failed: {completed.stderr.decode(errors='replace')}")
    return completed.stdout.decode("utf-8"), completed.returncode
