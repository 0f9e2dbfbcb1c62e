"""Ollama embeddings (`ollama`): a local or remote Ollama server's /api/embed API."""

from __future__ import annotations

import os
from typing import Any

from omi.builtin.http import JSONClient, MalformedResponseError, NotFoundError
from omi.builtin.remote import RemoteEmbedder

DEFAULT_BASE_URL = "http://localhost:11434"
DEFAULT_MODEL = "nomic-embed-text"


def _server_url(base_url: str | None) -> str:
    """`base_url`, else OLLAMA_HOST (which may omit the scheme), else the local default."""
    url = base_url or os.environ.get("OLLAMA_HOST") or DEFAULT_BASE_URL
    return url if "://" in url else f"http://{url}"


class OllamaEmbedder(RemoteEmbedder):
    """Embeddings from an Ollama server. No key is needed; `api_key` is sent if given (proxies)."""

    interface_version = "1.0"
    url_variable = "OLLAMA_HOST"
    service = "Ollama"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int = 8,
        dimension: int | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        super().__init__(model=model, batch_size=batch_size, dimension=dimension)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = JSONClient(
            _server_url(base_url), self.service, headers, timeout, max_retries, backoff
        )

    def _request(self, texts: list[str]) -> list[Any]:
        try:
            answer = self._client.post("/api/embed", {"model": self.model, "input": texts})
        except NotFoundError as error:
            raise NotFoundError(
                f"Ollama has no model '{self.model}' ({error}); run `ollama pull {self.model}`",
                error.status,
            ) from error
        embeddings = answer.get("embeddings") if isinstance(answer, dict) else None
        if not isinstance(embeddings, list):
            raise MalformedResponseError("Ollama answered without an 'embeddings' list")
        return embeddings
