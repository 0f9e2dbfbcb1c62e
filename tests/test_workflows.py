"""GitHub Actions configuration, of omi-openclaw itself, of every generated plugin and of the
examples: valid against GitHub's schemas (as check-jsonschema vendors them, so no network is
needed), hardened (actions pinned to commit SHAs, read-only tokens, time limits), publishing to
TestPyPI before PyPI; and the project's release workflow run for real against its own wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from venvs import BUILD, copy_checkout
from workflows import (
    PINNED_RELEASES,
    PUBLISH_ACTION,
    hardening_problems,
    job_commands,
    load,
    pinned_actions,
    publish_problems,
    run_step,
    run_steps,
    schema_errors,
    wheel_metadata_version,
)

from omi import __version__
from omi.scaffold import new_plugin

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / ".github"
PLUGIN_TYPES = ("embedding", "storage", "event")
TOOLS = Path(sys.executable).parent  # python, build and twine of the environment running this


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The .github directory of a freshly generated plugin of each type."""
    out = tmp_path_factory.mktemp("plugins")
    return {
        plugin_type: new_plugin(plugin_type, "acme", out).project_dir / ".github"
        for plugin_type in PLUGIN_TYPES
    }


EXAMPLES = {path.name: path / ".github" for path in sorted((ROOT / "examples").glob("omi-*"))}


def every_github_dir(rendered: dict[str, Path]) -> dict[str, Path]:
    """This project's .github, a generated plugin's of each type, and each example's."""
    return {
        "omi-openclaw": PROJECT,
        **{f"omi-{t}-acme": path for t, path in rendered.items()},
        **EXAMPLES,
    }


def workflows_of(rendered: dict[str, Path]) -> list[Path]:
    return [
        path
        for github in every_github_dir(rendered).values()
        for path in sorted((github / "workflows").glob("*.yml"))
    ]


@pytest.mark.slow
def test_every_workflow_is_valid_for_github(rendered: dict[str, Path]):
    found = workflows_of(rendered)
    assert len(EXAMPLES) == 4
    assert len(found) == 2 * (1 + 3 + 4)  # ci.yml and release.yml, here and in each plugin
    for path in found:
        assert schema_errors(load(path), "github-workflows") == [], path


def test_every_dependabot_config_is_valid_and_watches_github_actions(rendered: dict[str, Path]):
    for name, github in every_github_dir(rendered).items():
        config = load(github / "dependabot.yml")
        assert schema_errors(config, "dependabot") == [], name
        assert {update["package-ecosystem"] for update in config["updates"]} == {"github-actions"}


def test_the_hardening_check_finds_what_it_is_for(tmp_path: Path):
    workflow = tmp_path / "weak.yml"
    workflow.write_text("""\
on: push
permissions: write-all
jobs:
  build:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@0123456789abcdef0123456789abcdef01234567
""")
    assert hardening_problems(workflow) == [
        "actions/checkout@v4 is not pinned to a commit SHA",
        "actions/checkout@v4 has no '# vX.Y.Z' comment",
        "actions/setup-python@0123456789abcdef0123456789abcdef01234567 has no '# vX.Y.Z' comment",
        "top-level permissions are 'write-all', not {}",
        "job build has no timeout-minutes",
        "job build may write contents",
        "job build may write id-token",
        "job build checks out without persist-credentials: false",
    ]


def test_every_workflow_is_hardened(rendered: dict[str, Path]):
    for path in workflows_of(rendered):
        assert hardening_problems(path) == [], path


def test_every_pin_is_the_newest_verified_release_of_its_action(rendered: dict[str, Path]):
    """One vetted commit per action everywhere, the one PINNED_RELEASES records: when
    Dependabot moves a pin in this project's workflows, templates/_shared/workflows moves with
    it, and `omi plugins update` brings it into the examples."""
    for path in workflows_of(rendered):
        for used in pinned_actions(path):
            assert used["action"] in PINNED_RELEASES, (path, used)
            assert (used["tag"], used["ref"]) == PINNED_RELEASES[used["action"]], (path, used)


def test_the_publish_pin_check_refuses_a_release_too_old_for_the_metadata(tmp_path: Path):
    """v1.8.14's twine cannot read Metadata-Version 2.4: the check says so and names the fix."""
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(
            "demo-1.0.dist-info/METADATA", "Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n"
        )
    old = tmp_path / "release.yml"
    old.write_text(
        f"      - uses: {PUBLISH_ACTION}@81e9d935c883d0b210363ab89cf05f3894778450 # v1.8.14\n"
    )
    assert publish_problems(old, wheel) == [
        f"{old}: {PUBLISH_ACTION} v1.8.14 cannot upload Metadata-Version 2.4 (first accepted by "
        "v1.12.3); pin v1.12.3 or newer"
    ]
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("demo-1.0.dist-info/METADATA", "Metadata-Version: 9.9\nName: demo\n")
    assert "no entry of FIRST_PUBLISH_RELEASE_ACCEPTING covers" in publish_problems(old, wheel)[0]


@pytest.mark.slow
def test_the_template_release_can_upload_the_wheel_the_template_builds(rendered: dict[str, Path]):
    project = rendered["storage"].parent
    subprocess.run(
        [sys.executable, *BUILD, "--wheel", "--outdir", str(project / "dist"), str(project)],
        cwd=project,
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheel = next((project / "dist").glob("*.whl"))
    assert wheel_metadata_version(wheel) == "2.4"  # setuptools >= 77, SPDX license
    assert publish_problems(rendered["storage"] / "workflows" / "release.yml", wheel) == []


@pytest.mark.parametrize("owner", ["omi-openclaw", "omi-storage-acme", "omi-storage-postgres"])
def test_releases_go_to_testpypi_then_pypi_each_from_its_environment(
    rendered: dict[str, Path], owner: str
):
    jobs = load(every_github_dir(rendered)[owner] / "workflows" / "release.yml")["jobs"]
    publishing = {
        name: job
        for name, job in jobs.items()
        if any(PUBLISH_ACTION in step.get("uses", "") for step in job["steps"])
    }
    by_environment = {job["environment"]["name"]: name for name, job in publishing.items()}
    assert set(by_environment) == {"testpypi", "pypi"}
    testpypi, pypi = publishing[by_environment["testpypi"]], publishing[by_environment["pypi"]]
    upload = next(step for step in testpypi["steps"] if PUBLISH_ACTION in step.get("uses", ""))
    assert upload["with"]["repository-url"] == "https://test.pypi.org/legacy/"
    assert pypi["needs"] == by_environment["testpypi"]
    assert testpypi["needs"] == "test-wheel" and jobs["test-wheel"]["needs"] == "build"


def test_the_project_releases_on_a_version_tag():
    release = load(PROJECT / "workflows" / "release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}


def test_ci_runs_the_readme_test_command_on_three_systems_and_four_pythons():
    ci = load(PROJECT / "workflows" / "ci.yml")
    matrix = ci["jobs"]["test"]["strategy"]["matrix"]
    assert matrix["os"] == ["ubuntu-latest", "macos-latest", "windows-latest"]
    assert matrix["python-version"] == ["3.10", "3.11", "3.12", "3.13"]
    assert any(
        command.startswith("bash scripts/test.sh")
        for command in job_commands(PROJECT / "workflows" / "ci.yml", "test")
    )
    assert "bash scripts/test.sh" in (ROOT / "README.md").read_text()
    assert any(
        "mkdocs build --strict" in command
        for command in job_commands(PROJECT / "workflows" / "ci.yml", "docs")
    )
    lint = job_commands(PROJECT / "workflows" / "ci.yml", "lint")
    assert "ruff check omi tests bench docs" in lint
    assert "ruff format --check omi tests bench docs" in lint
    assert "python -m mypy" in job_commands(PROJECT / "workflows" / "ci.yml", "types")


# --- the project's release workflow, run ----------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build job of release.yml (its pip install aside) in a copy of the source tree,
    for the tag of this version; returns the copy, with dist/ in it."""
    checkout = copy_checkout(tmp_path_factory.mktemp("release") / "checkout")
    commands = job_commands(PROJECT / "workflows" / "release.yml", "build")
    assert commands[0] == "python -m pip install build twine"
    run_steps(commands[1:], checkout, TOOLS, {"GITHUB_REF_NAME": f"v{__version__}"})
    return checkout


@pytest.mark.slow
def test_the_project_release_can_upload_the_wheel_it_builds(built: Path):
    wheel = next((built / "dist").glob("*.whl"))
    assert publish_problems(PROJECT / "workflows" / "release.yml", wheel) == []


@pytest.mark.slow
def test_a_tag_other_than_the_version_stops_the_release(built: Path):
    check = next(
        command
        for command in job_commands(PROJECT / "workflows" / "release.yml", "build")
        if "GITHUB_REF_NAME" in command
    )
    refused = run_step(check, built, TOOLS, {"GITHUB_REF_NAME": "v0.0.1"})
    assert refused.returncode == 1
    assert (
        f"::error::the tag v0.0.1 does not match the package version {__version__}"
        in refused.stdout
    )


@pytest.mark.slow
def test_the_release_tests_the_built_wheel_in_a_clean_environment(built: Path, tmp_path: Path):
    """The test-wheel job: only the downloaded dist/ (no source tree), a new virtual
    environment, and a plugin of each type rendered, tested and checked with that omi."""
    job = tmp_path / "job"
    shutil.copytree(built / "dist", job / "dist")
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    run_steps(
        job_commands(PROJECT / "workflows" / "release.yml", "test-wheel"),
        job,
        TOOLS,
        {"GITHUB_REF_NAME": f"v{__version__}", "RUNNER_TEMP": str(runner_temp)},
    )
    clean = runner_temp / "clean"
    listing = run_step("omi plugins list", runner_temp, clean / "bin").stdout.splitlines()
    for plugin_type, class_name in zip(
        PLUGIN_TYPES, ("Embedder", "Backend", "Handler"), strict=True
    ):
        assert (
            f"  release-check (ReleaseCheck{class_name}) - v0.1.0 [interface: 1.0] ✓" in listing
        ), plugin_type
    installed = list(clean.glob("lib/python*/site-packages/omi/__init__.py"))
    assert len(installed) == 1  # omi came from the wheel, into the clean environment
