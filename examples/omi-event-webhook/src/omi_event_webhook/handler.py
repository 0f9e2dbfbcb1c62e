"""WebhookHandler: the `webhook` event handler, which POSTs OMI's events to an HTTP endpoint.

Each event is sent as one signed JSON request (see `omi_event_webhook.signing`), with a timeout
per attempt and a bounded number of retries with exponential backoff. An event that still
cannot be delivered is appended to a local dead-letter file (JSON lines) before handle()
returns, so none is lost; `redeliver()` sends them again later.

Delivery is synchronous: when handle() returns, the event was accepted by the receiver or is in
the dead-letter file. `timeout` is a deadline for each whole attempt (connecting, sending and
reading the answer; a receiver trickling its answer cannot stretch it), so one handle() takes
at most `(max_retries + 1) * timeout` plus the backoff; after a failed delivery the receiver is
treated as down for `cooldown` seconds, during which events go straight to the dead-letter
file, so a dead receiver slows OMI down once, not on every event. At most MAX_DRAIN_BYTES of
a successful answer's body are read, and 200 bytes of an error answer's (for the message), so
a receiver cannot make the handler hold more however much it sends.

The URL and headers are checked when the handler is built: one that urllib would refuse at the
first event would otherwise be neither delivered nor kept. Credentials in the URL
(`https://user:password@host/...`) are sent as HTTP Basic authentication, and no message,
log line or dead letter quotes them, the secret query parameters (`?token=...`) or the value of
a secret header such as Authorization.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple, Union

from omi.events import EVENT_TYPES, EventHandler
from omi.masking import mask_known, mask_secrets, mask_text

from omi_event_webhook.dead_letters import DeadLetterFile
from omi_event_webhook.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

__version__ = "0.2.0"
logger = logging.getLogger("omi_event_webhook")

#: Answers worth trying again: the receiver is busy, restarting or briefly broken.
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
DEFAULT_DEAD_LETTERS = "omi-webhook-dead-letters.jsonl"
#: The largest settings: past them a value is a typo, and an unbounded number of seconds would
#: overflow inside the socket or sleep call, losing the event.
LIMITS = {"timeout": 3600, "backoff": 60, "cooldown": 86400, "max_retries": 10}
#: The most of a successful answer that is read before the connection is closed: the status
#: alone says the event was delivered, and a receiver's body could be endless.
MAX_DRAIN_BYTES = 64 * 1024
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")  # an HTTP token
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # all but the tab


class DeliveryError(RuntimeError):
    """One delivery failed; `retryable` says whether trying again later may help, and
    `retry_after` is how long the receiver asked us to wait (Retry-After), if it did."""

    def __init__(self, message: str, retryable: bool,
                 retry_after: Optional[float] = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class RedeliveryResult(NamedTuple):
    """What `redeliver()` did: events delivered, and events still in the dead-letter file."""

    delivered: int
    remaining: int


class WebhookHandler(EventHandler):
    """POSTs every OMI event as signed JSON to `url`; what cannot be delivered is kept."""

    # REQUIRED: the OMI plugin interface this class implements.
    interface_version = "1.0"

    def __init__(
        self,
        url: str,
        secret: Optional[str] = None,
        dead_letter_path: Union[str, Path] = DEFAULT_DEAD_LETTERS,
        events: Optional[Iterable[str]] = None,
        timeout: float = 2.0,
        max_retries: int = 2,
        backoff: float = 0.5,
        cooldown: float = 30.0,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.url, login = _split_url(url)
        self.headers = _checked_headers(headers)
        if login is not None:
            if any(name.lower() == "authorization" for name in self.headers):
                raise ValueError("url has a user name and password and headers has an "
                                 "Authorization header; give the credentials once")
            self.headers["Authorization"] = login
        secret = secret or os.environ.get("OMI_WEBHOOK_SECRET")
        if not secret:
            raise ValueError("No webhook secret: pass secret=... or set OMI_WEBHOOK_SECRET "
                             "(the receiver verifies the X-OMI-Signature header with it)")
        _check_seconds("timeout", timeout, zero_allowed=False)
        _check_seconds("backoff", backoff, zero_allowed=True)
        _check_seconds("cooldown", cooldown, zero_allowed=True)
        if (not isinstance(max_retries, int) or isinstance(max_retries, bool)
                or not 0 <= max_retries <= LIMITS["max_retries"]):
            raise ValueError(f"max_retries must be an integer, 0 or more and at most "
                             f"{LIMITS['max_retries']}, got {max_retries!r}")
        self.events = frozenset(EVENT_TYPES if events is None else events)
        unknown = sorted(self.events - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event types {unknown}; choose from {list(EVENT_TYPES)}")
        self._secret = secret
        self.dead_letter_path = Path(dead_letter_path).expanduser().absolute()
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.backoff = float(backoff)
        self.cooldown = float(cooldown)
        # What messages may quote of the URL, and the credentials that must never appear
        # in them: the URL's password, its secret query values, secret header values.
        self._credentials: List[str] = []
        mask_text(url, self._credentials)
        mask_secrets(self.headers, self._credentials)
        self._shown_url = self._hide(self.url)
        self._down_until = 0.0
        self._dead_letters = DeadLetterFile(self.dead_letter_path)

    @classmethod
    def conformance_factory(cls, directory: Path, **options: Any) -> WebhookHandler:
        """How OMI's conformance suite builds a test instance: dead letters go to `directory`.

        `url` and `secret` come from `omi plugins check webhook --option url=... --option
        secret=...`; nothing is started behind the caller's back.
        """
        options.setdefault("dead_letter_path", directory / "dead-letters.jsonl")
        return cls(**options)

    def handle(self, event_type: str, event_data: Dict[str, Any]) -> None:
        """Deliver one event; on failure keep it in the dead-letter file. Never raises for a
        receiver that is down or refuses; raises only if the dead-letter file cannot be
        written, since the event would otherwise be lost."""
        if event_type not in self.events:
            return
        envelope = {"id": os.urandom(16).hex(), "type": event_type, "created": time.time(),
                    "data": event_data}
        body = json.dumps(envelope, default=str, ensure_ascii=False).encode("utf-8")
        if time.monotonic() < self._down_until:
            self._dead_letter(envelope, body, 0, "not sent: the receiver failed recently "
                              f"(cooldown of {self.cooldown:g} s)")
            return
        try:
            attempts = self._deliver(envelope, body)
        except _Failed as failure:
            if failure.error.retryable and self.cooldown:
                self._down_until = time.monotonic() + self.cooldown
            self._dead_letter(envelope, body, failure.attempts, str(failure.error))
            return
        self._down_until = 0.0
        logger.debug("delivered %s %s in %d attempt(s)", event_type, envelope["id"], attempts)

    def redeliver(self) -> RedeliveryResult:
        """Send every dead letter again, oldest first; keep the ones that still fail.

        Each keeps its original `id`, so a receiver can drop duplicates. Lines that are not
        valid JSON are kept as they are, never dropped, and events dead-lettered while this
        runs (by this or another process) stay in the file. Redeliveries of the same file take
        turns: a second one waits for the first, then sends what is still waiting.
        """
        if not self.dead_letter_path.exists():
            return RedeliveryResult(0, 0)
        with self._dead_letters.redelivery():
            return self._redeliver()

    def _redeliver(self) -> RedeliveryResult:
        lines, offset = self._dead_letters.snapshot()
        kept: List[str] = []
        delivered = 0
        for line in filter(str.strip, lines):
            try:
                record = json.loads(line)
                envelope = {key: record[key] for key in ("id", "type", "created", "data")}
            except (ValueError, KeyError, TypeError):
                logger.warning("kept an unreadable dead letter: %.80s", line)
                kept.append(line)
                continue
            body = json.dumps(envelope, default=str, ensure_ascii=False).encode("utf-8")
            try:
                self._deliver(envelope, body)
                delivered += 1
            except _Failed as failure:
                record.update(attempts=record.get("attempts", 0) + failure.attempts,
                              error=str(failure.error), failed_at=time.time())
                kept.append(json.dumps(record, ensure_ascii=False))
        if lines:
            self._dead_letters.replace_snapshot(offset, kept)
        self._down_until = 0.0
        return RedeliveryResult(delivered, len(kept))

    def dead_letters(self) -> List[Dict[str, Any]]:
        """The events waiting in the dead-letter file, oldest first (unreadable lines skipped)."""
        records = []
        for line in self._dead_letters.snapshot()[0]:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        return records

    # --- delivery ------------------------------------------------------------------------------

    def _deliver(self, envelope: Dict[str, Any], body: bytes) -> int:
        """POST until accepted; return the number of attempts, or raise _Failed."""
        for attempt in range(self.max_retries + 1):
            try:
                self._post_once(envelope, body)
                return attempt + 1
            except DeliveryError as error:
                if not error.retryable or attempt == self.max_retries:
                    raise _Failed(error, attempt + 1) from None
                delay = self.backoff * 2**attempt
                if error.retry_after is not None:
                    delay = max(delay, min(error.retry_after, 10.0))
                time.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _post_once(self, envelope: Dict[str, Any], body: bytes) -> None:
        import http.client
        import urllib.error
        import urllib.parse
        import urllib.request

        timestamp = int(time.time())
        headers = {**self.headers, "Content-Type": "application/json",
                   "User-Agent": f"omi-event-webhook/{__version__}",
                   "X-OMI-Event": envelope["type"], "X-OMI-Delivery": envelope["id"],
                   TIMESTAMP_HEADER: str(timestamp),
                   SIGNATURE_HEADER: sign(self._secret, timestamp, body)}
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        url = self._shown_url
        try:
            with _opener().open(request, timeout=self.timeout) as response:
                response.read(MAX_DRAIN_BYTES)  # closing drops the rest unread
        except urllib.error.HTTPError as error:
            if 300 <= error.code < 400:
                location = urllib.parse.urljoin(self.url, error.headers.get("Location", ""))
                raise DeliveryError(f"{url} answered HTTP {error.code} (a redirect to "
                                    f"{self._hide(location)}); set url to the address that "
                                    f"receives the events", retryable=False) from None
            detail = self._hide(_body_start(error))
            raise DeliveryError(f"{url} answered HTTP {error.code}"
                                f"{': ' + detail if detail else ''}",
                                retryable=error.code in RETRYABLE_STATUS,
                                retry_after=_seconds(error.headers.get("Retry-After"))) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
            reason = self._hide(str(getattr(error, "reason", error)))
            raise DeliveryError(f"cannot reach {url}: {reason}", retryable=True) from None
        except http.client.HTTPException as error:  # a reply that is not HTTP, or cut short
            raise DeliveryError(f"{url} did not answer in HTTP: {type(error).__name__}: "
                                f"{self._hide(str(error))}", retryable=True) from None

    def _hide(self, text: str) -> str:
        """`text` without this handler's credentials, nor any other that looks like one."""
        return mask_known(text, self._credentials)

    # --- the dead-letter file ------------------------------------------------------------------

    def _dead_letter(self, envelope: Dict[str, Any], body: bytes, attempts: int,
                     error: str) -> None:
        record = {**json.loads(body), "attempts": attempts, "error": error,
                  "failed_at": time.time()}
        try:
            self._dead_letters.append(json.dumps(record, ensure_ascii=False))
        except OSError as io_error:
            raise RuntimeError(
                f"Could not deliver {envelope['type']} event {envelope['id']} ({error}) and "
                f"could not keep it in {self.dead_letter_path}: {io_error}; fix "
                f"dead_letter_path"
            ) from io_error
        logger.warning("kept %s event %s in %s: %s", envelope["type"], envelope["id"],
                       self.dead_letter_path, error)


class _Failed(Exception):
    """Internal: a delivery gave up; carries the last error and how many attempts were made."""

    def __init__(self, error: DeliveryError, attempts: int) -> None:
        super().__init__(str(error))
        self.error, self.attempts = error, attempts


@functools.cache
def _opener() -> Any:
    """urlopen without following redirects (urllib would turn the POST into a GET without the
    event and take the new address's 200 for a delivery), with the timeout as a deadline for
    the whole request."""
    import urllib.request

    from omi.builtin.deadline import build_opener

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # the 3xx comes back as an HTTPError

    return build_opener(NoRedirects)


def _split_url(url: Any) -> Tuple[str, Optional[str]]:
    """The URL to post to, without its user name and password, and those as the value of a
    Basic Authorization header (None without them). ValueError, never quoting a password,
    for anything urllib would refuse only when the first event is sent."""
    import base64
    import urllib.parse

    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        shown = repr(mask_text(url)) if isinstance(url, str) else f"a {type(url).__name__}"
        raise ValueError(f"url must be an http:// or https:// URL, got {shown}")
    fix = "; write it like https://hooks.example.com/omi"
    if _CONTROL.search(url) or " " in url:
        raise ValueError(f"url contains a space, line break or control character{fix}")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is what raises for a bad one
    except ValueError as error:
        raise ValueError(f"url {mask_text(url)!r} is not a valid URL ({error}){fix}") from None
    if not parts.hostname:
        raise ValueError(f"url {mask_text(url)!r} has no host name{fix}")
    if not (parts.path + parts.query).isascii():
        raise ValueError(f"url {mask_text(url)!r} has characters HTTP cannot send in its "
                         f"path or query; percent-encode them")
    if parts.username is None and parts.password is None:
        return url, None
    if "@" in parts.path + parts.query + parts.fragment:
        raise ValueError("url has a user name and password with @ or / in them; "
                         "percent-encode those characters (%40, %2F)")
    login = ":".join(urllib.parse.unquote(part or "")
                     for part in (parts.username, parts.password))
    address = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    return address, "Basic " + base64.b64encode(login.encode("utf-8")).decode("ascii")


def _checked_headers(headers: Any) -> Dict[str, str]:
    """`headers` as a dict, each name and value one that HTTP can send (ValueError naming the
    header, never quoting its value, otherwise)."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise ValueError(f"headers must be a mapping of header names to values, not a "
                         f"{type(headers).__name__}")
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise ValueError(f"headers: {name!r} is not a header name; use letters, digits "
                             f"and hyphens, e.g. X-Tenant")
        if not isinstance(value, str):
            raise ValueError(f"headers: the value of {name} must be a string, not a "
                             f"{type(value).__name__}; quote it")
        if _CONTROL.search(value):
            raise ValueError(f"headers: the value of {name} contains a line break or control "
                             f"character; remove it")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"headers: the value of {name} has characters HTTP headers cannot "
                             f"carry (only Latin-1); percent-encode them") from None
    return dict(headers)


def _check_seconds(name: str, value: Any, zero_allowed: bool) -> None:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value) or value < 0 or (value == 0 and not zero_allowed):
        relation = "0 or more" if zero_allowed else "positive"
        raise ValueError(f"{name} must be {relation} seconds, got {value!r}")
    if value > LIMITS[name]:
        raise ValueError(f"{name} must be at most {LIMITS[name]} seconds, got {value!r}")


def _body_start(error: Any) -> str:
    """The first 200 characters of an error answer, on one line; "" when it cannot be read
    in the time left (the error must still be reported, and the event kept)."""
    import http.client

    try:
        return " ".join(error.read(200).decode("utf-8", "replace").split())
    except (OSError, http.client.HTTPException):
        return ""


def _seconds(value: Optional[str]) -> Optional[float]:
    try:
        return float(value) if value else None
    except ValueError:
        return None  # an HTTP date: keep our own backoff
