"""The generated plugins' GitHub workflows, run command by command: every command of the CI
job passes, and the release workflow tests the built wheel, not the source. The environment
and projects are test_generated_plugins.py's, made again here: a file per worker.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from generated import (  # noqa: F401 - the module fixtures: one environment per file
    TYPES,
    Environment,
    projects_fixture,
    run,
    wheel_env_fixture,
    workflow,
)
from venvs import make_venv
from workflows import job_commands, run_steps

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("plugin_type", list(TYPES))
def test_every_command_of_the_generated_ci_workflow_passes(
    wheel_env: Environment, projects: Path, mypy_cache: Path, plugin_type: str
):
    project = projects / f"omi-{plugin_type}-{TYPES[plugin_type][0]}"
    steps = job_commands(workflow(project, "ci.yml"), "test")
    assert any(step.startswith("omi plugins check") for step in steps)
    run_steps(steps, project, wheel_env.bin, {"MYPY_CACHE_DIR": str(mypy_cache)})


def test_release_workflow_tests_the_built_wheel_not_the_source(
    wheel_env: Environment, projects: Path, tmp_path: Path
):
    """The build job (for the release tag v0.1.0), then the test-wheel job in a new environment
    holding only the wheels: its tests import the installed package, and `omi plugins check`
    finds it."""
    project = projects / "omi-storage-acme-store"
    run_steps(
        job_commands(workflow(project, "release.yml"), "build")[1:],
        project,
        wheel_env.bin,
        {"GITHUB_REF_NAME": "v0.1.0"},
    )
    make_venv(tmp_path / "venv", wheel_env.wheel, pip=True)
    fresh = Environment(tmp_path / "venv")
    checkout = tmp_path / "checkout"
    shutil.copytree(project, checkout, ignore=shutil.ignore_patterns("*.egg-info", "dist"))
    shutil.copytree(project / "dist", checkout / "dist")  # the downloaded artifact
    run_steps(job_commands(workflow(checkout, "release.yml"), "test-wheel"), checkout, fresh.bin)
    location = run(
        [fresh.tool("python"), "-c", "import omi_storage_acme_store as m; print(m.__file__)"],
        cwd=tmp_path,
    ).strip()
    assert Path(location).is_relative_to(fresh.root)
