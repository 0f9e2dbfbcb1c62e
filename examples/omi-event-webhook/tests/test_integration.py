"""OMI discovers and loads this plugin through its entry point."""

from omi.plugins import discover_plugins, load_plugin, validate_plugin

from omi_event_webhook.handler import WebhookHandler

GROUP = "omi.event_handlers"
NAME = "webhook"


def test_plugin_discovery():
    """Verify OMI can discover the plugin"""
    plugins = discover_plugins(GROUP)
    plugin_names = [ep.name for ep in plugins[GROUP]]

    assert NAME in plugin_names


def test_plugin_loading():
    """Verify OMI can load and validate the plugin"""
    plugin_cls = load_plugin(GROUP, NAME)

    assert plugin_cls is WebhookHandler


def test_plugin_interface():
    """The class passes OMI's static validation and declares interface 1.0"""
    validate_plugin(WebhookHandler)
    assert WebhookHandler.interface_version == "1.0"


def test_plugins_list_shows_it():
    """`omi plugins list` shows the plugin; listing never contacts the receiver"""
    from click.testing import CliRunner
    from omi.cli import cli

    result = CliRunner().invoke(cli, ["plugins", "list", "--group", "event"])

    assert result.exit_code == 0, result.output
    assert "  webhook (WebhookHandler) - v0.1.0 [interface: 1.0] ✓" in result.output.splitlines()
