"""scripts/test.sh and .ci/run: a run that tests nothing must not pass.

pytest exits 5 when it collects no tests (a wrong path, a `-k` that matches nothing, a broken
testpaths); test.sh turns that into a failure. The run uses this environment's venv and a
server DSN that is never contacted, so nothing is installed or started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_run_that_collects_no_tests_is_a_failure():
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    # no pytest-xdist workers: what is tested is the exit status, not the workers' start-up
    env.update(
        OMI_VENV=sys.prefix,
        OMI_TEST_POSTGRES_DSN="host=/nowhere dbname=unused",
        OMI_TEST_WORKERS="0",
    )
    result = subprocess.run(
        [
            "bash",
            "scripts/test.sh",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_test_script.py",
            "-k",
            "no_test_is_named_like_this",
        ],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: pytest collected no tests; a run that tests nothing is a failure"
    )


def test_ci_runs_the_readme_test_command():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    assert lines[-1] == "exec bash scripts/test.sh"
    assert "bash scripts/test.sh" in (ROOT / "README.md").read_text()


def _fake_tools(tmp_path: Path, uid: int, chromium: bool) -> tuple:
    """A PATH of only what chromium.sh needs: a fake `id` (uid), a fake `apt-get` that logs
    its arguments, and a fake `chromium` when asked."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("mktemp", "rm", "tail", "cat"):
        (tools / name).symlink_to(shutil.which(name))
    calls = tmp_path / "apt-calls"
    fakes = {"id": f"echo {uid}", "apt-get": f'echo "$*" >> {calls}'}
    if chromium:
        fakes["chromium"] = "exit 0"
    for name, body in fakes.items():
        (tools / name).write_text(f"#!{shutil.which('bash')}\n{body}\n")
        (tools / name).chmod(0o755)
    return str(tools), calls


@pytest.mark.parametrize(
    ("uid", "chromium", "installs"), [(0, False, True), (0, True, False), (1000, False, False)]
)
def test_chromium_is_installed_only_as_root_and_only_when_missing(
    tmp_path, uid, chromium, installs
):
    path, calls = _fake_tools(tmp_path, uid, chromium)
    result = subprocess.run(
        [shutil.which("bash"), "-c", "source scripts/chromium.sh && chromium_install"],
        cwd=ROOT,
        env={"PATH": path},
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    apt = calls.read_text().splitlines() if calls.exists() else []
    if installs:
        assert apt[-1].endswith("-q install -y --no-install-recommends chromium"), apt
        assert "installing Debian's chromium" in result.stderr
    else:
        assert apt == [] and result.stderr == ""


@pytest.mark.parametrize("workers", ["abc", "-1", "2x"])
def test_a_bad_number_of_workers_is_one_line_exit_2_before_any_setup(tmp_path, workers):
    venv = tmp_path / "venv"  # set up, it would be made here: it must not be
    result = subprocess.run(
        ["bash", "scripts/test.sh", "tests/test_test_script.py"],
        cwd=ROOT,
        env={**os.environ, "OMI_TEST_WORKERS": workers, "OMI_VENV": str(venv)},
        text=True,
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "error: OMI_TEST_WORKERS must be a whole number of test workers (0 runs the tests in "
        f"one process), got '{workers}'\n"
    )
    assert result.stdout == "" and not venv.exists()
