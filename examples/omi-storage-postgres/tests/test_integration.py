"""OMI discovers and loads this plugin through its entry point."""

from omi.plugins import discover_plugins, load_plugin, validate_plugin

from omi_storage_postgres.backend import PostgresBackend

GROUP = "omi.storage_backends"
NAME = "postgres"


def test_plugin_discovery():
    """Verify OMI can discover the plugin"""
    plugins = discover_plugins(GROUP)
    plugin_names = [ep.name for ep in plugins[GROUP]]

    assert NAME in plugin_names


def test_plugin_loading():
    """Verify OMI can load and validate the plugin"""
    plugin_cls = load_plugin(GROUP, NAME)

    assert plugin_cls is PostgresBackend


def test_plugin_interface():
    """The class passes OMI's static validation and declares interface 1.0"""
    validate_plugin(PostgresBackend)
    assert PostgresBackend.interface_version == "1.0"
