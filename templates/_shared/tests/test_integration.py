"""OMI discovers and loads this plugin through its entry point."""

from omi.plugins import discover_plugins, load_plugin, validate_plugin

from {{ cookiecutter.__import_name }}.{{ cookiecutter.__module }} import {{ cookiecutter.__class_name }}

GROUP = "{{ cookiecutter.__group }}"
NAME = "{{ cookiecutter.__plugin_name }}"


def test_plugin_discovery() -> None:
    """Verify OMI can discover the plugin"""
    plugins = discover_plugins(GROUP)
    plugin_names = [ep.name for ep in plugins[GROUP]]

    assert NAME in plugin_names


def test_plugin_loading() -> None:
    """Verify OMI can load and validate the plugin"""
    plugin_cls = load_plugin(GROUP, NAME)

    assert plugin_cls is {{ cookiecutter.__class_name }}


def test_plugin_interface() -> None:
    """The class passes OMI's static validation and declares interface 1.0"""
    validate_plugin({{ cookiecutter.__class_name }})
    assert {{ cookiecutter.__class_name }}.interface_version == "1.0"
