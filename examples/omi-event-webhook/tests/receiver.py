"""A webhook receiver on 127.0.0.1 for the tests: it verifies signatures and can misbehave.

It checks the X-OMI-Signature header with its own HMAC code (not the package's), so a bug in
the package's signing cannot hide behind the same bug in the verification. `behaviour` says
how it answers: "ok" (204 for a valid signature, 401 otherwise), "fail" (500 always), "reject"
(400 always, quoting the path and query it was sent to, as many servers do), "slow" (sleeps
`delay` seconds, then 204), "trickle" (a 204 sent one byte every `delay` seconds), "flaky"
(503 for the first `failures` requests, with a Retry-After header when `retry_after` is set,
then like "ok"), "redirect" (302 to another path, where a GET answers 200, as an http ->
https redirect or a moved endpoint does), "garbage" (a reply that is not HTTP, then the
connection is closed) or "huge" (like "ok", but a 200 whose body is `size` bytes, sent 64 KiB
at a time with a Content-Length, or without one when `announce` is False; `sent` counts what
the client let it write).

Run it on its own to point `omi plugins check webhook` at it; it prints its URL, then one JSON
line per accepted delivery:

    python tests/receiver.py --secret test-secret
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional


class Receiver:
    """One receiver; `accepted` holds the verified deliveries, `requests` every request
    (headers, body and path)."""

    def __init__(self, secret: str, behaviour: str = "ok", delay: float = 0.0,
                 failures: int = 0, retry_after: Optional[str] = None, port: int = 0,
                 echo: bool = False, size: int = 0, announce: bool = True) -> None:
        self.secret, self.behaviour, self.delay, self.failures = secret, behaviour, delay, failures
        self.retry_after = retry_after
        self.echo = echo
        self.size, self.announce, self.sent = size, announce, 0
        self.requests: List[Dict[str, Any]] = []
        self.accepted: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver._answer(self.headers, raw, self.path)  # case-insensitive
                if receiver.behaviour == "garbage":
                    self.wfile.write(b"SPEAKS NO HTTP\r\n\r\n")
                    self.close_connection = True
                    return
                if receiver.behaviour == "huge" and status == 204:
                    self.flood()
                    return
                if receiver.behaviour == "trickle":
                    self.trickle(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                    return
                body = f"no hook at {self.path}".encode() if status == 400 else b""
                self.send_response(status)
                if status == 503 and receiver.retry_after is not None:
                    self.send_header("Retry-After", receiver.retry_after)
                if status == 302:
                    self.send_header("Location", "/moved")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def trickle(self, answer: bytes) -> None:
                self.close_connection = True
                try:
                    for index in range(len(answer)):
                        time.sleep(receiver.delay)
                        self.wfile.write(answer[index:index + 1])
                except OSError:
                    pass  # the client gave up: what the deadline is for

            def flood(self) -> None:
                self.close_connection = True
                self.send_response(200)
                if receiver.announce:
                    self.send_header("Content-Length", str(receiver.size))
                self.end_headers()
                piece = b" " * 65536
                try:
                    while receiver.sent < receiver.size:
                        self.wfile.write(piece[:receiver.size - receiver.sent])
                        receiver.sent += min(len(piece), receiver.size - receiver.sent)
                except OSError:
                    pass  # the client stopped reading and hung up: what it should do

            def do_GET(self) -> None:  # noqa: N802 (a page that answers anything)
                with receiver.lock:
                    receiver.requests.append({"headers": self.headers, "body": b"",
                                              "method": "GET"})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/omi"

    def signature_is_valid(self, headers: Any, raw: bytes) -> bool:
        timestamp = headers.get("X-OMI-Timestamp", "")
        expected = hmac.new(self.secret.encode(), timestamp.encode() + b"." + raw,
                            hashlib.sha256).hexdigest()
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
        return fresh and hmac.compare_digest(f"sha256={expected}",
                                             headers.get("X-OMI-Signature", ""))

    def _answer(self, headers: Any, raw: bytes, path: str) -> int:
        with self.lock:
            number = len(self.requests)
            self.requests.append({"headers": headers, "body": raw, "path": path})
        if self.behaviour == "fail":
            return 500
        if self.behaviour == "flaky" and number < self.failures:
            return 503
        if self.behaviour == "reject":
            return 400
        if self.behaviour in ("redirect", "garbage"):
            return 302
        if self.behaviour == "slow":
            time.sleep(self.delay)
        if not self.signature_is_valid(headers, raw):
            return 401
        delivery = {"headers": headers, "event": json.loads(raw)}
        with self.lock:  # one line per event, also when deliveries arrive at once
            self.accepted.append(delivery)
            if self.echo:
                print(json.dumps(delivery["event"]), flush=True)
        return 204

    def events(self) -> List[Dict[str, Any]]:
        return [delivery["event"] for delivery in self.accepted]

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret", required=True)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    receiver = Receiver(args.secret, port=args.port, echo=True)
    print(receiver.url, flush=True)
    try:
        receiver.server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    finally:
        receiver.server.server_close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
