"""What a plugin author meets in the first week, each made for real: a module typo in an entry
point, a project edited since it was installed, `plugins list --strict` in CI."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import plugin_sources as src
import pytest
from run_omi import OMI, omi, omi_process

from omi.plugins import GROUPS, PluginLoadError, load_plugin

EMB, STO, EVT = GROUPS
REINSTALL = f"{shlex.quote(sys.executable)} -m pip install -e ."
# The command names the interpreter running omi: in the console script, its shebang's, which
# may be spelt python3 where pytest runs as python.
SCRIPT_REINSTALL = (
    f"{shlex.quote(Path(OMI).read_text().splitlines()[0].removeprefix('#!'))} -m pip install -e ."
)


# --- a module typo in an entry point ---------------------------------------------------------


def test_a_mistyped_module_gets_the_module_beside_it(make_dist):
    make_dist(
        "omi-storage-x",
        entry_points={STO: {"x": "omi_x.backends:XBackend"}},
        files={
            "omi_x/__init__.py": "",
            "omi_x/backend.py": src.backend("XBackend"),
            "omi_x/util.py": "",
        },
    )
    with pytest.raises(PluginLoadError) as raised:
        load_plugin(STO, "x")
    assert str(raised.value) == (
        "Plugin 'x' from omi-storage-x 0.1.0 failed to import omi_x.backends:XBackend: "
        "ModuleNotFoundError: No module named 'omi_x.backends'; package omi_x has no module "
        "omi_x.backends (did you mean 'omi_x.backend'?); fix the entry point in "
        f"pyproject.toml, then reinstall the project from its directory: {REINSTALL}"
    )


def test_a_mistyped_package_gets_the_distributions_top_level(make_dist):
    dist_info = make_dist(
        "omi-storage-y",
        entry_points={STO: {"y": "omi_yy.backend:Y"}},
        files={"omi_y/__init__.py": "", "omi_y/backend.py": src.backend("Y")},
    )
    (dist_info / "RECORD").write_text(
        "omi_y/__init__.py,,\nomi_y/backend.py,,\n"
        f"{dist_info.name}/METADATA,,\n{dist_info.name}/RECORD,,\n"
    )
    with pytest.raises(
        PluginLoadError,
        match=r"the distribution has no module omi_yy \(did "
        r"you mean 'omi_y'\?\); fix the entry point in "
        r"pyproject.toml, then reinstall",
    ):
        load_plugin(STO, "y")


def test_a_missing_dependency_is_not_called_a_typo(make_dist):
    make_dist(
        "omi-storage-z",
        entry_points={STO: {"z": "omi_z.backend:Z"}},
        files={"omi_z/__init__.py": "", "omi_z/backend.py": "import not_installed_anywhere\n"},
    )
    with pytest.raises(PluginLoadError) as raised:
        load_plugin(STO, "z")
    assert str(raised.value).endswith("No module named 'not_installed_anywhere'")


# --- a project edited since it was installed -------------------------------------------------


def project(directory: Path, name: str, entry_points: dict) -> Path:
    """A pyproject.toml declaring `entry_points` ({group: {name: value}})."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["[project]", f'name = "{name}"', 'version = "0.1.0"', ""]
    for group, names in entry_points.items():
        lines.append(f'[project.entry-points."{group}"]')
        lines += [f'{key} = "{value}"' for key, value in names.items()] + [""]
    (directory / "pyproject.toml").write_text("\n".join(lines))
    return directory


def test_list_in_a_project_says_the_installed_entry_points_are_stale(make_dist, tmp_path):
    make_dist(
        "omi-storage-x",
        entry_points={STO: {"x": "omi_x.backend:XBackend"}},
        files={"omi_x/__init__.py": "", "omi_x/backend.py": src.backend("XBackend")},
    )
    here = project(
        tmp_path / "omi-storage-x", "omi-storage-x", {STO: {"x": "omi_x.store:XBackend"}}
    )
    # the console script names its own interpreter in the fix
    result = omi_process("plugins", "list", "--group", "storage", cwd=here)
    assert result.returncode == 0, result.stderr
    note = result.stdout.split("\n\n")[-1].strip()
    assert note == (
        f"Note: the installed metadata of omi-storage-x 0.1.0 differs from {here}/pyproject.toml "
        f"(pyproject.toml: {STO} x = omi_x.store:XBackend; installed: {STO} x = "
        f"omi_x.backend:XBackend): entry points are written when a project is installed; run "
        f"{SCRIPT_REINSTALL}"
    )
    document = json.loads(omi_process("plugins", "list", "--format", "json", cwd=here).stdout)
    assert document["notes"] == [note.removeprefix("Note: ")]


def test_list_in_a_project_that_is_not_installed_says_so(tmp_path):
    here = project(tmp_path / "p", "omi-event-new", {EVT: {"new": "omi_new.handler:H"}})
    note = omi("plugins", "list", cwd=here).stdout.split("\n\n")[-1]
    assert note.startswith(
        f"Note: {here}/pyproject.toml declares OMI plugins, but project "
        f"omi-event-new is not installed for the Python that runs omi"
    )


def test_list_says_nothing_of_a_current_install_or_an_unrelated_project(make_dist, tmp_path):
    make_dist(
        "omi-storage-x",
        entry_points={STO: {"x": "omi_x.backend:XBackend"}},
        files={"omi_x/__init__.py": "", "omi_x/backend.py": src.backend("XBackend")},
    )
    current = project(tmp_path / "a", "omi-storage-x", {STO: {"x": "omi_x.backend:XBackend"}})
    other = project(tmp_path / "b", "unrelated", {"console_scripts": {"u": "u:main"}})
    for directory in (current, other):
        assert "Note:" not in omi("plugins", "list", cwd=directory).stdout


# --- plugins list --strict --------------------------------------------------------------------


@pytest.mark.parametrize("plain", [True, False])
def test_list_strict_exits_1_when_a_plugin_fails_to_load(make_dist, tmp_path, plain):
    # the plain form is the console script's own (omi.cli.launch), the other click's
    args = ["plugins", "list", "--strict"] + ([] if plain else ["--format=json", "-v"])
    assert omi_process(*args).returncode == 0
    make_dist("omi-emb-broken", entry_points={EMB: {"broken": "no_such_module:X"}})
    make_dist("omi-emb-typo", entry_points={"omi.embedding_provider": {"typo": "m:X"}})
    result = omi_process(*args)
    assert result.returncode == 1
    assert result.stderr == ("Error: 2 plugins failed to load (--strict); the reasons are above\n")
    assert "broken" in result.stdout  # the listing is printed all the same
    assert omi_process("plugins", "list").returncode == 0


def test_list_strict_is_the_same_through_click(make_dist):
    from click.testing import CliRunner

    from omi.cli import cli

    make_dist("omi-emb-broken", entry_points={EMB: {"broken": "no_such_module:X"}})
    result = CliRunner().invoke(cli, ["plugins", "list", "--strict", "--group", "embedding"])
    assert result.exit_code == 1 and "1 plugin failed to load (--strict)" in result.output


# --- checking a class by its import path, from the project's directory ----------------------


def test_check_by_path_works_in_a_generated_project_that_is_not_installed(tmp_path):
    made = omi("plugins", "new", "storage", "foo", "--no-input", "-o", str(tmp_path))
    assert made.returncode == 0, made.stderr
    here = tmp_path / "omi-storage-foo"
    result = omi_process(
        "plugins", "check", "omi_storage_foo.backend:FooBackend", "-k", "recall*", cwd=here
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0].startswith("omi_storage_foo.backend:FooBackend")
    version = subprocess.run(
        [sys.executable, "-c", "import omi_storage_foo as m; print(m.__version__)"],
        capture_output=True,
        text=True,
        cwd=here,
        env={**os.environ, "PYTHONPATH": str(here / "src")},
    )
    assert version.stdout == "0+unknown\n", version.stderr  # not installed: no metadata


def test_check_by_path_of_a_module_in_the_current_directory_names_pythonpath(tmp_path):
    (tmp_path / "lax.py").write_text(
        "from omi.builtin.sqlite import SQLiteBackend\n\n\nclass Lax(SQLiteBackend):\n    pass\n"
    )
    result = omi_process("plugins", "check", "lax:Lax", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: Cannot import lax:Lax: ModuleNotFoundError: No module named 'lax'; lax.py is "
        "in the current directory, which omi does not import from: run PYTHONPATH=. omi "
        "plugins check lax:Lax, or install the project\n"
    )
    assert (
        subprocess.run(
            [OMI, "plugins", "check", "lax:Lax", "-k", "recall*"],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": "."},
        ).returncode
        == 0
    )


STANDARD = f'''[project]
name = "omi-storage-x"
version = "0.1.0"

[project.entry-points."{STO}"]
x = "omi_x.backend:XBackend"  # the plugin
"y" = "omi_x.other:Y"

[project.entry-points."{EVT}"]
log = "omi_x.log:Log"

[tool.pytest.ini_options]
testpaths = ["tests"]
'''
INLINE = f'''[project]
name = "omi-storage-x"
version = "0.1.0"
entry-points."{STO}" = {{ x = "omi_x.backend:XBackend" }}
'''


@pytest.mark.parametrize(
    "text, quick", [(STANDARD, False), (INLINE, None), (STANDARD + f"# see {STO}\n", None)]
)
def test_the_quick_read_agrees_with_the_parser_or_steps_aside(tmp_path, text, quick):
    from omi.diagnosis import _parsed_entry_points, _quick_entry_points

    (tmp_path / "pyproject.toml").write_text(text)
    parsed = _parsed_entry_points(str(tmp_path), GROUPS)
    assert parsed is not None and parsed[1]
    found = _quick_entry_points(text.encode(), GROUPS)
    assert found is None if quick is None else found == parsed


def test_list_in_a_current_project_imports_nothing_more(make_dist, tmp_path):
    """No TOML parser, and no importlib.metadata that the listing itself did not need (a
    listing the plugin index answers never imports it)."""
    make_dist(
        "omi-storage-x",
        entry_points={STO: {"x": "omi_x.backend:XBackend"}},
        files={"omi_x/__init__.py": "", "omi_x/backend.py": src.backend("XBackend")},
    )
    here = project(tmp_path / "x", "omi-storage-x", {STO: {"x": "omi_x.backend:XBackend"}})
    (tmp_path / "plain").mkdir()
    code = (
        "import sys; sys.argv = ['omi', 'plugins', 'list']\nfrom omi.cli.launch import main\n"
        "try:\n    main()\nfinally:\n    print('LOADED', sorted({'tomllib', 'tomli', "
        "'importlib.metadata'} & set(sys.modules)), file=sys.stderr)\n"
    )
    loaded = {}
    for directory in (tmp_path / "plain", here):
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=directory
        )
        assert "Note:" not in result.stdout
        loaded[directory] = result.stderr.rpartition("LOADED ")[2]
    assert loaded[here] == loaded[tmp_path / "plain"]
    assert "toml" not in loaded[here]


# --- answers at the prompts of `omi plugins new` ---------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "typed, chosen",
    [("mit", "MIT"), ("APACHE-2.0", "Apache-2.0"), ("2", "MIT"), ("", "BSD-3-Clause")],
)
def test_the_license_prompt_takes_a_name_in_any_case_or_a_number(
    tmp_path, git_config, typed, chosen
):
    from terminal import on_a_terminal

    # the license given is the one offered first (1); the others follow in the template's order
    completed = on_a_terminal(
        ["plugins", "new", "event", "audit", "-o", str(tmp_path), "--license", "BSD-3-Clause"],
        {"license": typed},
    )
    assert completed.returncode == 0, completed.stdout
    answers = json.loads((tmp_path / "omi-event-audit" / ".omi-template.json").read_text())
    assert answers["variables"]["license"] == chosen


@pytest.mark.slow
def test_a_name_that_is_no_option_is_refused_and_asked_again(tmp_path, git_config):
    from terminal import on_a_terminal

    completed = on_a_terminal(
        ["plugins", "new", "event", "audit", "-o", str(tmp_path)], {"license": "GPL"}
    )
    assert completed.returncode == 0, completed.stdout
    assert (
        "Error: 'GPL' is not one of the options; type its number (1-3) or its name, e.g. MIT"
    ) in completed.stdout
    answers = json.loads((tmp_path / "omi-event-audit" / ".omi-template.json").read_text())
    assert answers["variables"]["license"] == "MIT"  # Enter, the second time: the default


@pytest.mark.slow
def test_ctrl_d_at_a_prompt_stops_as_ctrl_c_does(tmp_path, git_config):
    from terminal import on_a_terminal

    completed = on_a_terminal(
        ["plugins", "new", "event", "audit", "-o", str(tmp_path)], {"email": "\x04"}
    )
    assert completed.returncode == 1, completed.stdout
    assert "Aborted!" in completed.stdout and "EOFError" not in completed.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gitconfig"]


def test_new_names_the_project_once_when_it_is_made_here(tmp_path):
    result = omi("plugins", "new", "event", "audit", "--no-input", cwd=tmp_path)
    assert result.stdout.splitlines()[0] == (
        "Created omi-event-audit: the AuditHandler class, registered as 'audit' in "
        "omi.event_handlers."
    )
    (tmp_path / "sub").mkdir()
    elsewhere = omi("plugins", "new", "event", "audit", "--no-input", "-o", "sub", cwd=tmp_path)
    assert elsewhere.stdout.splitlines()[0].startswith(
        f"Created omi-event-audit in {os.path.join('sub', 'omi-event-audit')}: the "
    )


# --- messages that pointed the wrong way ------------------------------------------------------

GENERATOR_RECALL = """
from omi.builtin.sqlite import SQLiteBackend


class Lazy(SQLiteBackend):
    def recall(self, query, limit=10):
        yield from super().recall(query, limit)
"""
NO_LIMIT = """
from omi.builtin.sqlite import SQLiteBackend


class NoLimit(SQLiteBackend):
    def recall(self, query):
        return super().recall(query, 10)
"""
BAD_DECLARATION = """
from omi.builtin.sqlite import SQLiteBackend


class Declares(SQLiteBackend):
    conformance_capabilities = ("persistant",)
"""


def test_a_recall_returning_a_generator_is_told_to_return_a_list(make_dist):
    make_dist(
        "omi-storage-lazy",
        files={"lazy_mod.py": GENERATOR_RECALL},
        entry_points={STO: {"lazy": "lazy_mod:Lazy"}},
    )
    result = omi("plugins", "check", "lazy", "-k", "new_instance_starts_empty")
    assert result.returncode == 1
    assert "start from an empty store" not in result.stdout
    assert (
        "expected a list of dicts from recall(); got <generator object Lazy.recall at "
        in result.stdout
    )
    assert "fix: return a list, e.g. [dict(row) for row in rows], not a generator" in result.stdout


def test_a_recall_without_limit_fails_validation_saying_so(make_dist):
    make_dist(
        "omi-storage-nolimit",
        files={"nolimit_mod.py": NO_LIMIT},
        entry_points={STO: {"nolimit": "nolimit_mod:NoLimit"}},
    )
    with pytest.raises(PluginLoadError) as raised:
        load_plugin(STO, "nolimit")
    assert str(raised.value).endswith(
        "failed validation: NoLimit.recall(self, query) cannot be called as "
        "StorageBackend.recall(self, query, limit=10) is, which is how OMI calls it; give it "
        "the interface's parameters: def recall(self, query, limit=10)"
    )
    result = omi("plugins", "check", "nolimit")
    assert result.returncode == 2 and "  ✗ validate_plugin" in result.stdout


@pytest.mark.parametrize(
    "source",
    [
        "def recall(self, query, limit=10, *rest):\n        return []",
        "def recall(self, *args, **kwargs):\n        return []",
        "def recall(self, query, count, extra=None):\n        return []",
        "@staticmethod\n    def recall(query, limit=10):\n        return []",
    ],
)
def test_signatures_omi_can_call_pass_validation(source):
    from omi.builtin.sqlite import SQLiteBackend
    from omi.plugins import validate_plugin

    namespace: dict = {"SQLiteBackend": SQLiteBackend}
    exec(f"class Fine(SQLiteBackend):\n    {source}\n", namespace)
    validate_plugin(namespace["Fine"])


def test_an_invalid_declaration_names_the_kind_of_plugin(make_dist):
    make_dist(
        "omi-storage-declares",
        files={"declares_mod.py": BAD_DECLARATION},
        entry_points={STO: {"declares": "declares_mod:Declares"}},
    )
    result = omi("plugins", "check", "declares")
    assert result.returncode == 2
    first = result.stdout.splitlines()[0]
    assert first == "declares (Declares) from omi-storage-declares 0.1.0 [storage]"
    assert "unknown 'persistant'" in result.stdout
