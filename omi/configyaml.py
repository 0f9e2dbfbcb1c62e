"""The YAML loader config.yaml is read with: bounded and strict, for files that may come from
someone else. omi.config imports it only when a config file is not in the parsed-config cache,
so that most starts never import PyYAML.
"""

from __future__ import annotations

from typing import Any, cast

import yaml

__all__ = ["MAX_CONFIG_DEPTH", "MAX_CONFIG_VALUES", "ConfigLoader", "Refused"]

MAX_CONFIG_VALUES = 10_000  # counting every copy a YAML alias (*name) makes
MAX_CONFIG_DEPTH = 32


class Refused(yaml.MarkedYAMLError):
    """A document past the limits: valid YAML that OMI will not read."""


class ConfigLoader(yaml.SafeLoader):
    """yaml.SafeLoader, bounded and strict, for files that may come from someone else.

    It refuses (raising Refused, with the place) a document that nests deeper than
    MAX_CONFIG_DEPTH or holds more than MAX_CONFIG_VALUES values once every alias is counted
    as the copy it becomes: PyYAML parses a nine-level alias bomb in milliseconds by sharing
    the aliased objects, but everything that walks the result pays for each copy. Aliases
    within the limits still work (`<<: *base` merges are useful). A key given twice in one
    mapping is an error: PyYAML would silently keep the last one (a second `embedding:`
    would quietly win).
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.depth = 0
        self.values = 0
        self.sizes: dict[int, int] = {}  # id(node) -> values it stands for, aliases expanded

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # unannotated in the stubs
        # SafeLoader parses in Python, whose marks are yaml.error.Mark (the stubs allow
        # the C parser's Mark too)
        mark = cast(yaml.error.Mark | None, event.start_mark)
        if isinstance(event, yaml.AliasEvent) and event.anchor in self.anchors:
            size = self.sizes.get(id(self.anchors[event.anchor]))
            if size is None:  # its anchor is still open: the alias is inside it
                raise Refused(
                    None,
                    None,
                    f"the alias *{event.anchor} is inside the value "
                    f"it refers to; a configuration cannot contain itself",
                    mark,
                )
            self.count(size, mark)
            return super().compose_node(parent, index)
        self.depth += 1
        if self.depth > MAX_CONFIG_DEPTH:
            self.too_deep(mark)
        before = self.values
        self.count(1, mark)
        node = super().compose_node(parent, index)
        self.depth -= 1
        self.sizes[id(node)] = self.values - before
        return node

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        # `[[[[...`: refused by the scanner, before PyYAML looks up to 1024 characters
        # ahead for keys at every level (seconds on a long line of brackets)
        if self.flow_level >= MAX_CONFIG_DEPTH:
            self.too_deep(self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def too_deep(self, mark: yaml.error.Mark | None) -> None:
        raise Refused(
            None,
            None,
            f"values are nested more than {MAX_CONFIG_DEPTH} "
            f"levels deep; flatten the configuration",
            mark,
        )

    def count(self, values: int, mark: yaml.error.Mark | None) -> None:
        self.values += values
        if self.values > MAX_CONFIG_VALUES:
            raise Refused(
                None,
                None,
                f"the file holds more than {MAX_CONFIG_VALUES:,} "
                f"values once its aliases (*name) are expanded; write a smaller "
                f"configuration without nested aliases",
                mark,
            )

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may be overridden
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: SafeLoader explains that one
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key {key!r} is given twice; keep one of them",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep)
