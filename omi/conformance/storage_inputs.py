"""Checks of what storage backends do with the inputs the guide's tables name: wrong types and
values raise the exception the table gives, and query text is data, never syntax."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from functools import partial
from typing import Any

from omi.conformance.authoring import (
    WRONG_TYPE,
    CheckFailure,
    Context,
    check,
    expect,
    expect_raises,
    names_of,
)
from omi.conformance.storage import _ids, _memory, _unique_word, _word

#: Memories store_memory() must refuse: (what it is, the memory, the exceptions that refuse it).
BAD_MEMORIES: list[tuple[str, Any, tuple[type[Exception], ...]]] = [
    ("a str instead of a dict", "remember this", WRONG_TYPE),
    ("a list of pairs instead of a dict", [("content", "remember this")], WRONG_TYPE),
    ("a dict without 'content'", {"metadata": {}}, (ValueError,)),
    ("content that is an int", {"content": 42, "metadata": {}}, WRONG_TYPE),
    ("blank content", {"content": " \n\t ", "metadata": {}}, (ValueError,)),
]


@check(
    "storage",
    "store_memory() raises TypeError for a memory that is not a dict, and "
    "ValueError for content missing, not a str or blank, and for a value JSON "
    "cannot hold (a datetime, NaN), either for a wrong type; nothing of a refused "
    "memory is stored",
    rules=("store_memory.bad_input",),
    why="the caller learns at once that its memory was not stored; a datetime silently "
    "turned into a str comes back as another type",
    fix="check isinstance(memory, dict) (TypeError), the content (ValueError), and "
    "json.dumps(memory, allow_nan=False) before writing (ValueError)",
)
def store_memory_rejects_bad_input(ctx: Context) -> None:
    for what, memory, kinds in BAD_MEMORIES:
        expect_raises(
            kinds,
            partial(ctx.plugin.store_memory, memory),
            f"{names_of(kinds)} from store_memory() for {what}",
            f"raise {kinds[0].__name__} naming what is wrong with the memory",
        )
    for what, value in (
        ("a datetime", datetime(2026, 1, 1, tzinfo=timezone.utc)),
        ("NaN", math.nan),
        ("a set", {"a"}),
    ):
        memory = _memory(ctx, "bad")
        memory["metadata"] = {"value": value}
        expect_raises(
            WRONG_TYPE,
            partial(ctx.plugin.store_memory, memory),
            f"ValueError (or TypeError) from store_memory() for metadata holding {what}",
            "check the memory is JSON data (json.dumps(memory, allow_nan=False) "
            "raises TypeError or ValueError) and raise ValueError before storing",
        )
        found = _ids(ctx.plugin.recall(_unique_word(memory), limit=10))
        expect(
            not found,
            f"nothing stored of the memory refused for {what}",
            f"it is recalled as {found}",
            "validate the whole memory before writing anything",
        )


@check(
    "storage",
    "recall() raises TypeError for a query that is not a str, and ValueError "
    "for a limit that is negative or not an int, either for a wrong type",
    rules=("recall.bad_input",),
    why="a wrong argument is a bug in the caller, which must hear of it instead of getting "
    "a made-up result",
    fix="check isinstance(query, str) (TypeError) and that limit is an int of 0 or more "
    "(ValueError) before searching",
)
def recall_rejects_bad_input(ctx: Context) -> None:
    for query in (42, None, b"remember"):
        expect_raises(
            WRONG_TYPE,
            partial(ctx.plugin.recall, query, limit=5),
            f"TypeError (or ValueError) from recall({query!r})",
            "raise TypeError when query is not a str",
        )
    for limit, kinds in ((-1, (ValueError,)), ("3", WRONG_TYPE), (2.5, WRONG_TYPE)):
        expect_raises(
            kinds,
            partial(ctx.plugin.recall, "remember", limit=limit),
            f"{names_of(kinds)} from recall('remember', limit={limit!r})",
            "raise ValueError unless limit is an int of 0 or more",
        )


@check(
    "storage",
    "add_edge() raises ValueError for a blank edge type",
    rules=("add_edge.blank_type",),
    why="an edge without a type says nothing about how two memories relate",
    fix='raise ValueError("edge_type must be a non-empty string") when edge_type.strip() is empty',
)
def add_edge_rejects_blank_type(ctx: Context) -> None:
    a, b = (ctx.plugin.store_memory(_memory(ctx, tag)) for tag in "ab")
    for edge_type in ("", "  \n"):
        expect_raises(
            (ValueError,),
            partial(ctx.plugin.add_edge, a, b, edge_type),
            f"ValueError from add_edge(a, b, {edge_type!r})",
            "raise ValueError for a blank edge_type",
        )


#: Queries holding a stored memory's word ({0}) among text that is syntax somewhere (SQL,
#: FTS5, tsquery, Lucene, LIKE): each must find the memory, whose content holds every other
#: word of them.
QUERIES_AROUND_A_WORD = [
    "it's {0}",
    '"{0}"',
    '"{0}',
    "{0} AND",
    "{0} OR",
    "NOT {0}",
    "{0} NEAR",
    "{0}*",
    "({0}",
    "{0})",
    "{0}:",
    "^{0}",
    "{0}\0",
    "{0} -",
    "{0}; DROP TABLE memories",
    "{0} %",
]
#: Queries that are nothing but syntax: recall must answer them (with anything) and not raise.
SYNTAX_ONLY = [
    '"',
    "'",
    "AND",
    "OR OR",
    "NOT",
    "(",
    ")",
    "*",
    ":",
    "^",
    "\0",
    "NEAR(",
    "%",
    "_",
    "\\",
    "'; --",
    "content:",
    "a:b",
    "{}",
]


@check(
    "storage",
    "query text is data: quotes, AND/OR/NOT/NEAR, *, parentheses, :, ^ and NUL "
    "in a query never raise and never keep it from finding a memory holding its "
    "words",
    rules=("recall.query_is_data",),
    why="queries come from agents and users; a database error for an apostrophe, or a word "
    "read as an operator, loses the recall",
    fix="pass the query as a bound parameter; for full-text syntax, quote each word (FTS5: "
    "'\"' + word.replace('\"', '\"\"') + '\"') or use plainto_tsquery, and drop NULs",
)
def query_text_is_data(ctx: Context) -> None:
    word = _word(ctx)
    memory_id = ctx.plugin.store_memory(
        {
            "content": f"remember {word} and or not near it's a test; drop table memories",
            "metadata": {},
        }
    )
    for template in QUERIES_AROUND_A_WORD:
        query = template.format(word)
        found = _ids(_recall(ctx, query))
        expect(
            memory_id in found,
            f"recall({query!r}) to find the memory holding each of its words",
            f"ids {found}",
            "treat every character of the query as text to match, not as syntax",
        )
    for query in SYNTAX_ONLY:
        results = _recall(ctx, query)
        expect(
            isinstance(results, list),
            f"a list from recall({query!r})",
            results,
            "return a list, [] when nothing matches",
        )


def _recall(ctx: Context, query: str) -> Any:
    """recall(query), failing with the query named when it raises."""
    try:
        return ctx.plugin.recall(query, limit=10)
    except CheckFailure:
        raise
    except Exception as error:  # noqa: BLE001 - raising is the finding
        raise CheckFailure(
            f"recall({query!r}) to answer",
            f"{type(error).__name__}: {error}",
            "pass the query as data (a bound parameter, each word quoted for "
            "full-text search), never into the query's syntax",
        ) from None
