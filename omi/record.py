"""The record a generated plugin carries: its answers file and the stored base rendering.

`.omi-template.json` holds the answers `omi plugins new` was given; `.omi-template-base.json`
holds the pristine rendering they produced, which `omi plugins update` merges against. Both may
come from someone else's pull request, so reading them checks shape, size and every path.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omi.confine import check_relative
from omi.errors import UpdateError
from omi.kinds import KIND_NAMES

ANSWERS_FILE = ".omi-template.json"
BASE_FILE = ".omi-template-base.json"
RECORD_FILES = (ANSWERS_FILE, BASE_FILE)
# Far beyond any record `omi plugins new` writes (about 20 kB), far below a memory problem.
MAX_RECORD_BYTES = 4 << 20
RECORD_SHAPES = {
    "template": (str, "text"),
    "name": (str, "text"),
    "omi_openclaw_version": (str, "text"),
    "variables": (dict, "a JSON object"),
    "skip": (list, "a list of globs"),
    "base": (dict, "a JSON object"),
    "suite_noted": (str, "text"),
}
BASE_NOTE = (
    "The rendering of the omi-openclaw template this project was last updated from; "
    "`omi plugins update` merges template changes against it. Do not edit."
)

Files = dict[str, bytes]


def as_text(content: bytes | None) -> str | None:
    if content is None or b"\0" in content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def fingerprint(files: Mapping[str, bytes]) -> str:
    """A digest of a rendering's paths and contents, independent of how the base is stored."""
    digest = hashlib.sha256()
    for path in sorted(files):
        content = files[path]
        digest.update(f"{path}\0{len(content)}\0".encode())
        digest.update(content)
    return f"sha256:{digest.hexdigest()}"


def _encode_base(files: Mapping[str, bytes]) -> str:
    """The base file: one JSON string per line of each text file, so it diffs readably."""
    encoded: dict[str, Any] = {}
    for path in sorted(files):
        text = as_text(files[path])
        encoded[path] = (
            text.splitlines(keepends=True)
            if text is not None
            else {"base64": base64.b64encode(files[path]).decode("ascii")}
        )
    return json.dumps({"about": BASE_NOTE, "files": encoded}, indent=1, ensure_ascii=False) + "\n"


def _decode_base(document: Any) -> Files:
    """The files of a base file's JSON. ValueError names the first entry that is not a plain
    relative path with a list of lines or {"base64": ...}: a base may come from someone else's
    pull request, and an update deletes the files it lists that are unchanged."""
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, dict):
        raise ValueError("it has no 'files' object")
    decoded = {}
    for path, value in files.items():
        check_relative(path)
        if path in RECORD_FILES or ".git" in path.lower().split("/"):
            raise ValueError(f"it lists {path}, which no rendering has")
        if isinstance(value, list) and all(isinstance(line, str) for line in value):
            decoded[path] = "".join(value).encode("utf-8")
        elif isinstance(value, dict) and isinstance(value.get("base64"), str):
            try:
                decoded[path] = base64.b64decode(value["base64"], validate=True)
            except binascii.Error:
                raise ValueError(f"the content of {path} is not valid base64") from None
        else:
            raise ValueError(
                f'the content of {path} is neither a list of lines nor {{"base64": "..."}}'
            )
    return decoded


def record_files(answers: dict[str, Any], base: Files) -> Files:
    """The answers file and the base file for `answers` and the rendering `base`."""
    answers = {**answers, "base": {"file": BASE_FILE, "fingerprint": fingerprint(base)}}
    return {
        ANSWERS_FILE: (json.dumps(answers, indent=2) + "\n").encode("utf-8"),
        BASE_FILE: _encode_base(base).encode("utf-8"),
    }


def read_tree(directory: Path) -> Files:
    """Every regular file under `directory` (the record files left out), by posix path."""
    files = {}
    for path in directory.rglob("*"):
        relative = path.relative_to(directory).as_posix()
        if path.is_file() and not path.is_symlink() and relative not in RECORD_FILES:
            files[relative] = path.read_bytes()
    return files


def record_rendering(rendered: Path, answers: dict[str, Any]) -> dict[str, Any]:
    """Write the answers file and the base into a fresh rendering; return the answers written."""
    written = record_files(answers, read_tree(rendered))
    for name, content in written.items():
        (rendered / name).write_bytes(content)
    answers_written: dict[str, Any] = json.loads(written[ANSWERS_FILE])
    return answers_written


def read_record(project: Path) -> tuple[dict[str, Any], Files]:
    """The answers and the base of `project`, checked; UpdateError says what is wrong."""
    answers_path, base_path = project / ANSWERS_FILE, project / BASE_FILE
    if not answers_path.is_file():
        raise _no_answers(project)
    answers = _checked_answers(answers_path)
    if not base_path.is_file():
        raise UpdateError(
            f"{project} has no {BASE_FILE}, the rendering the update merges "
            f"against; restore it from version control, or delete {ANSWERS_FILE} "
            f"and run `omi plugins update --init`"
        )
    try:
        base = _decode_base(_read_record_file(base_path))
    except ValueError as error:  # UnsafePath too
        raise UpdateError(
            f"{base_path} is damaged: {error}; restore it from version control"
        ) from None
    if answers.get("base", {}).get("fingerprint") != fingerprint(base):
        raise UpdateError(
            f"{BASE_FILE} does not match {ANSWERS_FILE} (edited by hand, or the two "
            f"come from different commits); restore both from version control"
        )
    answers.setdefault("skip", [])
    return answers, base


def _no_answers(project: Path) -> UpdateError:
    """Why `project` has no answers file: inside another project, or never rendered."""
    outer = next((parent for parent in project.parents if (parent / ANSWERS_FILE).is_file()), None)
    if outer is not None:
        return UpdateError(
            f"{project} is inside the plugin project {outer}; run omi plugins "
            f"update there, or pass it as PATH"
        )
    return UpdateError(
        f"{project} has no {ANSWERS_FILE} (it was not made by omi plugins "
        f"new); run `omi plugins update --init` to record its answers from "
        f"pyproject.toml"
    )


def _checked_answers(answers_path: Path) -> dict[str, Any]:
    """The answers file, checked against the shapes a record has."""
    answers = _read_record_file(answers_path)
    if not isinstance(answers, dict):
        raise UpdateError(f"{answers_path} is not a JSON object; restore it from version control")
    missing = [key for key in ("template", "name", "variables") if key not in answers]
    if missing:
        raise UpdateError(
            f"{answers_path} lacks {', '.join(missing)}; restore it from version control"
        )
    for key, (kind, wanted) in RECORD_SHAPES.items():
        if key in answers and not isinstance(answers[key], kind):
            shown = json.dumps(answers[key])
            raise UpdateError(
                f"{answers_path}: '{key}' must be {wanted}, not "
                f"{shown if len(shown) <= 40 else shown[:37] + '...'}; restore it "
                f"from version control"
            )
    if not all(isinstance(glob, str) for glob in answers.get("skip", [])):
        raise UpdateError(
            f"{answers_path}: 'skip' must list globs as strings; restore it from version control"
        )
    if answers["template"] not in KIND_NAMES:
        raise UpdateError(
            f"{answers_path} names an unknown template "
            f"'{answers['template']}'; expected one of {', '.join(KIND_NAMES)}"
        )
    recorded = answers.get("base", {})
    if (
        not isinstance(recorded.get("fingerprint", ""), str)
        or recorded.get("file", BASE_FILE) != BASE_FILE
    ):
        raise UpdateError(
            f'{answers_path}: \'base\' must be {{"file": "{BASE_FILE}", '
            f'"fingerprint": "sha256:..."}}; restore it from version control'
        )
    return answers


def _read_record_file(path: Path) -> Any:
    """The JSON of a record file, which must be a regular file (a symlink could show any
    file of the machine) of at most MAX_RECORD_BYTES."""
    if path.is_symlink() or not path.is_file():
        raise UpdateError(
            f"{path} is a symlink or not a regular file; restore it from version control"
        )
    with path.open("rb") as stream:
        data = stream.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        raise UpdateError(
            f"{path} is larger than {MAX_RECORD_BYTES >> 20} MiB, far more than "
            f"omi plugins new writes; restore it from version control"
        )
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError too
        raise UpdateError(
            f"{path} is damaged: not valid JSON ({error}); restore it from version control"
        ) from None
    except RecursionError:
        raise UpdateError(
            f"{path} is damaged: nested too deeply; restore it from version control"
        ) from None
