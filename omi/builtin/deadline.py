"""urllib with one deadline for the whole request instead of a timeout per socket operation.

urllib's `timeout` bounds each connect, send and receive on its own, so a server that trickles
its answer a byte at a time, each just inside the timeout, holds the caller as long as it likes
(a webhook with timeout=1 was held 19.5 s). An opener from `build_opener` spends the timeout
as one budget that starts when the request does: the TCP connect and the TLS handshake get
what is left of it, and so does every later send and read, so the request ends within
`timeout` seconds whatever the server does (name resolution aside: sockets cannot bound it).
When the budget runs out, TimeoutError("timed out") is raised, which urllib wraps in a
URLError while it waits for the answer's headers, as it does for a socket timeout.
"""

from __future__ import annotations

import http.client
import io
import socket
import time
import urllib.request
from collections.abc import Callable
from typing import Any, cast

__all__ = ["build_opener"]


def build_opener(*handlers: Any) -> urllib.request.OpenerDirector:
    """urllib.request.build_opener(*handlers), with the whole-request deadline for http and
    https; open requests with `opener.open(request, timeout=seconds)`."""
    return urllib.request.build_opener(_HTTPHandler, _HTTPSHandler, *handlers)


class _Deadline(http.client.HTTPConnection):
    """Mixed into an http.client connection: `timeout` becomes a deadline from its creation,
    which urllib does right before sending the request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert self.timeout is not None  # _WithDeadline picks these for a numeric timeout only
        self.deadline = time.monotonic() + self.timeout
        self._create_connection = self._connect_in_time  # what connect() opens the TCP with

    def left(self) -> float:
        """Seconds left; TimeoutError when there are none."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left

    def _connect_in_time(self, address: Any, timeout: Any, source: Any = None) -> socket.socket:
        sock = socket.create_connection(address, self.left(), source)
        sock.settimeout(self.left())  # all an https connection's TLS handshake may take
        return sock

    def connect(self) -> None:
        super().connect()
        # A stand-in with the socket's interface (it forwards what it does not override),
        # which the type system cannot see through __getattr__.
        self.sock = cast(socket.socket, _DeadlineSocket(self.sock, self.left))


class _DeadlineHTTPConnection(_Deadline):
    pass


class _DeadlineHTTPSConnection(_Deadline, http.client.HTTPSConnection):
    pass


class _DeadlineSocket:
    """A connected socket (plain or TLS) whose sends and reads each get only what is left."""

    def __init__(self, sock: socket.socket, left: Callable[[], float]) -> None:
        self._sock = sock
        self._left = left

    def __getattr__(self, name: str) -> Any:  # close, fileno, ...: the socket's own
        return getattr(self._sock, name)

    def shrink(self) -> None:
        self._sock.settimeout(self._left())

    def sendall(self, data: Any) -> None:
        self.shrink()
        self._sock.sendall(data)

    def makefile(self, mode: str = "rb", buffering: int | None = None, **_: Any) -> Any:
        """What http.client reads the answer from (it asks for "rb")."""
        return io.BufferedReader(_DeadlineReader(self._sock.makefile("rb", buffering=0), self))


class _DeadlineReader(io.RawIOBase):
    """The socket's raw reader, shrinking the socket timeout before every read."""

    def __init__(self, raw: socket.SocketIO, sock: _DeadlineSocket) -> None:
        super().__init__()
        self._raw = raw
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.shrink()
        return self._raw.readinto(buffer)

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        self._raw.close()  # lets the socket close once the connection has let it go too
        super().close()


class _WithDeadline:
    """Mixed into urllib's handlers: their connections get the deadline when the request has
    a timeout (urllib passes a sentinel, not a number, when it has none)."""

    CONNECTIONS = {
        http.client.HTTPConnection: _DeadlineHTTPConnection,
        http.client.HTTPSConnection: _DeadlineHTTPSConnection,
    }

    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
        if isinstance(req.timeout, (int, float)):
            http_class = self.CONNECTIONS.get(http_class, http_class)
        return super().do_open(http_class, req, **kwargs)  # type: ignore[misc]


class _HTTPHandler(_WithDeadline, urllib.request.HTTPHandler):
    pass


class _HTTPSHandler(_WithDeadline, urllib.request.HTTPSHandler):
    pass
