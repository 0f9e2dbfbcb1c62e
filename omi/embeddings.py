"""The embedding provider interface (`omi.embedding_providers`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import List


class EmbeddingProvider(ABC):
    """Turns text into vectors and compares them.

    Subclasses must set ``interface_version = "1.0"``; the base class only annotates it so
    that a plugin which forgets it fails validation instead of silently inheriting a value.
    """

    interface_version: str  # Must be "1.0"

    @abstractmethod
    def embed(self, text: str) -> List[float]:
        """Generate embedding for a single text"""

    @abstractmethod
    def embed_batch(self, texts: List[str], batch_size: int = 8) -> List[List[float]]:
        """Generate embeddings for multiple texts"""

    @abstractmethod
    def similarity(self, embedding1: List[float], embedding2: List[float]) -> float:
        """Calculate similarity score (-1.0 to 1.0)"""

    @abstractmethod
    def get_dimension(self) -> int:
        """Return embedding dimensionality"""

    @abstractmethod
    def get_model_name(self) -> str:
        """Return model identifier"""


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
