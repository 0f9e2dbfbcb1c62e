"""The suite's own machinery in conftest.py: what pytest-xdist workers build once and share."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).parent

SHARING = """
import os
import sys
import time

import pytest

sys.path.insert(0, {tests!r})
from conftest import build_once, shared_dir  # noqa: E402,F401 - the fixtures under test


def build(target):
    with open({log!r}, "a") as log:
        log.write(os.environ.get("PYTEST_XDIST_WORKER", "-") + "\\n")
    time.sleep(0.5)  # long enough for the other worker to ask meanwhile
    (target / "made").write_text("yes")


def broken(target):
    raise RuntimeError("no compiler here")


@pytest.mark.parametrize("n", range(4))
def test_shared(build_once, n):
    assert (build_once("thing", build) / "made").read_text() == "yes"


@pytest.mark.parametrize("n", range(2))
def test_broken(build_once, n):
    build_once("broken", broken)
"""


@pytest.mark.slow
def test_workers_build_once_and_a_failed_build_is_not_tried_again(
    pytester: pytest.Pytester, tmp_path: Path
):
    log = tmp_path / "builds.log"
    pytester.makepyfile(test_sharing=SHARING.format(tests=str(TESTS), log=str(log)))
    result = pytester.runpytest_subprocess("-n", "2", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=2)
    assert len(log.read_text().splitlines()) == 1, log.read_text()
    output = result.stdout.str()
    assert "[gw0]" in output and "[gw1]" in output  # both workers did take part
    assert "RuntimeError: no compiler here" in output  # the worker that built it
    assert "broken (built once for the run) failed:\nno compiler here" in output  # the other


DATABASES = """
import os
import sys

import psycopg
import pytest

sys.path.insert(0, {tests!r})
from conftest import postgres_dsn  # noqa: E402,F401 - the fixture under test


@pytest.mark.parametrize("n", range(4))
def test_database(postgres_dsn, n):
    with psycopg.connect(postgres_dsn) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]
    with open({log!r}, "a") as log:
        log.write(f"{{os.environ['PYTEST_XDIST_WORKER']}} {{name}}\\n")
"""


@pytest.mark.slow
@pytest.mark.postgres
def test_each_worker_has_a_postgres_database_of_its_own(pytester: pytest.Pytester, tmp_path: Path):
    import psycopg

    if not os.environ.get("OMI_TEST_POSTGRES_DSN"):
        pytest.fail("needs OMI_TEST_POSTGRES_DSN: run it with bash scripts/test.sh", pytrace=False)
    with psycopg.connect(os.environ["OMI_TEST_POSTGRES_DSN"]) as conn:
        database = conn.execute("SELECT current_database()").fetchone()[0]
    log = tmp_path / "databases.log"
    pytester.makepyfile(test_databases=DATABASES.format(tests=str(TESTS), log=str(log)))
    pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider").assert_outcomes(passed=4)
    seen = {tuple(line.split()) for line in log.read_text().splitlines()}
    assert seen == {("gw0", f"{database}_gw0"), ("gw1", f"{database}_gw1")}, seen


@pytest.mark.slow
def test_the_longest_files_go_out_first_then_the_slow_ones_then_the_rest(pytester):
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow\n")
    pytester.makepyfile(
        test_a="def test_a():\n    pass\n",
        test_b="import pytest\n\n@pytest.mark.slow\ndef test_b():\n    pass\n",
        test_matrix="def test_m():\n    pass\n",
        test_generated_workflows="def test_w():\n    pass\n",
    )
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-p", "no:xdist")
    assert [line.split("::")[0] for line in result.outlines if "::" in line] == [
        "test_generated_workflows.py",
        "test_matrix.py",
        "test_b.py",
        "test_a.py",
    ]
