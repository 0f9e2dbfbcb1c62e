"""What an environment's installed metadata says about a plugin distribution: its name and
version, the OMI plugins it registers, and the facts a grade reads (license expression, project
URLs, typing, Requires-Python, README).

A matrix runs this file by path with a cell's own Python (`python probe.py NAME`), where the
omi-openclaw installed may predate it; so it imports the standard library only. `omi plugins
check --grade` imports it instead. Every value comes from a file OMI did not write: strings
and lists are cut to a bound, and the output is JSON (data, never code).
"""

from __future__ import annotations

import json
import re
import sys
from importlib import metadata
from typing import Any

OMI = "omi-openclaw"
GROUPS = ("omi.embedding_providers", "omi.storage_backends", "omi.event_handlers")
MAX_TEXT = 300  # characters of any one metadata value kept
MAX_ITEMS = 50  # entries of any one list kept


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _text(value: str | None) -> str | None:
    return None if value is None else " ".join(str(value).split())[:MAX_TEXT]


def _plugin_distributions() -> list[metadata.Distribution]:
    """The distributions, other than OMI's own, that register an entry point in an omi.* group."""
    found = []
    for dist in metadata.distributions():
        name = dist.metadata["Name"] or ""
        if normalize(name) != OMI and any(ep.group.startswith("omi.") for ep in dist.entry_points):
            found.append(dist)
    return found


def find_distribution(name: str | None) -> metadata.Distribution | None:
    """The distribution `name`; without it (or when a name read from a requirement is not
    what the distribution calls itself), the only plugin distribution installed."""
    if name:
        try:
            return metadata.distribution(name)
        except metadata.PackageNotFoundError:
            pass
    candidates = _plugin_distributions()
    return candidates[0] if len(candidates) == 1 else None


def _has_readme(meta: Any) -> bool:
    body = meta.get_payload() if hasattr(meta, "get_payload") else None
    return bool((body or meta.get("Description") or "").strip())


def facts(dist: metadata.Distribution) -> dict[str, Any]:
    """The facts a grade reads, as plain JSON-able data."""
    meta: Any = dist.metadata  # an email.message.Message: .get() and .get_payload()
    entry_points = list(dist.entry_points)
    urls = list(meta.get_all("Project-URL") or [])
    if meta.get("Home-page"):
        urls.append(f"Homepage, {meta['Home-page']}")
    files = dist.files or []
    try:
        omi_version: str | None = metadata.version(OMI)
    except metadata.PackageNotFoundError:
        omi_version = None
    return {
        "name": _text(meta["Name"]),
        "version": _text(meta["Version"]),
        "omi_version": omi_version,
        "plugins": [_text(f"{ep.group}:{ep.name}") for ep in entry_points if ep.group in GROUPS][
            :MAX_ITEMS
        ],
        "misplaced": [
            _text(f"{ep.group}:{ep.name}")
            for ep in entry_points
            if ep.group.startswith("omi.") and ep.group not in GROUPS
        ][:MAX_ITEMS],
        "license_expression": _text(meta.get("License-Expression")),
        "project_urls": [_text(url) for url in urls][:MAX_ITEMS],
        "typed_classifier": "Typing :: Typed" in (meta.get_all("Classifier") or []),
        "py_typed": any(file.name == "py.typed" for file in files),
        "requires_python": _text(meta.get("Requires-Python")),
        "readme": _has_readme(meta),
    }


def main(argv: list[str]) -> int:
    dist = find_distribution(argv[0] if argv else None)
    if dist is None:
        what = f"no distribution {argv[0]!r}" if argv else "not exactly one plugin distribution"
        print(json.dumps({"error": f"{what} is installed"}))
        return 0
    print(json.dumps(facts(dist)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
