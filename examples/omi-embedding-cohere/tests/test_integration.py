"""OMI discovers and loads this plugin through its entry point."""

from pathlib import Path

import pytest
from omi.plugins import discover_plugins, load_plugin, validate_plugin

from fake_cohere import FakeCohere
from omi_embedding_cohere.embedder import CohereEmbedder

GROUP = "omi.embedding_providers"
NAME = "cohere"


def test_plugin_discovery() -> None:
    """Verify OMI can discover the plugin"""
    plugins = discover_plugins(GROUP)
    plugin_names = [ep.name for ep in plugins[GROUP]]

    assert NAME in plugin_names


def test_plugin_loading() -> None:
    """Verify OMI can load and validate the plugin"""
    plugin_cls = load_plugin(GROUP, NAME)

    assert plugin_cls is CohereEmbedder


def test_plugin_interface() -> None:
    """The class passes OMI's static validation and declares interface 1.0"""
    validate_plugin(CohereEmbedder)
    assert CohereEmbedder.interface_version == "1.0"


def test_plugins_list_shows_it() -> None:
    """`omi plugins list` shows the plugin; listing never needs a key or the network"""
    from click.testing import CliRunner
    from omi.cli import cli

    result = CliRunner().invoke(cli, ["plugins", "list", "--group", "embedding"])

    assert result.exit_code == 0, result.output
    assert "  cohere (CohereEmbedder) - v0.1.0 [interface: 1.0] ✓" in result.output.splitlines()


def test_the_readme_config_runs_an_omi_memory(cohere: FakeCohere, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The config.yaml of the README, given to OMI's host, embeds through the Cohere API"""
    import re

    import yaml
    from omi.config import parse_config
    from omi.host import Memory

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", readme, re.DOTALL)
    assert block, "README.md has no yaml block"
    document = yaml.safe_load(block.group(1))
    document["embedding"]["base_url"] = cohere.url  # instead of https://api.cohere.com
    document["storage"] = {"backend": "sqlite", "path": str(tmp_path / "memories.db")}
    monkeypatch.setenv("CO_API_KEY", cohere.api_key)

    with Memory.from_config(parse_config(document)) as memory:
        assert isinstance(memory.embedder, CohereEmbedder)
        memory.store("The user prefers green tea in the morning.")
        memory.recall("green tea", limit=1)
    sent = [request["body"] for request in cohere.requests]
    assert sent[0]["texts"] == ["The user prefers green tea in the morning."]
    assert sent[0]["model"] == document["embedding"]["model"]
    assert all(body["input_type"] == "search_document" for body in sent)
