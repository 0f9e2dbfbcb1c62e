"""omi.plugins against real distributions on a temporary sys.path entry."""

from __future__ import annotations

import inspect
import logging

import plugin_sources as src
import pytest

from omi.embeddings import EmbeddingProvider
from omi.events import EVENT_TYPES, EventHandler
from omi.kinds import GROUPS
from omi.plugins import (
    PLUGIN_GROUPS,
    InvalidPluginError,
    PluginError,
    PluginInfo,
    PluginLoadError,
    PluginRegistry,
    PluginValidationError,
    discover_group,
    discover_plugins,
    load_plugin,
    validate_plugin,
)
from omi.storage import StorageBackend

EMB = "omi.embedding_providers"


def install_embedder(
    make_dist,
    name="my-embedder",
    dist="my-omi-plugin",
    version="0.1.0",
    cls="MyCustomEmbedder",
    module="my_omi_plugin_mod",
    source=None,
):
    make_dist(
        dist,
        version,
        entry_points={EMB: {name: f"{module}:{cls}"}},
        files={f"{module}.py": source if source is not None else src.embedder(cls)},
    )


# --- the interfaces ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base, methods",
    [
        (
            EmbeddingProvider,
            {"embed", "embed_batch", "similarity", "get_dimension", "get_model_name"},
        ),
        (StorageBackend, {"store_memory", "recall", "add_edge", "close"}),
        (EventHandler, {"handle"}),
    ],
)
def test_interfaces_declare_exactly_the_spec_methods_and_no_version(base, methods):
    assert base.__abstractmethods__ == frozenset(methods)
    assert base.__annotations__["interface_version"] in (str, "str")
    assert not hasattr(base, "interface_version")


def test_interface_signatures_and_defaults_match_the_spec():
    assert str(inspect.signature(EmbeddingProvider.embed_batch, eval_str=True)) == (
        "(self, texts: List[str], batch_size: int = 8) -> List[List[float]]"
    )
    assert str(inspect.signature(StorageBackend.recall, eval_str=True)) == (
        "(self, query: str, limit: int = 10) -> List[Dict[str, Any]]"
    )
    assert str(inspect.signature(StorageBackend.add_edge, eval_str=True)) == (
        "(self, from_id: str, to_id: str, edge_type: str) -> None"
    )
    assert str(inspect.signature(EventHandler.handle, eval_str=True)) == (
        "(self, event_type: str, event_data: Dict[str, Any]) -> None"
    )


def test_event_types_are_the_six_of_the_spec():
    assert EVENT_TYPES == (
        "memory.stored",
        "memory.recalled",
        "session.started",
        "session.ended",
        "checkpoint.created",
        "belief.updated",
    )


# --- discovery -----------------------------------------------------------------------------


def test_discover_all_groups_returns_every_group_even_when_empty(make_dist):
    install_embedder(make_dist)
    found = discover_plugins()
    assert list(found) == list(GROUPS)
    assert "my-embedder" in [ep.name for ep in found[EMB]]
    # a fresh install registers no storage backend or event handler (see test_cli_list)
    assert found["omi.storage_backends"] == [] and found["omi.event_handlers"] == []


def test_discover_one_group_and_a_group_nobody_registers(make_dist):
    install_embedder(make_dist)
    assert list(discover_plugins(EMB)) == [EMB]
    assert discover_plugins("omi.nobody_registers_this") == {"omi.nobody_registers_this": []}
    assert [ep.name for ep in discover_group(EMB)] == [ep.name for ep in discover_plugins(EMB)[EMB]]


def test_discovery_does_not_import_the_plugin_module(make_dist):
    import sys

    install_embedder(make_dist, module="never_imported_mod")
    discover_plugins()
    PluginRegistry().list_all()
    assert "never_imported_mod" not in sys.modules


def test_plugin_groups_keeps_the_earlier_shape():
    assert PLUGIN_GROUPS == {
        "embedding_providers": "omi.embedding_providers",
        "storage_backends": "omi.storage_backends",
        "event_handlers": "omi.event_handlers",
    }


# --- validation ----------------------------------------------------------------------------


class Good(EmbeddingProvider):
    interface_version = "1.0"

    def embed(self, text):
        return [1.0]

    def embed_batch(self, texts, batch_size=8):
        return [[1.0] for _ in texts]

    def similarity(self, embedding1, embedding2):
        return 1.0

    def get_dimension(self):
        return 1

    def get_model_name(self):
        return "good"


def test_a_valid_plugin_passes():
    validate_plugin(Good, expected_base_class=EmbeddingProvider)
    validate_plugin(Good)  # base inferred: it is one of OMI's interfaces


def test_missing_interface_version_is_checked_first():
    class NoVersion:  # also the wrong base and nothing implemented: version comes first
        pass

    with pytest.raises(PluginValidationError, match="missing 'interface_version'") as info:
        validate_plugin(NoVersion, expected_base_class=EmbeddingProvider)
    assert 'interface_version = "1.0"' in str(info.value)


def test_interface_version_set_only_on_instances_does_not_count():
    class InstanceVersion(Good):
        interface_version = None

    with pytest.raises(PluginValidationError, match="missing 'interface_version'"):
        validate_plugin(InstanceVersion, EmbeddingProvider)


@pytest.mark.parametrize("version", ["2.0", "1", 1.0])
def test_incompatible_version_names_found_and_supported(version):
    Bad = type("Bad", (Good,), {"interface_version": version})
    with pytest.raises(PluginValidationError, match="incompatible interface_version") as info:
        validate_plugin(Bad, EmbeddingProvider)
    assert repr(version) in str(info.value)
    assert "supported: 1.0" in str(info.value)
    # 1.0 and "1.0" print alike, so a number is named as such
    assert ("it is a float, so quote it" in str(info.value)) is isinstance(version, float)


class HalfBackend(StorageBackend):  # implements nothing
    pass


@pytest.mark.parametrize(
    "attributes, bases, message",
    [
        ({}, (object,), "missing 'interface_version'"),
        ({"interface_version": "2.0"}, (HalfBackend,), "incompatible interface_version '2.0'"),
        (
            {"interface_version": "1.0"},
            (HalfBackend,),
            "does not inherit from omi.embeddings.EmbeddingProvider",
        ),
        (
            {"interface_version": "1.0"},
            (EmbeddingProvider,),
            "does not implement the abstract "
            "methods of EmbeddingProvider: embed, embed_batch, get_dimension, get_model_name, "
            "similarity",
        ),
    ],
)
def test_the_four_checks_run_in_the_spec_order(attributes, bases, message):
    """Each plugin fails every later check too; only the first failing one is reported."""
    plugin = type("Plugin", bases, dict(attributes))
    with pytest.raises(PluginValidationError) as info:
        validate_plugin(plugin, expected_base_class=EmbeddingProvider)
    assert message in str(info.value)


def test_wrong_base_class_names_the_expected_one():
    class Handler(EventHandler):
        interface_version = "1.0"

        def handle(self, event_type, event_data):
            return None

    with pytest.raises(PluginValidationError, match="omi.embeddings.EmbeddingProvider"):
        validate_plugin(Handler, expected_base_class=EmbeddingProvider)


def test_no_omi_base_at_all_names_the_three_interfaces():
    class Plain:
        interface_version = "1.0"

    with pytest.raises(PluginValidationError) as info:
        validate_plugin(Plain)
    for name in ("EmbeddingProvider", "StorageBackend", "EventHandler"):
        assert name in str(info.value)


def test_every_unimplemented_abstract_method_is_named():
    class Half(EmbeddingProvider):
        interface_version = "1.0"

        def embed(self, text):
            return [1.0]

    with pytest.raises(PluginValidationError) as info:
        validate_plugin(Half, EmbeddingProvider)
    message = str(info.value)
    for method in ("embed_batch", "similarity", "get_dimension", "get_model_name"):
        assert method in message
    assert "embed," not in message.split(":", 1)[1].replace("embed_batch", "")


def test_an_instance_or_function_gets_a_clear_error():
    with pytest.raises(PluginValidationError, match="got an instance of Good; pass the class Good"):
        validate_plugin(Good(), EmbeddingProvider)

    def factory():
        return Good

    with pytest.raises(PluginValidationError, match="got function 'factory'"):
        validate_plugin(factory, EmbeddingProvider)


def test_validation_errors_are_plugin_errors():
    assert issubclass(PluginValidationError, PluginError)
    assert issubclass(PluginLoadError, PluginError)


# --- loading -------------------------------------------------------------------------------


def test_load_plugin_returns_the_class_and_infers_the_base(make_dist):
    install_embedder(make_dist)
    cls = load_plugin(EMB, "my-embedder")
    assert cls.__name__ == "MyCustomEmbedder" and issubclass(cls, EmbeddingProvider)
    assert load_plugin(EMB, "my-embedder", expected_base_class=EmbeddingProvider) is cls


def test_unknown_name_lists_installed_names_and_a_close_match(make_dist):
    install_embedder(make_dist)
    with pytest.raises(PluginLoadError) as info:
        load_plugin(EMB, "my-embeder")
    message = str(info.value)
    assert message.startswith("Plugin 'my-embeder' not found")
    assert "did you mean 'my-embedder'?" in message
    assert "my-embedder" in message.split("installed:")[1]
    assert "\n" not in message


def test_import_error_names_plugin_distribution_and_cause(make_dist):
    install_embedder(
        make_dist,
        dist="omi-embedding-broken",
        version="3.1.4",
        source="import not_a_real_dependency_xyz\n",
    )
    with pytest.raises(PluginLoadError) as info:
        load_plugin(EMB, "my-embedder")
    message = str(info.value)
    assert "'my-embedder'" in message and "omi-embedding-broken 3.1.4" in message
    assert "No module named 'not_a_real_dependency_xyz'" in message
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_a_plugin_that_exits_at_import_is_a_load_error(make_dist):
    install_embedder(make_dist, source="import sys\nsys.exit(3)\n")
    with pytest.raises(PluginLoadError, match="SystemExit"):
        load_plugin(EMB, "my-embedder")


def test_invalid_plugin_is_both_a_load_and_a_validation_error(make_dist):
    install_embedder(make_dist, source=src.embedder(version="2.0"))
    with pytest.raises(InvalidPluginError) as info:
        load_plugin(EMB, "my-embedder")
    assert isinstance(info.value, PluginLoadError) and isinstance(info.value, PluginValidationError)
    assert "incompatible interface_version '2.0'" in str(info.value)
    assert isinstance(info.value.__cause__, PluginValidationError)


def test_wrong_group_base_is_caught_on_load(make_dist):
    make_dist(
        "omi-x", entry_points={EMB: {"h": "hmod:MyHandler"}}, files={"hmod.py": src.handler()}
    )
    with pytest.raises(PluginValidationError, match="does not inherit from omi.embeddings"):
        load_plugin(EMB, "h")


def test_the_version_shown_is_the_distributions(make_dist):
    source = src.embedder() + '\n__version__ = "9.9.9"\nMyCustomEmbedder.version = "8.8.8"\n'
    install_embedder(make_dist, dist="omi-embedding-versioned", version="2.3.4", source=source)
    registry = PluginRegistry()
    registry.load(EMB, "my-embedder")
    info = registry.get_plugins(EMB)["my-embedder"]
    assert (info.version, info.distribution) == ("2.3.4", "omi-embedding-versioned")


def test_two_distributions_with_one_name_are_reported(make_dist):
    install_embedder(make_dist, dist="first-dist", module="first_mod")
    install_embedder(make_dist, dist="second-dist", version="0.2.0", module="second_mod")
    with pytest.raises(PluginLoadError) as info:
        load_plugin(EMB, "my-embedder")
    message = str(info.value)
    assert "registered by 2 distributions" in message
    assert "first-dist 0.1.0" in message and "second-dist 0.2.0" in message
    info_row = PluginRegistry().get_plugins(EMB)["my-embedder"]
    assert info_row.status == "error" and "registered by 2 distributions" in info_row.error
    assert message.endswith("or name the one to load in OMI_LOAD_PLUGINS")


def test_the_load_switch_naming_one_distribution_settles_a_doubled_name(make_dist, monkeypatch):
    install_embedder(make_dist, dist="first-dist", module="first_mod")
    install_embedder(make_dist, dist="second-dist", version="0.2.0", module="second_mod")
    monkeypatch.setenv("OMI_LOAD_PLUGINS", "second-dist")
    assert load_plugin(EMB, "my-embedder").__module__ == "second_mod"
    registry = PluginRegistry()
    registry.load_all(EMB)
    info = registry.get_plugins(EMB)["my-embedder"]
    assert (info.status, info.distribution, info.version) == ("ok", "second-dist", "0.2.0")
    monkeypatch.setenv("OMI_LOAD_PLUGINS", "my-embedder")  # the name lets both: still doubled
    with pytest.raises(PluginLoadError, match="registered by 2 distributions"):
        load_plugin(EMB, "my-embedder")
    monkeypatch.setenv("OMI_LOAD_PLUGINS", "someone-else")  # neither: it is switched off
    with pytest.raises(PluginLoadError, match="was not loaded: not listed in OMI_LOAD_PLUGINS"):
        load_plugin(EMB, "my-embedder")


def test_load_switch_restricts_third_party_plugins(make_dist, monkeypatch):
    install_embedder(make_dist, name="allowed", dist="dist-a", module="mod_a")
    install_embedder(make_dist, name="blocked", dist="dist-b", module="mod_b")
    monkeypatch.setenv("OMI_LOAD_PLUGINS", "allowed")
    assert load_plugin(EMB, "allowed").__name__ == "MyCustomEmbedder"
    with pytest.raises(PluginLoadError, match="not listed in OMI_LOAD_PLUGINS=allowed"):
        load_plugin(EMB, "blocked")
    monkeypatch.setenv("OMI_LOAD_PLUGINS", "dist-b")  # distribution names work too
    assert load_plugin(EMB, "blocked")
    monkeypatch.setenv("OMI_LOAD_PLUGINS", "")
    with pytest.raises(PluginLoadError, match="set but empty"):
        load_plugin(EMB, "allowed")


# --- logging -------------------------------------------------------------------------------


def test_log_lines_are_the_spec_lines_word_for_word(make_dist, caplog):
    install_embedder(make_dist)
    count = len(discover_group(EMB))
    caplog.set_level(logging.DEBUG, logger="omi.plugins")
    load_plugin(EMB, "my-embedder")
    lines = [f"{r.levelname}:{r.name}:{r.getMessage()}" for r in caplog.records]
    assert lines == [
        f"DEBUG:omi.plugins:Discovered {count} plugins in group 'omi.embedding_providers'",
        "INFO:omi.plugins:Loading plugin 'my-embedder' from group 'omi.embedding_providers'",
        "DEBUG:omi.plugins:Plugin 'MyCustomEmbedder' passed validation (interface_version=1.0)",
    ]


# --- registry ------------------------------------------------------------------------------


def test_registry_discovers_lists_loads_and_caches(make_dist):
    install_embedder(make_dist)
    registry = PluginRegistry()
    registry.discover_all()
    infos = registry.get_plugins(EMB)
    assert isinstance(infos["my-embedder"], PluginInfo)
    assert infos["my-embedder"].loaded is False
    assert not registry.is_loaded(EMB, "my-embedder")
    cls = registry.load(EMB, "my-embedder")
    assert registry.is_loaded(EMB, "my-embedder")
    assert registry.load(EMB, "my-embedder") is cls
    info = registry.get_plugins(EMB)["my-embedder"]
    assert (info.loaded, info.interface_version, info.version) == (True, "1.0", "0.1.0")
    assert set(registry.list_all()) == set(GROUPS)


def test_registry_discovers_on_first_use_without_discover_all(make_dist):
    install_embedder(make_dist)
    assert "my-embedder" in PluginRegistry().get_plugins(EMB)


def test_registry_remembers_failures_and_reports_them(make_dist):
    install_embedder(make_dist, source="raise RuntimeError('boom at import')\n")
    registry = PluginRegistry()
    report = registry.load_all(EMB)
    info = report[EMB]["my-embedder"]
    assert info.status == "error" and "RuntimeError: boom at import" in info.error
    with pytest.raises(PluginLoadError):
        registry.load(EMB, "my-embedder")


def test_plugin_info_is_built_by_keyword_and_serialises():
    info = PluginInfo(
        name="n",
        group=EMB,
        module="m",
        attr="C",
        version="1.2.3",
        interface_version="1.0",
        loaded=True,
        error=None,
    )
    data = info.to_dict()
    assert {
        k: data[k]
        for k in (
            "name",
            "group",
            "module",
            "attr",
            "version",
            "interface_version",
            "loaded",
            "error",
        )
    } == {
        "name": "n",
        "group": EMB,
        "module": "m",
        "attr": "C",
        "version": "1.2.3",
        "interface_version": "1.0",
        "loaded": True,
        "error": None,
    }
    assert data["status"] == "ok" and data["class_name"] == "C"


def test_name_and_version_come_from_egg_info_too(plugin_site):
    """setup.py develop and old installs leave *.egg-info with PKG-INFO, not METADATA."""
    egg = plugin_site / "omi_egg_plugin.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text(
        "Metadata-Version: 1.1\nName: omi-egg-plugin\n"
        "Version: 4.5.6\nSummary: x\n\nName: not-this\n"
    )
    (egg / "entry_points.txt").write_text(f"[{EMB}]\negg = egg_mod:MyCustomEmbedder\n")
    (plugin_site / "egg_mod.py").write_text(src.embedder())
    import importlib

    importlib.invalidate_caches()
    info = PluginRegistry().get_plugins(EMB)["egg"]
    assert (info.distribution, info.version) == ("omi-egg-plugin", "4.5.6")


def test_discovering_again_and_again_does_not_keep_old_scans_alive(make_dist):
    import gc

    from omi import plugins

    make_dist("omi-many", entry_points={EMB: {f"p{n}": f"m{n}:C" for n in range(5)}})
    for _ in range(20):
        PluginRegistry().list_all()
    gc.collect()
    assert len(plugins._DIST_FACTS) <= 2  # the built-ins' and omi-many's of the last scan
