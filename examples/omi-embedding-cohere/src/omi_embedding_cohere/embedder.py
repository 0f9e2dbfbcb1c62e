"""CohereEmbedder: the `cohere` embedding provider, over Cohere's v2 embed API.

One request is `POST {base_url}/v2/embed` with `{"model", "texts", "input_type",
"embedding_types": ["float"], "truncate"}`; the answer carries `{"embeddings": {"float":
[[...], ...]}}` in input order. Cohere accepts at most 96 texts per request, so larger batches
are split. The HTTP work (timeouts, retries with backoff on 429 and 5xx honouring Retry-After,
one error class per cause) is OMI's shared JSON client, `omi.builtin.http`, and the input
checks, batching and vector validation are OMI's `RemoteEmbedder`, the same code behind the
built-in `nim` and `ollama` providers.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Dict, List, Optional

from omi.builtin.http import (
    AuthenticationError,
    JSONClient,
    MalformedResponseError,
    NotFoundError,
)
from omi.builtin.remote import RemoteEmbedder

DEFAULT_BASE_URL = "https://api.cohere.com"
DEFAULT_MODEL = "embed-english-v3.0"
#: Cohere's limit on the number of texts in one /v2/embed request.
MAX_TEXTS_PER_REQUEST = 96
#: The input types Cohere documents for text. Store documents with "search_document" and
#: embed search text with "search_query": Cohere's models embed the two differently.
INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
TRUNCATE_MODES = ("NONE", "START", "END")
#: The vector lengths Cohere offers through `output_dimension` (embed-v4.0 and newer).
OUTPUT_DIMENSIONS = (256, 512, 1024, 1536)


class CohereEmbedder(RemoteEmbedder):
    """Embeddings from Cohere's `/v2/embed` API (or any server that speaks it).

    The key comes from `api_key` or the CO_API_KEY environment variable; `base_url` (or
    CO_API_URL) points it at another host, such as a proxy or a private deployment.
    `input_type` is what `embed` and `embed_batch` send; `for_queries()` is the same
    embedder sending "search_query". `output_dimension` asks models that support it
    (embed-v4.0) for shorter vectors. `truncate` says what Cohere does with text longer
    than the model's context.
    """

    # REQUIRED: the OMI plugin interface this class implements.
    interface_version = "1.0"
    service = "Cohere"
    # No capabilities are declared: OMI's suite cannot prove "deterministic" or "semantic"
    # against Cohere's hosted models offline, and what is not proved is not claimed.

    def __init__(
        self,
        api_key: Optional[str] = None,
        model: str = DEFAULT_MODEL,
        base_url: Optional[str] = None,
        input_type: str = "search_document",
        batch_size: int = MAX_TEXTS_PER_REQUEST,
        output_dimension: Optional[int] = None,
        truncate: str = "END",
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"model must be a non-empty string, got {model!r}")
        if output_dimension is not None and output_dimension not in OUTPUT_DIMENSIONS:
            raise ValueError(f"output_dimension must be one of "
                             f"{', '.join(map(str, OUTPUT_DIMENSIONS))} (embed-v4.0 and newer "
                             f"models), got {output_dimension!r}")
        super().__init__(model=model, batch_size=batch_size, dimension=output_dimension)
        if input_type not in INPUT_TYPES:
            raise ValueError(f"input_type must be one of {', '.join(INPUT_TYPES)}; "
                             f"got {input_type!r}")
        if truncate not in TRUNCATE_MODES:
            raise ValueError(f"truncate must be one of {', '.join(TRUNCATE_MODES)}; "
                             f"got {truncate!r}")
        key = api_key or os.environ.get("CO_API_KEY")
        if not key:
            raise ValueError("No Cohere API key: pass api_key=... or set the CO_API_KEY "
                             "environment variable")
        self.input_type = input_type
        self.output_dimension = output_dimension
        self.truncate = truncate
        url = base_url or os.environ.get("CO_API_URL") or DEFAULT_BASE_URL
        self._client = JSONClient(url, self.service, {"Authorization": f"Bearer {key}"},
                                  timeout, max_retries, backoff)

    @property
    def base_url(self) -> str:
        return self._client.base_url

    def for_queries(self) -> CohereEmbedder:
        """The same embedder, sending input_type "search_query": use it for search text.

        Cohere embeds documents and queries differently; store memories with an embedder
        whose input_type is "search_document" (the default) and embed what you search for
        with `embedder.for_queries()`. Both share one HTTP client and configuration.
        """
        query = copy.copy(self)
        query.input_type = "search_query"
        return query

    def _request(self, texts: List[str]) -> List[Any]:
        vectors: List[Any] = []
        for start in range(0, len(texts), MAX_TEXTS_PER_REQUEST):
            vectors.extend(self._post(texts[start:start + MAX_TEXTS_PER_REQUEST]))
        return vectors

    def _post(self, texts: List[str]) -> List[Any]:
        body: Dict[str, Any] = {"model": self.model, "texts": texts, "input_type": self.input_type,
                                "embedding_types": ["float"], "truncate": self.truncate}
        if self.output_dimension is not None:
            body["output_dimension"] = self.output_dimension
        try:
            answer = self._client.post("/v2/embed", body)
        except AuthenticationError as error:
            raise AuthenticationError(f"{error} (api_key or CO_API_KEY)", error.status) from None
        except NotFoundError as error:
            raise NotFoundError(
                f"Cohere does not know the model '{self.model}' or has no /v2/embed at "
                f"{self.base_url} ({error}); check `model` and `base_url`", error.status,
            ) from None
        try:
            vectors = answer["embeddings"]["float"]
        except (KeyError, TypeError):
            raise MalformedResponseError(
                f"Cohere answered without embeddings.float (keys: "
                f"{sorted(answer) if isinstance(answer, dict) else type(answer).__name__}); "
                f"is {self.base_url} a Cohere v2 API?"
            ) from None
        if not isinstance(vectors, list):
            raise MalformedResponseError("Cohere's embeddings.float is not a list")
        return vectors
