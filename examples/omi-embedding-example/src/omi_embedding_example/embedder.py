"""DummyEmbedder: the `dummy` embedding provider, the guide's complete example plugin.

It needs no model and no network: each text is hashed, word by word and by character
trigrams, into a fixed number of dimensions, so texts that share words or word pieces get
similar vectors and the same text always gets the same vector. That makes it useful in tests
and demos, and a small, complete template for a real provider: replace `_embed_texts` with a
call to your model or API and keep everything around it (input checks, batching, similarity).
"""

from __future__ import annotations

import hashlib
from typing import List, Optional

from omi.embeddings import EmbeddingProvider, cosine_similarity

DEFAULT_MODEL = "dummy-hashing-v1"


def _positive_int(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


class DummyEmbedder(EmbeddingProvider):
    """A local, deterministic embedding provider that hashes text features into a vector."""

    # REQUIRED: the OMI plugin interface this class implements.
    interface_version = "1.0"
    # What OMI's conformance suite may rely on (see `omi plugins check --list-checks`):
    # the same text always gives the same vector. Not "semantic": hashing knows spelling,
    # not meaning ("kitten" and "cat" share nothing).
    conformance_capabilities = {"deterministic"}

    def __init__(self, model: str = DEFAULT_MODEL, dimension: int = 256,
                 batch_size: int = 8) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"model must be a non-empty string, got {model!r}")
        self.model = model
        self.dimension = _positive_int("dimension", dimension)
        self.batch_size = _positive_int("batch_size", batch_size)

    def embed(self, text: str) -> List[float]:
        """Generate embedding for a single text"""
        return self.embed_batch([text])[0]

    def embed_batch(self, texts: List[str], batch_size: Optional[int] = None) -> List[List[float]]:
        """Generate embeddings for multiple texts, `batch_size` texts per model call.

        `batch_size` defaults to the one given to the constructor. Every text is checked
        before any is embedded, so a bad text in the middle wastes no work.
        """
        size = _positive_int("batch_size", self.batch_size if batch_size is None else batch_size)
        if isinstance(texts, str):
            raise TypeError("embed_batch() takes a list of texts, got one str; use embed(text)")
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{index}] must be str, got {type(text).__name__}")
            if not text.strip():
                raise ValueError("Text cannot be empty")
        vectors: List[List[float]] = []
        for start in range(0, len(texts), size):
            vectors.extend(self._embed_texts(list(texts[start:start + size])))
        return vectors

    def similarity(self, embedding1: List[float], embedding2: List[float]) -> float:
        """Cosine similarity, in [-1, 1]; vectors of different lengths raise ValueError"""
        return cosine_similarity(embedding1, embedding2)

    def get_dimension(self) -> int:
        """Return embedding dimensionality"""
        return self.dimension

    def get_model_name(self) -> str:
        """Return model identifier"""
        return self.model

    # --- a real provider calls its model or API here -----------------------------------------

    def _embed_texts(self, texts: List[str]) -> List[List[float]]:
        """Embed one batch."""
        return [self._hash_features(text) for text in texts]

    def _hash_features(self, text: str) -> List[float]:
        import numpy as np  # here, so that `omi plugins list` does not pay for it

        vector = np.zeros(self.dimension)
        words = text.lower().split()
        features = words + [word[i:i + 3] for word in words for i in range(max(1, len(word) - 2))]
        for feature in features:
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            index = int.from_bytes(digest[:4], "little") % self.dimension
            vector[index] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:  # every feature cancelled out: fall back to a fixed unit vector
            vector[0], norm = 1.0, 1.0
        unit: List[float] = (vector / norm).tolist()
        return unit
