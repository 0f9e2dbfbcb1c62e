"""The three-way merge engines (omi.merge): Python's and git's agree, line by line."""

from __future__ import annotations

import random

import pytest
from template_projects import ENGINES

from omi.merge import Labels, MergeResult, merge_texts

pytestmark = pytest.mark.usefixtures("isolated_git")  # see conftest


def numbered(count: int) -> list[str]:
    return [f"line {i}\n" for i in range(count)]


@pytest.mark.parametrize("engine", ENGINES)
def test_disjoint_edits_merge_cleanly(engine: str):
    base = numbered(10)
    ours = base[:2] + ["ours\n"] + base[3:]
    theirs = base[:7] + ["theirs 1\n", "theirs 2\n"] + base[8:] + ["appended\n"]
    result = merge_texts("".join(base), "".join(ours), "".join(theirs), engine=engine)
    expected = (
        base[:2] + ["ours\n"] + base[3:7] + ["theirs 1\n", "theirs 2\n"] + base[8:] + ["appended\n"]
    )
    assert result == MergeResult("".join(expected), 0)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_same_change_on_both_sides_is_not_a_conflict(engine: str):
    base = "".join(numbered(5))
    both = base.replace("line 2\n", "two\n")
    assert merge_texts(base, both, both, engine=engine) == MergeResult(both, 0)


@pytest.mark.parametrize("engine", ENGINES)
def test_overlapping_edits_get_standard_markers_around_only_what_differs(engine: str):
    base = "a\nb\nc\nd\n"
    result = merge_texts(
        base,
        "a\nB\nc\nd\n",
        "a\nb2\nc\nd\n",
        Labels(ours="yours", theirs="template (omi-openclaw 9.9)"),
        engine,
    )
    assert result.conflicts == 1
    assert result.text == (
        "a\n<<<<<<< yours\nB\n=======\nb2\n>>>>>>> template (omi-openclaw 9.9)\nc\nd\n"
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_a_last_line_without_newline_and_crlf_files(engine: str):
    result = merge_texts("a\nb", "a\nb\nmine\n", "z\na\nb", engine=engine)
    assert result == MergeResult("z\na\nb\nmine\n", 0)
    crlf = merge_texts("a\nb\nc\n", "a\r\nB\r\nc\r\n", "a\nb\nc\nd\n", engine=engine)
    assert crlf == MergeResult("a\r\nB\r\nc\r\nd\r\n", 0)
    conflict = merge_texts("a\nb", "a\nmine", "a\ntheirs", engine=engine)
    assert conflict.conflicts == 1
    assert "mine\n=======\ntheirs\n>>>>>>> template\n" in conflict.text


def take_side(text: str, side: str) -> str:
    """Resolve every conflict in `text` by taking one side."""
    out, state = [], None
    for line in text.splitlines(keepends=True):
        if line.startswith("<<<<<<< "):
            state = "ours"
        elif line == "=======\n" and state:
            state = "theirs"
        elif line.startswith(">>>>>>> ") and state:
            state = None
        elif state in (None, side):
            out.append(line)
    return "".join(out)


@pytest.mark.parametrize("engine", ENGINES)
def test_random_edits_merge_like_applying_both(engine: str):
    """Edits in separate places merge to both applied; overlapping ones conflict, and taking
    one side of every conflict gives back that side's file."""
    rng = random.Random(20261125)
    for case in range(150):
        base = numbered(rng.randint(6, 30))
        edits = sorted(rng.sample(range(len(base)), rng.randint(2, min(6, len(base)))))
        ours, theirs, expected = [], [], []
        for index, line in enumerate(base):
            if index in edits and edits.index(index) % 2 == 0 and index - 1 not in edits:
                ours.append(f"ours {index}\n")
                theirs.append(line)
                expected.append(f"ours {index}\n")
            elif index in edits and index - 1 not in edits:
                ours.append(line)
                theirs += [f"theirs {index}\n", f"theirs {index}b\n"]
                expected += [f"theirs {index}\n", f"theirs {index}b\n"]
            else:
                ours.append(line)
                theirs.append(line)
                expected.append(line)
        clean = merge_texts("".join(base), "".join(ours), "".join(theirs), engine=engine)
        assert clean == MergeResult("".join(expected), 0), case

        start = rng.randrange(len(base) - 2)
        ours = base[:start] + ["mine\n"] + base[start + 2 :]
        theirs = base[: start + 1] + ["yours truly\n"] + base[start + 2 :]
        clash = merge_texts("".join(base), "".join(ours), "".join(theirs), engine=engine)
        assert clash.conflicts >= 1, case
        assert take_side(clash.text, "ours") == "".join(ours), case
        assert take_side(clash.text, "theirs") == "".join(theirs), case
