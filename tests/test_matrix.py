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
from typing import Any

import pytest
from browser import CHROMIUM, NO_BROWSER, dump_dom
from click.testing import CliRunner
from venvs import NOT_IN_A_CHECKOUT, uv

from omi.cli import cli
from omi.matrix import envs
from omi.matrix.cells import Cell, judge, requirement_name
from omi.matrix.grade import RULES, Evidence, badge, grade
from omi.matrix.html import render_html
from omi.matrix.render import github_matrix, render_markdown, render_text
from omi.matrix.run import Matrix, mark_regressions

ROOT = Path(__file__).resolve().parent.parent
OMI = str(Path(sys.executable).with_name("omi"))
FACTS = {
    "name": "omi-embedding-x",
    "version": "1.0",
    "plugins": ["omi.embedding_providers:x"],
    "license_expression": "MIT",
    "project_urls": ["Source, https://example.org/x"],
    "typed_classifier": True,
    "py_typed": True,
    "requires_python": ">=3.10",
    "readme": True,
}


def evidence(*statuses: str, **facts: Any) -> Evidence:
    results = [
        {
            "name": f"check_{n}",
            "status": status,
            "message": "needs capability 'semantic' (declare it ...)"
            if status == "skipped"
            else "",
        }
        for n, status in enumerate(statuses)
    ]
    return Evidence(
        [{"plugin": "x", "validation_error": None, "results": results}], {**FACTS, **facts}
    )


# --- grades -----------------------------------------------------------------------------------


def test_every_rule_met_is_platinum():
    assert grade(evidence("passed", "passed")).tier == "platinum"


@pytest.mark.parametrize(
    ("statuses", "facts", "tier", "missing"),
    [
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
        (("passed", "skipped"), {}, "gold", ["all-capabilities"]),
        (("passed",), {"plugins": []}, None, ["installs"]),
    ],
)
def test_each_rule_holds_its_tier(statuses, facts, tier, missing):
    result = grade(evidence(*statuses, **facts))
    assert (result.tier, result.missing) == (tier, missing)


def test_a_check_that_does_not_apply_is_no_missing_capability():
    shared = evidence("passed")
    shared.reports[0]["results"].append(
        {
            "name": "isolated",
            "status": "skipped",
            "message": "does not apply: the plugin declares 'shared'",
        }
    )
    assert grade(shared).tier == "platinum"


def test_a_tier_needs_every_tier_below_it():
    result = grade(evidence("passed", "xfail", project_urls=[]))  # misses silver and gold
    assert result.tier == "bronze"


def test_a_validation_error_or_an_install_error_leaves_no_grade():
    failed = Evidence(
        [{"plugin": "x", "validation_error": "no interface_version", "results": []}], FACTS
    )
    assert grade(failed).tier is None
    assert grade(Evidence([], {}, "No matching distribution found for x")).tier is None


def test_the_badge_is_a_shields_endpoint_document():
    assert badge("gold") == {
        "schemaVersion": 1,
        "label": "omi",
        "message": "gold",
        "color": "dbb40c",
    }
    assert badge(None)["message"] == "ungraded"


# --- cell statuses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "status"),
    [
        (("not-tested", "not-tested"), "not-tested"),
        (("not-tested", "passed"), "pass"),
        (("passed", "skipped", "xfail", "xpass", "advisory"), "pass"),
        (("passed", "failed", "not-tested"), "fail"),
    ],
)
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


@pytest.mark.parametrize(
    ("output", "line"),
    [
        (
            "ERROR: Could not find a version that satisfies the requirement omi-x==9 (from versions: "
            "none)\nERROR: No matching distribution found for omi-x==9\n",
            "Could not find a version that satisfies the requirement omi-x==9 (from versions: none)",
        ),
        (
            "  × No solution found when resolving dependencies:\n  ╰─▶ Because omi-x was not found in "
            "the provided package locations and you\n      require omi-x, we can conclude that your "
            "requirements are unsatisfiable.\n",
            "Because omi-x was not found in the provided package locations and you",
        ),
        ("", "the installer failed without a message"),
    ],
)
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


def test_the_distribution_a_requirement_names(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'omi-storage-here'\n")
    wheel = tmp_path / "omi_embedding_x-1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    assert [
        requirement_name(r)
        for r in (
            "omi-event-y[extra]>=1,<2",
            "omi-event-z @ https://example.invalid/z.whl",
            "git+https://example.invalid/repo",
            str(wheel),
            str(tmp_path),
            str(tmp_path / "missing"),
        )
    ] == ["omi-event-y", "omi-event-z", None, "omi_embedding_x", "omi-storage-here", None]


# --- rendering: plugin output is data ----------------------------------------------------------

HOSTILE = "<script>alert(1)</script>\x1b[2J|`*"


def hostile_matrix() -> Matrix:
    cell = Cell(
        "evil",
        "omi-openclaw==0.4.0",
        "3.11",
        plugin_name=HOSTILE,
        plugin_version="1",
        omi_version="0.4.0",
        status="fail",
        message="1 check(s) failed",
        failed_checks=[{"plugin": HOSTILE, "check": "c<b>", "message": HOSTILE}],
    )
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
    cells = [
        Cell("a", "old", "3.11", baseline=True, status="pass"),
        Cell("a", "new", "3.11", status="fail"),
        Cell("b", "old", "3.11", baseline=True, status="fail"),
        Cell("b", "new", "3.11", status="fail"),
        Cell("c", "old", "3.11", baseline=True, status="pass"),
        Cell("c", "new", "3.11", status="install-error"),
    ]
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
        ("--baseline", "omi-openclaw==0.4.0"),
        ("--omi", "."),
    }
    assert {"plugin", "omi", "omi_flag", "python", "name"} == set(include[0])


# --- usage errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plugins", "matrix", "--omi", "."], "give at least one --plugin"),
        (["plugins", "matrix", "--plugin", "x"], "give at least one --omi"),
        (
            ["plugins", "matrix", "--plugin", "x", "--omi", ".", "--python", "3"],
            "is not a Python version",
        ),
        (
            ["plugins", "matrix", "--plugin", "x", "--omi", ".", "--python", "3.1"],
            "no python3.1 on PATH",
        ),
        (["plugins", "matrix", "--plugin", "x", "merge", "r.json"], "go with the run"),
        (["plugins", "matrix", "--plugin", "x", "--omi", ".", "--jobs", "0"], "--jobs"),
        (["plugins", "check", "--all", "--grade"], "--grade and --badge grade one plugin"),
        (
            ["plugins", "matrix", "--plugin", "--index-url=http://example.invalid", "--omi", "."],
            "an installer would read it as an option",
        ),
        (
            ["plugins", "matrix", "--plugin", "x", "--omi", ".", "--html", "/nonexistent/m.html"],
            "is not a writable directory",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args, message):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def write_report(path: Path, document: Any) -> str:
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(path)


def test_merge_refuses_what_is_not_a_matrix_report(tmp_path: Path):
    cell = Cell("p", "o", "3.11", status="pass").to_dict()
    report = {
        "schema": "omi-matrix/1",
        "plugins": ["p"],
        "omis": ["o"],
        "pythons": ["3.11"],
        "baseline": None,
        "cells": [cell],
    }
    cases = {
        "not JSON": ("{", "is not JSON"),
        "schema": ({"schema": "omi.plugins.check/1"}, "is not an omi-matrix/1 report"),
        "status": ({**report, "cells": [{**cell, "status": "great"}]}, "needs a status"),
        "type": (
            {**report, "cells": [{**cell, "regression": "yes"}]},
            "a cell's 'regression' is not bool",
        ),
        "grade": ({**report, "cells": [{**cell, "grade": "diamond"}]}, "grade is not one of"),
        "no plugin": ({**report, "cells": [{**cell, "plugin": None}]}, "'plugin' is not str"),
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


def test_the_documented_workflow_is_valid_hardened_and_runs_each_cell_as_printed(tmp_path: Path):
    from workflows import hardening_problems, load, pinned_actions, schema_errors

    page = (ROOT / "docs" / "pages" / "reference" / "matrix.md").read_text(encoding="utf-8")
    workflow = tmp_path / "matrix.yml"
    workflow.write_text(page.split("```yaml\n", 1)[1].split("```", 1)[0], encoding="utf-8")
    assert schema_errors(load(workflow), "github-workflows") == []
    assert hardening_problems(workflow) == []
    ours = {
        (a["action"], a["ref"])
        for path in (ROOT / ".github" / "workflows").glob("*.yml")
        for a in pinned_actions(path)
    }
    assert {(a["action"], a["ref"]) for a in pinned_actions(workflow)} <= ours
    keys = set(json.loads(github_matrix(Matrix(["p"], ["."], ["3.12"], "b")))["include"][0])
    used = set(re.findall(r"\$\{\{ matrix\.(\w+) \}\}", workflow.read_text()))
    assert used == keys


def test_neither_help_nor_list_imports_the_matrix():
    code = (
        "import sys\nfrom omi.cli import cli\nfor args in (['--help'], ['plugins', 'list'], "
        "['plugins', '--help'], ['plugins', 'check', '--help']):\n"
        "    try:\n        cli(args, prog_name='omi')\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('omi.matrix')), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stderr.strip().splitlines()[-1] == "[]"


# --- real matrices, offline, from a local wheelhouse (slow) ------------------------------------

EXAMPLES = ("omi-embedding-example", "omi-event-webhook")
KINDS = ("embedding", "storage", "event")


def _run(argv: list[Any], cwd: Path, timeout: float = 900) -> str:
    done = subprocess.run(
        [str(arg) for arg in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        pytest.fail(f"{argv[:4]} failed:\n{(done.stdout + done.stderr)[-3000:]}", pytrace=False)
    return done.stdout


def _stricter_checkout(target: Path) -> Path:
    """A copy of this checkout as omi-openclaw 0.4.1, whose get_dimension() check wants 1024
    dimensions or more: a release that breaks a plugin which was fine."""
    files = _run(["git", "ls-files", "-z"], ROOT).split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    for relative, old, new in (
        ("omi/__init__.py", '"0.4.0"', '"0.4.1"'),
        ("omi/conformance/embedding.py", "and first > 0,", "and first >= 1024,"),
    ):
        text = (target / relative).read_text(encoding="utf-8")
        assert old in text, f"{relative} changed: the stricter variant needs a new edit"
        (target / relative).write_text(text.replace(old, new), encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory, omi_dist: Path) -> dict[str, Path]:
    """Wheels of both omi-openclaw versions (this checkout's is omi_dist's), the examples and a
    freshly rendered plugin of each kind, and of every dependency; by short name."""
    work = tmp_path_factory.mktemp("matrix-wheelhouse")
    house = work / "wheels"
    house.mkdir()
    shutil.copy2(next(omi_dist.glob("omi_openclaw-*.whl")), house)
    rendered = work / "rendered"
    rendered.mkdir()
    for kind in KINDS:
        _run(
            [
                OMI,
                "plugins",
                "new",
                kind,
                "fresh",
                "-o",
                rendered,
                "--no-input",
                "--set",
                f"repository=https://github.com/example/omi-{kind}-fresh",
            ],
            work,
        )

    def build(source: Path) -> None:  # uv's build: in half the time pip's took
        _run([uv(), "build", "--quiet", "--wheel", "--out-dir", house, source], work)

    for name in EXAMPLES:  # a copy, as a clone has it: a build writes into the tree it builds
        example = ROOT / "examples" / name
        shutil.copytree(example, work / name, ignore=shutil.ignore_patterns(*NOT_IN_A_CHECKOUT))
        build(work / name)
    for kind in KINDS:
        build(rendered / f"omi-{kind}-fresh")
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", house]
    _run([*pip, "--find-links", house, *house.glob("*.whl")], work)  # and what they depend on
    build(_stricter_checkout(work / "strict"))

    def wheel(prefix: str) -> Path:
        return next(house.glob(f"{prefix}-*.whl"))

    found = {
        "omi": wheel("omi_openclaw-0.4.0"),
        "strict": wheel("omi_openclaw-0.4.1"),
        **{name: wheel(name.replace("-", "_")) for name in EXAMPLES},
        **{kind: wheel(f"omi_{kind}_fresh") for kind in KINDS},
    }
    return {"house": house, **found}


@pytest.fixture(scope="session")
def env_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("matrix-envs")


def matrix_args(
    wheelhouse: dict[str, Path], cache: Path, *args: Any, installer: str = "uv"
) -> list[str]:
    """`omi`'s arguments for a matrix run offline from the wheelhouse, with uv (what
    `--installer auto` picks where uv is installed, as it is in the dev extras) unless told
    otherwise."""
    return [
        "plugins",
        "matrix",
        *map(str, args),
        "--find-links",
        str(wheelhouse["house"]),
        "--offline",
        "--cache-dir",
        str(cache),
        "--installer",
        installer,
    ]


def matrix(
    wheelhouse: dict[str, Path], cache: Path, *args: Any, cwd: Path, installer: str = "uv"
) -> subprocess.CompletedProcess:
    """A matrix run (see `matrix_args`) in `cwd`."""
    return subprocess.run(
        [OMI, *matrix_args(wheelhouse, cache, *args, installer=installer)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=1800,
    )


def run_args(wheelhouse: dict[str, Path]) -> list[Any]:
    return [
        "--plugin",
        wheelhouse["omi-embedding-example"],
        "--plugin",
        wheelhouse["omi-event-webhook"],
        "--baseline",
        wheelhouse["omi"],
        "--omi",
        wheelhouse["strict"],
    ]


@pytest.fixture(scope="session")
def regression_run(
    wheelhouse: dict[str, Path], env_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Both examples against 0.4.0 (the baseline) and the stricter 0.4.1, two cells at once."""
    work = tmp_path_factory.mktemp("matrix-run")
    done = matrix(
        wheelhouse,
        env_cache,
        *run_args(wheelhouse),
        "--jobs",
        "2",
        "--format",
        "json",
        "--html",
        work / "matrix.html",
        cwd=work,
    )
    return {
        "done": done,
        "document": json.loads(done.stdout),
        "html": work / "matrix.html",
        "work": work,
    }


def cells_by(document: dict[str, Any]) -> dict[tuple, dict[str, Any]]:
    return {(Path(c["plugin"]).name.split("-")[0], c["omi_version"]): c for c in document["cells"]}


@pytest.mark.slow
def test_a_regression_is_found_and_only_it_fails_the_run(regression_run):
    document = regression_run["document"]
    assert document["schema"] == "omi-matrix/1"
    cells = cells_by(document)
    example = cells[("omi_embedding_example", "0.4.1")]
    assert (example["status"], example["regression"]) == ("fail", True)
    assert [c["check"] for c in example["failed_checks"]] == ["dimension_positive_and_stable"]
    assert cells[("omi_embedding_example", "0.4.0")]["status"] == "pass"
    # the webhook needs its url: it fails on both, which is no regression
    assert [c["status"] for k, c in cells.items() if k[0] == "omi_event_webhook"] == ["fail"] * 2
    assert [c["regression"] for c in document["cells"]].count(True) == 1
    assert (regression_run["done"].returncode, document["exit_code"]) == (1, 1)
    assert document["installer"].startswith("uv (")


@pytest.mark.slow
def test_without_a_regression_failing_cells_do_not_fail_a_baseline_run(
    wheelhouse, env_cache, regression_run
):
    work = regression_run["work"]
    webhook = ["--plugin", wheelhouse["omi-event-webhook"]]
    done = matrix(
        wheelhouse,
        env_cache,
        *webhook,
        "--baseline",
        wheelhouse["omi"],
        "--omi",
        wheelhouse["strict"],
        cwd=work,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 regression(s)" in done.stdout and "✗" in done.stdout
    done = matrix(wheelhouse, env_cache, *webhook, "--omi", wheelhouse["strict"], cwd=work)
    assert done.returncode == 1  # without a baseline, any failure


@pytest.mark.slow
def test_a_cached_rerun_installs_nothing(wheelhouse, env_cache, regression_run):
    markers = {path: path.stat().st_mtime_ns for path in env_cache.glob(f"*/{envs.MARKER}")}
    assert len(markers) >= 4 and not any(c["cached"] for c in regression_run["document"]["cells"])
    done = matrix(
        wheelhouse, env_cache, *run_args(wheelhouse), "--format", "json", cwd=regression_run["work"]
    )
    document = json.loads(done.stdout)
    assert all(cell["cached"] for cell in document["cells"])
    assert {p: p.stat().st_mtime_ns for p in env_cache.glob(f"*/{envs.MARKER}")} == markers
    strip = ("seconds", "cached")
    before = regression_run["document"]["cells"]
    assert [{k: v for k, v in c.items() if k not in strip} for c in document["cells"]] == [
        {k: v for k, v in c.items() if k not in strip} for c in before
    ]


@pytest.mark.slow
def test_refresh_makes_a_cached_environment_again(wheelhouse, env_cache, regression_run):
    args = [
        "--plugin",
        wheelhouse["omi-event-webhook"],
        "--omi",
        wheelhouse["strict"],
        "--format",
        "json",
    ]
    before = {p: p.stat().st_mtime_ns for p in env_cache.glob(f"*/{envs.MARKER}")}
    done = matrix(wheelhouse, env_cache, *args, "--refresh", cwd=regression_run["work"])
    assert json.loads(done.stdout)["cells"][0]["cached"] is False
    after = {p: p.stat().st_mtime_ns for p in env_cache.glob(f"*/{envs.MARKER}")}
    assert set(after) == set(before)  # the same environment, made again
    assert [p for p in before if before[p] != after[p]] != []


@pytest.mark.slow
def test_merging_the_per_cell_reports_equals_the_one_machine_run(
    wheelhouse, env_cache, regression_run
):
    work = regression_run["work"]
    jobs = json.loads(
        matrix(wheelhouse, env_cache, *run_args(wheelhouse), "--github-matrix", cwd=work).stdout
    )["include"]
    assert len(jobs) == 4
    reports = []
    for n, job in enumerate(jobs):  # what each CI job of the example workflow runs
        done = matrix(
            wheelhouse,
            env_cache,
            "--plugin",
            job["plugin"],
            job["omi_flag"],
            job["omi"],
            "--python",
            job["python"],
            "--format",
            "json",
            cwd=work,
        )
        reports.append(work / f"cell-{n}.json")
        reports[-1].write_text(done.stdout)
    merged = subprocess.run(
        [OMI, "plugins", "matrix", "merge", *map(str, reports), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert merged.returncode == 1
    strip = ("seconds", "cached", "installer")

    def comparable(document: dict[str, Any]) -> Any:
        return {
            **{k: v for k, v in document.items() if k not in strip},
            "cells": [{k: v for k, v in c.items() if k not in strip} for c in document["cells"]],
        }

    assert comparable(json.loads(merged.stdout)) == comparable(regression_run["document"])
    text = subprocess.run(
        [OMI, "plugins", "matrix", "merge", *map(str, reports)],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "REGRESSION" in text


@pytest.mark.slow
def test_an_uninstallable_plugin_is_an_install_error_with_the_resolvers_line(
    wheelhouse, env_cache, regression_run
):
    done = matrix(
        wheelhouse,
        env_cache,
        "--plugin",
        "omi-embedding-nowhere==9.9",
        "--omi",
        wheelhouse["omi"],
        "--format",
        "json",
        cwd=regression_run["work"],
        installer="pip",  # pip's resolver line (uv's: the unit test of resolver_message)
    )
    cell = json.loads(done.stdout)["cells"][0]
    assert (done.returncode, cell["status"]) == (1, "install-error")
    assert "omi-embedding-nowhere" in cell["message"] and "\n" not in cell["message"]
    assert len(list(env_cache.glob(f"*/{envs.MARKER}"))) >= 4  # no environment kept for it


@pytest.mark.slow
def test_pip_environments_give_the_verdicts_uv_environments_give(
    wheelhouse, env_cache, regression_run, tmp_path
):
    done = matrix(
        wheelhouse,
        env_cache,
        "--plugin",
        wheelhouse["omi-embedding-example"],
        "--omi",
        wheelhouse["omi"],
        "--format",
        "json",
        cwd=tmp_path,
        installer="pip",
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["installer"] == "venv + pip"
    by_uv = cells_by(regression_run["document"])[("omi_embedding_example", "0.4.0")]
    strip = ("seconds", "cached", "baseline")
    assert {k: v for k, v in document["cells"][0].items() if k not in strip} == {
        k: v for k, v in by_uv.items() if k not in strip
    }


class _Balanced(HTMLParser):
    """Fails on a closing tag that closes nothing open: the page's structure is sound."""

    VOID = {"meta", "br", "img", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, f"</{tag}> closes nothing"


def in_browser(page: str, tmp_path: Path, *args: str) -> str:
    """The DOM of `page` after its own buttons sorted it by grade and every cell was opened."""
    if CHROMIUM is None:
        pytest.skip(NO_BROWSER)
    opened = tmp_path / "opened.html"
    opened.write_text(
        page.replace(
            "</body>",
            "<script>document.getElementById('by-grade')"
            ".click();document.querySelectorAll('details').forEach("
            "d=>d.open=true)</script></body>",
        ),
        encoding="utf-8",
    )
    return dump_dom(opened, f"--user-data-dir={tmp_path / 'profile'}", *args).stdout


@pytest.mark.slow
def test_the_html_page_is_well_formed_and_opens_in_a_headless_browser(
    regression_run, tmp_path: Path
):
    page = regression_run["html"].read_text(encoding="utf-8")
    parser = _Balanced()
    parser.feed(page)
    assert parser.open == []
    dom = in_browser(page, tmp_path)
    assert dom.count("<details open") == 4
    assert "dimension_positive_and_stable" in dom and "missing 1 required positional" in dom
    assert 'class="fail regression"' in dom


@pytest.mark.slow
def test_the_html_rows_sort_by_grade_in_a_browser(tmp_path: Path):
    cells = [
        Cell(name, "o", "3.11", status="pass", grade=tier, plugin_name=name)
        for name, tier in (("a-plugin", None), ("b-plugin", "gold"), ("c-plugin", "silver"))
    ]
    page = render_html(
        Matrix(["a-plugin", "b-plugin", "c-plugin"], ["o"], ["3.11"], None, "", cells)
    )
    assert re.findall(r'<tr data-plugin="([^"]+)"', page) == ["a-plugin", "b-plugin", "c-plugin"]
    dom = in_browser(page, tmp_path)
    assert re.findall(r'<tr data-plugin="([^"]+)"', dom) == ["b-plugin", "c-plugin", "a-plugin"]


@pytest.mark.slow
def test_fresh_plugins_reach_the_highest_tier_their_kind_can_without_a_model(
    wheelhouse, env_cache, regression_run, tmp_path: Path
):
    listed = tmp_path / "plugins.txt"  # an ecosystem's list: one REQ a line, # comments
    listed.write_text(
        "# fresh from omi plugins new\n\n"
        + "".join(f"{wheelhouse[kind]}  # {kind}\n" for kind in KINDS),
        encoding="utf-8",
    )
    done = matrix(
        wheelhouse,
        env_cache,
        "--plugins-file",
        listed,
        "--omi",
        wheelhouse["omi"],
        "--format",
        "json",
        cwd=tmp_path,
    )
    cells = {c["plugin_name"]: c for c in json.loads(done.stdout)["cells"]}
    assert done.returncode == 0, done.stdout
    assert {name: (c["grade"], c["grade_missing"]) for name, c in cells.items()} == {
        "omi-embedding-fresh": ("gold", ["all-capabilities"]),  # semantic needs a real model
        "omi-storage-fresh": ("platinum", []),
        "omi-event-fresh": ("platinum", []),
    }


@pytest.mark.slow
def test_check_grade_prints_the_checklist_and_writes_the_badge(
    wheelhouse, env_cache, regression_run, tmp_path: Path
):
    matrix(
        wheelhouse,
        env_cache,
        "--plugin",
        wheelhouse["storage"],
        "--omi",
        wheelhouse["omi"],
        cwd=tmp_path,
    )  # cached by the test above, or made now
    ready = [
        m.parent
        for m in env_cache.glob(f"*/{envs.MARKER}")
        if (m.parent / "bin" / "omi").exists()
        and list(m.parent.glob("lib/python*/site-packages/omi_storage_fresh"))
    ]
    assert ready, "no environment with the fresh storage plugin"
    badge_file = tmp_path / "badge.json"
    done = subprocess.run(
        [
            str(ready[0] / "bin" / "omi"),
            "plugins",
            "check",
            "fresh",
            "--grade",
            "--badge",
            str(badge_file),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "VIRTUAL_ENV": str(ready[0])},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "omi-storage-fresh 0.1.0: platinum" in done.stdout
    assert "✓ gold     typed" in done.stdout
    assert json.loads(badge_file.read_text()) == badge("platinum")


@pytest.mark.slow
def test_the_progress_line_is_shown_on_a_terminal_only(wheelhouse, env_cache, regression_run):
    from terminal import on_a_terminal

    done = on_a_terminal(matrix_args(wheelhouse, env_cache, *run_args(wheelhouse)))
    assert "Environments: uv (" in done.stdout.splitlines()[0]
    assert "\x1b[K[4/4] " in done.stdout and "REGRESSION" in done.stdout
    assert "[4/4]" not in regression_run["done"].stderr
    assert regression_run["done"].stderr == ""


def test_the_docs_list_every_grade_rule_with_why_it_matters():
    import importlib.util

    spec = importlib.util.spec_from_file_location("hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    table = hooks.grades_markdown()
    page = (ROOT / "docs" / "pages" / "reference" / "matrix.md").read_text(encoding="utf-8")
    assert hooks.GRADES_PLACEHOLDER in page
    for rule in RULES:
        assert f"| {rule.tier} | `{rule.name}` |" in table and rule.why[:30] in table
