"""A small JSON-over-HTTP client for plugins that call web APIs.

Timeouts, bounded retries with backoff for 429 and 5xx (honouring Retry-After), and one error
class per thing a user can fix: a wrong key, an unknown model, an unreachable server, a
response that is not what the API promises. Standard library only, imported on first use, so
that `omi plugins list` can import plugins built on it cheaply.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

if TYPE_CHECKING:  # urllib is imported on the first request
    import urllib.request

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
#: Upper bounds of the options: beyond them a setting is a typo, and an unbounded number of
#: seconds (1e300) would overflow deep inside the socket code at the first request.
MAX_TIMEOUT = 3600
MAX_BACKOFF = 60
MAX_RETRIES = 10


class APIError(RuntimeError):
    """The remote API failed; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
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
    `backoff` is the first retry delay in seconds; it doubles on each retry.
    """

    def __init__(
        self,
        base_url: str,
        service: str,
        headers: Optional[Mapping[str, str]] = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        if not _seconds(timeout) or not 0 < timeout <= MAX_TIMEOUT:
            raise ValueError(f"timeout must be positive (seconds) and at most {MAX_TIMEOUT}, "
                             f"got {timeout!r}")
        if not _seconds(backoff) or not 0 <= backoff <= MAX_BACKOFF:
            raise ValueError(f"backoff must be 0 or more (seconds) and at most {MAX_BACKOFF}, "
                             f"got {backoff!r}")
        if (not isinstance(max_retries, int) or isinstance(max_retries, bool)
                or not 0 <= max_retries <= MAX_RETRIES):
            raise ValueError(f"max_retries must be 0 or more (an integer) and at most "
                             f"{MAX_RETRIES}, got {max_retries!r}")
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.headers: Dict[str, str] = {"Content-Type": "application/json",
                                        "Accept": "application/json", **(headers or {})}
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff

    def post(self, path: str, body: Any) -> Any:
        """POST `body` as JSON to `path`; retry what is worth retrying; raise APIError otherwise."""
        import json
        import urllib.error
        import urllib.request

        from omi.masking import mask_text

        url = f"{self.base_url}{path}"
        shown = mask_text(url)  # what the errors quote: a key in the URL stays hidden
        data = json.dumps(body).encode("utf-8")
        for attempt in range(self.max_retries + 1):
            last_try = attempt == self.max_retries
            request = urllib.request.Request(url, data=data, headers=self.headers, method="POST")
            try:
                with _opener().open(request, timeout=self.timeout) as response:
                    raw = response.read()
            except urllib.error.HTTPError as error:
                detail = _error_detail(error)
                if error.code in RETRYABLE_STATUS and not last_try:
                    self._sleep(attempt, error.headers.get("Retry-After"))
                    continue
                raise self._status_error(error.code, detail, shown) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
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
                    f"{raw[:120]!r}"
                ) from None
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _sleep(self, attempt: int, retry_after: Optional[str]) -> None:
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

    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


@functools.cache
def _opener() -> urllib.request.OpenerDirector:
    """urllib's opener, with each request's timeout as a deadline for all of it."""
    from omi.builtin.deadline import build_opener

    return build_opener()


def _error_detail(error: Any) -> str:
    """The most useful one-line text of an error answer's body (JSON `error`/`detail`/
    `message`); "no details" when the body cannot be read in the time left."""
    import http.client
    import json

    try:
        raw = error.read()
    except (OSError, http.client.HTTPException):
        raw = b""
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
