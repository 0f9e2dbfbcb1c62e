"""Three-way merge of one text file, with `git merge-file` where git exists, else difflib.

It knows nothing of OMI: `omi.update` gives it the base, the author's and the template's text.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from omi import git

__all__ = ["Labels", "MergeResult", "merge_texts"]


@dataclass(frozen=True)
class Labels:
    """What the conflict markers call each side."""

    ours: str = "yours"
    base: str = "template as generated"
    theirs: str = "template"


@dataclass(frozen=True)
class MergeResult:
    text: str
    conflicts: int


def merge_texts(
    base: str, ours: str, theirs: str, labels: Labels = Labels(), engine: str = "auto"
) -> MergeResult:
    """Three-way merge of one file's text: `git merge-file` where git exists, else difflib.

    Files the author converted to CRLF are merged on LF text and written back with CRLF.
    """
    crlf = "\r\n" in ours and "\r\n" not in base
    if crlf:
        ours = ours.replace("\r\n", "\n")
    if engine == "auto":
        engine = "git" if git.available() else "python"
    merge = {"git": _merge_with_git, "python": _merge_with_difflib}[engine]
    result = merge(base, ours, theirs, labels)
    if crlf:
        result = MergeResult(result.text.replace("\n", "\r\n"), result.conflicts)
    return result


def _merge_with_git(base: str, ours: str, theirs: str, labels: Labels) -> MergeResult:
    text, conflicts = git.merge_file(base, ours, theirs, (labels.ours, labels.base, labels.theirs))
    return MergeResult(text, conflicts)


def _merge_with_difflib(base: str, ours: str, theirs: str, labels: Labels) -> MergeResult:
    """diff3 over lines: stable runs that all three share, changed chunks between them."""
    base_lines, our_lines, their_lines = (
        text.splitlines(keepends=True) for text in (base, ours, theirs)
    )
    out: list[str] = []
    conflicts = 0
    for region in _merge_regions(base_lines, our_lines, their_lines):
        if len(region) == 1:
            out += region[0]
            continue
        conflicts += 1
        mine, template = region
        out.append(f"<<<<<<< {labels.ours}\n")
        out += _terminated(mine)
        out.append("=======\n")
        out += _terminated(template)
        out.append(f">>>>>>> {labels.theirs}\n")
    return MergeResult("".join(out), conflicts)


def _terminated(lines: list[str]) -> list[str]:
    return lines[:-1] + [lines[-1] + "\n"] if lines and not lines[-1].endswith("\n") else lines


def _matches(base: Sequence[str], other: Sequence[str]) -> dict[int, int]:
    """For each base line that `other` kept, where it is in `other`."""
    matcher = difflib.SequenceMatcher(None, base, other, autojunk=False)
    return {i + k: j + k for i, j, size in matcher.get_matching_blocks() for k in range(size)}


def _merge_regions(
    base: list[str], ours: list[str], theirs: list[str]
) -> Iterable[tuple[list[str], ...]]:
    """Yield (lines,) for settled text and (ours, theirs) for each conflict."""
    in_ours, in_theirs = _matches(base, ours), _matches(base, theirs)
    i = o = t = 0
    while True:
        run = 0
        while (
            i + run < len(base)
            and in_ours.get(i + run) == o + run
            and in_theirs.get(i + run) == t + run
        ):
            run += 1
        if run:
            yield (base[i : i + run],)
            i, o, t = i + run, o + run, t + run
            continue
        sync = i
        while sync < len(base) and not (sync in in_ours and sync in in_theirs):
            sync += 1
        o_end, t_end = (
            (in_ours[sync], in_theirs[sync]) if sync < len(base) else (len(ours), len(theirs))
        )
        yield from _resolve(base[i:sync], ours[o:o_end], theirs[t:t_end])
        if sync >= len(base):
            return
        i, o, t = sync, o_end, t_end


def _resolve(
    base: list[str], ours: list[str], theirs: list[str]
) -> Iterable[tuple[list[str], ...]]:
    """One changed chunk: take the side that changed; a conflict keeps only what differs."""
    if ours == theirs or theirs == base:
        yield (ours,)
    elif ours == base:
        yield (theirs,)
    else:
        head = 0
        while head < min(len(ours), len(theirs)) and ours[head] == theirs[head]:
            head += 1
        tail = 0
        while (
            tail < min(len(ours), len(theirs)) - head
            and ours[len(ours) - 1 - tail] == theirs[len(theirs) - 1 - tail]
        ):
            tail += 1
        yield (ours[:head],)
        yield (ours[head : len(ours) - tail], theirs[head : len(theirs) - tail])
        yield (ours[len(ours) - tail :],)
