"""A small JSON-over-HTTP client for plugins that call web APIs.

Timeouts, bounded retries with backoff for 429 and 5xx (honouring Retry-After), bounded
answers, and one error class per thing a user can fix: a wrong key, an unknown model, an
unreachable server, a response that is not what the API promises. Standard library only,
imported on first use, so that `omi plugins list` can import plugins built on it cheaply.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # urllib is imported on the first request
    import urllib.request

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
#: Upper bounds of the options: beyond them a setting is a typo, and an unbounded number of
#: seconds (1e300) would overflow deep inside the socket code at the first request.
MAX_TIMEOUT = 3600
MAX_BACKOFF = 60
MAX_RETRIES = 10
#: The most bytes of an answer that are read (256 MiB); a longer one is refused. An embedding
#: answer is about one JSON number per dimension per text, and a number takes at most 25 bytes
#: with its separator ("-1.2345678901234567e-05, "; real ones are mostly shorter). 2,048 texts
#: (the largest batch hosted embedding APIs take) of 4,096 dimensions (the longest vectors in
#: common use) come to 210 MB, 10,000 texts (remote.MAX_BATCH_SIZE) of 1,024 dimensions to
#: 256 MB; past that the server is not the API, or is broken or hostile, and reading on would
#: only exhaust memory.
MAX_RESPONSE_BYTES = 256 * 1024 * 1024
#: The most bytes of an error answer that are read: its message is in the first few lines.
MAX_ERROR_BYTES = 4 * 1024
_PIECE = 1024 * 1024  # an answer is read this much at a time, each read under the deadline


class APIError(RuntimeError):
    """The remote API failed; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthenticationError(APIError):
    """The API rejected the credentials (HTTP 401 or 403)."""


class NotFoundError(APIError):
    """The API has no such resource (HTTP 404): usually an unknown model or a wrong URL."""


class UnreachableError(APIError):
    """No answer: connection refused, DNS failure, or the timeout ran out."""


class MalformedResponseError(APIError):
    """The API answered, but not with the JSON shape it documents."""


class JSONClient:
    """POSTs JSON to one API and returns the decoded JSON answer.

    `service` names the API in error messages ("NVIDIA NIM", "Ollama", ...). `timeout` bounds
    each attempt as a whole, however slowly the server answers (omi.builtin.deadline).
    `backoff` is the first retry delay in seconds; it doubles on each retry. An answer longer
    than `max_response_bytes` is refused without being read whole (MalformedResponseError).
    """

    def __init__(
        self,
        base_url: str,
        service: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        if not _seconds(timeout) or not 0 < timeout <= MAX_TIMEOUT:
            raise ValueError(
                f"timeout must be positive (seconds) and at most {MAX_TIMEOUT}, got {timeout!r}"
            )
        if not _seconds(backoff) or not 0 <= backoff <= MAX_BACKOFF:
            raise ValueError(
                f"backoff must be 0 or more (seconds) and at most {MAX_BACKOFF}, got {backoff!r}"
            )
        if (
            not isinstance(max_retries, int)
            or isinstance(max_retries, bool)
            or not 0 <= max_retries <= MAX_RETRIES
        ):
            raise ValueError(
                f"max_retries must be 0 or more (an integer) and at most "
                f"{MAX_RETRIES}, got {max_retries!r}"
            )
        if (
            not isinstance(max_response_bytes, int)
            or isinstance(max_response_bytes, bool)
            or max_response_bytes < 1
        ):
            raise ValueError(
                f"max_response_bytes must be a positive integer (bytes), got {max_response_bytes!r}"
            )
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.headers: dict[str, str] = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            **(headers or {}),
        }
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_response_bytes = max_response_bytes

    def post(self, path: str, body: Any) -> Any:
        """POST `body` as JSON to `path`; retry what is worth retrying; raise APIError otherwise."""
        import http.client
        import json
        import urllib.error
        import urllib.request

        from omi.masking import mask_known, mask_text

        url = f"{self.base_url}{path}"
        shown = mask_text(url)  # what the errors quote: a key in the URL stays hidden
        sent = self._credentials()  # an answer may echo them back: never quoted
        data = json.dumps(body).encode("utf-8")
        for attempt in range(self.max_retries + 1):
            last_try = attempt == self.max_retries
            request = urllib.request.Request(url, data=data, headers=self.headers, method="POST")
            try:
                with _opener().open(request, timeout=self.timeout) as response:
                    raw = self._read(response, shown)
            except urllib.error.HTTPError as error:
                detail = mask_known(_error_detail(error), sent)
                if error.code in RETRYABLE_STATUS and not last_try:
                    self._sleep(attempt, error.headers.get("Retry-After"))
                    continue
                raise self._status_error(error.code, detail, shown) from None
            except (
                urllib.error.URLError,
                TimeoutError,
                ConnectionError,
                OSError,
                http.client.HTTPException,
            ) as error:  # the last: an answer broken off
                if not last_try:
                    self._sleep(attempt, None)
                    continue
                reason = getattr(error, "reason", error)
                raise UnreachableError(
                    f"Cannot reach {self.service} at {shown}: {reason}; check the base URL and "
                    f"that the server is running"
                ) from error
            try:
                return json.loads(raw)
            except ValueError:
                raise MalformedResponseError(
                    f"{self.service} at {shown} answered with something that is not JSON: "
                    f"{mask_known(repr(bytes(raw[:120])), sent)}"
                ) from None
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _credentials(self) -> list[str]:
        """What this client sends that must never be shown: the values of its secret-named
        headers (Authorization, X-API-Key, ...) and, of "Bearer KEY", the KEY alone."""
        from omi.masking import mask_secrets

        found: list[str] = []
        mask_secrets([[name, value] for name, value in self.headers.items()], found)
        return found + [value.split()[-1] for value in found if len(value.split()) > 1]

    def _read(self, response: Any, url: str) -> bytearray:
        """The answer's body, read a piece at a time so that the deadline still bounds it;
        MalformedResponseError once it passes max_response_bytes, or at once when its
        Content-Length says it will."""
        limit = self.max_response_bytes
        announced = getattr(response, "length", None)  # http.client's Content-Length, if any
        if announced is not None and announced > limit:
            raise self._too_long(url, announced)
        raw = bytearray()
        while piece := response.read(min(_PIECE, limit + 1 - len(raw))):
            raw += piece
            if len(raw) > limit:
                raise self._too_long(url, None)
        missing = getattr(response, "length", None)  # promised by Content-Length, never sent
        if missing:  # read(n) returns short at a hang-up instead of raising, as read() would
            raise ConnectionError(f"the answer broke off {missing:,} bytes before its end")
        return raw

    def _too_long(self, url: str, announced: int | None) -> MalformedResponseError:
        limit = _size(self.max_response_bytes)
        what = (
            f"announced an answer of {announced:,} bytes, more than the {limit}"
            if announced is not None
            else f"sent an answer longer than the {limit}"
        )
        return MalformedResponseError(
            f"{self.service} at {url} {what} an answer may have; check that the base URL is "
            f"the {self.service} API, or ask for less per request (a smaller batch_size)"
        )

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * (2**attempt)
        if retry_after:
            try:
                delay = max(delay, min(float(retry_after), 60.0))
            except ValueError:
                pass  # an HTTP date: keep our own backoff
        time.sleep(delay)

    def _status_error(self, status: int, detail: str, url: str) -> APIError:
        if status in (401, 403):
            return AuthenticationError(
                f"{self.service} rejected the API key (HTTP {status}: {detail}); "
                f"check the key you configured",
                status,
            )
        if status == 404:
            return NotFoundError(
                f"{self.service} has nothing at {url} (HTTP 404: {detail})", status
            )
        if status in RETRYABLE_STATUS:
            return APIError(
                f"{self.service} kept failing (HTTP {status}: {detail}) after "
                f"{self.max_retries} retries; try again later",
                status,
            )
        return APIError(f"{self.service} refused the request (HTTP {status}: {detail})", status)


def _seconds(value: Any) -> bool:
    """A finite int or float (not a bool, not a str such as an unconverted "${VAR}")."""
    import math

    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@functools.cache
def _opener() -> urllib.request.OpenerDirector:
    """urllib's opener, with each request's timeout as a deadline for all of it."""
    from omi.builtin.deadline import build_opener

    return build_opener()


def _size(count: int) -> str:
    """A number of bytes as people write it: 256 MiB, 4 KiB, 1,000 bytes."""
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count % size == 0:
            return f"{count // size:,} {unit}"
    return f"{count:,} bytes"


def _error_detail(error: Any) -> str:
    """The most useful one-line text of an error answer's body (JSON `error`/`detail`/
    `message`), from its first MAX_ERROR_BYTES only; "no details" when those cannot be read in
    the time left. The connection is closed, so the rest is never read."""
    import http.client
    import json

    try:
        raw = error.read(MAX_ERROR_BYTES)
    except (OSError, http.client.HTTPException):
        raw = b""
    finally:
        error.close()
    text = raw.decode("utf-8", "replace").strip()
    try:
        document = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:200] or "no details"
    if isinstance(document, dict):
        for key in ("error", "detail", "message"):
            value = document.get(key)
            if isinstance(value, dict):
                value = value.get("message", value)
            if value:
                return " ".join(str(value).split())[:200]
    return " ".join(text.split())[:200]
