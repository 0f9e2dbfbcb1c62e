"""Why a plugin does not show up: each common mistake, made in a real installed distribution,
gets a message that says what is wrong and what to run."""

from __future__ import annotations

import importlib
import json
import shlex
import shutil
import site
import sys
from pathlib import Path

import plugin_sources as src
import pytest
from run_omi import omi

from omi import __version__
from omi.diagnosis import intended_group
from omi.plugins import GROUPS, PluginLoadError, PluginRegistry, load_plugin

EMB, STO, EVT = GROUPS
REINSTALL = f"{shlex.quote(sys.executable)} -m pip install -e ."


# --- the near-miss rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "group, meant",
    [
        ("omi.embedding_provider", EMB),
        ("omi.embeddings_providers", EMB),
        ("omi_storage_backends", STO),
        ("omi-event-handlers", EVT),
        ("OMI.Embedding_Providers", EMB),
        ("omi.embeding_providers", EMB),  # a typo
        ("omi.storage_backend", STO),
        ("omi.storage", STO),  # the kind alone
        ("omi.embeddings", EMB),
        ("omi.events", EVT),
    ],
)
def test_near_misses_of_the_three_groups_are_recognised(group, meant):
    assert intended_group(group, GROUPS) == meant


@pytest.mark.parametrize(
    "group",
    [
        *GROUPS,
        "console_scripts",
        "gui_scripts",
        "pytest11",
        "flake8.extension",
        "omi.plugins",
        "omi.cli_commands",
        "omicron.plugins",
        "my.storage_backends",
        "storage_backends",
        "omi",
        "omi.x",
    ],
)
def test_other_groups_are_never_flagged(group):
    assert intended_group(group, GROUPS) is None


# --- an entry point under a group OMI does not read -----------------------------------------


def install_misplaced(make_dist) -> None:
    make_dist(
        "omi-embedding-mine",
        "0.2.0",
        entry_points={
            "omi.embedding_provider": {"mine": "mine_mod:MineEmbedder"},
            "console_scripts": {"mine-tool": "mine_mod:main"},
            "pytest11": {"mine": "mine_mod"},
        },
        files={"mine_mod.py": "raise RuntimeError('listing must not import me')\n"},
    )


MISPLACED = (
    "registered in group 'omi.embedding_provider', which OMI does not read (did you "
    f"mean 'omi.embedding_providers'?); fix the group in pyproject.toml, then "
    f"reinstall the project from its directory: {REINSTALL}"
)


def test_list_ends_with_a_not_loaded_section_naming_the_group_meant(make_dist):
    install_misplaced(make_dist)
    result = omi("plugins", "list")
    assert result.returncode == 0, result.stdout
    assert result.stdout.endswith(
        "Event Handlers:\n  (none installed)\n\n"
        f"Not loaded:\n  mine (MineEmbedder) - v0.2.0 ✗ {MISPLACED}\n"
    )
    assert "mine-tool" not in result.stdout  # console_scripts and pytest11 are not ours
    assert "mine_mod" not in sys.modules


def test_json_lists_the_misplaced_plugin_under_not_loaded(make_dist):
    install_misplaced(make_dist)
    document = json.loads(omi("plugins", "list", "--format", "json").stdout)
    [entry] = document["not_loaded"]
    assert (entry["name"], entry["group"], entry["did_you_mean"]) == (
        "mine",
        "omi.embedding_provider",
        EMB,
    )
    assert entry["error"] == MISPLACED and entry["distribution"] == "omi-embedding-mine"
    assert "mine" not in [row["name"] for row in document["groups"][EMB]]


def test_list_of_another_group_leaves_the_misplaced_plugin_out(make_dist):
    install_misplaced(make_dist)
    assert "Not loaded" not in omi("plugins", "list", "--group", "storage").stdout
    assert "Not loaded:" in omi("plugins", "list", "--group", "embedding").stdout


def test_loading_it_says_where_it_is_registered_instead(make_dist):
    install_misplaced(make_dist)
    with pytest.raises(PluginLoadError) as raised:
        load_plugin(EMB, "mine")
    assert str(raised.value) == (
        f"Plugin 'mine' not found in group '{EMB}'; installed: nim, ollama; "
        f"omi-embedding-mine 0.2.0 has it {MISPLACED}"
    )


def test_check_says_where_it_is_registered_instead(make_dist):
    install_misplaced(make_dist)
    result = omi("plugins", "check", "mine")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Error: Plugin 'mine' not found in any group; installed: nim, ollama; "
        f"omi-embedding-mine 0.2.0 has it {MISPLACED}"
    )


def test_a_group_that_is_not_a_near_miss_adds_nothing(make_dist):
    make_dist("omi-other", entry_points={"omi.plugins": {"mine": "mine_mod:Mine"}})
    assert "Not loaded" not in omi("plugins", "list").stdout
    with pytest.raises(
        PluginLoadError,
        match=r"check the entry points in pyproject.toml and "
        r"run pip install -e \.$",
    ):
        load_plugin(EMB, "mine")


# --- an entry point naming a class its module does not define --------------------------------


def test_a_misnamed_class_lists_the_module_classes_with_a_did_you_mean(make_dist):
    make_dist(
        "omi-storage-jsonl",
        entry_points={STO: {"jsonl": "jsonl_mod:JSONLBackend"}},
        files={"jsonl_mod.py": src.backend("JsonlBackend") + "\nclass Helper:\n    pass\n"},
    )
    expected = (
        "Plugin 'jsonl' from omi-storage-jsonl 0.1.0 failed to import "
        "jsonl_mod:JSONLBackend: AttributeError: module 'jsonl_mod' has no attribute "
        "'JSONLBackend'; jsonl_mod defines the classes Helper, JsonlBackend (did you "
        "mean 'JsonlBackend'?); fix the entry point in pyproject.toml, then reinstall "
        f"the project from its directory: {REINSTALL}"
    )
    with pytest.raises(PluginLoadError) as raised:
        load_plugin(STO, "jsonl")
    assert str(raised.value) == expected
    line = next(
        line for line in omi("plugins", "list").stdout.splitlines() if line.startswith("  jsonl ")
    )
    assert line == f"  jsonl (JSONLBackend) - v0.1.0 [interface: ?] ✗ {expected}"


def test_an_attribute_error_raised_inside_the_module_gets_no_class_hint(make_dist):
    make_dist(
        "omi-raising",
        entry_points={STO: {"raising": "raising_mod:Backend"}},
        files={"raising_mod.py": "import os\nos.no_such_thing\n"},
    )
    with pytest.raises(PluginLoadError) as raised:
        load_plugin(STO, "raising")
    assert str(raised.value).endswith(
        "AttributeError: module 'os' has no attribute 'no_such_thing'"
    )


# --- an editable install whose source moved -------------------------------------------------


def test_an_editable_install_whose_source_moved_says_to_reinstall(make_dist, plugin_site, tmp_path):
    source = tmp_path / "project" / "src"
    (source / "moved_pkg").mkdir(parents=True)
    (source / "moved_pkg" / "__init__.py").write_text(src.embedder("Moved"))
    dist_info = make_dist("omi-embedding-moved", entry_points={EMB: {"moved": "moved_pkg:Moved"}})
    (dist_info / "direct_url.json").write_text(
        json.dumps({"url": source.parent.as_uri(), "dir_info": {"editable": True}})
    )
    (plugin_site / "_omi_embedding_moved.pth").write_text(f"{source}\n")
    site.addsitedir(str(plugin_site))  # what the interpreter does with site-packages
    assert load_plugin(EMB, "moved").__name__ == "Moved"

    shutil.move(str(source.parent), str(tmp_path / "elsewhere"))
    del sys.modules["moved_pkg"]
    importlib.invalidate_caches()
    with pytest.raises(PluginLoadError) as raised:
        load_plugin(EMB, "moved")
    assert str(raised.value) == (
        "Plugin 'moved' from omi-embedding-moved 0.1.0 failed to import moved_pkg:Moved: "
        "ModuleNotFoundError: No module named 'moved_pkg'; it was installed in editable mode "
        f"from {source.parent}, which no longer exists: in the project's new directory, run "
        f"{REINSTALL}"
    )


def test_a_present_editable_source_adds_no_hint(make_dist, tmp_path):
    dist_info = make_dist("omi-embedding-gone", entry_points={EMB: {"gone": "gone_pkg:Gone"}})
    (dist_info / "direct_url.json").write_text(
        json.dumps({"url": tmp_path.as_uri(), "dir_info": {"editable": True}})
    )
    with pytest.raises(PluginLoadError) as raised:
        load_plugin(EMB, "gone")
    assert str(raised.value).endswith("ModuleNotFoundError: No module named 'gone_pkg'")


# --- the project in the working directory is not installed for this interpreter -------------


PYPROJECT = """\
[project]
name = "omi-embedding-here"
version = "0.1.0"

[project.entry-points."{group}"]
here = "omi_embedding_here.embedder:HereEmbedder"
"""


def project_in(directory: Path, monkeypatch, group: str = EMB) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "pyproject.toml").write_text(PYPROJECT.format(group=group))
    monkeypatch.chdir(directory)
    return directory / "pyproject.toml"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is new in Python 3.11")
def test_a_project_here_that_is_not_installed_says_what_to_run(plugin_site, tmp_path, monkeypatch):
    pyproject = project_in(tmp_path / "project", monkeypatch)
    expected = (
        f"{pyproject} declares 'here', but project omi-embedding-here is not "
        f"installed for the Python that runs omi ({sys.executable}); run {REINSTALL}"
    )
    with pytest.raises(PluginLoadError) as raised:
        load_plugin(EMB, "here")
    assert str(raised.value) == (
        f"Plugin 'here' not found in group '{EMB}'; installed: nim, ollama; {expected}"
    )
    result = omi("plugins", "check", "here")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"Error: Plugin 'here' not found in any group; installed: nim, ollama; {expected}"
    )


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is new in Python 3.11")
def test_a_project_installed_before_its_entry_point_was_added(make_dist, tmp_path, monkeypatch):
    make_dist("omi-embedding-here")  # installed, with no entry point yet
    project_in(tmp_path / "project", monkeypatch, group="omi.embeddings_providers")
    with pytest.raises(PluginLoadError) as raised:
        load_plugin(EMB, "here")
    assert str(raised.value).endswith(
        "but project omi-embedding-here is installed without it (entry points are written "
        "when a project is installed); its group 'omi.embeddings_providers' is not one OMI "
        f"reads (did you mean '{EMB}'?); run {REINSTALL}"
    )


def test_a_plugin_asked_for_in_the_wrong_group_is_pointed_to_its_group(
    make_dist, tmp_path, monkeypatch
):
    make_dist("omi-embedding-here", entry_points={EMB: {"here": "here_mod:Here"}})
    project_in(tmp_path / "project", monkeypatch)  # installed: no "not installed" hint
    with pytest.raises(PluginLoadError) as raised:
        load_plugin(STO, "here")
    assert str(raised.value) == (
        f"Plugin 'here' not found in group '{STO}'; installed: "
        f"(none); omi-embedding-here 0.1.0 registers it in group "
        f"'{EMB}': ask for it there"
    )
    result = omi("plugins", "check", "storage:here")
    assert result.returncode == 2 and "registers it in group" in result.stderr


def test_a_project_here_that_declares_another_name_adds_nothing(plugin_site, tmp_path, monkeypatch):
    project_in(tmp_path / "project", monkeypatch)
    with pytest.raises(PluginLoadError) as raised:
        load_plugin(EMB, "elsewhere")
    assert str(raised.value).endswith(
        "check the entry points in pyproject.toml and run pip install -e ."
    )


# --- a plugin that requires another omi-openclaw ---------------------------------------------


def install_with_requirement(make_dist, name: str, plugin: str, *requires: str) -> None:
    module = plugin.replace("-", "_") + "_mod"
    dist_info = make_dist(
        name,
        entry_points={EMB: {plugin: f"{module}:MyCustomEmbedder"}},
        files={f"{module}.py": src.embedder()},
    )
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n"
        + "".join(f"Requires-Dist: {line}\n" for line in requires)
    )


def test_a_plugin_outside_its_omi_range_is_flagged_like_pip_check(make_dist):
    install_with_requirement(make_dist, "omi-embedding-old", "old", "omi-openclaw<0.3", "requests")
    install_with_requirement(make_dist, "omi-embedding-new", "new", "omi-openclaw>=0.1")
    install_with_requirement(
        make_dist, "omi-embedding-extra", "extra", 'omi-openclaw<0.3; extra == "legacy"'
    )
    lines = {
        line.split()[0]: line
        for line in omi("plugins", "list").stdout.splitlines()
        if line.startswith("  ")
    }
    assert lines["old"] == (
        "  old (MyCustomEmbedder) - v0.1.0 [interface: 1.0] ✓ ⚠ omi-embedding-old 0.1.0 has "
        f"requirement omi-openclaw<0.3, but you have omi-openclaw {__version__}"
    )
    assert lines["new"].endswith("✓") and lines["extra"].endswith("✓")
    rows = {
        row["name"]: row
        for row in json.loads(omi("plugins", "list", "--format", "json").stdout)["groups"][EMB]
    }
    assert rows["old"]["requires_omi"] == ["omi-openclaw<0.3"]
    assert rows["old"]["conflict"] == lines["old"].split(" ⚠ ")[1]
    assert rows["old"]["status"] == "ok" and rows["new"]["conflict"] is None


def test_verbose_prints_every_plugins_required_range(make_dist):
    install_with_requirement(make_dist, "omi-embedding-new", "new", "omi-openclaw>=0.1,<1")
    install_with_requirement(make_dist, "omi-embedding-any", "any")
    output = omi("plugins", "list", "--verbose", "--group", "embedding").stdout
    blocks: dict[str, str] = {}  # plugin name -> its line and the indented lines below it
    for line in output.splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            name = line.split()[0]
        if line.startswith("  "):
            blocks[name] = blocks.get(name, "") + line + "\n"
    assert (
        f"requires: omi-openclaw>=0.1,<1 (installed: omi-openclaw {__version__})" in blocks["new"]
    )
    assert "requires: omi-openclaw, any version (no Requires-Dist names it)" in blocks["any"]
    assert f"requires: nothing more (part of omi-openclaw {__version__})" in blocks["nim"]


def test_the_range_is_checked_only_when_a_plugin_names_one(make_dist):
    install_with_requirement(make_dist, "omi-embedding-any", "any")
    infos = PluginRegistry().get_plugins(EMB)
    assert infos["any"].requires_omi == [] and infos["any"].conflict is None


@pytest.mark.parametrize(
    "requirement, conflicts",
    [
        ("omi-openclaw<0.3", True),
        ("omi-openclaw (<0.3)", True),  # the older parenthesised form
        ("omi_openclaw[postgres]<0.3", True),
        ('omi-openclaw<0.3; python_version >= "3"', True),
        ("omi-openclaw>=0.1,<1", False),
        ('omi-openclaw<0.3; extra == "legacy"', False),  # only with an extra
        ('omi-openclaw<0.3; python_version < "3"', False),  # another Python
        ("omi-openclaw @ file:///somewhere", False),  # a URL names no range
        ("omi-openclaw<<0.3", False),  # unreadable: not a verdict
        ("omi-openclaw-tools<0.3", False),  # another project
    ],
)
def test_which_requirements_exclude_the_installed_omi(requirement, conflicts):
    from omi.diagnosis import requirement_conflict

    found = requirement_conflict("omi-x 1.0", [requirement], "0.4.0")
    assert found == (
        f"omi-x 1.0 has requirement {requirement}, but you have omi-openclaw 0.4.0"
        if conflicts
        else None
    )


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is new in Python 3.11")
def test_a_hostile_pyproject_here_is_printed_inert(plugin_site, tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "evil\\u001b[2J"\n'
        '[project.entry-points."omi.embedding_provider\\u001b[31m"]\nhere = "m:C"\n'
    )
    monkeypatch.chdir(project)
    with pytest.raises(PluginLoadError) as raised:
        load_plugin(EMB, "here")
    message = str(raised.value)
    assert "\x1b" not in message
    assert "project evil\\x1b[2J is not installed" in message
    assert "its group 'omi.embedding_provider\\x1b[31m' is not one OMI reads" in message


@pytest.mark.parametrize(
    "text", ["[project\n", "\xff\xfe", "[project]\nname = 3\n", "x = [" * 2000 + "]" * 2000]
)
def test_an_unreadable_pyproject_here_adds_nothing(plugin_site, tmp_path, monkeypatch, text):
    (tmp_path / "pyproject.toml").write_bytes(text.encode("latin-1"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PluginLoadError, match=r"run pip install -e \.$"):
        load_plugin(EMB, "here")


def test_a_module_with_many_classes_is_listed_briefly(make_dist):
    classes = "".join(f"class C{i:02}:\n    pass\n" for i in range(20))
    make_dist(
        "omi-many", entry_points={STO: {"many": "many_mod:Missing"}}, files={"many_mod.py": classes}
    )
    with pytest.raises(PluginLoadError) as raised:
        load_plugin(STO, "many")
    assert (
        "many_mod defines the classes C00, C01, C02, C03, C04, C05, C06, C07, C08, C09, "
        "C10, C11 and 8 more; fix the entry point" in str(raised.value)
    )


# --- the README shows what omi prints -------------------------------------------------------


def readme_troubleshooting_lines() -> list[str]:
    """The lines of the text blocks of the README's Troubleshooting section."""
    import re

    text = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Troubleshooting\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```text\n(.*?)```", section, re.S)
    return [line for block in blocks for line in block.splitlines()]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is new in Python 3.11")
def test_the_readme_troubleshooting_section_shows_what_omi_prints(make_dist, tmp_path, monkeypatch):
    project = tmp_path / "omi-embedding-here"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT.format(group=EMB))
    monkeypatch.chdir(project)
    printed = omi("plugins", "check", "here").stderr
    make_dist(
        "omi-embedding-mine",
        entry_points={
            "omi.embedding_provider": {"mine": "omi_embedding_mine.embedder:MineEmbedder"}
        },
    )
    printed += omi("plugins", "check", "mine").stderr
    make_dist(
        "omi-storage-jsonl",
        entry_points={STO: {"jsonl": "omi_storage_jsonl.backend:JSONLBackend"}},
        files={
            "omi_storage_jsonl/__init__.py": "",
            "omi_storage_jsonl/backend.py": src.backend("JsonlBackend"),
        },
    )
    make_dist(
        "omi-storage-x",
        entry_points={STO: {"x": "omi_x.backends:XBackend"}},
        files={"omi_x/__init__.py": "", "omi_x/backend.py": src.backend("XBackend")},
    )
    moved = make_dist(
        "omi-embedding-moved",
        entry_points={EMB: {"moved": "omi_embedding_moved.embedder:MovedEmbedder"}},
    )
    (moved / "direct_url.json").write_text(
        json.dumps(
            {"url": "file:///home/me/src/omi-embedding-moved", "dir_info": {"editable": True}}
        )
    )
    old = make_dist(
        "omi-embedding-old",
        entry_points={EMB: {"old": "omi_embedding_old:OldEmbedder"}},
        files={"omi_embedding_old.py": src.embedder("OldEmbedder")},
    )
    (old / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: omi-embedding-old\n"
        "Version: 0.1.0\nRequires-Dist: omi-openclaw<0.4,>=0.3\n"
    )
    printed += omi("plugins", "list", "--verbose").stdout
    printed = printed.replace(shlex.quote(sys.executable), "PYTHON")
    printed = printed.replace(str(project), "/home/me/omi-embedding-here")
    shown = [
        line
        for line in readme_troubleshooting_lines()
        if not line.startswith("$ ") and "imported in" not in line
    ]
    assert len(shown) >= 8
    for line in shown:
        assert line in printed.splitlines(), f"README line not printed:\n{line}\n\n{printed}"
