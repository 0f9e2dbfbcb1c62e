"""{{ cookiecutter.__class_name }}: the `{{ cookiecutter.__plugin_name }}` embedding provider for OMI.

It works out of the box: a local, deterministic embedder that hashes words and character
trigrams into a fixed number of dimensions, so texts sharing words or word pieces get similar
vectors. Replace `_embed_texts` with a call to your model or API; everything around it
(input checks, batching, similarity) is what OMI's conformance suite expects.
"""

from __future__ import annotations

import hashlib
from typing import List, Optional

import numpy as np
from omi.embeddings import EmbeddingProvider, cosine_similarity


class {{ cookiecutter.__class_name }}(EmbeddingProvider):
    """{{ cookiecutter.description|replace('\\', '\\\\')|replace('"', '\\"') }}"""

    # REQUIRED: the OMI plugin interface this class implements.
    interface_version = "1.0"
    # What OMI's conformance suite may rely on (see `omi plugins check --list-checks`):
    # "deterministic" = the same text always gives the same vector. Drop it if your model
    # is not; add "semantic" once similarity tracks meaning.
    conformance_capabilities = {"deterministic"}

    def __init__(self, model: str = "{{ cookiecutter.__plugin_name }}-hashing-v1", dimension: int = 256,
                 batch_size: int = 8) -> None:
        if dimension < 1:
            raise ValueError(f"dimension must be positive, got {dimension}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.model = model
        self.dimension = dimension
        self.batch_size = batch_size

    def embed(self, text: str) -> List[float]:
        """Generate embedding for a single text"""
        return self.embed_batch([text])[0]

    def embed_batch(self, texts: List[str],
                    batch_size: Optional[int] = None) -> List[List[float]]:
        """Generate embeddings for multiple texts, `batch_size` texts per model call
        (by default the `batch_size` it was configured with, e.g. in config.yaml)"""
        batch_size = self.batch_size if batch_size is None else batch_size
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"text must be a str, got {type(text).__name__}")
            if not text.strip():
                raise ValueError("Text cannot be empty")
        vectors: List[List[float]] = []
        for start in range(0, len(texts), batch_size):
            try:
                vectors.extend(self._embed_texts(texts[start:start + batch_size]))
            except (OSError, MemoryError) as error:
                raise RuntimeError(f"Embedding failed: {error}") from error
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

    # --- YOUR MODEL GOES HERE ----------------------------------------------------------------

    def _embed_texts(self, texts: List[str]) -> List[List[float]]:
        """Embed one batch. Replace this with your model or API call."""
        return [self._hash_features(text) for text in texts]

    def _hash_features(self, text: str) -> List[float]:
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
