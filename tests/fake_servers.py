"""Real HTTP servers on 127.0.0.1 that speak the embedding APIs' formats, for the tests.

Each server validates the request as the real API would and answers with deterministic
vectors derived from the text, so the same text always gets the same vector. Tests can queue
scripted answers (a status and body, a delay, a body trickled byte by byte, a `Flood` of any
size) that are served before the normal ones.

A client that hangs up before the answer is written (the timeout tests do it on purpose) is
counted in `disconnects`, not printed; any other error inside the server is kept in `errors`
and fails the test when the server stops, so a broken fake can never pass silently.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, Any]


def text_vector(text: str, dimension: int) -> list[float]:
    """A deterministic unit vector for `text` (feature hashing of its words)."""
    vector = [0.0] * dimension
    for word in text.lower().split():
        digest = hashlib.sha256(word.encode("utf-8")).digest()
        vector[int.from_bytes(digest[:4], "big") % dimension] += 1.0 if digest[4] % 2 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm if any(vector) else 1.0 / math.sqrt(dimension) for x in vector]


class FakeAPI:
    """One loopback server; subclasses define `route(path, headers, body) -> (status, json)`."""

    def __init__(self, dimension: int = 16) -> None:
        self.dimension = dimension
        self.requests: list[dict[str, Any]] = []
        self.disconnects = 0
        self.errors: list[str] = []
        self.scripted: deque[Callable[[], tuple[int, Any, dict[str, str], float]]] = deque()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                api.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status, payload, extra, trickle = (
                    api.scripted.popleft()()
                    if api.scripted
                    else (*api.route(self.path, self.headers, body), {}, 0.0)
                )
                if isinstance(payload, Flood):
                    payload.send(self, status)
                    return
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not trickle:
                    self.wfile.write(data)
                for index in range(len(data) if trickle else 0):
                    time.sleep(trickle)
                    self.wfile.write(data[index : index + 1])

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(api, ("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def then(
        self,
        status: int,
        payload: Any,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
        trickle: float = 0.0,
    ) -> FakeAPI:
        """Queue one scripted answer, served (after `delay` seconds) before normal ones; with
        `trickle`, its body is sent one byte every `trickle` seconds."""

        def answer() -> tuple[int, Any, dict[str, str], float]:
            time.sleep(delay)
            return status, payload, headers or {}, trickle

        self.scripted.append(answer)
        return self

    def route(self, path: str, headers: Any, body: Any) -> Answer:
        raise NotImplementedError

    def __enter__(self) -> FakeAPI:
        self.thread.start()
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()  # joins the request threads, so `errors` is complete
        if self.errors and exc_type is None:
            raise AssertionError(
                f"{type(self).__name__} failed while serving:\n" + "\n".join(self.errors)
            )


class Flood:
    """A scripted answer body of `size` bytes that is never held whole: `start`, then spaces,
    written `piece` bytes at a time (`pause` seconds apart), so a test can offer gigabytes.

    `framing` says how its end is marked: "length" (a Content-Length header), "chunked"
    (chunked transfer coding) or "close" (no length: the connection closes at its end). With
    `withhold`, only the headers are sent and the body waits until the client hangs up.
    `sent` counts the body bytes the server got to write: how much the client took in,
    plus what the sockets' buffers held. With `cut`, the server hangs up after that many body
    bytes, before the end its framing promised (a server that crashed mid-answer).
    """

    def __init__(
        self,
        size: int,
        framing: str = "length",
        start: bytes = b"",
        piece: int = 64 * 1024,
        pause: float = 0.0,
        withhold: bool = False,
        cut: int | None = None,
    ) -> None:
        assert framing in ("length", "chunked", "close") and len(start) <= size
        self.size, self.framing, self.start = size, framing, start
        self.piece, self.pause, self.withhold = piece, pause, withhold
        self.cut = size if cut is None else cut
        self.sent = 0

    def send(self, handler: BaseHTTPRequestHandler, status: int) -> None:
        handler.protocol_version = "HTTP/1.1"  # chunked coding needs it
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        if self.framing == "length":
            handler.send_header("Content-Length", str(self.size))
        elif self.framing == "chunked":
            handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        if self.withhold:
            handler.rfile.read()  # returns when the client closes its end
            return
        filler = b" " * self.piece
        data, left = self.start, self.size - len(self.start)
        while (data or left) and self.sent < self.cut:
            if not data:
                data = filler[:left]
                left -= len(data)
            data = data[: self.cut - self.sent]
            handler.wfile.write(
                b"%x\r\n%b\r\n" % (len(data), data) if self.framing == "chunked" else data
            )
            self.sent += len(data)
            data = b""
            time.sleep(self.pause)
        if self.framing == "chunked" and self.sent >= self.size:
            handler.wfile.write(b"0\r\n\r\n")


class _Server(ThreadingHTTPServer):
    """Records request errors on its FakeAPI instead of printing them to stderr."""

    daemon_threads = True

    def __init__(self, api: FakeAPI, *args: Any) -> None:
        super().__init__(*args)
        self.api = api

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            self.api.disconnects += 1  # the client gave up first: expected in timeout tests
        else:
            self.api.errors.append(traceback.format_exc())


class FakeNIM(FakeAPI):
    """NVIDIA NIM's POST /v1/embeddings with a Bearer key."""

    def __init__(
        self,
        api_key: str = "nim-test-key",
        models: tuple[str, ...] = ("nvidia/nv-embedqa-e5-v5",),
        dimension: int = 16,
    ) -> None:
        super().__init__(dimension)
        self.api_key = api_key
        self.models = models

    def route(self, path: str, headers: Any, body: Any) -> Answer:
        if path != "/v1/embeddings":
            return 404, {"detail": f"no route {path}"}
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {"detail": "Authentication failed"}
        if not isinstance(body, dict) or not isinstance(body.get("input"), list):
            return 422, {"detail": "input must be a list of strings"}
        if body.get("model") not in self.models:
            return 404, {"detail": f"Model {body.get('model')} not found"}
        if body.get("input_type") not in ("query", "passage"):
            return 400, {"detail": "input_type must be query or passage"}
        data = [
            {"object": "embedding", "index": index, "embedding": text_vector(text, self.dimension)}
            for index, text in enumerate(body["input"])
        ]
        return 200, {
            "object": "list",
            "data": list(reversed(data)),
            "model": body["model"],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }


class FakeOllama(FakeAPI):
    """Ollama's POST /api/embed."""

    def __init__(
        self, models: tuple[str, ...] = ("nomic-embed-text",), dimension: int = 16
    ) -> None:
        super().__init__(dimension)
        self.models = models

    def route(self, path: str, headers: Any, body: Any) -> Answer:
        if path != "/api/embed":
            return 404, b"404 page not found"
        if not isinstance(body, dict) or "input" not in body:
            return 400, {"error": "missing input"}
        if body.get("model") not in self.models:
            return 404, {"error": f'model "{body.get("model")}" not found, try pulling it first'}
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return 200, {
            "model": body["model"],
            "embeddings": [text_vector(text, self.dimension) for text in texts],
        }


def closed_port_url() -> str:
    """A loopback URL where nothing listens (the port was just released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class FakeMemoryService(FakeAPI):
    """A memory service over HTTP: POST /v1/{store,recall,edge} with a `namespace`, each
    namespace kept by OMI's SQLite backend in a file of its own; what that backend raises for
    bad input (TypeError, ValueError) comes back as HTTP 400 naming the exception's type."""

    OPERATIONS = {
        "/v1/store": ("store_memory", ("memory",)),
        "/v1/recall": ("recall", ("query", "limit")),
        "/v1/edge": ("add_edge", ("from_id", "to_id", "edge_type")),
    }

    def __init__(self) -> None:
        import tempfile

        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="fake-memory-service-")
        self.stores: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _store(self, namespace: str) -> Any:
        from omi.builtin.sqlite import SQLiteBackend

        with self._lock:
            if namespace not in self.stores:
                name = hashlib.sha256(namespace.encode()).hexdigest()[:16]
                self.stores[namespace] = SQLiteBackend(f"{self.directory}/{name}.db")
            return self.stores[namespace]

    def route(self, path: str, headers: Any, body: Any) -> Answer:
        if path not in self.OPERATIONS:
            return 404, {"error": {"type": "NotFound", "message": f"no route {path}"}}
        if not isinstance(body, dict) or not isinstance(body.get("namespace"), str):
            return 400, {"error": {"type": "ValueError", "message": "a namespace is needed"}}
        method, names = self.OPERATIONS[path]
        try:
            result = getattr(self._store(body["namespace"]), method)(
                *(body.get(name) for name in names)
            )
        except (TypeError, ValueError) as error:
            return 400, {"error": {"type": type(error).__name__, "message": str(error)}}
        return 200, {"result": result}

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        import shutil

        try:
            super().__exit__(exc_type, *exc)
        finally:
            for store in self.stores.values():
                store.close()
            shutil.rmtree(self.directory, ignore_errors=True)
