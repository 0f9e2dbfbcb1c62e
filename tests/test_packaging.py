"""The distributions omi-openclaw publishes: what the sdist and the wheel carry."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

import pytest

from omi import __version__

pytestmark = pytest.mark.slow


def test_the_sdist_has_the_license_the_changelog_and_the_documentation(omi_dist: Path):
    sdist = omi_dist / f"omi_openclaw-{__version__}.tar.gz"
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for required in (
        "LICENSE",
        "CHANGELOG.md",
        "README.md",
        "pyproject.toml",
        "docs/mkdocs.yml",
        "docs/hooks.py",
        "docs/pages/index.md",
        "docs/pages/guide/interfaces.md",
        "docs/pages/reference/checks.md",
        "templates/_shared/workflows/ci.yml",
        "tests/test_docs.py",
    ):
        assert required in names, required
    assert not any(name.startswith("docs/site/") for name in names)


def test_the_wheel_carries_the_license_the_templates_and_py_typed(omi_dist: Path):
    wheel = omi_dist / f"omi_openclaw-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"omi_openclaw-{__version__}.dist-info/METADATA").decode()
    assert f"omi_openclaw-{__version__}.dist-info/licenses/LICENSE" in names
    assert "License-Expression: MIT" in metadata
    assert "omi/templates/embedding/cookiecutter.json" in names
    assert "omi/py.typed" in names  # PEP 561: type checkers use omi's annotations
