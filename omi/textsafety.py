"""Showing text OMI did not write: plugins, their metadata and errors, stored memories, config
values, file names. Any of it may hold characters that drive a terminal, add, overwrite or
reorder a line, or break the JSON, XML or UTF-8 it is printed into; every output of OMI shows
such text through here: `visible` (a value), `one_line` (a message), `error_line` (an error),
`json_text` (a document), `safe_lines` (text already laid out in lines). What plugins print
themselves goes to stderr (`plugin_output_to_stderr`), so that stdout carries only OMI's own.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

# What no text OMI did not write may show raw, in any output: the controls (Cc: C0 with tab and
# line breaks, DEL, the C1 controls such as CSI), the format characters (Cf: the bidi
# embeddings, overrides, isolates and marks that reorder a line, zero-width characters, the
# BOM, tags), the line and paragraph separators (Zl, Zp), the lone surrogates UTF-8 cannot
# encode (Cs), and the noncharacters XML 1.0 cannot carry. Plugins, their metadata, their
# errors, stored memories and file paths are such text.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_NONCHARACTERS = "\ufffe\uffff"


def unsafe(char: str) -> bool:
    """Whether one character is of the kinds above."""
    import unicodedata  # only for text that is not all printable

    return char in _NONCHARACTERS or unicodedata.category(char) in UNSAFE_CATEGORIES


def visible(text: object) -> str:
    """`text` on one line, each character of the kinds above written as its Python escape
    (\\n, \\x1b, \\u202e), so that no plugin, stored memory or file name can drive the
    terminal, add or overwrite a line, reorder one, or break the XML or the UTF-8 that OMI
    prints it to."""
    text = str(text)
    if text.isprintable():  # the usual case, at C speed
        return text
    return "".join(ascii(char)[1:-1] if unsafe(char) else char for char in text)


def one_line(text: object) -> str:
    """Collapse a message onto one line (each run of whitespace, line breaks included, one
    space), for errors and list entries, `visible`."""
    return visible(" ".join(str(text).split()))


def safe_lines(text: str, layout: str = "\n") -> bool:
    """Whether `text` holds no character of the kinds above but those of `layout`: its line
    feeds, and for a file shown as it is, its tabs and carriage returns too."""
    printable = text
    for char in layout.replace("\n", ""):
        printable = printable.replace(char, " ")
    return all(line.isprintable() for line in printable.split("\n")) or not any(
        unsafe(char) for char in text if char not in layout
    )


def error_line(error: BaseException) -> str:
    """One line for an error; one without a message (a MemoryError) is named by its type
    rather than printed as a bare 'Error: '."""
    return one_line(error) or (
        f"{type(error).__name__} (no message); rerun with --debug for the traceback"
    )


def json_text(document: Any, indent: int | None = 2) -> str:
    """`document` as JSON whose strings keep their data, every character of the kinds above
    written as a \\u escape (json escapes C0 itself, but writes DEL, C1, bidi controls and lone
    surrogates raw): valid JSON that cannot drive a terminal or reorder a line."""
    import json

    text = json.dumps(document, indent=indent, ensure_ascii=False)
    if safe_lines(text):  # the newlines are json's own
        return text
    return "".join(_json_escape(char) if char != "\n" and unsafe(char) else char for char in text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON spells a character beyond the BMP as a surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


@contextlib.contextmanager
def plugin_output_to_stderr() -> Iterator[None]:
    """A context in which whatever plugins write to stdout goes to stderr, so that stdout
    carries only the command's own output (a plugin printing on import must not break
    --format json). File descriptor 1 itself points to stderr meanwhile, for output that
    bypasses sys.stdout (os.write(1, ...), C libraries, forked children)."""
    import sys

    sys.stdout.flush()
    real_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()  # what a plugin wrote to sys.__stdout__ belongs to stderr too
        os.dup2(real_stdout, 1)
        os.close(real_stdout)
