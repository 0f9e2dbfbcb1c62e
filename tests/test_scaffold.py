"""`omi plugins new`: name rules, bad input, dry runs, the answers file and what it renders."""

from __future__ import annotations

import ast
import datetime
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from terminal import OMI, on_a_terminal

from omi import __version__
from omi.cli import cli
from omi.confine import UnsafePath
from omi.scaffold import (
    ScaffoldError,
    new_plugin,
    omi_requirement,
    plugin_names,
    suggest_name,
    templates_root,
)

YEAR = str(datetime.datetime.now(datetime.timezone.utc).year)


def invoke(*args: str):
    return CliRunner().invoke(cli, ["plugins", "new", *args])


@pytest.fixture(autouse=True)
def no_git_identity(git_config: Path) -> Path:
    """Each test sees an empty git configuration and runs outside any repository."""
    return git_config


def test_one_name_gives_distribution_import_and_entry_point_names():
    names = plugin_names("embedding", "my-embedder2")
    assert names.distribution == "omi-embedding-my-embedder2"
    assert names.import_name == "omi_embedding_my_embedder2"
    assert names.name == "my-embedder2"
    assert names.class_name == "MyEmbedder2Embedder"
    assert names.group == "omi.embedding_providers"


def test_rendered_project_uses_the_same_three_names(tmp_path: Path):
    result = invoke("storage", "graph-db", "-o", str(tmp_path), "--no-input")
    assert result.exit_code == 0, result.output
    project = tmp_path / "omi-storage-graph-db"
    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "omi-storage-graph-db"' in pyproject
    assert '[project.entry-points."omi.storage_backends"]' in pyproject
    assert 'graph-db = "omi_storage_graph_db.backend:GraphDbBackend"' in pyproject
    assert f'"{omi_requirement()}"' in pyproject
    assert (project / "src" / "omi_storage_graph_db" / "backend.py").is_file()
    assert (
        "class GraphDbBackend(StorageBackend)"
        in (project / "src" / "omi_storage_graph_db" / "backend.py").read_text()
    )


PLUGIN_MODULES = {"embedding": "embedder", "storage": "backend", "event": "handler"}


@pytest.mark.parametrize("plugin_type", ["embedding", "storage", "event"])
@pytest.mark.parametrize("name", ["gpt4all", "s3x-store", "a1b2-c3"])
def test_class_name_is_the_one_the_template_renders(tmp_path: Path, plugin_type: str, name: str):
    """Names with digits inside a part: Python's title() would say Gpt4All, Jinja's Gpt4all."""
    made = new_plugin(plugin_type, name, tmp_path)
    module = made.project_dir / "src" / made.names.import_name / f"{PLUGIN_MODULES[plugin_type]}.py"
    assert f"class {made.names.class_name}(" in module.read_text()
    assert f':{made.names.class_name}"' in (made.project_dir / "pyproject.toml").read_text()


def test_the_rendering_takes_every_name_from_plugin_names(tmp_path: Path):
    """Even a template whose own Jinja would derive other names renders plugin_names' ones."""
    template = tmp_path / "template"
    shutil.copytree(templates_root() / "event", template, symlinks=False)
    variables = json.loads((template / "cookiecutter.json").read_text())
    for key in ("__dist_name", "__import_name", "__class_name"):
        variables[key] = "X" + variables[key]  # e.g. XAuditHandler
    (template / "cookiecutter.json").write_text(json.dumps(variables))
    (tmp_path / "out").mkdir()
    made = new_plugin("event", "audit", tmp_path / "out", template_dir=template)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["omi-event-audit"]
    module = made.project_dir / "src" / "omi_event_audit" / "handler.py"
    assert "class AuditHandler(EventHandler)" in module.read_text()


def test_requirement_pins_the_compatible_minor_range():
    assert omi_requirement("0.1.0") == "omi-openclaw>=0.1,<0.2"
    assert omi_requirement("1.4.2") == "omi-openclaw>=1.4,<1.5"


@pytest.mark.parametrize("plugin_type", ["embedding", "storage", "event"])
def test_plain_cookiecutter_runs_get_this_release_too(plugin_type: str):
    """`omi plugins new` passes the running release; cookiecutter.json's own defaults, which a
    plain `cookiecutter` run uses, name the same one."""
    defaults = json.loads((templates_root() / plugin_type / "cookiecutter.json").read_text())
    assert defaults["__omi_version"] == __version__
    assert defaults["__omi_requirement"] == omi_requirement()


@pytest.mark.parametrize(
    "plugin_type, files",
    [
        ("embedding", ["src/omi_embedding_acme/embedder.py", "tests/test_embedder.py"]),
        ("storage", ["src/omi_storage_acme/backend.py", "tests/test_backend.py"]),
        ("event", ["src/omi_event_acme/handler.py", "tests/test_handler.py"]),
    ],
)
def test_every_type_renders_a_complete_package(tmp_path: Path, plugin_type: str, files):
    made = new_plugin(plugin_type, "acme", tmp_path)
    common = [
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        ".gitignore",
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
        f"src/omi_{plugin_type}_acme/__init__.py",
        f"src/omi_{plugin_type}_acme/py.typed",
        "tests/test_conformance.py",
        "tests/test_integration.py",
        ".omi-template.json",
    ]
    for relative in common + files:
        assert (made.project_dir / relative).is_file(), relative
    unrendered = [
        p
        for p in made.project_dir.rglob("*")
        if p.is_file() and ("{{" in str(p) or "cookiecutter." in p.read_text(errors="ignore"))
    ]
    assert unrendered == []


def test_files_the_types_share_live_once_in_shared():
    """A file two types would carry word for word (but for the type and module names) is a
    symlink into templates/_shared."""
    root = templates_root()
    seen: dict[tuple[str, bytes], str] = {}
    for plugin_type in ("embedding", "storage", "event"):
        for path in sorted((root / plugin_type).rglob("*")):
            # git refuses a symlinked .gitignore, so each type keeps its own copy.
            if (
                path.is_file()
                and not path.is_symlink()
                and path.name not in ("cookiecutter.json", ".gitignore")
            ):
                relative = path.relative_to(root / plugin_type).as_posix()
                text = path.read_bytes().replace(plugin_type.encode(), b"<type>")
                key = (relative, text.replace(PLUGIN_MODULES[plugin_type].encode(), b"<module>"))
                assert key not in seen, (
                    f"{relative} is the same in {seen.get(key)} and "
                    f"{plugin_type}: move it to _shared and symlink it"
                )
                seen[key] = plugin_type


def test_ci_workflow_covers_three_systems_four_pythons_and_every_step(tmp_path: Path):
    made = new_plugin("event", "audit", tmp_path)
    workflow = (made.project_dir / ".github/workflows/ci.yml").read_text()
    for needle in (
        "ubuntu-latest",
        "macos-latest",
        "windows-latest",
        '"3.10"',
        '"3.13"',
        "python -m pytest",
        "omi plugins check --all --no-builtins",
        "python -m build",
        "twine check",
    ):
        assert needle in workflow, needle
    release = (made.project_dir / ".github/workflows/release.yml").read_text()
    assert "id-token: write" in release and "pypa/gh-action-pypi-publish" in release


def test_readme_release_steps_name_the_workflow_and_environment_release_yml_uses(tmp_path: Path):
    import yaml

    made = new_plugin("storage", "graph", tmp_path)
    release = yaml.safe_load((made.project_dir / ".github/workflows/release.yml").read_text())
    readme = (made.project_dir / "README.md").read_text().split("## Releasing", 1)[1]
    assert "trusted publisher" in readme and "`omi-storage-graph`" in readme
    assert "workflow `release.yml`" in readme
    for job in ("publish-testpypi", "publish"):
        publish = release["jobs"][job]
        assert publish["permissions"] == {"id-token": "write"}
        assert f"environment `{publish['environment']['name']}`" in readme


def test_workflow_tokens_only_read_but_for_the_publishing_jobs(tmp_path: Path):
    import yaml

    workflows = new_plugin("event", "audit", tmp_path).project_dir / ".github/workflows"
    ci, release = (
        yaml.safe_load((workflows / name).read_text()) for name in ("ci.yml", "release.yml")
    )
    for workflow in (ci, release):
        assert workflow["permissions"] == {}  # nothing unless a job asks for it
    read = {"contents": "read"}
    assert {name: job["permissions"] for name, job in ci["jobs"].items()} == {"test": read}
    assert {name: job["permissions"] for name, job in release["jobs"].items()} == {
        "build": read,
        "test-wheel": read,
        "publish-testpypi": {"id-token": "write"},
        "publish": {"id-token": "write"},
    }
    assert release["jobs"]["publish"]["needs"] == "publish-testpypi"  # TestPyPI first


@pytest.mark.parametrize(
    "license_name, marker, holder",
    [
        ("MIT", "MIT License", "Ada Lovelace"),
        ("Apache-2.0", "Apache License", "Version 2.0"),
        ("BSD-3-Clause", "Redistribution and use", "Ada Lovelace"),
    ],
)
def test_license_is_selectable(tmp_path: Path, license_name: str, marker: str, holder: str):
    result = invoke(
        "event",
        "audit",
        "-o",
        str(tmp_path),
        "--no-input",
        "--license",
        license_name,
        "--author",
        "Ada Lovelace",
    )
    assert result.exit_code == 0, result.output
    project = tmp_path / "omi-event-audit"
    text = (project / "LICENSE").read_text()
    assert marker in text and holder in text
    if license_name != "Apache-2.0":
        assert f"Copyright (c) {YEAR}" in text
    if license_name == "BSD-3-Clause":  # the third clause is what makes it BSD-3-Clause
        assert "3. Neither the name of the copyright holder nor the names of its" in text
    assert f'license = "{license_name}"' in (project / "pyproject.toml").read_text()


def test_answers_file_records_type_version_and_every_variable(tmp_path: Path):
    result = invoke(
        "embedding",
        "acme",
        "-o",
        str(tmp_path),
        "--no-input",
        "--author",
        "Ada",
        "--email",
        "ada@example.org",
        "--description",
        "Acme vectors",
        "--set",
        "version=0.3.0",
    )
    assert result.exit_code == 0, result.output
    answers = json.loads((tmp_path / "omi-embedding-acme" / ".omi-template.json").read_text())
    assert answers["template"] == "embedding"
    assert answers["omi_openclaw_version"] == __version__
    assert answers["name"] == "acme"
    assert answers["variables"] == {
        "description": "Acme vectors",
        "author": "Ada",
        "year": YEAR,
        "email": "ada@example.org",
        "license": "MIT",
        "version": "0.3.0",
        "repository": "",
    }
    assert 'version = "0.3.0"' in (tmp_path / "omi-embedding-acme" / "pyproject.toml").read_text()


def test_author_and_email_default_to_git_config(tmp_path: Path, no_git_identity: Path):
    no_git_identity.write_text("[user]\n\tname = Grace Hopper\n\temail = grace@example.org\n")
    made = new_plugin("event", "audit", tmp_path)
    assert made.answers["variables"]["author"] == "Grace Hopper"
    assert made.answers["variables"]["email"] == "grace@example.org"
    explicit = new_plugin("event", "other", tmp_path, {"author": "Ada"})
    assert explicit.answers["variables"]["author"] == "Ada"


def test_success_prints_what_it_made_and_the_next_three_commands(tmp_path: Path):
    result = invoke("embedding", "acme", "-o", str(tmp_path), "--no-input")
    assert result.exit_code == 0
    assert "Created omi-embedding-acme" in result.output
    assert "AcmeEmbedder" in result.output and "omi.embedding_providers" in result.output
    steps = result.output.split("Next:")[1].strip().splitlines()
    assert [step.split()[0:2] for step in steps] == [
        ["pip", "install"],
        ["pytest", steps[1].split()[1]],
        ["omi", "plugins"],
    ]
    assert steps[2].strip() == "omi plugins check embedding:acme"


def test_dry_run_lists_files_and_writes_nothing(tmp_path: Path):
    result = invoke("storage", "graph", "-o", str(tmp_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "omi-storage-graph" in result.output
    assert "  src/omi_storage_graph/backend.py" in result.output.splitlines()
    assert "  .omi-template.json" in result.output.splitlines()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gitconfig"]


BAD_NAMES = {
    "x": "it is 1 characters long",
    "a" * 41: "it is 41 characters long",
    "My-Plugin": "characters",
    "my_plugin": "characters",
    "my plugin": "characters",
    "my--plugin": "characters",
    "-plugin": "characters",
    "plugin-": "characters",
    "1plugin": "characters",
    "class": "Python keyword",
    "../evil": "path separator",
    "a/b": "path separator",
    "a\\b": "path separator",
}


@pytest.mark.parametrize("name", list(BAD_NAMES))
def test_bad_names_get_the_rule_a_valid_suggestion_and_exit_2(tmp_path: Path, name: str):
    before = sorted(os.listdir(tmp_path))
    result = invoke("-o", str(tmp_path), "--no-input", "--", "embedding", name)
    assert result.exit_code == 2
    message = result.output.strip()
    assert len(message.splitlines()) == 1
    assert f"Invalid plugin name '{name}'" in message and BAD_NAMES[name] in message
    assert "lowercase letters, digits and single hyphens" in message
    suggestion = message.rsplit("try '", 1)[1].rstrip("'")
    plugin_names("embedding", suggestion)  # the suggestion itself is valid
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("name", ["", "!!", "9", "a_" * 30, "import", "--x--"])
def test_suggestions_are_always_valid_names(name: str):
    plugin_names("event", suggest_name(name))


def test_unknown_type_is_a_usage_error(tmp_path: Path):
    result = invoke("cache", "acme", "-o", str(tmp_path))
    assert result.exit_code == 2
    assert "embedding" in result.output and "storage" in result.output
    with pytest.raises(ScaffoldError, match="choose one of: embedding, storage, event"):
        plugin_names("cache", "acme")


def test_an_existing_target_is_never_overwritten(tmp_path: Path):
    target = tmp_path / "omi-event-audit"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    result = invoke("event", "audit", "-o", str(tmp_path), "--no-input")
    assert result.exit_code == 2
    assert "already exists" in result.output and "never overwrites" in result.output
    assert [p.name for p in target.iterdir()] == ["mine.txt"]
    assert (target / "mine.txt").read_text() == "keep me"


def test_a_dangling_symlink_in_the_targets_place_is_not_replaced(tmp_path: Path):
    (tmp_path / "omi-event-audit").symlink_to(tmp_path / "gone")
    result = invoke("event", "audit", "-o", str(tmp_path), "--no-input")
    assert result.exit_code == 2 and "already exists" in result.output, result.output
    assert (tmp_path / "omi-event-audit").is_symlink()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".omi-new-")]


@pytest.mark.slow
def test_of_four_concurrent_news_of_one_name_one_makes_it_and_three_say_it_exists(tmp_path: Path):
    """Before, the losers of the final rename failed with [Errno 39] and exit 1."""
    command = [OMI, "plugins", "new", "embedding", "jj", "--no-input", "-o", str(tmp_path)]
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [
        (run.returncode, out, err) for run in runs for out, err in [run.communicate(timeout=120)]
    ]
    assert sorted(code for code, _, _ in results) == [0, 2, 2, 2], results
    for code, _, err in results:
        if code:
            assert "omi-embedding-jj already exists" in err, err
            assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gitconfig", "omi-embedding-jj"]
    project = tmp_path / "omi-embedding-jj"
    check = subprocess.run(
        [OMI, "plugins", "update", str(project), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr  # complete: its files, its base


def test_the_losers_of_the_race_to_rename_into_place_say_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Four renderings of one name held at the rename until all four got there: the race
    the processes above may or may not run into, every time."""
    barrier, rename = threading.Barrier(4), os.rename

    def rename_together(*args):
        barrier.wait(timeout=60)
        return rename(*args)

    monkeypatch.setattr(os, "rename", rename_together)

    def attempt(_: int) -> str:
        try:
            return str(new_plugin("storage", "race", tmp_path).project_dir)
        except ScaffoldError as error:
            return str(error)

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(attempt, range(4)))
    project = tmp_path / "omi-storage-race"
    assert outcomes[0] == str(project)
    assert all(f"{project} already exists" in outcome for outcome in outcomes[1:]), outcomes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gitconfig", project.name]


def test_a_value_cannot_move_a_rendered_file_out_of_the_project(tmp_path: Path):
    template = tmp_path / "template"
    shutil.copytree(templates_root() / "event", template, symlinks=False)
    (next(template.glob("{{*")) / "{{ cookiecutter.author }}.txt").write_text("x")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UnsafePath, match="has a '..' segment"):
        new_plugin("event", "audit", out, {"author": "../../escaped"}, template_dir=template)
    assert list(out.iterdir()) == [] and not list(tmp_path.rglob("escaped*"))


def test_missing_output_directory_is_an_error_not_a_surprise(tmp_path: Path):
    result = invoke("event", "audit", "-o", str(tmp_path / "nowhere"), "--no-input")
    assert result.exit_code == 2
    assert "not a writable directory" in result.output
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_directory_that_refuses_files_is_a_usage_error():
    """/proc passes os.access(W_OK) for root but takes no new directories."""
    result = invoke("event", "audit", "-o", "/proc", "--no-input")
    assert result.exit_code == 2, result.output
    assert "Cannot write to /proc" in result.output and "-o DIR" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--set", "colour=blue"], "Unknown template variable(s) colour; settable: author"),
        (["--set", "__plugin_name=evil"], "Unknown template variable(s) __plugin_name"),
        (["--set", "novalue"], "--set takes KEY=VALUE"),
        (["--license", "GPL-3.0"], "Unknown license 'GPL-3.0'; choose one of: MIT"),
        (["--description", "two\nlines"], "description must be one line of text"),
        (["--author", "Ada\tLovelace"], "author must be one line of text"),
        (["--set", "version=1.0 beta"], "Version '1.0 beta' is not a PEP 440 version"),
        (["--set", "version=latest"], "use e.g. 0.1.0"),
        (["--set", "repository=github.com/ada/x"], "is not a web address like https://"),
        (["--set", "repository=https://github.com/ada/x/"], "(no trailing slash)"),
    ],
)
def test_bad_variables_are_usage_errors_and_write_nothing(tmp_path: Path, args, expected):
    before = sorted(os.listdir(tmp_path))
    result = invoke("event", "audit", "-o", str(tmp_path), "--no-input", *args)
    assert result.exit_code == 2
    assert expected in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("plugin_type", ["embedding", "storage", "event"])
def test_quotes_and_backslashes_in_answers_keep_pyproject_and_python_valid(
    tmp_path: Path, plugin_type: str
):
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    description = 'Says "hi" to C:\\new\\N paths, "quoted"'
    author = 'Jo "JJ" O\'Brien \\'
    made = new_plugin(
        plugin_type,
        "acme",
        tmp_path,
        {"description": description, "author": author, "version": "1.0.0rc1"},
    )
    project = tomllib.loads((made.project_dir / "pyproject.toml").read_text())["project"]
    assert project["description"] == description
    assert project["authors"][0]["name"] == author and project["version"] == "1.0.0rc1"
    package = made.project_dir / "src" / made.names.import_name
    for module in package.glob("*.py"):
        tree = ast.parse(module.read_text(), str(module))  # a SyntaxError fails the test
        docstrings = [
            ast.get_docstring(node)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef))
        ]
        if module.name == "__init__.py" or made.names.class_name in module.read_text():
            assert description in docstrings, module.name


def test_repository_gives_pypi_its_source_issues_and_changelog_links(tmp_path: Path):
    tomllib = pytest.importorskip("tomllib")
    url = "https://github.com/ada/omi-event-audit"
    made = new_plugin("event", "audit", tmp_path, {"repository": url})
    project = tomllib.loads((made.project_dir / "pyproject.toml").read_text())["project"]
    assert project["urls"] == {
        "Source": url,
        "Issues": f"{url}/issues",
        "Changelog": f"{url}/blob/main/CHANGELOG.md",
    }
    plain = new_plugin("event", "other", tmp_path)
    assert (
        "urls" not in tomllib.loads((plain.project_dir / "pyproject.toml").read_text())["project"]
    )


def test_a_template_reached_through_a_symlink_renders(tmp_path: Path):
    link = tmp_path / "my-template"
    link.symlink_to(templates_root() / "event", target_is_directory=True)
    made = new_plugin("event", "audit", tmp_path, template_dir=link)
    assert made.answers["name"] == "audit" and (made.project_dir / "pyproject.toml").is_file()


def test_a_rendering_error_leaves_no_half_written_directory(tmp_path: Path):
    broken = tmp_path / "broken"
    shutil.copytree(templates_root() / "event", broken, symlinks=False)
    handler = next(broken.rglob("handler.py"))
    handler.write_text(handler.read_text() + "\n{{ cookiecutter.no_such_variable.oops }}\n")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(Exception, match="no_such_variable|undefined"):
        new_plugin("event", "audit", out, template_dir=broken)
    assert list(out.iterdir()) == []


def test_interactive_prompts_on_a_terminal(tmp_path: Path):
    """On a terminal without --no-input, cookiecutter asks; Enter takes each default."""
    completed = on_a_terminal(
        ["plugins", "new", "event", "audit", "-o", str(tmp_path), "--author", "Ada"]
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "author" in completed.stdout  # cookiecutter asked
    answers = json.loads((tmp_path / "omi-event-audit" / ".omi-template.json").read_text())
    assert answers["variables"]["author"] == "Ada"  # the given value was the default offered


@pytest.mark.slow
@pytest.mark.parametrize(
    "key, typed, error",
    [
        ("version", "latest", "Error: Version 'latest' is not a PEP 440 version PyPI accepts"),
        (
            "repository",
            "github.com/ada/x",
            "Error: Repository 'github.com/ada/x' is not a web address like https://",
        ),
    ],
)
def test_a_bad_answer_typed_at_a_prompt_is_refused_and_asked_again(
    tmp_path: Path, key: str, typed: str, error: str
):
    """On a terminal, each answer is checked as --set checks it when it is typed; the question
    comes again (Enter then takes the default) and the answers before it are kept."""
    completed = on_a_terminal(
        ["plugins", "new", "event", "audit", "-o", str(tmp_path)],
        {"description": "Audits", key: typed},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    shown = re.sub(r"\x1b\[[0-9;]*m", "", completed.stdout)  # without the prompts' colours
    assert error in shown
    assert f"] {key} (" in shown.split(error, 1)[1].splitlines()[1]  # the same question again
    variables = json.loads((tmp_path / "omi-event-audit" / ".omi-template.json").read_text())[
        "variables"
    ]
    assert variables["description"] == "Audits"
    assert variables[key] == {"version": "0.1.0", "repository": ""}[key]


def test_ctrl_c_at_a_prompt_aborts_and_leaves_nothing(tmp_path: Path):
    completed = on_a_terminal(
        ["plugins", "new", "event", "audit", "-o", str(tmp_path)], {"email": "\x03"}
    )
    assert completed.returncode == 1, completed.stdout
    assert "Aborted!" in completed.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gitconfig"]


def test_rendering_leaves_nothing_outside_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    out = tmp_path / "out"
    out.mkdir()
    new_plugin("embedding", "acme", out)
    assert list(home.iterdir()) == []  # no ~/.cookiecutter_replay
    assert [p.name for p in out.iterdir()] == ["omi-embedding-acme"]  # no scratch directory


def test_copyright_year_is_an_answer_so_updates_keep_it(tmp_path: Path):
    made = new_plugin("event", "audit", tmp_path, {"year": "2019", "author": "Ada"})
    assert made.answers["variables"]["year"] == "2019"
    assert "Copyright (c) 2019 Ada" in (made.project_dir / "LICENSE").read_text()


def readme_config(project: Path) -> str:
    readme = (project / "README.md").read_text()
    return readme.split("```yaml\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("plugin_type", ["embedding", "storage", "event"])
def test_readme_config_yaml_works_in_a_fresh_home(
    tmp_path: Path, plugin_type: str, make_dist, monkeypatch: pytest.MonkeyPatch
):
    """The README's config.yaml, read by omi.config, builds a working plugin on a machine
    where ~/.local/share/omi does not exist yet (and embedding honours its batch_size)."""
    from omi.config import build_plugins, load_config

    (tmp_path / "out").mkdir()
    made = new_plugin(plugin_type, "acme", tmp_path / "out")
    names = made.names
    module = PLUGIN_MODULES[plugin_type]
    monkeypatch.syspath_prepend(str(made.project_dir / "src"))
    make_dist(
        names.distribution,
        entry_points={
            names.group: {names.name: f"{names.import_name}.{module}:{names.class_name}"}
        },
    )
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for variable in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "OMI_CONFIG"):
        monkeypatch.delenv(variable, raising=False)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(readme_config(made.project_dir))
    plugins = build_plugins(load_config(config_file))
    try:
        if plugin_type == "embedding":
            embedder = plugins.embedder
            calls: list[int] = []
            real = embedder._embed_texts
            embedder._embed_texts = lambda texts: calls.append(len(texts)) or real(texts)
            vectors = embedder.embed_batch([f"text {i}" for i in range(20)])
            assert calls == [16, 4]  # config.yaml's batch_size: 16
            assert len(vectors[0]) == embedder.get_dimension() == 256
        elif plugin_type == "storage":
            memory_id = plugins.storage.store_memory({"content": "tea at noon"})
            assert plugins.storage.recall("tea")[0]["id"] == memory_id
            assert (home / ".local/share/omi/acme.db").is_file()
        else:
            handler = plugins.handlers["acme"]
            handler.handle("memory.stored", {"id": "m1"})
            assert (home / ".local/share/omi/events.jsonl").read_text().count("\n") == 1
    finally:
        plugins.storage.close()
        for loaded in [m for m in sys.modules if m.split(".")[0] == names.import_name]:
            del sys.modules[loaded]


def install_rendered(project: Path, make_dist, monkeypatch: pytest.MonkeyPatch) -> None:
    """Install a rendered project as pip would (its entry point, its src/ importable), for
    `omi` subprocesses."""
    names = plugin_names(*project.name.split("-", 2)[1:])
    module = PLUGIN_MODULES[names.plugin_type]
    make_dist(
        names.distribution,
        entry_points={
            names.group: {names.name: f"{names.import_name}.{module}:{names.class_name}"}
        },
    )
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(project / "src"), os.environ["PYTHONPATH"]])
    )


@pytest.mark.slow
def test_the_check_command_it_gives_works_when_another_group_has_the_name(
    tmp_path: Path, make_dist, monkeypatch: pytest.MonkeyPatch
):
    """A storage plugin named nim beside the built-in nim embedder: the command that the
    README and `Next:` give still picks this plugin (the workflows leave built-ins out)."""
    (tmp_path / "out").mkdir()
    result = invoke("storage", "nim", "-o", str(tmp_path / "out"), "--no-input")
    assert result.exit_code == 0, result.output
    project = tmp_path / "out" / "omi-storage-nim"
    install_rendered(project, make_dist, monkeypatch)
    command = result.output.split("Next:")[1].strip().splitlines()[2].strip()
    assert command in (project / "README.md").read_text()
    # The workflows check every plugin the project installs, leaving OMI's own out.
    for path in (".github/workflows/ci.yml", ".github/workflows/release.yml"):
        assert "omi plugins check --all --no-builtins" in (project / path).read_text(), path
    completed = subprocess.run(
        [OMI, *command.split()[1:]], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert " 0 failed" in completed.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "plugin_type, option",
    [
        # a generated project's check each (about a second): one in the inner loop
        pytest.param("storage", "path={workdir}/mine.db", marks=pytest.mark.slow),
        ("event", "path={workdir}/mine.jsonl"),
        pytest.param("embedding", "dimension=64", marks=pytest.mark.slow),
    ],
)
def test_a_generated_plugin_takes_the_options_of_omi_plugins_check(
    tmp_path: Path, make_dist, monkeypatch: pytest.MonkeyPatch, plugin_type: str, option: str
):
    """Its conformance_factory passes --option on to the class (before, every check failed
    with "unexpected keyword argument 'path'")."""
    (tmp_path / "out").mkdir()
    install_rendered(
        new_plugin(plugin_type, "acme", tmp_path / "out").project_dir, make_dist, monkeypatch
    )
    completed = subprocess.run(
        [OMI, "plugins", "check", f"{plugin_type}:acme", "--option", option],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert " 0 failed" in completed.stdout.strip().splitlines()[-1]


def test_version_is_bumped_in_pyproject_only(
    tmp_path: Path, make_dist, monkeypatch: pytest.MonkeyPatch
):
    """__version__ is the installed distribution's, so a release bumps pyproject.toml alone."""
    made = new_plugin("event", "audit", tmp_path, {"version": "0.1.0"})
    monkeypatch.syspath_prepend(str(made.project_dir / "src"))
    make_dist("omi-event-audit", "0.2.0")  # pyproject.toml bumped to 0.2.0 and reinstalled
    try:
        assert importlib.import_module("omi_event_audit").__version__ == "0.2.0"
    finally:
        for loaded in [m for m in sys.modules if m.split(".")[0] == "omi_event_audit"]:
            del sys.modules[loaded]


@pytest.mark.parametrize(
    ("version", "requirement"),
    [
        ("0.4.0", "omi-openclaw>=0.4,<0.5"),
        ("0.10.2rc1", "omi-openclaw>=0.10,<0.11"),
        ("1.2.post3", "omi-openclaw>=1.2,<1.3"),
    ],
)
def test_the_requirement_range_comes_from_the_pep_440_release(version: str, requirement: str):
    assert omi_requirement(version) == requirement


# --- a NAME a plugin already has ---------------------------------------------------------


def test_a_built_in_name_of_the_same_type_is_refused_and_nothing_is_written(tmp_path: Path):
    """Installed, omi-embedding-nim would have broken the built-in nim provider."""
    for extra in ([], ["--dry-run"]):
        result = invoke("embedding", "nim", "-o", str(tmp_path), "--no-input", *extra)
        assert result.exit_code == 2, result.output
        assert result.output == (
            "Error: 'nim' is already an embedding provider (omi-openclaw); pick another name\n"
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gitconfig"]


def test_an_installed_plugin_name_of_the_same_type_is_refused(tmp_path: Path, make_dist):
    make_dist(
        "omi-event-audit-log",
        entry_points={
            "omi.event_handlers": {"audit-log": "audit_log:Handler"},
            "omi.storage_backends": {"graph": "audit_log:Backend"},
        },
    )
    result = invoke("event", "audit-log", "-o", str(tmp_path), "--no-input")
    assert result.exit_code == 2, result.output
    assert result.output == (
        "Error: 'audit-log' is already an event handler (omi-event-audit-log); pick another name\n"
    )
    assert invoke("event", "graph", "-o", str(tmp_path), "--no-input").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gitconfig", "omi-event-graph", "site"]


def test_the_refusal_compares_the_entry_point_name_the_template_writes(tmp_path: Path, make_dist):
    """The name checked is the one the rendered pyproject.toml registers."""
    made = new_plugin("storage", "graph-db", tmp_path, dry_run=True)
    make_dist("omi-storage-other", entry_points={made.names.group: {made.names.name: "x:Y"}})
    result = invoke("storage", "graph-db", "-o", str(tmp_path), "--no-input")
    assert result.exit_code == 2
    assert "'graph-db' is already a storage backend (omi-storage-other)" in result.output


# --- --git ----------------------------------------------------------------------------------


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, capture_output=True, text=True, check=True, timeout=60
    ).stdout


def audit_with_git(out: Path) -> list[str]:
    """The arguments of `omi plugins new` for an event plugin `audit` in `out`, made a git
    repository committed by Ada."""
    return [
        "event",
        "audit",
        "-o",
        str(out),
        "--no-input",
        "--git",
        "--author",
        "Ada",
        "--email",
        "ada@example.org",
    ]


def test_git_makes_one_commit_by_the_author_answers_where_git_knows_nobody(tmp_path: Path):
    result = invoke(
        "storage",
        "graph",
        "-o",
        str(tmp_path),
        "--no-input",
        "--git",
        "--author",
        "Ada Lovelace",
        "--email",
        "ada@example.org",
    )
    assert result.exit_code == 0, result.output
    project = tmp_path / "omi-storage-graph"
    assert git(project, "log", "--format=%an <%ae>|%cn <%ce>|%s").splitlines() == [
        "Ada Lovelace <ada@example.org>|Ada Lovelace <ada@example.org>|Create "
        f"omi-storage-graph with omi plugins new (omi-openclaw {__version__})"
    ]
    assert git(project, "status", "--porcelain", "--ignored") == ""
    tracked = git(project, "ls-files").split()
    assert ".omi-template.json" in tracked and ".omi-template-base.json" in tracked
    update = CliRunner().invoke(cli, ["plugins", "update", str(project)])
    assert update.exit_code == 0, update.output  # no "uncommitted changes", no note
    assert update.output == (
        "omi-storage-graph is current with the omi-openclaw "
        f"{__version__} templates.\nYours, never updated (written once): "
        "src/omi_storage_graph/backend.py, tests/test_backend.py; the "
        "update keeps the other 12 template file(s) current.\n"
    )


def test_git_leaves_an_identity_git_has_alone(tmp_path: Path, no_git_identity: Path):
    no_git_identity.write_text("[user]\n\tname = Grace Hopper\n\temail = grace@example.org\n")
    result = invoke("event", "audit", "-o", str(tmp_path), "--no-input", "--git", "--author", "Ada")
    assert result.exit_code == 0, result.output
    assert git(tmp_path / "omi-event-audit", "log", "--format=%an|%cn") == (
        "Grace Hopper|Grace Hopper\n"
    )


def test_git_missing_is_a_usage_error_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    result = invoke("event", "audit", "-o", str(tmp_path), "--no-input", "--git")
    assert result.exit_code == 2
    assert result.output == (
        "Error: --git needs git, which is not installed (no git program "
        "on PATH); install git, or leave out --git\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "gitconfig"]


def test_a_commit_git_refuses_leaves_nothing(tmp_path: Path):
    """No git identity and an empty author answer: git will not commit, and the project,
    which would have been half made without its commit, is not there."""
    result = invoke("event", "audit", "-o", str(tmp_path), "--no-input", "--git", "--author", "")
    assert result.exit_code == 1
    assert result.output.startswith("Error: --git: git commit failed: ")
    assert result.output.rstrip().endswith("; nothing was written")
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gitconfig"]


def test_git_ignores_the_repository_variables_a_git_hook_inherits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Inside a hook, GIT_DIR, GIT_INDEX_FILE, GIT_WORK_TREE... point at the hook's repository:
    the new project gets its own repository and commit, and the other one is not touched."""
    other = tmp_path / "other"
    other.mkdir()
    for arguments in (
        ["init", "-q"],
        [
            "-c",
            "user.name=A",
            "-c",
            "user.email=a@b.c",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "theirs",
        ],
    ):
        git(other, *arguments)
    index_before = (
        (other / ".git" / "index").read_bytes() if (other / ".git" / "index").exists() else None
    )
    head_before = git(other, "rev-parse", "HEAD")
    for name, value in {
        "GIT_DIR": other / ".git",
        "GIT_WORK_TREE": other,
        "GIT_INDEX_FILE": other / ".git" / "index",
        "GIT_OBJECT_DIRECTORY": other / ".git" / "objects",
        "GIT_COMMON_DIR": other / ".git",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "core.bare",
        "GIT_CONFIG_VALUE_0": "true",
    }.items():
        monkeypatch.setenv(name, str(value))
    result = invoke(*audit_with_git(tmp_path))
    assert result.exit_code == 0, result.output
    for name in (
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_COMMON_DIR",
        "GIT_CONFIG_COUNT",
    ):
        monkeypatch.delenv(name)
    project = tmp_path / "omi-event-audit"
    assert git(project, "rev-parse", "--show-toplevel").strip() == str(project)
    assert git(project, "log", "--format=%s").startswith("Create omi-event-audit")
    assert git(project, "status", "--porcelain") == ""
    assert git(other, "rev-parse", "HEAD") == head_before
    assert git(other, "log", "--format=%s") == "theirs\n"
    index_after = (
        (other / ".git" / "index").read_bytes() if (other / ".git" / "index").exists() else None
    )
    assert index_after == index_before


def test_every_variable_git_calls_repository_local_is_cleared():
    from omi.git import REPOSITORY_VARIABLES

    local = subprocess.run(
        ["git", "rev-parse", "--local-env-vars"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert local and set(local) <= REPOSITORY_VARIABLES


def test_a_git_that_says_it_committed_but_did_not_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The commit is verified before the command says the project is a repository."""
    fake = tmp_path / "bin"
    fake.mkdir()
    real = shutil.which("git")
    (fake / "git").write_text(
        f'#!/bin/sh\nfor a in "$@"; do [ "$a" = commit ] && exit 0; done\nexec {real} "$@"\n'
    )
    (fake / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    result = invoke(*audit_with_git(tmp_path))
    assert result.exit_code == 1
    assert result.output == (
        "Error: --git: git reported success but omi-event-audit holds no "
        "commit of its own; nothing was written\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "gitconfig"]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_during_new_leaves_nothing_as_ctrl_c_does(tmp_path: Path, no_git_identity: Path):
    """A pre-commit hook holds `new --git` in the middle of its work (the rendering, with its
    .git, sits in .omi-new-XXXX); SIGTERM then ends it with nothing left behind."""
    import signal
    import time

    hooks, started = tmp_path / "hooks", tmp_path / "hook-started"
    hooks.mkdir()
    (hooks / "pre-commit").write_text(f"#!/bin/sh\ntouch {started}\nsleep 30\n")
    (hooks / "pre-commit").chmod(0o755)
    no_git_identity.write_text(f"[core]\n\thooksPath = {hooks}\n")
    out = tmp_path / "out"
    out.mkdir()
    command = subprocess.Popen(
        [OMI, "plugins", "new", *audit_with_git(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert command.poll() is None and time.monotonic() < deadline, command.stderr.read()
            time.sleep(0.02)
        assert [p.name[:9] for p in out.iterdir()] == [".omi-new-"]
        command.send_signal(signal.SIGTERM)
        _, stderr = command.communicate(timeout=20)
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == 143, stderr
    assert stderr == "Error: interrupted by SIGTERM: nothing was written\n"
    assert list(out.iterdir()) == []


# --- --help -------------------------------------------------------------------------------


def test_help_lists_every_set_variable_with_its_default():
    from omi.templating import template_context

    result = invoke("--help")
    assert result.exit_code == 0
    section = " ".join(
        result.output.split("Template variables (--set KEY=VALUE, default):")[1].split()
    )
    for plugin_type in ("embedding", "storage", "event"):
        defaults = json.loads((templates_root() / plugin_type / "cookiecutter.json").read_text())
        values = template_context(defaults, {})
        for key in (key for key in defaults if not key.startswith("_")):
            assert f" {key} " in f" {section} ", key
            shown = section.split(f"{key} ", 1)[1]
            assert (repr(values[key]) if values[key] == "" else values[key]) in shown, key
    assert "author git config user.name, else Your Name" in section
    assert "license MIT (or Apache-2.0, BSD-3-Clause)" in section
    assert "storage: An OMI storage backend" in section
