"""The storage backend interface (`omi.storage_backends`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List


class StorageBackend(ABC):
    """Keeps memories and the edges between them.

    Subclasses must set ``interface_version = "1.0"``; the base class only annotates it.

    Rules of the instance as a whole (omi.conformance.rules; the suite checks each):

    - must: keeps instances on different locations apart, a new location starting empty (unless
      the backend declares shared)
    - must: may be called from several threads at once, losing nothing and raising nothing
    - should: its constructor refuses an option it does not know, with an error naming it
    """

    interface_version: str  # Must be "1.0"

    @abstractmethod
    def store_memory(self, memory: Dict[str, Any]) -> str:
        """Store a memory and return its ID

        Rules (omi.conformance.rules; the conformance suite checks each):

        - must: returns the new memory's id: a non-empty str never used before by this store,
          also after reopening; the same memory stored twice is two memories
        - must: leaves the dict it is given unchanged
        - must: raises TypeError for a memory that is not a dict, and ValueError for content
          missing, not a str or blank and for a value JSON cannot hold (a datetime, NaN);
          either is accepted for a value of the wrong type; a refused memory is not stored
        - must: treats an 'id' key inside the memory as data: it is not the stored memory's id
        """

    @abstractmethod
    def recall(self, query: str, limit: int = 10) -> List[Dict[str, Any]]:
        """Search memories by query

        Rules (omi.conformance.rules; the conformance suite checks each):

        - must: returns, for each result, everything that was stored, exactly (content, metadata
          and any other key), plus 'id'
        - must: finds a memory by its own content and by any of its words, wherever they are in
          it, as soon as it is stored
        - must: returns the best match first, the limit applied after ranking: no memory holding
          none of the query's words above one holding all, no exact-content match below a weaker
          one of similar length
        - must: gives 'score', when present, as a finite float, higher is better, never rising
          down the list
        - must: returns a list of at most limit dicts; [] for limit 0
        - must: raises TypeError for a query that is not a str, and ValueError for a limit that
          is negative or not an int; either is accepted for a value of the wrong type
        - must: treats query text as data: quotes, operators (AND, OR, NOT, NEAR, *, ^, :),
          parentheses and NUL never raise and never keep a memory holding the query's words from
          being found
        - must: treats a query with no words (empty, or only spaces and line breaks) as no
          error: returns the most recent memories or nothing
        - must: raises when its service fails (an error answer, a connection cut off): never
          returns a made-up result ([], say) in place of the one it could not get
        - should: ranks memories holding every word of the query above those holding some
        - should: finds words whatever their case
        """

    @abstractmethod
    def add_edge(self, from_id: str, to_id: str, edge_type: str) -> None:
        """Create relationship between memories

        Rules (omi.conformance.rules; the conformance suite checks each):

        - must: links two stored memories with a typed edge and returns None
        - must: raises an exception whose message names an id that names no memory of this
          instance (another instance's ids included)
        - must: raises ValueError for a blank edge type
        """

    @abstractmethod
    def close(self) -> None:
        """Clean up resources

        Rules (omi.conformance.rules; the conformance suite checks each):

        - must: does nothing when called a second time
        - must: makes every other method raise afterwards
        - must: with the persistent capability, leaves everything stored written: a new instance
          on the same location finds it unchanged
        """
