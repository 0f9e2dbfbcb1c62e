"""Shared fixtures: real distributions with real entry points on a temporary sys.path entry."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from pathlib import Path
from typing import Callable, Dict, Optional

import pytest

MakeDist = Callable[..., Path]
pytest_plugins = ["pytester"]


def write_distribution(
    site: Path,
    name: str,
    version: str = "0.1.0",
    entry_points: Optional[Dict[str, Dict[str, str]]] = None,
    files: Optional[Dict[str, str]] = None,
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


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own user cache directory (the plugin index lives there), never the
    developer's ~/.cache."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
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
