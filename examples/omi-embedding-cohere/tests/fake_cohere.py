"""A loopback HTTP server that speaks Cohere's v2 embed API, for tests and offline checks.

It validates requests as Cohere does (Bearer key, known model, 1 to 96 texts, input_type,
embedding_types, truncate, output_dimension) and answers with deterministic vectors derived from
the words of each text, so the same text always gets the same vector and texts sharing words
score higher.
Tests can queue scripted answers (status, body, delay, headers) served before normal ones.

Run it on its own to point `omi plugins check cohere` at it:

    python tests/fake_cohere.py --api-key test-key       # prints its URL, serves until killed
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Deque, Dict, List, Optional, Tuple

MODELS = {"embed-english-v3.0": 1024, "embed-multilingual-v3.0": 1024,
          "embed-english-light-v3.0": 384, "embed-v4.0": 1536}
INPUT_TYPES = {"search_document", "search_query", "classification", "clustering"}
MAX_TEXTS = 96
#: output_dimension: the lengths Cohere offers, and the models that offer them.
DIMENSIONS = {256, 512, 1024, 1536}
SHORTENABLE = {"embed-v4.0"}


def text_vector(text: str, dimension: int) -> List[float]:
    """A deterministic unit vector for `text`: its words hashed into `dimension` signed slots."""
    vector = [0.0] * dimension
    for word in text.lower().split():
        digest = hashlib.sha256(word.encode("utf-8")).digest()
        vector[int.from_bytes(digest[:4], "big") % dimension] += 1.0 if digest[4] % 2 else -1.0
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0.0:
        return [1.0 / math.sqrt(dimension)] * dimension
    return [x / norm for x in vector]


class FakeCohere:
    """Cohere's POST /v2/embed on 127.0.0.1; `requests` records what each call sent."""

    def __init__(self, api_key: str = "test-key", port: int = 0) -> None:
        self.api_key = api_key
        self.requests: List[Dict[str, Any]] = []
        self.scripted: Deque[Tuple[int, Any, float, Dict[str, str]]] = deque()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                fake.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": body})
                status, payload, headers = fake._answer(self.path, self.headers, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def then(self, status: int, payload: Any, delay: float = 0.0,
             headers: Optional[Dict[str, str]] = None) -> FakeCohere:
        """Queue one scripted answer, served (after `delay` seconds) before the normal ones."""
        self.scripted.append((status, payload, delay, headers or {}))
        return self

    def _answer(self, path: str, headers: Any, body: Any) -> Tuple[int, Any, Dict[str, str]]:
        if self.scripted:
            status, payload, delay, extra = self.scripted.popleft()
            time.sleep(delay)
            return status, payload, extra
        return (*self.embed(path, headers, body), {})

    def embed(self, path: str, headers: Any, body: Any) -> Tuple[int, Any]:
        """What Cohere answers; error bodies carry `message`, as Cohere's do."""
        if path != "/v2/embed":
            return 404, {"message": f"route {path} not found"}
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {"message": "invalid api token"}
        if not isinstance(body, dict):
            return 400, {"message": "invalid request: body must be a JSON object"}
        model = body.get("model")
        if model not in MODELS:
            return 404, {"message": f"model '{model}' not found, make sure the correct model "
                                    f"ID was used and that you have access to the model."}
        texts = body.get("texts")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return 400, {"message": "invalid request: texts must be a list of strings"}
        if not 1 <= len(texts) <= MAX_TEXTS:
            return 400, {"message": f"invalid request: texts must contain between 1 and "
                                    f"{MAX_TEXTS} items, received {len(texts)}"}
        if body.get("input_type") not in INPUT_TYPES:
            return 400, {"message": f"invalid request: input_type must be one of "
                                    f"{sorted(INPUT_TYPES)}"}
        if body.get("embedding_types") != ["float"]:
            return 400, {"message": "this fake serves embedding_types ['float'] only"}
        if body.get("truncate", "END") not in ("NONE", "START", "END"):
            return 400, {"message": "invalid request: truncate must be NONE, START or END"}
        dimension = body.get("output_dimension")
        if dimension is not None and (model not in SHORTENABLE or dimension not in DIMENSIONS):
            return 400, {"message": f"invalid request: output_dimension must be one of "
                                    f"{sorted(DIMENSIONS)} and is only supported by "
                                    f"{sorted(SHORTENABLE)}"}
        dimension = dimension or MODELS[model]
        return 200, {
            "id": f"fake-{len(self.requests)}",
            "embeddings": {"float": [text_vector(text, dimension) for text in texts]},
            "texts": texts,
            "meta": {"api_version": {"version": "2"},
                     "billed_units": {"input_tokens": sum(len(t.split()) for t in texts)}},
            "response_type": "embeddings_by_type",
        }

    def __enter__(self) -> FakeCohere:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-key", default="test-key", help="the key it accepts")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    fake = FakeCohere(args.api_key, args.port)
    print(fake.url, flush=True)
    try:
        fake.server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    finally:
        fake.server.server_close()


if __name__ == "__main__":
    main()
