"""`omi plugins matrix` and the grades.

The slow tests build one wheelhouse per session: omi-openclaw from this checkout (0.4.0), a
variant of it whose suite is stricter (0.4.1: get_dimension() must be at least 1024), two
examples and a freshly rendered plugin of each kind, with every dependency; then they run real
matrices offline (--find-links, --offline) in real environments, shared through one cache.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Dict, List

import pytest
from click.testing import CliRunner

from omi.cli import cli
from omi.matrix import envs
from omi.matrix.cells import Cell, judge
from omi.matrix.grade import Evidence, badge, grade
from omi.matrix.html import render_html
from omi.matrix.render import github_matrix, render_markdown, render_text
from omi.matrix.run import Matrix, mark_regressions

ROOT = Path(__file__).resolve().parent.parent
OMI = str(Path(sys.executable).with_name("omi"))
FACTS = {"name": "omi-embedding-x", "version": "1.0", "plugins": ["omi.embedding_providers:x"],
         "license_expression": "MIT", "project_urls": ["Source, https://example.org/x"],
         "typed_classifier": True, "py_typed": True, "requires_python": ">=3.10",
         "readme": True}


def evidence(*statuses: str, **facts: Any) -> Evidence:
    results = [{"name": f"check_{n}", "status": status} for n, status in enumerate(statuses)]
    return Evidence([{"plugin": "x", "validation_error": None, "results": results}],
                    {**FACTS, **facts})


# --- grades -----------------------------------------------------------------------------------


def test_every_rule_met_is_platinum():
    assert grade(evidence("passed", "passed")).tier == "platinum"


@pytest.mark.parametrize(("statuses", "facts", "tier", "missing"), [
    (("passed", "failed"), {}, None, ["conforms"]),
    (("passed", "not-tested"), {}, None, ["tested"]),
    (("passed", "xfail"), {}, "bronze", ["no-known-failures"]),
    (("passed",), {"license_expression": None}, "bronze", ["license"]),
    (("passed",), {"requires_python": None}, "bronze", ["requires-python"]),
    (("passed", "advisory"), {}, "silver", ["no-advisories"]),
    (("passed",), {"py_typed": False}, "silver", ["typed"]),
    (("passed",), {"typed_classifier": False}, "silver", ["typed"]),
    (("passed",), {"project_urls": []}, "silver", ["project-urls"]),
    (("passed",), {"readme": False}, "silver", ["readme"]),
    (("passed", "skipped"), {}, "gold", ["every-check-ran"]),
    (("passed",), {"plugins": []}, None, ["installs"]),
])
def test_each_rule_holds_its_tier(statuses, facts, tier, missing):
    result = grade(evidence(*statuses, **facts))
    assert (result.tier, result.missing) == (tier, missing)


def test_a_tier_needs_every_tier_below_it():
    result = grade(evidence("passed", "xfail", project_urls=[]))  # misses silver and gold
    assert result.tier == "bronze"


def test_a_validation_error_or_an_install_error_leaves_no_grade():
    failed = Evidence([{"plugin": "x", "validation_error": "no interface_version",
                        "results": []}], FACTS)
    assert grade(failed).tier is None
    assert grade(Evidence([], {}, "No matching distribution found for x")).tier is None


def test_the_badge_is_a_shields_endpoint_document():
    assert badge("gold") == {"schemaVersion": 1, "label": "omi", "message": "gold",
                             "color": "dbb40c"}
    assert badge(None)["message"] == "ungraded"


# --- cell statuses ----------------------------------------------------------------------------


@pytest.mark.parametrize(("statuses", "status"), [
    (("not-tested", "not-tested"), "not-tested"),
    (("not-tested", "passed"), "pass"),
    (("passed", "skipped", "xfail", "xpass", "advisory"), "pass"),
    (("passed", "failed", "not-tested"), "fail"),
])
def test_a_cell_is_not_tested_only_when_no_check_could_reach_the_service(statuses, status):
    cell = Cell("p", "o", "3.11")
    judge(cell, evidence(*statuses))
    assert cell.status == status


def test_an_install_error_is_its_own_status_with_the_message():
    cell = Cell("p", "o", "3.11")
    judge(cell, Evidence([], {}, "No matching distribution found for p"))
    assert (cell.status, cell.message) == ("install-error", "No matching distribution found for p")


def test_a_distribution_without_an_omi_plugin_fails_naming_its_near_miss_group():
    cell = Cell("p", "o", "3.11")
    judge(cell, Evidence([], {**FACTS, "plugins": [], "misplaced": ["omi.embedding:x"]}))
    assert cell.status == "fail" and "omi.embedding:x" in (cell.message or "")


@pytest.mark.parametrize(("output", "line"), [
    ("ERROR: Could not find a version that satisfies the requirement omi-x==9 (from versions: "
     "none)\nERROR: No matching distribution found for omi-x==9\n",
     "Could not find a version that satisfies the requirement omi-x==9 (from versions: none)"),
    ("  × No solution found when resolving dependencies:\n  ╰─▶ Because omi-x was not found in "
     "the provided package locations and you\n      require omi-x, we can conclude that your "
     "requirements are unsatisfiable.\n",
     "Because omi-x was not found in the provided package locations and you"),
    ("", "the installer failed without a message"),
])
def test_the_resolvers_message_is_one_line(output, line):
    assert envs.resolver_message(output) == line


def test_the_environment_key_follows_a_directory_s_contents(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    installer = envs.Installer("pip")
    key = envs.environment_key([str(tmp_path)], sys.executable, installer, [], False)[0]
    (tmp_path / ".git" / "HEAD").write_text("other")  # not part of what installs
    assert envs.environment_key([str(tmp_path)], sys.executable, installer, [], False)[0] == key
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    changed = envs.environment_key([str(tmp_path)], sys.executable, installer, [], False)[0]
    offline = envs.environment_key([str(tmp_path)], sys.executable, installer, [], True)[0]
    assert len({key, changed, offline}) == 3


# --- rendering: plugin output is data ----------------------------------------------------------

HOSTILE = "<script>alert(1)</script>\x1b[2J|`*"


def hostile_matrix() -> Matrix:
    cell = Cell("evil", "omi-openclaw==0.4.0", "3.11", plugin_name=HOSTILE, plugin_version="1",
                omi_version="0.4.0", status="fail", message="1 check(s) failed",
                failed_checks=[{"plugin": HOSTILE, "check": "c<b>", "message": HOSTILE}])
    return Matrix(["evil"], ["omi-openclaw==0.4.0"], ["3.11"], None, "venv + pip", [cell])


def test_the_html_escapes_every_text_and_loads_nothing():
    page = render_html(hostile_matrix())
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page
    assert "\x1b" not in page and "<b>" not in page
    assert not re.search(r"(src|href)\s*=|https?://|@import|url\(", page)
    assert "default-src 'none'" in page


def test_the_text_and_markdown_escape_plugin_output():
    text = render_text(hostile_matrix())
    assert "\x1b" not in text and "\\x1b[2J" in text
    markdown = render_markdown(hostile_matrix())
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert "\\|\\`\\*" in markdown  # no table cell break, no code, no emphasis


def test_regressions_are_cells_failing_where_the_baseline_passed():
    cells = [Cell("a", "old", "3.11", baseline=True, status="pass"),
             Cell("a", "new", "3.11", status="fail"),
             Cell("b", "old", "3.11", baseline=True, status="fail"),
             Cell("b", "new", "3.11", status="fail"),
             Cell("c", "old", "3.11", baseline=True, status="pass"),
             Cell("c", "new", "3.11", status="install-error")]
    matrix = Matrix(["a", "b", "c"], ["new"], ["3.11"], "old", "", cells)
    mark_regressions(matrix)
    assert [c.plugin for c in matrix.regressions()] == ["a", "c"]
    assert matrix.exit_code() == 1
    matrix.cells = [c for c in cells if c.plugin == "b"]
    mark_regressions(matrix)
    assert matrix.exit_code() == 0  # b fails on both: no regression
    matrix.baseline = None
    assert matrix.exit_code() == 1  # without a baseline, any failure


def test_the_github_matrix_has_one_job_per_cell():
    matrix = Matrix(["p1", "p2"], ["."], ["3.10", "3.12"], "omi-openclaw==0.4.0")
    include = json.loads(github_matrix(matrix))["include"]
    assert len(include) == 8
    assert {(j["omi_flag"], j["omi"]) for j in include} == {
        ("--baseline", "omi-openclaw==0.4.0"), ("--omi", ".")}
    assert {"plugin", "omi", "omi_flag", "python", "name"} == set(include[0])


# --- usage errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["plugins", "matrix", "--omi", "."], "give at least one --plugin"),
    (["plugins", "matrix", "--plugin", "x"], "give at least one --omi"),
    (["plugins", "matrix", "--plugin", "x", "--omi", ".", "--python", "3"],
     "is not a Python version"),
    (["plugins", "matrix", "--plugin", "x", "--omi", ".", "--python", "3.1"],
     "no python3.1 on PATH"),
    (["plugins", "matrix", "--plugin", "x", "merge", "r.json"], "go with the run"),
    (["plugins", "matrix", "--plugin", "x", "--omi", ".", "--jobs", "0"], "--jobs"),
    (["plugins", "check", "--all", "--grade"], "--grade and --badge grade one plugin"),
])
def test_usage_errors_are_one_line_and_exit_2(args, message):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def write_report(path: Path, document: Any) -> str:
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(path)


def test_merge_refuses_what_is_not_a_matrix_report(tmp_path: Path):
    cell = Cell("p", "o", "3.11", status="pass").to_dict()
    report = {"schema": "omi-matrix/1", "plugins": ["p"], "omis": ["o"], "pythons": ["3.11"],
              "baseline": None, "cells": [cell]}
    cases = {
        "not JSON": ("{", "is not JSON"),
        "schema": ({"schema": "omi.plugins.check/1"}, "is not an omi-matrix/1 report"),
        "status": ({**report, "cells": [{**cell, "status": "great"}]}, "needs a status"),
        "missing": (None, "cannot read"),
    }
    for name, (document, message) in cases.items():
        path = tmp_path / f"{name}.json"
        args = [write_report(path, document) if document is not None else str(path)]
        result = CliRunner().invoke(cli, ["plugins", "matrix", "merge", *args])
        assert (result.exit_code, message in result.output) == (2, True), (name, result.output)
    twice = write_report(tmp_path / "a.json", report)
    result = CliRunner().invoke(cli, ["plugins", "matrix", "merge", twice, twice])
    assert result.exit_code == 2 and "merge each cell's report once" in result.output
    other = write_report(tmp_path / "b.json", {**report, "baseline": "x", "cells": []})
    third = write_report(tmp_path / "c.json", {**report, "baseline": "y", "cells": []})
    result = CliRunner().invoke(cli, ["plugins", "matrix", "merge", other, third])
    assert result.exit_code == 2 and "different baselines" in result.output


def test_neither_help_nor_list_imports_the_matrix():
    code = ("import sys\nfrom omi.cli import cli\nfor args in (['--help'], ['plugins', 'list'], "
            "['plugins', '--help'], ['plugins', 'check', '--help']):\n"
            "    try:\n        cli(args, prog_name='omi')\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('omi.matrix')), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stderr.strip().splitlines()[-1] == "[]"
