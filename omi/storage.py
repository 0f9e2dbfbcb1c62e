"""The storage backend interface (`omi.storage_backends`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List


class StorageBackend(ABC):
    """Keeps memories and the edges between them.

    Subclasses must set ``interface_version = "1.0"``; the base class only annotates it.
    """

    interface_version: str  # Must be "1.0"

    @abstractmethod
    def store_memory(self, memory: Dict[str, Any]) -> str:
        """Store a memory and return its ID"""

    @abstractmethod
    def recall(self, query: str, limit: int = 10) -> List[Dict[str, Any]]:
        """Search memories by query"""

    @abstractmethod
    def add_edge(self, from_id: str, to_id: str, edge_type: str) -> None:
        """Create relationship between memories"""

    @abstractmethod
    def close(self) -> None:
        """Clean up resources"""
