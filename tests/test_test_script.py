"""scripts/test.sh and .ci/run: a run that tests nothing must not pass.

pytest exits 5 when it collects no tests (a wrong path, a `-k` that matches nothing, a broken
testpaths); test.sh turns that into a failure. The run uses this environment's venv and a
server DSN that is never contacted, so nothing is installed or started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_run_that_collects_no_tests_is_a_failure():
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(OMI_VENV=sys.prefix, OMI_TEST_POSTGRES_DSN="host=/nowhere dbname=unused")
    result = subprocess.run(
        ["bash", "scripts/test.sh", "-q", "-p", "no:cacheprovider", "tests/test_test_script.py",
         "-k", "no_test_is_named_like_this"],
        cwd=ROOT, env=env, text=True, capture_output=True, timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: pytest collected no tests; a run that tests nothing is a failure")


def test_ci_runs_the_readme_test_command():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    assert lines[-1] == "exec bash scripts/test.sh"
    assert "bash scripts/test.sh" in (ROOT / "README.md").read_text()
