"""`omi plugins check NAME --grade`: the grade of a plugin installed here, from the reports the
check just made and the installed metadata of the distribution that registered it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from omi.matrix import probe
from omi.matrix.grade import Evidence, Grade, badge, grade


def distribution_of(name: str, group: str | None) -> str | None:
    """The distribution of the plugin `name` (name, GROUP:NAME or package.module:Class)."""
    from importlib import metadata

    from omi import plugins

    prefix, sep, rest = name.partition(":")
    try:
        named_group = plugins.resolve_group(prefix) if sep and group is None else None
    except plugins.PluginError:  # module:Class
        top = prefix.split(".", 1)[0]
        packages = metadata.packages_distributions().get(top, [])
        return packages[0] if len(packages) == 1 else None
    if named_group is not None:
        group, name = named_group, rest
    found = plugins.discover_plugins(plugins.resolve_group(group) if group else None)
    owners = {
        plugins.distribution_name(ep) for eps in found.values() for ep in eps if ep.name == name
    }
    return owners.pop() if len(owners) == 1 else None


def _as_data(report: Any) -> dict[str, Any]:
    return {
        "plugin": report.label,
        "validation_error": report.validation_error,
        "results": [outcome.to_dict() for outcome in report.outcomes],
    }


def grade_installed(name: str, group: str | None, reports: Sequence[Any]) -> tuple[str, Grade, str]:
    """(a title, the grade, the shields.io badge as JSON) of the plugin `name`."""
    dist_name = distribution_of(name, group)
    dist = probe.find_distribution(dist_name) if dist_name else None
    facts = probe.facts(dist) if dist is not None else {}
    evidence = Evidence([_as_data(report) for report in reports], facts)
    result = grade(evidence)
    title = f"{facts['name']} {facts['version']}" if facts else f"{name} (no distribution)"
    return title, result, json.dumps(badge(result.tier))
