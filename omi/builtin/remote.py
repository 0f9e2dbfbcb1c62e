"""What every embedder behind a web API shares: input checks, batching, dimension, similarity."""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any

from omi.builtin.http import JSONClient, MalformedResponseError
from omi.embeddings import EmbeddingProvider, cosine_similarity

#: Past these a setting is a typo: no embedding API takes more texts at once or answers with
#: longer vectors.
MAX_BATCH_SIZE = 10_000
MAX_DIMENSION = 1_000_000


class RemoteEmbedder(EmbeddingProvider):
    """Base of the HTTP embedders: subclasses only turn a batch of texts into vectors.

    Texts are checked before anything is sent (empty or whitespace text is a ValueError), sent
    `batch_size` at a time, and every answer is checked to hold one finite vector per text, all
    of one length. The dimension is given or learnt from the first answer.
    """

    service = "the embedding API"
    #: The environment variable that sets the server's URL when `base_url` is not given.
    url_variable = ""
    _client: JSONClient

    def __init__(self, model: str, batch_size: int = 8, dimension: int | None = None) -> None:
        if (
            not isinstance(batch_size, int)
            or isinstance(batch_size, bool)
            or not 1 <= batch_size <= MAX_BATCH_SIZE
        ):
            raise ValueError(
                f"batch_size must be a positive integer up to {MAX_BATCH_SIZE:,}, "
                f"got {batch_size!r}"
            )
        if dimension is not None and (
            not isinstance(dimension, int)
            or isinstance(dimension, bool)
            or not 1 <= dimension <= MAX_DIMENSION
        ):
            raise ValueError(
                f"dimension must be a positive integer up to {MAX_DIMENSION:,}, got {dimension!r}"
            )
        self.model = model
        self.batch_size = batch_size
        self.dimension = dimension

    @abstractmethod
    def _request(self, texts: list[str]) -> list[Any]:
        """Send one batch and return the raw vectors, in input order."""

    def embed(self, text: str) -> list[float]:
        return self.embed_batch([text])[0]

    def embed_batch(self, texts: list[str], batch_size: int | None = None) -> list[list[float]]:
        size = self.batch_size if batch_size is None else batch_size
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {size!r}")
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"Texts must be str, got {type(text).__name__}")
            if not text.strip():
                raise ValueError("Text cannot be empty")
        vectors: list[list[float]] = []
        for start in range(0, len(texts), size):
            batch = list(texts[start : start + size])
            vectors.extend(self._checked(batch, self._request(batch)))
        return vectors

    def similarity(self, embedding1: list[float], embedding2: list[float]) -> float:
        return cosine_similarity(embedding1, embedding2)

    def get_dimension(self) -> int:
        if self.dimension is None:
            self.embed("dimension probe")  # learns the dimension from the answer
        assert self.dimension is not None
        return self.dimension

    def get_model_name(self) -> str:
        return self.model

    def conformance_service(self) -> dict[str, str]:
        """The server `omi plugins check` probes before its checks: when it cannot be reached
        the plugin is not tested, and the report says how to point it at one."""
        return {
            "name": self.service,
            "url": self._client.base_url,
            "option": "base_url",
            "env": self.url_variable,
        }

    def _checked(self, batch: list[str], raw: list[Any]) -> list[list[float]]:
        if len(raw) != len(batch):
            raise MalformedResponseError(
                f"{self.service} returned {len(raw)} embeddings for {len(batch)} texts"
            )
        vectors = []
        for vector in raw:
            if (
                not isinstance(vector, list)
                or not vector
                or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                    for x in vector
                )
            ):
                raise MalformedResponseError(
                    f"{self.service} returned an embedding that is not a list of finite numbers"
                )
            if self.dimension is None:
                self.dimension = len(vector)
            elif len(vector) != self.dimension:
                raise MalformedResponseError(
                    f"{self.service} returned a {len(vector)}-dimensional embedding where "
                    f"{self.dimension} dimensions were expected; check the model and dimension"
                )
            vectors.append([float(x) for x in vector])
        return vectors
