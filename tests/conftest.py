"""Shared fixtures: real distributions with real entry points on a temporary sys.path entry."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy  # noqa: F401 - imported once here, not in every check process forked from here
import pytest
from filelock import FileLock

MakeDist = Callable[..., Path]
BuildOnce = Callable[[str, Callable[[Path], None]], Path]
pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[1]

#: How long a worker waits for another one to finish building what they share.
BUILD_WAIT_SECONDS = 1800


def write_distribution(
    site: Path,
    name: str,
    version: str = "0.1.0",
    entry_points: dict[str, dict[str, str]] | None = None,
    files: dict[str, str] | None = None,
) -> Path:
    """Write an installed distribution (`*.dist-info` plus its modules) into `site`.

    This is what pip leaves behind, so importlib.metadata finds it exactly as it finds an
    installed plugin.
    """
    site.mkdir(parents=True, exist_ok=True)
    for relative, source in (files or {}).items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = []
    for group, names in (entry_points or {}).items():
        lines.append(f"[{group}]")
        lines += [f"{ep_name} = {value}" for ep_name, value in names.items()]
        lines.append("")
    (dist_info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
    return dist_info


#: pip's and uv's own caches, where they look for them before the tests move XDG_CACHE_HOME
#: (both read it on Linux): the tests' installs reuse their downloads and built wheels.
_USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
PIP_CACHE_DIR = os.environ.get("PIP_CACHE_DIR") or str(_USER_CACHE / "pip")
UV_CACHE_DIR = os.environ.get("UV_CACHE_DIR") or str(_USER_CACHE / "uv")


@pytest.fixture(autouse=True)
def private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test's own user cache directory (the plugin index lives there), never the
    developer's ~/.cache; pip and uv keep theirs."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("PIP_CACHE_DIR", PIP_CACHE_DIR)
        monkeypatch.setenv("UV_CACHE_DIR", UV_CACHE_DIR)
    return cache / "omi"


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh directory on sys.path (and PYTHONPATH, for subprocesses) for test plugins."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    before = set(sys.modules)
    yield site
    for module_name in set(sys.modules) - before:
        module_file = getattr(sys.modules[module_name], "__file__", None) or ""
        if module_file.startswith(str(site)):
            del sys.modules[module_name]
    importlib.invalidate_caches()


@pytest.fixture
def make_dist(plugin_site: Path) -> MakeDist:
    """Install a throwaway distribution: make_dist(name, version, entry_points=..., files=...)."""

    def make(name: str, version: str = "0.1.0", **kwargs) -> Path:
        dist_info = write_distribution(plugin_site, name, version, **kwargs)
        importlib.invalidate_caches()
        return dist_info

    return make


@pytest.fixture
def git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty global git configuration (and no system one), and a working directory
    outside any repository, so the developer's own git settings never leak into a test."""
    config = tmp_path / "gitconfig"
    config.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.chdir(tmp_path)
    return config


@pytest.fixture
def isolated_git(git_config: Path) -> None:
    """A git configuration with only an identity, outside any repository (the tests of
    `plugins update`, the record, the merge engines and atomic writes use it throughout)."""
    git_config.write_text("[user]\n\tname = Ada\n\temail = ada@example.org\n")


@pytest.fixture
def old_project(tmp_path: Path) -> Path:
    """A project made with the older template (tests/data/older)."""
    from template_projects import OLDER_TEMPLATE, render_project

    return render_project(tmp_path, OLDER_TEMPLATE)


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of this run that every pytest-xdist worker sees: the parent of the workers'
    own base temporary directories (each `popen-gwN`), or the base one without workers."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def build_once(shared_dir: Path) -> BuildOnce:
    """build_once(name, build): the directory `name` of this run, made by `build(directory)`
    the first time any worker asks for it, while the others wait on a file lock.

    For what is slow to make and only read afterwards (a virtual environment, a wheel). A
    failed build is remembered: the workers that asked next fail at once with its message
    instead of building it again.
    """

    def once(name: str, build: Callable[[Path], None]) -> Path:
        target = shared_dir / name
        built, failed = shared_dir / f"{name}.built", shared_dir / f"{name}.failed"
        with FileLock(str(shared_dir / f"{name}.lock"), timeout=BUILD_WAIT_SECONDS):
            if failed.exists():
                pytest.fail(
                    f"{name} (built once for the run) failed:\n{failed.read_text()}", pytrace=False
                )
            if not built.exists():
                shutil.rmtree(target, ignore_errors=True)
                target.mkdir()
                try:
                    build(target)
                except BaseException as error:  # pytest.fail's Failed is a BaseException
                    failed.write_text(str(error) or type(error).__name__)
                    raise
                built.touch()
        return target

    return once


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for the mypy runs of a test file (its --cache-dir, or MYPY_CACHE_DIR):
    omi and the libraries are analysed once, not once a run. mypy checks each cached module
    against its source, so a project's own modules are never taken stale from another's run."""
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture(scope="session")
def omi_dist(build_once: BuildOnce) -> Path:
    """omi-openclaw's sdist and wheel as `python -m build` makes them, once for the run."""

    def build(out: Path) -> None:
        from venvs import BUILD  # here: test_conftest.py runs a copy of this file on its own

        completed = subprocess.run(
            [sys.executable, *BUILD, "--outdir", str(out), str(ROOT)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    return build_once("omi-dist", build)


#: Where the tests keep their temporary files when TMPDIR is not set: in memory, when it has
#: room for a whole run (about 1.5 GiB: the environments and wheels; pytest keeps only the
#: failed tests' directories). The storage checks commit, and SQLite syncs to disk, hundreds
#: of times: on this machine's disk that was 1.7 s of the 2.1 s a SQLite suite takes, and 30 s
#: of a whole run's 300.
IN_MEMORY_TEMP = Path("/dev/shm")
IN_MEMORY_ROOM = 4 * 1024**3


def pytest_configure(config: pytest.Config) -> None:
    # pip's --no-compile for every pip the tests run (the option's environment variable, so
    # "0" turns compiling off): byte-compiling every module it installs was a third of a pip
    # install's CPU here, and Python compiles what a test imports when it imports it
    os.environ.setdefault("PIP_COMPILE", "0")
    if (
        not os.environ.get("TMPDIR")
        and IN_MEMORY_TEMP.is_dir()
        and os.access(IN_MEMORY_TEMP, os.W_OK | os.X_OK)
        and shutil.disk_usage(IN_MEMORY_TEMP).free >= IN_MEMORY_ROOM
    ):
        # before the first temporary directory: pytest's, and every process the tests start
        os.environ["TMPDIR"] = str(IN_MEMORY_TEMP)
        tempfile.tempdir = None


#: The longest files, longest first, as measured (the sum of their tests' times, --durations=0,
#: in a whole fresh-clone run on the 2-core machine): each runs whole on one worker, so they
#: start first and the short ones fill in around them.
LONGEST_FILES = (
    "test_generated_workflows.py",
    "test_workflows.py",
    "test_examples.py",
    "test_matrix.py",
    "test_conformance.py",
    "test_generated_plugins.py",
    "test_check_cli.py",
    "test_docs.py",
    "test_index.py",
    "test_installing.py",
    "test_testing.py",
    "test_generated_ci_variable.py",
    "test_scaffold.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first, then the other files that hold a test marked `slow`, then the
    rest (each file's tests stay together and in order): pytest-xdist hands the files to its
    workers in this order (scripts/test.sh), so the long ones start at once."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> tuple:
        name = item.path.name
        return (
            LONGEST_FILES.index(name) if name in LONGEST_FILES else len(LONGEST_FILES),
            item.path not in slow_files,
        )

    items.sort(key=rank)


@pytest.fixture(scope="session")
def postgres_dsn() -> str | None:
    """OMI_TEST_POSTGRES_DSN (None when unset); under pytest-xdist, the same server with a
    database of this worker's own (`<database>_gw0`, made on first use), so that workers never
    meet in one database. A server that refuses CREATE DATABASE is used as it is: the tests
    that use it keep to schemas of their own anyway."""
    dsn = os.environ.get("OMI_TEST_POSTGRES_DSN")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not dsn or not worker:
        return dsn
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"{conninfo_to_dict(dsn).get('dbname') or 'omi_test'}_{worker}"
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.InsufficientPrivilege:
        return dsn
    return make_conninfo(dsn, dbname=name)
