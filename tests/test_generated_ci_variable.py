"""A generated plugin's CI before omi-openclaw is on an index: the repository variable
OMI_OPENCLAW_REQUIREMENT (here the wheel's path) supplies it. Its own file, the longest single
test of the generated plugins, so that pytest-xdist runs it beside the others."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from generated import AUTHOR, TESTING_TOOLS, Environment, run, workflow
from venvs import make_venv
from workflows import job_commands, run_steps

pytestmark = pytest.mark.slow


def test_ci_installs_omi_openclaw_from_the_repository_variable_when_it_is_set(
    omi_dist: Path, tmp_path: Path
):
    """The CI job passes, up to its `omi plugins check`, in an environment that has no
    omi-openclaw to begin with (the plugin's testing tools are there, put by uv, so that pip's
    part is omi-openclaw, its dependencies and the plugin). The steps after it build the
    distributions, which never use the installed omi-openclaw: test_generated_workflows.py
    runs them."""
    run(
        [
            sys.executable,
            "-m",
            "omi",
            "plugins",
            "new",
            "event",
            "acme-audit",
            "-o",
            tmp_path,
            "--no-input",
            *AUTHOR,
        ],
        cwd=tmp_path,
    )
    project = tmp_path / "omi-event-acme-audit"
    make_venv(tmp_path / "venv", *TESTING_TOOLS, pip=True)
    fresh = Environment(tmp_path / "venv")
    wheel = next(omi_dist.glob("omi_openclaw-*.whl"))
    steps = job_commands(workflow(project, "ci.yml"), "test")
    checked = next(i for i, step in enumerate(steps) if step.startswith("omi plugins check"))
    run_steps(
        steps[: checked + 1],
        project,
        fresh.bin,
        {"OMI_OPENCLAW_REQUIREMENT": str(wheel)},
    )
    location = run(
        [fresh.tool("python"), "-c", "import omi; print(omi.__file__)"], cwd=tmp_path
    ).strip()
    assert Path(location).is_relative_to(fresh.root)
