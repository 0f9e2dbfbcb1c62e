"""The isolated environments of a matrix: made with uv when it is installed, venv + pip
otherwise, and cached by a hash of everything that went into them.

The key covers the requirements (a wheel by its bytes, a local directory by its files), the
Python, the installer, the --find-links directories (their listings) and --offline; a re-run
with the same inputs finds the environment ready and installs nothing. A requirement that is a
name with a range is cached as what it resolved to: `--refresh` resolves it again. A failed
install leaves no environment behind, so it is tried again next time.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from omi.errors import UsageError
from omi.textsafety import one_line

MARKER = ".omi-matrix-env.json"
INSTALL_TIMEOUT = 1800.0  # seconds one environment may take to install
MAX_FILES = 20_000  # files of a local directory requirement that are hashed
SKIPPED_DIRS = {
    ".git",
    "__pycache__",
    ".venv",
    "venv",
    "build",
    "dist",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "node_modules",
}
MAX_MESSAGE = 400


class InstallError(Exception):
    """The installer's own message, one line."""


@dataclass(frozen=True)
class Installer:
    """How environments are made: `uv` (its path) or `pip` (venv + pip)."""

    name: str
    uv: str | None = None

    def describe(self) -> str:
        return f"uv ({self.uv})" if self.uv else "venv + pip"


def find_uv() -> str | None:
    """uv on PATH, or beside this Python (a `pip install uv` into the environment running omi)."""
    beside = Path(sys.executable).parent / "uv"
    return shutil.which("uv") or (str(beside) if os.access(beside, os.X_OK) else None)


def choose_installer(preference: str = "auto") -> Installer:
    """uv when `preference` is auto or uv and it is installed; venv + pip for pip."""
    uv = None if preference == "pip" else find_uv()
    if preference == "uv" and uv is None:
        raise UsageError(
            "--installer uv: uv is not installed; pip install uv (or drop "
            "--installer to use venv + pip)"
        )
    return Installer("uv", uv) if uv else Installer("pip")


def find_python(version: str | None) -> str:
    """The interpreter for `version` (X.Y): this one when it matches, else pythonX.Y on PATH."""
    current = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if version in (None, current):
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        raise UsageError(
            f"--python {version}: no python{version} on PATH; install that Python "
            f"or leave --python out to use this one ({current})"
        )
    return found


# --- the cache key ---------------------------------------------------------------------------


def _walk(directory: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            yield Path(root, name)


def fingerprint(requirement: str) -> str:
    """What `requirement` stands for: a wheel or archive by its bytes, a directory by its files'
    paths and bytes, anything else (a name with a range) by its text."""
    path = Path(requirement)
    digest = hashlib.sha256()
    if path.is_file():
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        return f"file:{digest.hexdigest()}"
    if path.is_dir():
        for count, file in enumerate(_walk(path)):
            if count >= MAX_FILES:
                raise UsageError(
                    f"{requirement} has more than {MAX_FILES} files; build a wheel "
                    f"of it and give the wheel"
                )
            digest.update(str(file.relative_to(path)).encode("utf-8", "surrogateescape"))
            digest.update(hashlib.sha256(file.read_bytes()).digest())
        return f"dir:{digest.hexdigest()}"
    return f"req:{requirement}"


def _listing(directory: str) -> list[list[object]]:
    """The files of a --find-links directory: a new wheel there may change what resolves."""
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return []
    return [[e.name, e.stat().st_size, e.stat().st_mtime_ns] for e in entries if e.is_file()]


@functools.cache
def python_version(python: str) -> str:
    """The full version of the interpreter `python` (asked once per run)."""
    return subprocess.run(
        [python, "-c", "import sys; print(sys.version)"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()


def environment_key(
    requirements: Sequence[str],
    python: str,
    installer: Installer,
    find_links: Sequence[str],
    offline: bool,
) -> tuple[str, dict[str, object]]:
    """The environment's name in the cache and the inputs it hashes."""
    version = python_version(python)
    inputs: dict[str, object] = {
        "requirements": [[req, fingerprint(req)] for req in requirements],
        "python": [os.path.realpath(python), version],
        "installer": installer.name,
        "find_links": [[link, _listing(link)] for link in find_links],
        "offline": offline,
    }
    text = json.dumps(inputs, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24], inputs


# --- making one environment ------------------------------------------------------------------


def _index_args(find_links: Sequence[str], offline: bool, uv: bool) -> list[str]:
    args = [arg for link in find_links for arg in ("--find-links", os.path.abspath(link))]
    if offline:
        args += ["--offline", "--no-index"] if uv else ["--no-index"]
    return args


def _commands(
    env: Path,
    requirements: Sequence[str],
    python: str,
    installer: Installer,
    find_links: Sequence[str],
    offline: bool,
) -> list[list[str]]:
    local = [os.path.abspath(r) if os.path.exists(r) else r for r in requirements]
    target = str(env / "bin" / "python")
    if installer.uv:
        return [
            [installer.uv, "venv", "--quiet", "--python", python, str(env)],
            [
                installer.uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                target,
                *_index_args(find_links, offline, True),
                *local,
            ],
        ]
    pip = [
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        *_index_args(find_links, offline, False),
        *local,
    ]
    if importlib.util.find_spec("pip") is not None:  # this pip installs into the environment:
        return [
            [python, "-m", "venv", "--without-pip", str(env)],  # no ensurepip, 10-25 s less
            [sys.executable, "-m", "pip", "--python", target, *pip],
        ]
    return [[python, "-m", "venv", str(env)], [target, "-m", "pip", *pip]]


def resolver_message(output: str) -> str:
    """The one line of an installer's output that says why it failed."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for prefix in ("╰─▶ ", "× ", "ERROR: ", "error: "):
        chosen = [line for line in lines if line.startswith(prefix)]
        if chosen:
            return one_line(chosen[0][len(prefix) :])[:MAX_MESSAGE]
    return one_line(lines[-1] if lines else "the installer failed without a message")[:MAX_MESSAGE]


def clean_environment() -> dict[str, str]:
    """os.environ without what would make a cell's Python see another environment."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "UV_PYTHON")
    }


def _install(env: Path, commands: list[list[str]], offline: bool) -> None:
    variables = clean_environment()
    if offline:
        variables["UV_PYTHON_DOWNLOADS"] = "never"
    for command in commands:
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env=variables,
                timeout=INSTALL_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise InstallError(f"the install took longer than {INSTALL_TIMEOUT:.0f} s") from None
        if done.returncode != 0:
            raise InstallError(resolver_message(done.stdout + "\n" + done.stderr))


@dataclass
class Prepared:
    path: Path
    cached: bool  # True when the environment was ready: nothing was installed
    seconds: float


def prepare(
    cache: Path,
    requirements: Sequence[str],
    python: str,
    installer: Installer,
    find_links: Sequence[str],
    offline: bool,
    refresh: bool = False,
) -> Prepared:
    """The environment with `requirements` installed, from the cache when it is there.

    One process at a time makes a given environment (a lock file beside it); its marker is
    written last, so an environment whose install was cut short is made again.
    """
    import fcntl

    start = time.perf_counter()
    key, inputs = environment_key(requirements, python, installer, find_links, offline)
    cache.mkdir(parents=True, exist_ok=True)
    env = cache / key
    with open(cache / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = env / MARKER
        if marker.is_file() and not refresh:
            return Prepared(env, True, time.perf_counter() - start)
        shutil.rmtree(env, ignore_errors=True)
        try:
            _install(
                env, _commands(env, requirements, python, installer, find_links, offline), offline
            )
        except BaseException:
            shutil.rmtree(env, ignore_errors=True)
            raise
        marker.write_text(json.dumps(inputs, indent=1), encoding="utf-8")
    return Prepared(env, False, time.perf_counter() - start)
