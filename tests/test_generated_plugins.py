"""Acceptance of `omi plugins new`: every rendered package is one a plugin author could publish.

omi-openclaw is built as a wheel and installed (not editable) into a fresh virtual environment,
so the templates are the ones shipped inside the wheel. In that environment, for each of the
three types: render with --no-input, pip install the package, run its own tests, see it listed
with a check mark, pass `omi plugins check`, build an sdist and a wheel, pass `twine check`,
pass mypy --strict and ruff. Their workflows: test_generated_workflows.py.
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
from venvs import BUILD
from workflows import job_commands, run_step

pytestmark = pytest.mark.slow


#: Answers that are hard on the templates: a multi-part name, quotes, backslashes and Jinja in
#: the description, a repository URL, and each license once.
ODD_ANSWERS = {
    "embedding": [
        "--description",
        'He said "hi" \\ {{ cookiecutter.author }} {% raw %} \\',
        "--license",
        "Apache-2.0",
        "--set",
        "repository=https://github.com/ada/x",
    ],
    "storage": [
        "--description",
        'It\'s \\"quoted\\" and {{ x }}',
        "--license",
        "BSD-3-Clause",
        "--set",
        "repository=https://example.org/ada/omi-store",
    ],
    "event": [
        "--description",
        '\\"""{{ }}\\',
        "--license",
        "MIT",
        "--set",
        "repository=https://github.com/ada/omi-event-graph-db-x",
    ],
}


@pytest.fixture(scope="module")
def odd_projects(wheel_env: Environment, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each type rendered as `graph-db-x` with ODD_ANSWERS (not installed: mypy reads src/)."""
    out = tmp_path_factory.mktemp("odd")
    for plugin_type, answers in ODD_ANSWERS.items():
        run(
            [
                wheel_env.tool("omi"),
                "plugins",
                "new",
                plugin_type,
                "graph-db-x",
                "-o",
                out,
                "--no-input",
                *answers,
            ],
            cwd=out,
        )
    return out


def test_templates_come_from_the_installed_wheel(wheel_env: Environment):
    location = run(
        [
            wheel_env.tool("python"),
            "-c",
            "from omi.scaffold import templates_root; print(templates_root())",
        ],
        cwd=wheel_env.root,
    ).strip()
    assert Path(location).is_relative_to(wheel_env.root)
    for plugin_type in TYPES:
        assert (Path(location) / plugin_type / "cookiecutter.json").is_file()


@pytest.mark.parametrize("plugin_type", list(TYPES))
def test_generated_tests_pass(wheel_env: Environment, projects: Path, plugin_type: str):
    name, _ = TYPES[plugin_type]
    project = projects / f"omi-{plugin_type}-{name}"
    output = run(
        [wheel_env.tool("python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project
    )
    summary = output.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, output
    assert "conformance" in run(
        [
            wheel_env.tool("python"),
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=project,
    )


def test_every_generated_plugin_is_listed_with_a_check_mark(wheel_env: Environment, projects: Path):
    listing = run([wheel_env.tool("omi"), "plugins", "list"], cwd=projects).splitlines()
    for name, class_name in TYPES.values():
        assert f"  {name} ({class_name}) - v0.1.0 [interface: 1.0] ✓" in listing


@pytest.mark.parametrize("plugin_type", list(TYPES))
def test_generated_plugin_passes_omi_plugins_check(
    wheel_env: Environment, projects: Path, plugin_type: str
):
    name, _ = TYPES[plugin_type]
    output = run([wheel_env.tool("omi"), "plugins", "check", name], cwd=projects)
    assert " 0 failed" in output.strip().splitlines()[-1], output


@pytest.mark.parametrize("plugin_type", list(TYPES))
def test_generated_plugin_builds_and_passes_twine_check(
    wheel_env: Environment, projects: Path, plugin_type: str
):
    name, _ = TYPES[plugin_type]
    project = projects / f"omi-{plugin_type}-{name}"
    dist = project / "dist"
    run([wheel_env.tool("python"), *BUILD, "--outdir", dist, project], cwd=project)
    import_name = f"omi_{plugin_type}_{name.replace('-', '_')}"
    assert sorted(path.name for path in dist.iterdir()) == [
        f"{import_name}-0.1.0-py3-none-any.whl",
        f"{import_name}-0.1.0.tar.gz",
    ]
    output = run(
        [wheel_env.tool("python"), "-m", "twine", "check", "--strict", *sorted(dist.iterdir())],
        cwd=project,
    )
    assert output.count("PASSED") == 2, output


@pytest.fixture(scope="module")
def event_checkout(
    wheel_env: Environment, projects: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The event plugin's workflows beside its wheel in dist/, as the release job has them:
    the wheel built once for every tag tried."""
    project = projects / "omi-event-acme-audit"
    checkout = tmp_path_factory.mktemp("event-release")
    shutil.copytree(project / ".github", checkout / ".github")
    run(
        [
            wheel_env.tool("python"),
            *BUILD,
            "--wheel",
            "--outdir",
            checkout / "dist",
            project,
        ],
        cwd=project,
    )
    return checkout


@pytest.mark.parametrize("tag", ["v0.2.0", "0.1.0rc1", "release"])
def test_a_release_whose_tag_is_not_the_version_stops_before_anything_is_published(
    wheel_env: Environment, event_checkout: Path, tag: str
):
    check = next(
        command
        for command in job_commands(workflow(event_checkout, "release.yml"), "build")
        if "GITHUB_REF_NAME" in command
    )
    assert (
        run_step(check, event_checkout, wheel_env.bin, {"GITHUB_REF_NAME": "0.1.0"}).returncode == 0
    )
    refused = run_step(check, event_checkout, wheel_env.bin, {"GITHUB_REF_NAME": tag})
    assert refused.returncode == 1
    assert (
        f"::error::the release tag {tag} does not match the version 0.1.0 in pyproject.toml"
        in refused.stdout
    )


@pytest.mark.parametrize("variant", ["default", "odd"])
@pytest.mark.parametrize("plugin_type", list(TYPES))
def test_generated_plugin_passes_mypy_strict_and_ruff(
    wheel_env: Environment,
    projects: Path,
    odd_projects: Path,
    mypy_cache: Path,
    plugin_type: str,
    variant: str,
):
    """Against the omi of the wheel (its py.typed), with the project's own configuration."""
    if variant == "default":
        project = projects / f"omi-{plugin_type}-{TYPES[plugin_type][0]}"
    else:
        project = odd_projects / f"omi-{plugin_type}-graph-db-x"
    output = run(
        [wheel_env.tool("python"), "-m", "mypy", "--strict", "--cache-dir", mypy_cache],
        cwd=project,
    )
    assert output.startswith("Success: no issues found in 5 source files"), output
    run([wheel_env.tool("python"), "-m", "ruff", "check", "--no-cache"], cwd=project)
