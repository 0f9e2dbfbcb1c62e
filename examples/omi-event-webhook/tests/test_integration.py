"""OMI discovers and loads this plugin through its entry point."""

from pathlib import Path
from typing import Callable

from omi.plugins import discover_plugins, load_plugin, validate_plugin

from omi_event_webhook.handler import WebhookHandler
from receiver import Receiver

StartReceiver = Callable[..., Receiver]  # the `receiver` fixture

GROUP = "omi.event_handlers"
NAME = "webhook"


def test_plugin_discovery() -> None:
    """Verify OMI can discover the plugin"""
    plugins = discover_plugins(GROUP)
    plugin_names = [ep.name for ep in plugins[GROUP]]

    assert NAME in plugin_names


def test_plugin_loading() -> None:
    """Verify OMI can load and validate the plugin"""
    plugin_cls = load_plugin(GROUP, NAME)

    assert plugin_cls is WebhookHandler


def test_plugin_interface() -> None:
    """The class passes OMI's static validation and declares interface 1.0"""
    validate_plugin(WebhookHandler)
    assert WebhookHandler.interface_version == "1.0"


def test_plugins_list_shows_it() -> None:
    """`omi plugins list` shows the plugin; listing never contacts the receiver"""
    from click.testing import CliRunner
    from omi.cli import cli

    result = CliRunner().invoke(cli, ["plugins", "list", "--group", "event"])

    assert result.exit_code == 0, result.output
    assert "  webhook (WebhookHandler) - v0.2.0 [interface: 1.0] ✓" in result.output.splitlines()


def test_the_readme_config_delivers_omi_memory_events(receiver: StartReceiver,
                                                      tmp_path: Path) -> None:
    """The config.yaml of the README, given to OMI's host: its events reach the receiver"""
    import re
    from pathlib import Path

    import yaml
    from omi.config import parse_config
    from omi.host import Memory

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", readme, re.DOTALL)
    assert block, "README.md has no yaml block"
    document = yaml.safe_load(block.group(1))
    server = receiver("ok")
    options = document["events"]["handlers"][0]
    options.update(url=server.url, secret="test-secret",
                   dead_letter_path=str(tmp_path / "dead.jsonl"))
    document["storage"] = {"backend": "sqlite", "path": str(tmp_path / "memories.db")}

    with Memory.from_config(parse_config(document)) as memory:
        with memory.session():
            memory_id = memory.store("The user prefers green tea.")
            memory.recall("tea")
            memory.emit("belief.updated", {"belief": "likes tea", "old": 0.5, "new": 0.9})
    # the README's filter: memory.stored and belief.updated only
    events = server.events()
    assert [event["type"] for event in events] == ["memory.stored", "belief.updated"]
    assert events[0]["data"]["id"] == memory_id
    assert events[0]["data"]["content"] == "The user prefers green tea."
    assert not (tmp_path / "dead.jsonl").exists()
