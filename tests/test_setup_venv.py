"""scripts/setup-venv.sh on machines that lack what a virtual environment needs.

Debian and Ubuntu ship `ensurepip` apart from python3 (python3.X-venv); without it
`python3 -m venv` stops half way and leaves a venv with no pip. The Python used here is the real
one with `ensurepip` hidden, as on such a machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from venvs import make_venv

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "setup-venv.sh"


def source_setup(venv: Path, python: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")
    }
    environment.update(OMI_VENV=str(venv), PYTHON=python, **env)
    return subprocess.run(
        ["bash", "-c", f'source "{SCRIPT}" && command -v python'],
        env=environment,
        text=True,
        capture_output=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def python_without_ensurepip(tmp_path: Path) -> str:
    hidden = tmp_path / "hide"
    (hidden / "ensurepip").mkdir(parents=True)
    (hidden / "ensurepip" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'ensurepip'\")\n"
    )
    wrapper = tmp_path / "python3"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="{hidden}" exec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def test_a_python_without_ensurepip_is_a_one_line_error_and_leaves_no_venv(
    tmp_path, python_without_ensurepip
):
    venv = tmp_path / "venv"
    result = source_setup(venv, python_without_ensurepip)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {python_without_ensurepip} cannot create virtual environments (no ensurepip "
        f"module); install it with 'sudo apt-get install python3-venv' or set PYTHON to "
        f"another Python 3.10+"
    ]
    assert not venv.exists()


def test_a_directory_that_is_not_a_venv_is_refused_untouched(tmp_path):
    venv = tmp_path / "mine"
    venv.mkdir()
    (venv / "notes.txt").write_text("keep me")
    result = source_setup(venv, sys.executable)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {venv} exists and is not a virtual environment; move it or set OMI_VENV"
    )
    assert [path.name for path in venv.iterdir()] == ["notes.txt"]


@pytest.mark.slow
def test_a_venv_left_without_pip_is_made_again(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    assert not (venv / "bin" / "pip").exists()
    result = source_setup(venv, sys.executable, OMI_EXTRAS="testing")
    assert result.returncode == 0, result.stderr
    assert "==> creating" in result.stdout
    assert result.stdout.splitlines()[-1] == str(venv / "bin" / "python")
    assert (venv / "bin" / "pip").exists() and (venv / "bin" / "omi").exists()
    assert (venv / "bin" / "uv").exists()  # pip installed uv, and uv installed the rest


def test_a_failed_install_shows_the_log_and_names_it_and_is_tried_again(tmp_path):
    """An extra that is no requirement: uv refuses it; the run stops with the log's tail and
    where the whole log is, and leaves no stamp, so the next run installs again."""
    venv = tmp_path / "venv"
    make_venv(venv, "uv", pip=True)
    result = source_setup(venv, sys.executable, OMI_EXTRAS="no such extra")
    assert result.returncode == 1
    log = venv / "pip-install.log"
    assert result.stderr.splitlines()[-1] == (
        f"error: installing -e {SCRIPT.parents[1]}[no such extra] into {venv} failed; "
        f"full log in {log}"
    )
    assert log.read_text().strip() and not (venv / ".omi-installed").exists()
