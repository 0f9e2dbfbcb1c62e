"""The event handler interface (`omi.event_handlers`) and the lifecycle event names."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict

#: The memory lifecycle events OMI emits, in the order the specification lists them.
EVENT_TYPES: tuple[str, ...] = (
    "memory.stored",
    "memory.recalled",
    "session.started",
    "session.ended",
    "checkpoint.created",
    "belief.updated",
)


class EventHandler(ABC):
    """Reacts to memory lifecycle events.

    Subclasses must set ``interface_version = "1.0"``; the base class only annotates it.
    """

    interface_version: str  # Must be "1.0"

    @abstractmethod
    def handle(self, event_type: str, event_data: Dict[str, Any]) -> None:
        """
        Handle a memory event

        Args:
            event_type: Event name (e.g., 'memory.stored', 'session.started')
            event_data: Event payload (memory content, metadata, etc.)
        """
