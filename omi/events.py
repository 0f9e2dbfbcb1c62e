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

    Rules of the instance as a whole (omi.conformance.rules; the suite checks each):

    - must: handle() may run in several threads at once
    - should: its constructor refuses an option it does not know, with an error naming it

    Rules of close(), when defined (omi.conformance.rules; the suite checks each):

    - must: close(), when the handler defines it, is safe to call twice
    """

    interface_version: str  # Must be "1.0"

    @abstractmethod
    def handle(self, event_type: str, event_data: Dict[str, Any]) -> None:
        """
        Handle a memory event

        Args:
            event_type: Event name (e.g., 'memory.stored', 'session.started')
            event_data: Event payload (memory content, metadata, etc.)

        Rules (omi.conformance.rules; the conformance suite checks each):

        - must: accepts each of the six event types, with the payloads the host emits (a
          timestamp in each; session_id None outside a session; non-ASCII text and nested data)
        - must: returns without doing anything for an event type it does not know: never raises
        - must: returns None
        - should: treats event_data as read-only
        - must: returns within the call timeout (ten seconds unless set otherwise), every call
        """
