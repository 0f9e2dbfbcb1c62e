"""The embedding provider interface (`omi.embedding_providers`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import List


class EmbeddingProvider(ABC):
    """Turns text into vectors and compares them.

    Subclasses must set ``interface_version = "1.0"``; the base class only annotates it so
    that a plugin which forgets it fails validation instead of silently inheriting a value.

    Rules of the instance as a whole (omi.conformance.rules; the suite checks each):

    - must: embed() may run in several threads at once and gives each text its own vector
    - must: raises when its service fails (an error answer, a connection cut off): never
      returns a made-up vector (zeros, say) in place of the one it could not get
    - should: its constructor refuses an option it does not know, with an error naming it

    Rules of close(), when defined (omi.conformance.rules; the suite checks each):

    - must: close(), when the provider defines it, is safe to call twice
    """

    interface_version: str  # Must be "1.0"

    @abstractmethod
    def embed(self, text: str) -> List[float]:
        """Generate embedding for a single text

        Rules (omi.conformance.rules; the conformance suite checks each):

        - must: returns a list of exactly get_dimension() Python floats, all finite (no NaN, no
          infinity)
        - must: returns a new list each call: changing a returned list never changes a later
          result
        - must: raises ValueError for blank text (empty, spaces, newlines)
        - must: raises TypeError for text that is not a str (ValueError is accepted too)
        - must: embeds text of any language and any length: what the model cannot take whole is
          truncated or split, never refused
        - must: with the deterministic capability, gives the same vector for the same text, in
          any process
        """

    @abstractmethod
    def embed_batch(self, texts: List[str], batch_size: int = 8) -> List[List[float]]:
        """Generate embeddings for multiple texts

        Rules (omi.conformance.rules; the conformance suite checks each):

        - must: returns one vector per text, in the order of texts, each equal to what
          embed(text) returns
        - must: gives the same result for any batch_size, which only splits the work
        - must: returns [] for texts == [] without calling the model
        - must: raises ValueError for a blank text anywhere in texts and for batch_size below 1
        - must: leaves the texts list it is given unchanged
        """

    @abstractmethod
    def similarity(self, embedding1: List[float], embedding2: List[float]) -> float:
        """Calculate similarity score (-1.0 to 1.0)

        Rules (omi.conformance.rules; the conformance suite checks each):

        - must: returns a float in [-1.0, 1.0], the same both ways round, for any two vectors of
          one length, whatever their norms and signs
        - must: returns 1.0 (within 1e-4) for a vector with itself
        - must: raises ValueError for vectors of different lengths
        - must: leaves the lists it is given unchanged
        - must: with the semantic capability, scores related texts higher than unrelated ones
        """

    @abstractmethod
    def get_dimension(self) -> int:
        """Return embedding dimensionality

        Rules (omi.conformance.rules; the conformance suite checks each):

        - must: returns a positive int (not a bool) that never changes during the life of the
          instance, also after the first call to the model
        """

    @abstractmethod
    def get_model_name(self) -> str:
        """Return model identifier

        Rules (omi.conformance.rules; the conformance suite checks each):

        - must: returns a non-empty str naming the model
        """


def cosine_similarity(embedding1: List[float], embedding2: List[float]) -> float:
    """Cosine similarity clamped to [-1, 1], for providers that have no metric of their own.

    Raises ValueError for vectors of different lengths (a silent broadcast would hide a bug)
    and returns 0.0 when either vector is all zeros, where the angle is undefined.
    """
    import numpy as np  # imported here so that importing the interface stays cheap

    if len(embedding1) != len(embedding2):
        raise ValueError(
            f"Cannot compare embeddings of different lengths ({len(embedding1)} and "
            f"{len(embedding2)}); embed both texts with the same provider and model"
        )
    vec1 = np.asarray(embedding1, dtype=np.float64)
    vec2 = np.asarray(embedding2, dtype=np.float64)
    norms = float(np.linalg.norm(vec1) * np.linalg.norm(vec2))
    if norms == 0.0:
        return 0.0
    return float(min(1.0, max(-1.0, float(np.dot(vec1, vec2)) / norms)))
