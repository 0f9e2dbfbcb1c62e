"""OMI discovers and loads this plugin through its entry point."""

import pytest
from omi.plugins import discover_plugins, load_plugin, validate_plugin

from omi_storage_postgres.backend import PostgresBackend

GROUP = "omi.storage_backends"
NAME = "postgres"


def test_plugin_discovery() -> None:
    """Verify OMI can discover the plugin"""
    plugins = discover_plugins(GROUP)
    plugin_names = [ep.name for ep in plugins[GROUP]]

    assert NAME in plugin_names


def test_plugin_loading() -> None:
    """Verify OMI can load and validate the plugin"""
    plugin_cls = load_plugin(GROUP, NAME)

    assert plugin_cls is PostgresBackend


def test_plugin_interface() -> None:
    """The class passes OMI's static validation and declares interface 1.0"""
    validate_plugin(PostgresBackend)
    assert PostgresBackend.interface_version == "1.0"


def test_the_readme_config_runs_an_omi_memory(dsn: str, fresh_schema: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The config.yaml of the README, given to OMI's host, stores and recalls in PostgreSQL"""
    import re
    from pathlib import Path

    import yaml
    from omi.config import parse_config
    from omi.host import Memory

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", readme, re.DOTALL)
    assert block is not None, "the README shows no config.yaml"
    document = yaml.safe_load(block.group(1))
    assert document["storage"]["dsn"] == "${OMI_POSTGRES_DSN}"
    document["storage"]["schema"] = fresh_schema
    monkeypatch.setenv("OMI_POSTGRES_DSN", dsn)

    with Memory.from_config(parse_config(document)) as memory:
        assert isinstance(memory.storage, PostgresBackend)
        assert memory.storage.dimension == document["storage"]["dimension"]
        memory.store("The user prefers green tea in the morning.")
        memory.store("The quarterly revenue report is due on Friday.")
        best = memory.recall("green tea", limit=1)
    assert best[0]["content"] == "The user prefers green tea in the morning."
    reopened = PostgresBackend(dsn=dsn, schema=fresh_schema)
    try:
        assert reopened.count() == 2
    finally:
        reopened.close()
