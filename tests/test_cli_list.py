"""`omi plugins list` and the CLI's conventions, through click and through the real script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import plugin_sources as src
import pytest
from run_omi import OMI, omi, omi_process

from omi import __version__
from omi.cli import cli

EMB = "omi.embedding_providers"

# The spec's listing; nim and ollama show the version of omi-openclaw, which ships them.
SPEC_OUTPUT = f"""\
Embedding Providers:
  nim (NIMEmbedder) - v{__version__} [interface: 1.0] ✓
  ollama (OllamaEmbedder) - v{__version__} [interface: 1.0] ✓
  my-embedder (MyCustomEmbedder) - v0.1.0 [interface: 1.0] ✓

Storage Backends:
  (none installed)

Event Handlers:
  (none installed)
"""


def install_spec_example(make_dist) -> None:
    make_dist(
        "my-omi-plugin",
        entry_points={EMB: {"my-embedder": "my_omi_plugin.provider:MyCustomEmbedder"}},
        files={"my_omi_plugin/__init__.py": "", "my_omi_plugin/provider.py": src.embedder()},
    )


def test_list_prints_exactly_what_the_spec_shows(make_dist):
    install_spec_example(make_dist)
    result = omi("plugins", "list")
    assert result.returncode == 0, result.stdout
    assert result.stdout == SPEC_OUTPUT


def test_list_through_the_installed_console_script(make_dist):
    install_spec_example(make_dist)
    completed = omi_process("plugins", "list")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == SPEC_OUTPUT


def test_broken_plugins_are_listed_with_a_reason_and_never_crash(make_dist):
    make_dist(
        "omi-broken",
        "2.0.1",
        entry_points={
            EMB: {"no-import": "missing_mod:Thing", "old": "old_mod:Old", "exits": "exit_mod:Gone"},
            "omi.event_handlers": {"wrong": "wrong_mod:NotAHandler"},
        },
        files={
            "old_mod.py": src.embedder("Old", version="0.9"),
            "exit_mod.py": "import os, sys\nsys.exit('bye')\n",
            "wrong_mod.py": "class NotAHandler:\n    interface_version = '1.0'\n",
        },
    )
    result = omi("plugins", "list")
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    by_name = {line.split()[0]: line for line in lines if line.startswith("  ") and "(" in line}
    assert by_name["no-import"].startswith("  no-import (Thing) - v2.0.1 [interface: ?] ✗ ")
    assert "No module named 'missing_mod'" in by_name["no-import"]
    assert by_name["old"].startswith("  old (Old) - v2.0.1 [interface: 0.9] ✗ ")
    assert "incompatible interface_version '0.9'" in by_name["old"]
    assert "SystemExit: bye" in by_name["exits"]
    assert "does not inherit from omi.events.EventHandler" in by_name["wrong"]
    assert "Event Handlers:" in lines


def test_a_name_registered_twice_is_listed_once_with_both_distributions(make_dist):
    for dist, module in (("omi-first", "first_mod"), ("omi-second", "second_mod")):
        make_dist(
            dist,
            entry_points={EMB: {"twin": f"{module}:MyCustomEmbedder"}},
            files={f"{module}.py": src.embedder()},
        )
    lines = [
        line for line in omi("plugins", "list").stdout.splitlines() if line.startswith("  twin ")
    ]
    assert len(lines) == 1 and " ✗ " in lines[0]
    assert "registered by 2 distributions: omi-first 0.1.0" in lines[0]
    assert "omi-second 0.1.0" in lines[0]


def test_skipped_plugins_are_shown_not_imported(make_dist):
    make_dist(
        "omi-embedding-slow",
        entry_points={EMB: {"slow": "slow_mod:Slow"}},
        files={"slow_mod.py": "raise RuntimeError('must not be imported')\n"},
    )
    result = omi("plugins", "list", OMI_LOAD_PLUGINS="")
    line = next(line for line in result.stdout.splitlines() if line.startswith("  slow "))
    assert line == (
        "  slow (Slow) - v0.1.0 skipped: OMI_LOAD_PLUGINS is set but empty, "
        "so no third-party plugin loads"
    )
    assert "nim (NIMEmbedder)" in result.stdout  # OMI's own plugins still load


def test_group_filter_accepts_full_and_short_names(make_dist):
    install_spec_example(make_dist)
    for group in ("omi.storage_backends", "storage", "storage_backends"):
        result = omi("plugins", "list", "--group", group)
        assert result.stdout == "Storage Backends:\n  (none installed)\n"


def test_unknown_group_is_a_usage_error_listing_the_three():
    result = omi("plugins", "list", "--group", "embeddings")
    assert result.returncode == 2
    assert result.stdout == "" and result.stderr.strip() == (
        "Error: Unknown plugin group 'embeddings'; choose one of: "
        "omi.embedding_providers, omi.storage_backends, omi.event_handlers"
    )


def test_verbose_shows_distribution_and_module(make_dist):
    install_spec_example(make_dist)
    result = omi("plugins", "list", "--verbose", "--group", "embedding")
    assert (
        "      from my-omi-plugin 0.1.0: my_omi_plugin.provider:MyCustomEmbedder"
        in result.stdout.splitlines()
    )


def test_json_output_follows_the_documented_schema(make_dist):
    install_spec_example(make_dist)
    make_dist("omi-broken", entry_points={EMB: {"broken": "nope_mod:X"}})
    document = json.loads(omi("plugins", "list", "--format", "json").stdout)
    assert document["schema"] == "omi.plugins.list/1"
    assert list(document["groups"]) == [EMB, "omi.storage_backends", "omi.event_handlers"]
    rows = {row["name"]: row for row in document["groups"][EMB]}
    assert rows["my-embedder"] == {
        "name": "my-embedder",
        "group": EMB,
        "module": "my_omi_plugin.provider",
        "attr": "MyCustomEmbedder",
        "version": "0.1.0",
        "interface_version": "1.0",
        "loaded": True,
        "error": None,
        "distribution": "my-omi-plugin",
        "skipped": None,
        "class_name": "MyCustomEmbedder",
        "status": "ok",
        "requires_omi": [],
        "conflict": None,
    }
    assert rows["broken"]["status"] == "error" and "nope_mod" in rows["broken"]["error"]
    assert document["groups"]["omi.storage_backends"] == []
    assert document["not_loaded"] == []


def test_cli_group_is_invokable_and_has_a_version():
    result = omi("--version")
    assert result.returncode == 0 and result.stdout.startswith("omi, version ")


def test_debug_shows_the_spec_log_lines(make_dist):
    install_spec_example(make_dist)
    completed = omi_process("--debug", "plugins", "list")
    assert (
        "INFO:omi.plugins:Loading plugin 'my-embedder' from group 'omi.embedding_providers'"
        in completed.stderr.splitlines()
    )
    assert (
        "DEBUG:omi.plugins:Plugin 'MyCustomEmbedder' passed validation (interface_version=1.0)"
    ) in completed.stderr.splitlines()


HEAVY = "numpy cookiecutter pytest jinja2 yaml sqlite3 ssl http".split()
PROBE = """
import sys
import time
from omi.cli import cli
try:
    cli({args!r}, prog_name="omi")
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})
print("HEAVY:", ",".join(heavy), file=sys.stderr)
print("PLUGIN:", "my_omi_plugin.provider" in sys.modules, file=sys.stderr)
"""


def probe(args: list[str]) -> tuple[str, str]:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=True,
    )
    lines = dict(
        line.split(": ", 1) if ": " in line else (line.rstrip(":"), "")
        for line in completed.stderr.splitlines()
        if line.startswith(("HEAVY", "PLUGIN"))
    )
    return lines["HEAVY"], lines["PLUGIN"]


def test_help_imports_nothing_heavy_and_no_plugin(make_dist):
    install_spec_example(make_dist)
    assert probe(["--help"]) == ("", "False")


def test_list_imports_plugins_only_to_validate_them_and_nothing_heavy(make_dist):
    install_spec_example(make_dist)
    assert probe(["plugins", "list"]) == ("", "True")


def test_a_plugin_that_prints_on_import_cannot_break_the_json(make_dist):
    make_dist(
        "omi-chatty",
        entry_points={EMB: {"chatty": "chatty_mod:MyCustomEmbedder"}},
        files={"chatty_mod.py": "print('hello from chatty')\n" + src.embedder()},
    )
    completed = omi_process("plugins", "list", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    names = [info["name"] for info in json.loads(completed.stdout)["groups"][EMB]]
    assert "chatty" in names
    assert "hello from chatty" in completed.stderr


def test_an_entry_point_naming_only_a_module_shows_the_module(make_dist):
    make_dist(
        "omi-modonly",
        entry_points={EMB: {"modonly": "pkg.modonly_mod"}},
        files={"pkg/__init__.py": "", "pkg/modonly_mod.py": src.embedder()},
    )
    result = omi("plugins", "list", "--group", "embedding")
    line = next(line for line in result.stdout.splitlines() if "modonly" in line)
    assert line.startswith("  modonly (modonly_mod) - v0.1.0 [interface: ?] ✗ ")
    assert "got module 'pkg.modonly_mod'; point the entry point at the plugin class" in line


def test_json_with_group_holds_that_group_only():
    document = json.loads(omi("plugins", "list", "--group", "storage", "--format", "json").stdout)
    assert document == {
        "schema": "omi.plugins.list/1",
        "groups": {"omi.storage_backends": []},
        "not_loaded": [],
        "notes": [],
    }


def test_help_lists_the_lazy_plugins_group_as_click_would_without_importing_it():
    """`omi --help` takes the `plugins` row from the lazy table; once the group is loaded,
    click's own row (from its docstring) must read the same."""
    code = (
        "import sys; from omi.cli import cli\n"
        "try:\n    cli(['--help'], prog_name='omi')\nexcept SystemExit:\n    pass\n"
        "print('LOADED', 'omi.cli.plugin_commands' in sys.modules, file=sys.stderr)\n"
    )
    lazy = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert "LOADED False" in lazy.stderr
    from omi.cli.plugin_commands import plugins

    ((name, short),) = cli.lazy.values()
    assert name == "omi.cli.plugin_commands:plugins"
    assert short == plugins.get_short_help_str(limit=200)
    row = next(line for line in lazy.stdout.splitlines() if line.lstrip().startswith("plugins"))
    assert row.split(None, 1)[1] == short


def test_a_plugins_command_line_loads_the_group_and_runs():
    result = omi("plugins", "check", "--explain", "recall_honours_limit")
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("recall_honours_limit (storage check")
    result = omi("plugins", "nope")
    assert result.returncode == 2
    assert "No such command 'nope'" in result.stderr


def test_plugin_metadata_cannot_drive_the_terminal(make_dist, tmp_path):
    """Names, versions and entry-point values are text OMI did not write: escaped, with or
    without the plugin index, in the listing and in `cache show`; and a value that is no
    module path says so instead of failing deep inside importlib.metadata."""
    dist_info = make_dist(
        "omi-hostile",
        version="1.0\x1b[31m",
        entry_points={
            EMB: {"bad\x9b2Jname": "hostile_mod\x1b[31m:Cls", "bell\x07": "hostile_mod:Missing"}
        },
        files={"hostile_mod.py": "x = 1\n"},
    )
    stamp = time.time_ns() - 60 * 10**9  # older than the index's racy window
    for path in (dist_info.parent, dist_info, *dist_info.parent.rglob("*")):
        os.utime(path, ns=(stamp, stamp))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    outputs = []
    for switch in ("1", "0", "0"):  # no index; the scan that writes it; the index
        completed = subprocess.run(
            [OMI, "plugins", "list"],
            capture_output=True,
            text=True,
            env={**env, "OMI_NO_CACHE": switch},
            timeout=60,
        )
        outputs.append(completed.stdout)
    shown = subprocess.run(
        [OMI, "plugins", "cache", "show"], capture_output=True, text=True, env=env, timeout=60
    ).stdout
    assert outputs[0] == outputs[1] == outputs[2]
    assert "entries: " in shown and "bad\\x9b2Jname = hostile_mod\\x1b[31m:Cls" in shown
    for text in (*outputs, shown):
        assert not {"\x1b", "\x9b", "\x07"} & set(text)
    line = next(line for line in outputs[0].splitlines() if line.startswith("  bad"))
    assert line.startswith("  bad\\x9b2Jname (Cls) - v1.0\\x1b[31m [interface: ?] ✗ ")
    assert (
        "names 'hostile_mod\\x1b[31m:Cls', which is not a module with an optional "
        "':attribute' (e.g. my_plugin.provider:MyEmbedder); fix the entry point in the "
        "plugin's pyproject.toml and reinstall it"
    ) in line
    assert "  bell\\x07 (Missing) - v1.0\\x1b[31m [interface: ?] ✗ " in outputs[0]


def test_python_dash_m_omi_is_the_omi_command():
    for args in (["--version"], ["plugins", "list", "--format", "json"]):
        module = subprocess.run(
            [sys.executable, "-m", "omi", *args], capture_output=True, text=True, timeout=60
        )
        script = subprocess.run([OMI, *args], capture_output=True, text=True, timeout=60)
        assert (
            (module.returncode, module.stdout)
            == (script.returncode, script.stdout)
            == (0, script.stdout)
        )
    bad = subprocess.run(
        [sys.executable, "-m", "omi", "nope"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and bad.stderr == "Error: No such command 'nope'; see 'omi --help'\n"


def test_python_dash_m_omi_imports_nothing_from_the_working_directory(tmp_path):
    for name in ("click", "json"):  # one the command imports, one its JSON output does
        (tmp_path / f"{name}.py").write_text("raise SystemExit('imported from the cwd')\n")
    for args in (
        ["--version"],
        ["plugins", "list", "--format", "json"],
        ["plugins", "cache", "show", "--format", "json"],
    ):
        completed = subprocess.run(
            [sys.executable, "-m", "omi", *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert completed.returncode == 0, completed.stderr
        assert "imported from the cwd" not in completed.stderr


@pytest.mark.parametrize(
    "text, shown",
    [
        ("plain\ntext", "plain\\ntext"),
        ("tab\there\r\n", "tab\\there\\r\\n"),
        ("esc\x1b[31m", "esc\\x1b[31m"),
        ("csi\x9b2J", "csi\\x9b2J"),
        ("bel\x07", "bel\\x07"),
        ("del\x7f", "del\\x7f"),
        ("half\ud800", "half\\ud800"),
        ("nonchar\ufffe", "nonchar\\ufffe"),
        ("nbsp\u00a0and\u2028line", "nbsp\u00a0and\\u2028line"),  # a space is harmless
        ("rlo\u202egnp.exe", "rlo\\u202egnp.exe"),
        ("lri\u2066x\u2069", "lri\\u2066x\\u2069"),
        ("lrm\u200e", "lrm\\u200e"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("été", "été"),
    ],
)
def test_visible_escapes_exactly_what_drives_a_terminal_or_breaks_a_line(text, shown):
    from omi.textsafety import visible

    assert visible(text) == shown
