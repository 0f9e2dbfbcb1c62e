"""Is a value plain JSON data? Shared by the host and the storage backends that check it."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["MAX_JSON_DEPTH", "json_problem"]

#: How deeply JSON data may nest; deeper metadata is a mistake, and JSON encoders recurse.
MAX_JSON_DEPTH = 32


def json_problem(value: Any, path: str, depth: int = 0) -> str | None:
    """What keeps `value` from being stored as JSON and read back unchanged, naming where it is
    (e.g. "metadata['a'][0] has type set, ..."), or None when it is plain JSON data.

    Stricter than json.dumps, which silently turns non-str keys into strings and writes lone
    surrogates (undecodable bytes read with errors='surrogateescape') as escapes.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            return (
                f"{path} is not valid UTF-8 text: lone surrogate "
                f"U+{ord(value[error.start]):04X} at index {error.start}; decode bytes "
                f"with errors='strict' or 'replace', not 'surrogateescape'"
            )
        return None
    if value is None or isinstance(value, int):  # bool is an int
        return None
    if isinstance(value, float):
        return (
            None
            if math.isfinite(value)
            else (f"{path} is {value!r}, which JSON cannot hold; use a finite number or None")
        )
    if not isinstance(value, (dict, list, tuple)):
        return (
            f"{path} has type {type(value).__name__}, which JSON cannot hold; use str, "
            f"int, float, bool, None, list or dict"
        )
    if depth == MAX_JSON_DEPTH:
        return f"{path} nests more than {MAX_JSON_DEPTH} levels deep; flatten it"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return (
                    f"{path} has the key {key!r} ({type(key).__name__}); JSON keys are "
                    f"strings, e.g. {str(key)!r}"
                )
            where = f"{path}[{key!r}]"
            problem = json_problem(key, f"the key of {where}") or json_problem(
                item, where, depth + 1
            )
            if problem:
                return problem
        return None
    if set(map(type, value)) == {float} and all(map(math.isfinite, value)):
        return None  # an embedding: 10x faster than the walk below
    for index, item in enumerate(value):
        problem = json_problem(item, f"{path}[{index}]", depth + 1)
        if problem:
            return problem
    return None
