"""How deliveries are signed, and how a receiver verifies them.

Every delivery carries two headers:

    X-OMI-Timestamp: 1700000000                    (Unix seconds when it was sent)
    X-OMI-Signature: sha256=<hex>                  (HMAC-SHA256 with the shared secret)

The signed message is the timestamp, a full stop, then the raw request body, byte for byte:
`b"1700000000." + body`. Signing the timestamp lets a receiver refuse old requests replayed by
someone who captured one; verify against the raw bytes received, before parsing the JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Optional, Union

TIMESTAMP_HEADER = "X-OMI-Timestamp"
SIGNATURE_HEADER = "X-OMI-Signature"
SIGNATURE_PREFIX = "sha256="
#: How old a timestamp a receiver accepts by default, in seconds.
DEFAULT_TOLERANCE = 300.0


class InvalidSignature(ValueError):
    """A delivery whose signature or timestamp does not check out; the message says which."""


def _key(secret: Union[str, bytes]) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign(secret: Union[str, bytes], timestamp: int, body: bytes) -> str:
    """The X-OMI-Signature value for `body` sent at `timestamp`."""
    digest = hmac.new(_key(secret), str(timestamp).encode("ascii") + b"." + body,
                      hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify_signature(secret: Union[str, bytes], body: bytes, timestamp: Optional[str],
                     signature: Optional[str], tolerance: float = DEFAULT_TOLERANCE,
                     now: Optional[float] = None) -> None:
    """Raise InvalidSignature unless `signature` signs `body` at a timestamp within tolerance.

    `timestamp` and `signature` are the X-OMI-Timestamp and X-OMI-Signature header values as
    received (None when missing). Comparison is constant-time.
    """
    if not timestamp or not signature:
        raise InvalidSignature(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is not Unix seconds: {timestamp!r}") from None
    age = (time.time() if now is None else now) - sent_at
    if abs(age) > tolerance:
        raise InvalidSignature(f"timestamp is {age:.0f} s away from now (tolerance "
                               f"{tolerance:.0f} s): a replay, or a clock out of sync")
    if not hmac.compare_digest(sign(secret, sent_at, body), signature.strip()):
        raise InvalidSignature("signature does not match: wrong secret, or the body was "
                               "changed (verify the raw bytes, before parsing)")
