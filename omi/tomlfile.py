"""Reading a pyproject.toml: bounded in size, with whichever TOML parser this Python has.

Python 3.10 has none built in; there `tomli` is used when it is installed. Callers decide what
a missing parser means: a hint left out (omi.diagnosis) or an error (`plugins update --init`).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["MAX_BYTES", "NoParser", "load"]

MAX_BYTES = 1024 * 1024  # pyproject.toml files are a few kilobytes


class NoParser(LookupError):
    """Python before 3.11 without tomli installed."""


def load(path: str, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """The document in the TOML file at `path`, reading at most `max_bytes` of it.

    Raises NoParser, OSError when the file cannot be read, and ValueError (whose message
    completes "<path> ...") when it is too large, not UTF-8 or not TOML.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        try:
            import tomli as tomllib
        except ImportError:
            raise NoParser(
                "reading pyproject.toml needs Python 3.11+ or `pip install tomli`"
            ) from None
    with open(path, "rb") as file:
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(
            f"is larger than {max_bytes // 1024} KiB, which no pyproject.toml "
            f"needs; check that this is the right file"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("is not UTF-8 text; save it as UTF-8") from None
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as error:
        raise ValueError(f"is not valid TOML ({error})") from None
    return document
