"""The three kinds of plugin, written once: everything else derives from the `KINDS` table.

Its own module, importing nothing, so that `omi --help` and the modules that only need the
names (the CLI's choices, the answers record, `plugins update`) need not load discovery and
loading (omi.plugins).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "GROUPS",
    "GROUP_TITLES",
    "KINDS",
    "KIND_NAMES",
    "PLUGIN_GROUPS",
    "PluginKind",
    "kind_of",
]


class PluginKind(NamedTuple):
    """One kind of plugin.

    Strings only (the base class is a module and attribute name), so reading the table imports
    nothing; a NamedTuple rather than a dataclass because dataclasses imports `inspect`, which
    would cost `omi plugins list` several milliseconds.
    """

    name: str  # "embedding": the `plugins new` type and the conformance interface
    group: str  # the entry-point group
    title: str  # how `plugins list` heads the group
    base: tuple[str, str]  # (module, class) of the interface its plugins implement
    suffix: str  # of the class name `plugins new` derives: MyThingEmbedder
    section: str  # its key in config.yaml
    selector: str  # the key naming the plugin in that section
    noun: str  # for messages: "no embedding provider named ..."

    @property
    def short_group(self) -> str:
        """The group without its "omi." prefix, as the earlier release keyed PLUGIN_GROUPS."""
        return self.group.split(".", 1)[1]


KINDS: tuple[PluginKind, ...] = (
    PluginKind(
        "embedding",
        "omi.embedding_providers",
        "Embedding Providers",
        ("omi.embeddings", "EmbeddingProvider"),
        "Embedder",
        "embedding",
        "provider",
        "embedding provider",
    ),
    PluginKind(
        "storage",
        "omi.storage_backends",
        "Storage Backends",
        ("omi.storage", "StorageBackend"),
        "Backend",
        "storage",
        "backend",
        "storage backend",
    ),
    PluginKind(
        "event",
        "omi.event_handlers",
        "Event Handlers",
        ("omi.events", "EventHandler"),
        "Handler",
        "events",
        "name",
        "event handler",
    ),
)
KIND_NAMES: tuple[str, ...] = tuple(kind.name for kind in KINDS)


def kind_of(name_or_group: str) -> PluginKind:
    """The kind called `name_or_group` ("embedding") or owning that entry-point group."""
    for kind in KINDS:
        if name_or_group in (kind.name, kind.group):
            return kind
    raise KeyError(name_or_group)


#: Short name -> entry-point group, as the earlier OMI release exposed it.
PLUGIN_GROUPS: dict[str, str] = {kind.short_group: kind.group for kind in KINDS}
GROUPS: tuple[str, ...] = tuple(kind.group for kind in KINDS)
GROUP_TITLES: dict[str, str] = {kind.group: kind.title for kind in KINDS}
