"""{{ cookiecutter.__class_name }}: the `{{ cookiecutter.__plugin_name }}` event handler for OMI.

It works out of the box: every lifecycle event is appended to a JSON-lines file, one object
per line with the event type, the time and the payload. Replace `_deliver` to send events
somewhere else (a webhook, a queue, analytics); keep it quick, OMI waits for handle().
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Union

from omi.events import EVENT_TYPES, EventHandler


class {{ cookiecutter.__class_name }}(EventHandler):
    """{{ cookiecutter.description|replace('\\', '\\\\')|replace('"', '\\"') }}"""

    # REQUIRED: the OMI plugin interface this class implements.
    interface_version = "1.0"

    def __init__(self, path: Union[str, Path] = "omi-events.jsonl",
                 events: Optional[Iterable[str]] = None) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(events, str):  # `events: memory.stored` in config.yaml
            events = [events]
        self.events = frozenset(events) if events is not None else frozenset(EVENT_TYPES)
        unknown = sorted(self.events - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event types {unknown}; choose from {list(EVENT_TYPES)}")
        self._lock = threading.Lock()

    @classmethod
    def conformance_factory(cls, directory: Path,
                            **options: Any) -> "{{ cookiecutter.__class_name }}":
        """How OMI's conformance suite builds a test instance: it writes into `directory`.
        `options` (`omi plugins check --option`, `plugin_options`) go to the constructor."""
        options.setdefault("path", directory / "events.jsonl")
        return cls(**options)

    def handle(self, event_type: str, event_data: Dict[str, Any]) -> None:
        """Handle a memory event; event types this handler does not know are ignored"""
        if event_type not in self.events:
            return
        record = {"type": event_type, "time": time.time(), "data": event_data}
        self._deliver(json.dumps(record, default=str))

    # --- YOUR DELIVERY GOES HERE -------------------------------------------------------------

    def _deliver(self, line: str) -> None:
        """Append one JSON line. Replace this to deliver events elsewhere."""
        with self._lock, self.path.open("a", encoding="utf-8") as stream:
            stream.write(line + "\n")
