"""Hide credentials: in configuration values, and in messages that may quote them.

`omi config show` prints a configuration that may hold API keys, bearer headers and database
passwords, and errors quote URLs and plugin messages; anything printed or logged goes through
here first. A value is hidden when its key is named like a credential (`api_key`, `apiKey`,
`API-KEY`, `password`, `pwd`, `auth`, `Authorization`, `X-Api-Key`, `Cookie`, ...), and inside
any string: the password of a URL or DSN, secret query parameters (`?token=`, `sig=`, ...),
libpq's `password=...`, a `Bearer`/`Basic` credential and a `Header: value` line.

Masking errs towards hiding: a harmless value that looks like a credential reads `****` too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "is_secret", "mask_error", "mask_known", "mask_secrets", "mask_text"]

MASK = "****"

#: A key is secret when, written without separators and in lower case, it contains one of
#: these (so `api_key`, `apiKey`, `X-Api-Key` and `ACCESS_TOKEN` all are)...
_SECRET_PARTS = (
    "apikey",
    "accesskey",
    "privatekey",
    "token",
    "passw",
    "passphrase",
    "secret",
    "credential",
    "authorization",
    "cookie",
    "signature",
)
#: ... or ends with one of these words (`db_pass`, `basic_auth`, but not `auth_url`)...
_SECRET_LAST_WORDS = ("pass", "pwd", "auth", "sig")
#: ... or is exactly one of these (`key` alone, but not `cache_key`).
_SECRET_NAMES = ("key",)

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


@functools.cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    """What `mask_text` hides (each pattern's group "secret"; "name", when present, must be
    secret), compiled when first needed: at import, it would cost every host start ms."""
    return (
        # scheme://user:PASSWORD@host: the password ends at the last @ before the path's ? or #,
        # so a password with an unescaped @ or / is hidden whole. The search stays linear on
        # hostile text: a scheme starts only at the start of a word, a password stops at the
        # next ://, so no character is scanned for two URLs.
        re.compile(
            r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:"
            r"(?P<secret>(?:(?!://)[^\s?#])+)@"
        ),
        # ?token=VALUE, &sig=VALUE, #access_token=VALUE
        re.compile(r"[?&;#](?P<name>[^=&;#?\s]+)=(?P<secret>[^&;#\s]+)"),
        # libpq's key=value form: password=VALUE, password='VALUE' (or its unclosed start)
        re.compile(
            r"(?:^|(?<=[\s,]))(?P<name>[A-Za-z_][\w-]*)\s*=\s*"
            r"(?P<secret>'(?:[^'\\]|\\.)*'|'?[^\s']+)"
        ),
        # Authorization values: Bearer TOKEN, Basic BASE64
        re.compile(r"\b(?:(?i:bearer)|Basic(?=\s+[A-Za-z0-9+/]{6,}))\s+(?P<secret>[^\s,;]+)"),
        # a header written as one line: X-Api-Key: VALUE
        re.compile(r"^[ \t]*(?P<name>[\w-]+)[ \t]*:[ \t]*(?P<secret>\S(?:.*\S)?)", re.MULTILINE),
    )


def is_secret(key: Any) -> bool:
    """True for keys and header names that name a credential, whatever their case and
    separators: api_key, apiKey, API-KEY, access_token, password, passwd, pwd, pass,
    private_key, credentials, auth, Authorization, Proxy-Authorization, X-Api-Key, X-Auth-Token,
    Cookie, Set-Cookie, secret, signature, sig, key."""
    words = [word.lower() for word in _WORD.findall(str(key))]
    joined = "".join(words)
    return (
        any(part in joined for part in _SECRET_PARTS)
        or (bool(words) and words[-1] in _SECRET_LAST_WORDS)
        or joined in _SECRET_NAMES
    )


def mask_text(text: str, found: list[str] | None = None) -> str:
    """`text` with every credential written inside it replaced by '****' (see the module
    docstring); each hidden value is appended to `found` when it is given."""

    def hide(match: re.Match[str]) -> str:
        name = match.groupdict().get("name")
        if name is not None and not is_secret(name):
            return match.group(0)
        if found is not None:
            found.append(match.group("secret").strip("'"))
        start, end = (index - match.start() for index in match.span("secret"))
        return match.group(0)[:start] + MASK + match.group(0)[end:]

    for pattern in _patterns():
        text = pattern.sub(hide, text)
    return text


def mask_known(text: str, secrets: Iterable[str]) -> str:
    """`text` (a message that may quote what it was given) with each of `secrets`, the literal
    values `mask_secrets` or `mask_text` found, and any other credential replaced by '****'."""
    for secret in sorted(set(secrets) - {""}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return mask_text(text)


def mask_error(error: BaseException, given: Any = None) -> str:
    """`Type: message` of an error a plugin raised, with the secrets of `given` (what it was
    given, e.g. its options, which the message may quote) and any other credential written
    in the message replaced by '****'."""
    secrets: list[str] = []
    mask_secrets(given, secrets)
    message = mask_known(str(error), secrets)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def mask_secrets(value: Any, found: list[str] | None = None) -> Any:
    """A copy of `value` in which secrets read '****': the value of every secret-named key
    (through mappings and lists, also a `[name, value]` pair such as a header), and every
    credential inside a string (`mask_text`). The literal values hidden are appended to
    `found` when it is given, so that a message quoting one can be cleaned with them."""
    if isinstance(value, dict):
        return {
            key: _hidden(item, found) if is_secret(key) else mask_secrets(item, found)
            for key, item in value.items()
        }
    if isinstance(value, list):
        if len(value) == 2 and isinstance(value[0], str) and is_secret(value[0]):
            return [value[0], _hidden(value[1], found)]
        return [mask_secrets(item, found) for item in value]
    if isinstance(value, str):
        return mask_text(value, found)
    return value


def _hidden(value: Any, found: list[str] | None) -> Any:
    """What a secret-named key shows: '****' for any value that is set."""
    if value is None or value == "":
        return value
    if found is not None:
        found.extend(_leaves(value))
    return MASK


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _leaves(item)]
    if isinstance(value, list):
        return [text for item in value for text in _leaves(item)]
    return [] if value is None or isinstance(value, bool) else [str(value)]
