"""NVIDIA NIM embeddings (`nim`): the OpenAI-style /v1/embeddings API of NIM services."""

from __future__ import annotations

import os
from typing import Any

from omi.builtin.http import (
    AuthenticationError,
    JSONClient,
    MalformedResponseError,
    NotFoundError,
)
from omi.builtin.remote import RemoteEmbedder
from omi.masking import mask_text

DEFAULT_BASE_URL = "https://integrate.api.nvidia.com"
DEFAULT_MODEL = "nvidia/nv-embedqa-e5-v5"


class NIMEmbedder(RemoteEmbedder):
    """Embeddings from an NVIDIA NIM endpoint, hosted or self-hosted.

    The key comes from `api_key` or NVIDIA_API_KEY, the URL from `base_url` or NIM_BASE_URL.
    `input_type` is "passage" for text being stored and "query" for search text.
    """

    interface_version = "1.0"
    url_variable = "NIM_BASE_URL"
    service = "NVIDIA NIM"

    def __init__(
        self,
        api_key: str | None = None,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        input_type: str = "passage",
        batch_size: int = 8,
        dimension: int | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        super().__init__(model=model, batch_size=batch_size, dimension=dimension)
        if input_type not in ("passage", "query"):
            raise ValueError(f"input_type must be 'passage' or 'query', got {input_type!r}")
        self.input_type = input_type
        key = api_key or os.environ.get("NVIDIA_API_KEY")
        url = base_url or os.environ.get("NIM_BASE_URL") or DEFAULT_BASE_URL
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._keyless = not key
        self._client = JSONClient(url, self.service, headers, timeout, max_retries, backoff)

    def _request(self, texts: list[str]) -> list[Any]:
        body = {
            "input": texts,
            "model": self.model,
            "input_type": self.input_type,
            "encoding_format": "float",
        }
        try:
            answer = self._client.post("/v1/embeddings", body)
        except AuthenticationError as error:
            if not self._keyless:
                raise
            raise AuthenticationError(
                f"NVIDIA NIM at {mask_text(self._client.base_url)} wants an API key and none "
                f"was given "
                f"({error}); set `api_key` in config or NVIDIA_API_KEY",
                error.status,
            ) from error
        except NotFoundError as error:
            raise NotFoundError(
                f"NVIDIA NIM does not know the model '{self.model}' ({error}); check `model`",
                error.status,
            ) from error
        try:
            rows = sorted(answer["data"], key=lambda row: row["index"])
            return [row["embedding"] for row in rows]
        except (KeyError, TypeError) as error:
            raise MalformedResponseError(
                f"NVIDIA NIM answered without data[].index/embedding ({error!r})"
            ) from None
