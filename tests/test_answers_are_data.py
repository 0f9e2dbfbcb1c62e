"""Template answers are data: whatever an answer contains (Jinja syntax, quotes, backslashes),
it is written literally and never run, wherever it comes from: an option of `plugins new`, a
prompt, the answers file `plugins update` reads (maybe from someone else's pull request), or
the pyproject.toml `update --init` reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError
from run_omi import omi
from terminal import on_a_terminal

from omi import update
from omi.record import ANSWERS_FILE, BASE_FILE, read_record, read_tree
from omi.scaffold import new_plugin
from omi.templating import TemplateEnvironment, template_context

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

MARKER = "PWNED"
LITERAL_ANSWERS = [
    "{{ 7*7 }}",
    "{% if true %}yes{% endif %} {# a comment #} {% raw %}raw{% endraw %}",
    "She said \"{{ 'hi' }}\" at C:\\new\\{{x}} \\",
]


pytestmark = pytest.mark.usefixtures("isolated_git")  # see conftest


def attack(tmp_path: Path) -> str:
    """An answer that, were it rendered as a template, would create tmp_path/PWNED."""
    return f"{{{{ cycler.__init__.__globals__.os.system('touch {tmp_path / MARKER}') }}}}"


def answers(tmp_path: Path) -> list[str]:
    return [attack(tmp_path), *LITERAL_ANSWERS]


def assert_literal(tmp_path: Path, files: dict, description: str, author: str = "Ada") -> None:
    """Nothing ran; README and pyproject.toml (which still parses) carry the answers as given."""
    assert not (tmp_path / MARKER).exists()
    assert f"\n{description}\n" in files["README.md"].decode()
    project = tomllib.loads(files["pyproject.toml"].decode())["project"]
    assert project["description"] == description
    assert project["authors"][0]["name"] == author


def files_of(project: Path) -> dict:
    return {name: (project / name).read_bytes() for name in ("README.md", "pyproject.toml")}


# --- omi plugins new --------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(LITERAL_ANSWERS) + 1))
def test_new_writes_options_and_set_values_literally(tmp_path: Path, index: int):
    text = answers(tmp_path)[index]
    result = omi(
        "plugins",
        "new",
        "embedding",
        "jj",
        "--no-input",
        "-o",
        str(tmp_path),
        "--description",
        text,
        "--set",
        f"author={text}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    project = tmp_path / "omi-embedding-jj"
    assert_literal(tmp_path, files_of(project), text, author=text)
    recorded = json.loads((project / ANSWERS_FILE).read_text())["variables"]
    assert recorded["description"] == recorded["author"] == text
    assert omi("plugins", "update", str(project), "--check").returncode == 0
    assert not (tmp_path / MARKER).exists()


@pytest.mark.slow
def test_an_answer_typed_at_a_prompt_is_written_literally(tmp_path: Path):
    text = attack(tmp_path)
    completed = on_a_terminal(
        ["plugins", "new", "embedding", "jj", "-o", str(tmp_path)], {"description": text}
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    project = tmp_path / "omi-embedding-jj"
    assert_literal(tmp_path, files_of(project), text)
    assert omi("plugins", "update", str(project), "--check").returncode == 0
    assert not (tmp_path / MARKER).exists()


def test_dry_run_renders_answers_literally_too(tmp_path: Path):
    made = new_plugin("event", "audit", tmp_path, {"description": attack(tmp_path)}, dry_run=True)
    assert not (tmp_path / MARKER).exists() and not made.project_dir.exists()


# --- omi plugins update: the answers file ---------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return new_plugin("embedding", "jj", tmp_path, {"author": "Ada"}).project_dir


def record_description(project: Path, description: str) -> None:
    """What a pull request can do: change an answer in .omi-template.json (the base and its
    fingerprint stay valid, as answers are not part of it)."""
    path = project / ANSWERS_FILE
    recorded = json.loads(path.read_text())
    recorded["variables"]["description"] = description
    path.write_text(json.dumps(recorded))


@pytest.mark.parametrize("index", range(len(LITERAL_ANSWERS) + 1))
def test_update_check_and_dry_run_never_run_an_answer_from_the_answers_file(
    tmp_path: Path, project: Path, index: int
):
    text = answers(tmp_path)[index]
    record_description(project, text)
    check = omi("plugins", "update", str(project), "--check")
    assert check.returncode == 1 and "M README.md" in check.stdout, check.stdout
    dry_run = omi("plugins", "update", str(project), "--dry-run")
    assert dry_run.returncode == 0 and f"+{text}\n" in dry_run.stdout, dry_run.stdout
    assert not (tmp_path / MARKER).exists()
    plan = update.plan_update(project)
    assert_literal(tmp_path, plan.base, text)


def test_update_writes_an_answer_from_the_answers_file_literally(tmp_path: Path, project: Path):
    text = attack(tmp_path)
    record_description(project, text)
    result = omi("plugins", "update", str(project), "--allow-dirty")
    assert result.returncode == 0, result.stdout + result.stderr
    assert_literal(tmp_path, files_of(project), text)
    assert omi("plugins", "update", str(project), "--check").returncode == 0


def test_update_set_value_is_written_literally(tmp_path: Path, project: Path):
    text = attack(tmp_path)
    result = omi("plugins", "update", str(project), "--allow-dirty", "--set", f"description={text}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert_literal(tmp_path, files_of(project), text)


def test_init_takes_pyproject_values_literally(tmp_path: Path, project: Path):
    text = attack(tmp_path)
    result = omi(
        "plugins",
        "update",
        str(project),
        "--allow-dirty",
        "--set",
        f"description={text}",
        "--set",
        f"author={text}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for record in (ANSWERS_FILE, BASE_FILE):
        (project / record).unlink()
    result = omi("plugins", "update", str(project), "--init")
    assert result.returncode == 0, result.stdout + result.stderr
    recorded, base = read_record(project)
    assert recorded["variables"]["description"] == recorded["variables"]["author"] == text
    assert_literal(tmp_path, base, text, author=text)
    managed = update.plan_update(project).managed  # --set re-renders no file of the author's
    assert {path: base[path] for path in managed} == {
        path: content for path, content in read_tree(project).items() if path in managed
    }


# --- the renderer -------------------------------------------------------------------------


def test_given_values_are_never_rendered_but_defaults_are():
    variables = {
        "name": "x",
        "year": "{% now 'utc', '%Y' %}",
        "shout": "{{ cookiecutter.name|upper }}",
    }
    context = template_context(variables, {"name": "{{ six*seven }}"})
    assert context["name"] == "{{ six*seven }}"
    assert context["year"].isdigit() and context["shout"] == "{{ SIX*SEVEN }}"


def test_even_the_templates_own_text_renders_in_the_sandbox(tmp_path: Path):
    environment = TemplateEnvironment({})
    with pytest.raises(SecurityError):
        environment.render_text(attack(tmp_path), {})
    assert not (tmp_path / MARKER).exists()
