"""OMI discovers and loads this plugin through its entry point."""

from pathlib import Path

from omi.plugins import discover_plugins, load_plugin, validate_plugin

from omi_embedding_example.embedder import DummyEmbedder

GROUP = "omi.embedding_providers"
NAME = "dummy"


def test_plugin_discovery() -> None:
    """Verify OMI can discover the plugin"""
    plugins = discover_plugins(GROUP)
    plugin_names = [ep.name for ep in plugins[GROUP]]

    assert NAME in plugin_names


def test_plugin_loading() -> None:
    """Verify OMI can load and validate the plugin"""
    plugin_cls = load_plugin(GROUP, NAME)

    assert plugin_cls is DummyEmbedder


def test_plugin_interface() -> None:
    """The class passes OMI's static validation and declares interface 1.0"""
    validate_plugin(DummyEmbedder)
    assert DummyEmbedder.interface_version == "1.0"


def test_plugins_list_shows_the_guides_line() -> None:
    """`omi plugins list` shows the plugin as the guide promises"""
    from click.testing import CliRunner
    from omi.cli import cli

    result = CliRunner().invoke(cli, ["plugins", "list", "--group", "embedding"])

    assert result.exit_code == 0, result.output
    assert "  dummy (DummyEmbedder) - v0.1.0 [interface: 1.0] ✓" in result.output.splitlines()


def test_the_readme_config_runs_an_omi_memory(tmp_path: Path) -> None:
    """The config.yaml of the README, given to OMI's host, stores and recalls with DummyEmbedder"""
    import re

    import yaml
    from omi.config import parse_config
    from omi.host import Memory

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", readme, re.DOTALL)
    assert block, "README.md has no yaml block"
    document = yaml.safe_load(block.group(1))
    document["storage"] = {"backend": "sqlite", "path": str(tmp_path / "memories.db")}

    with Memory.from_config(parse_config(document)) as memory:
        assert isinstance(memory.embedder, DummyEmbedder)
        assert memory.embedder.get_dimension() == document["embedding"]["dimension"]
        memory.store("The user prefers green tea in the morning.")
        memory.store("The quarterly revenue report is due on Friday.")
        best = memory.recall("green tea", limit=1)
    assert best[0]["content"] == "The user prefers green tea in the morning."


def test_importing_the_plugin_stays_cheap() -> None:
    """`omi plugins list` imports the plugin; numpy waits until the first embedding"""
    import subprocess
    import sys

    code = "import sys, omi_embedding_example; print('numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
