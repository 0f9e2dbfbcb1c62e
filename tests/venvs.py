"""Fresh virtual environments and copies of this checkout, for the tests that install things.

Environments are made and filled by uv: omi-openclaw's wheel with pytest, build and twine in
3 s, where venv + pip took 45 s on the loaded 2-core machine (README, "Development: the test
suite"). A test about a pip command (a documented install, a workflow step) still runs pip
itself: it asks for an environment with pip in it and runs its command there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: What a clone of the repository does not hold (or the tests must not copy): git's own files,
#: virtual environments, build output and caches; examples/ and bench/ are not needed.
NOT_IN_A_CHECKOUT = (
    ".git",
    ".venv*",
    "dist",
    "build",
    "site",
    "__pycache__",
    "*.egg-info",
    "examples",
    "bench",
    ".mypy_cache",
)


#: `python -m build` with its build environments made by uv (the environment running it needs
#: the uv package): the same distributions, in less than half the time pip takes to fill them.
BUILD = ["-m", "build", "--installer", "uv"]


def uv() -> str:
    """The uv of the environment running the tests (a dev extra)."""
    from uv import find_uv_bin

    return str(find_uv_bin())


def _run(argv: list[str], cwd: Path | None, timeout: float) -> None:
    completed = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if completed.returncode != 0:
        pytest.fail(
            f"{' '.join(argv[:4])}... exited {completed.returncode}:\n"
            f"{completed.stdout[-3000:]}{completed.stderr[-3000:]}",
            pytrace=False,
        )


def make_venv(
    path: Path, *requirements: str | Path, pip: bool = False, cwd: Path | None = None
) -> Path:
    """A new virtual environment at `path`, for the Python running the tests, with
    `requirements` (pip's syntax, `-e DIR` included) installed into it; returns its bin folder.
    `pip=True` puts pip (and, before Python 3.12, setuptools and wheel) in it too, for a test
    that runs a pip command of its own."""
    seed = ["--seed"] if pip else []
    _run([uv(), "venv", "--quiet", *seed, "--python", sys.executable, str(path)], cwd, 120)
    if requirements:
        install(path, *requirements, cwd=cwd)
    return path / "bin"


def install(venv: Path, *requirements: str | Path, cwd: Path | None = None) -> None:
    """Install `requirements` (pip's syntax) into the virtual environment at `venv`, with uv."""
    python = str(venv / "bin" / "python")
    args = [str(requirement) for requirement in requirements]
    _run([uv(), "pip", "install", "--quiet", "--python", python, *args], cwd, 600)


def copy_checkout(target: Path) -> Path:
    """A copy of this checkout's source tree at `target`, as a fresh clone has it."""
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(*NOT_IN_A_CHECKOUT))
    return target
