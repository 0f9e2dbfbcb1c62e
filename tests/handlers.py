"""Event handlers that the host's and the dispatcher's tests share."""

from __future__ import annotations

import threading
from typing import Any

from omi.events import EventHandler


class Gated(EventHandler):
    """Blocks in handle() until `release` is set (10 s at most); logs handle's start and end
    and close, in order, so that a test sees whether close() ran while a call was in progress."""

    interface_version = "1.0"

    def __init__(self) -> None:
        self.release, self.entered = threading.Event(), threading.Event()
        self.log: list[str] = []

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        self.log.append("handle")
        self.entered.set()
        self.release.wait(10)
        self.log.append("returned")

    def close(self) -> None:
        self.log.append("close")
