"""`omi plugins update`: bring a generated plugin up to date with the installed templates.

`omi plugins new` stores the pristine rendering a project started from (the *base*) beside
the answers file. An update renders the installed templates again with the same answers and
merges the template's changes (base -> fresh rendering) into the author's files (base ->
project) file by file, with a three-way merge: edits on both sides survive, overlapping edits
become standard conflict markers. The base travels with the project, so this works after
`pip install -U omi-openclaw`, offline, and without git; see README, "Keeping a plugin current".

Nothing is written until every file's new content is known and staged beside its target; the
staged files then replace the originals, and any failure puts the originals back.
"""

from __future__ import annotations

import base64
import binascii
import copy
import difflib
import fnmatch
import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from omi import __version__
from omi.atomic import write_atomically
from omi.confine import UnsafePath, check_relative, confined
from omi.errors import UpdateError
from omi.scaffold import (
    ANSWERS_FILE,
    PLUGIN_TYPES,
    ScaffoldError,
    _template_variables,
    new_plugin,
    plugin_names,
    templates_root,
)

BASE_FILE = ".omi-template-base.json"
RECORD_FILES = (ANSWERS_FILE, BASE_FILE)
# Far beyond any record `omi plugins new` writes (about 20 kB), far below a memory problem.
MAX_RECORD_BYTES = 4 << 20
RECORD_SHAPES = {"template": (str, "text"), "name": (str, "text"),
                 "omi_openclaw_version": (str, "text"), "variables": (dict, "a JSON object"),
                 "skip": (list, "a list of globs"), "base": (dict, "a JSON object")}
BASE_NOTE = ("The rendering of the omi-openclaw template this project was last updated from; "
             "`omi plugins update` merges template changes against it. Do not edit.")

Files = Dict[str, bytes]


# --- the record: answers file and stored base ---------------------------------------------


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
    encoded: Dict[str, Any] = {}
    for path in sorted(files):
        text = _as_text(files[path])
        encoded[path] = (text.splitlines(keepends=True) if text is not None
                         else {"base64": base64.b64encode(files[path]).decode("ascii")})
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
            raise ValueError(f"the content of {path} is neither a list of lines nor "
                             f'{{"base64": "..."}}')
    return decoded


def record_files(answers: Dict[str, Any], base: Files) -> Files:
    """The answers file and the base file for `answers` and the rendering `base`."""
    answers = {**answers, "base": {"file": BASE_FILE, "fingerprint": fingerprint(base)}}
    return {ANSWERS_FILE: (json.dumps(answers, indent=2) + "\n").encode("utf-8"),
            BASE_FILE: _encode_base(base).encode("utf-8")}


def read_tree(directory: Path) -> Files:
    """Every regular file under `directory` (the record files left out), by posix path."""
    files = {}
    for path in directory.rglob("*"):
        relative = path.relative_to(directory).as_posix()
        if path.is_file() and not path.is_symlink() and relative not in RECORD_FILES:
            files[relative] = path.read_bytes()
    return files


def record_rendering(rendered: Path, answers: Dict[str, Any]) -> Dict[str, Any]:
    """Write the answers file and the base into a fresh rendering; return the answers written."""
    written = record_files(answers, read_tree(rendered))
    for name, content in written.items():
        (rendered / name).write_bytes(content)
    return json.loads(written[ANSWERS_FILE])


def read_record(project: Path) -> Tuple[Dict[str, Any], Files]:
    """The answers and the base of `project`, checked; UpdateError says what is wrong."""
    answers_path, base_path = project / ANSWERS_FILE, project / BASE_FILE
    if not answers_path.is_file():
        outer = next((parent for parent in project.parents if (parent / ANSWERS_FILE).is_file()),
                     None)
        if outer is not None:
            raise UpdateError(f"{project} is inside the plugin project {outer}; run omi plugins "
                              f"update there, or pass it as PATH")
        raise UpdateError(f"{project} has no {ANSWERS_FILE} (it was not made by omi plugins "
                          f"new); run `omi plugins update --init` to record its answers from "
                          f"pyproject.toml")
    answers = _read_record_file(answers_path)
    if not isinstance(answers, dict):
        raise UpdateError(f"{answers_path} is not a JSON object; restore it from version control")
    missing = [key for key in ("template", "name", "variables") if key not in answers]
    if missing:
        raise UpdateError(f"{answers_path} lacks {', '.join(missing)}; restore it from version "
                          f"control")
    for key, (kind, wanted) in RECORD_SHAPES.items():
        if key in answers and not isinstance(answers[key], kind):
            shown = json.dumps(answers[key])
            raise UpdateError(f"{answers_path}: '{key}' must be {wanted}, not "
                              f"{shown if len(shown) <= 40 else shown[:37] + '...'}; restore it "
                              f"from version control")
    if not all(isinstance(glob, str) for glob in answers.get("skip", [])):
        raise UpdateError(f"{answers_path}: 'skip' must list globs as strings; restore it from "
                          f"version control")
    if answers["template"] not in PLUGIN_TYPES:
        raise UpdateError(f"{answers_path} names an unknown template "
                          f"'{answers['template']}'; expected one of {', '.join(PLUGIN_TYPES)}")
    recorded = answers.get("base", {})
    if not isinstance(recorded.get("fingerprint", ""), str) or \
            recorded.get("file", BASE_FILE) != BASE_FILE:
        raise UpdateError(f"{answers_path}: 'base' must be {{\"file\": \"{BASE_FILE}\", "
                          f"\"fingerprint\": \"sha256:...\"}}; restore it from version control")
    if not base_path.is_file():
        raise UpdateError(f"{project} has no {BASE_FILE}, the rendering the update merges "
                          f"against; restore it from version control, or delete {ANSWERS_FILE} "
                          f"and run `omi plugins update --init`")
    try:
        base = _decode_base(_read_record_file(base_path))
    except ValueError as error:  # UnsafePath too
        raise UpdateError(f"{base_path} is damaged: {error}; restore it from version "
                          f"control") from None
    if recorded.get("fingerprint") != fingerprint(base):
        raise UpdateError(f"{BASE_FILE} does not match {ANSWERS_FILE} (edited by hand, or the two "
                          f"come from different commits); restore both from version control")
    answers.setdefault("skip", [])
    return answers, base


def _read_record_file(path: Path) -> Any:
    """The JSON of a record file, which must be a regular file (a symlink could show any
    file of the machine) of at most MAX_RECORD_BYTES."""
    if path.is_symlink() or not path.is_file():
        raise UpdateError(f"{path} is a symlink or not a regular file; restore it from version "
                          f"control")
    with path.open("rb") as stream:
        data = stream.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        raise UpdateError(f"{path} is larger than {MAX_RECORD_BYTES >> 20} MiB, far more than "
                          f"omi plugins new writes; restore it from version control")
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError too
        raise UpdateError(f"{path} is damaged: not valid JSON ({error}); restore it from version "
                          f"control") from None
    except RecursionError:
        raise UpdateError(f"{path} is damaged: nested too deeply; restore it from version "
                          f"control") from None


# --- rendering ----------------------------------------------------------------------------


def render(answers: Mapping[str, Any],
           template_dir: Optional[Path] = None) -> Tuple[Files, Dict[str, Any]]:
    """Render the template again with `answers`: the files, and the answers as recorded."""
    scratch = Path(tempfile.mkdtemp(prefix=".omi-update-"))
    try:
        made = new_plugin(answers["template"], answers["name"], scratch,
                          dict(answers["variables"]), no_input=True, template_dir=template_dir)
        return read_tree(made.project_dir), made.answers
    except ScaffoldError as error:
        raise UpdateError(str(error)) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def still_asked(plugin_type: str, variables: Mapping[str, Any],
                template_dir: Optional[Path] = None) -> Dict[str, Any]:
    """The recorded `variables` the template still has (and a license it still offers)."""
    defaults = _template_variables(template_dir or templates_root() / plugin_type)
    kept = {key: value for key, value in variables.items()
            if key in defaults and not key.startswith("_")}
    if isinstance(defaults.get("license"), list) and kept.get("license") not in defaults["license"]:
        kept.pop("license", None)
    return kept


# --- three-way merge of one text ----------------------------------------------------------


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


def git_available() -> bool:
    return shutil.which("git") is not None


def merge_texts(base: str, ours: str, theirs: str, labels: Labels = Labels(),
                engine: str = "auto") -> MergeResult:
    """Three-way merge of one file's text: `git merge-file` where git exists, else difflib.

    Files the author converted to CRLF are merged on LF text and written back with CRLF.
    """
    crlf = "\r\n" in ours and "\r\n" not in base
    if crlf:
        ours = ours.replace("\r\n", "\n")
    if engine == "auto":
        engine = "git" if git_available() else "python"
    merge = {"git": _merge_with_git, "python": _merge_with_difflib}[engine]
    result = merge(base, ours, theirs, labels)
    if crlf:
        result = MergeResult(result.text.replace("\n", "\r\n"), result.conflicts)
    return result


def _merge_with_git(base: str, ours: str, theirs: str, labels: Labels) -> MergeResult:
    with tempfile.TemporaryDirectory(prefix="omi-merge-") as scratch:
        paths = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(scratch) / name
            path.write_bytes(text.encode("utf-8"))
            paths.append(str(path))
        completed = subprocess.run(
            ["git", "-c", "merge.conflictStyle=merge", "merge-file", "-p",
             "-L", labels.ours, "-L", labels.base, "-L", labels.theirs, *paths],
            capture_output=True, cwd=scratch, timeout=60)
    if not 0 <= completed.returncode < 128:
        raise RuntimeError(f"git merge-file failed: {completed.stderr.decode(errors='replace')}")
    return MergeResult(completed.stdout.decode("utf-8"), completed.returncode)


def _merge_with_difflib(base: str, ours: str, theirs: str, labels: Labels) -> MergeResult:
    """diff3 over lines: stable runs that all three share, changed chunks between them."""
    base_lines, our_lines, their_lines = (text.splitlines(keepends=True)
                                          for text in (base, ours, theirs))
    out: List[str] = []
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


def _terminated(lines: List[str]) -> List[str]:
    return lines[:-1] + [lines[-1] + "\n"] if lines and not lines[-1].endswith("\n") else lines


def _matches(base: Sequence[str], other: Sequence[str]) -> Dict[int, int]:
    """For each base line that `other` kept, where it is in `other`."""
    matcher = difflib.SequenceMatcher(None, base, other, autojunk=False)
    return {i + k: j + k for i, j, size in matcher.get_matching_blocks() for k in range(size)}


def _merge_regions(base: List[str], ours: List[str],
                   theirs: List[str]) -> Iterable[Tuple[List[str], ...]]:
    """Yield (lines,) for settled text and (ours, theirs) for each conflict."""
    in_ours, in_theirs = _matches(base, ours), _matches(base, theirs)
    i = o = t = 0
    while True:
        run = 0
        while (i + run < len(base) and in_ours.get(i + run) == o + run
               and in_theirs.get(i + run) == t + run):
            run += 1
        if run:
            yield (base[i:i + run],)
            i, o, t = i + run, o + run, t + run
            continue
        sync = i
        while sync < len(base) and not (sync in in_ours and sync in in_theirs):
            sync += 1
        o_end, t_end = ((in_ours[sync], in_theirs[sync]) if sync < len(base)
                        else (len(ours), len(theirs)))
        yield from _resolve(base[i:sync], ours[o:o_end], theirs[t:t_end])
        if sync >= len(base):
            return
        i, o, t = sync, o_end, t_end


def _resolve(base: List[str], ours: List[str],
             theirs: List[str]) -> Iterable[Tuple[List[str], ...]]:
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
        while (tail < min(len(ours), len(theirs)) - head
               and ours[len(ours) - 1 - tail] == theirs[len(theirs) - 1 - tail]):
            tail += 1
        yield (ours[:head],)
        yield (ours[head:len(ours) - tail], theirs[head:len(theirs) - tail])
        yield (ours[len(ours) - tail:],)


# --- planning an update -------------------------------------------------------------------


@dataclass
class Change:
    """What the update does to one file of the project."""

    path: str
    status: str  # added, updated, merged, deleted, conflict or skipped
    before: Optional[bytes]  # the project's content now (None: absent)
    after: Optional[bytes]  # the content after the update (None: absent)
    note: str = ""

    @property
    def writes(self) -> bool:
        return self.status != "skipped" and self.before != self.after


@dataclass
class UpdatePlan:
    """Everything an update would do; `apply_update` carries it out."""

    project: Path
    previous: Dict[str, Any]
    answers: Dict[str, Any]
    base: Files  # the fresh rendering: what the record stores as the base after the update
    changes: List[Change] = field(default_factory=list)
    behind: bool = False
    record_changed: bool = False

    @property
    def conflicts(self) -> List[Change]:
        return [change for change in self.changes if change.status == "conflict"]

    @property
    def from_version(self) -> str:
        return str(self.previous.get("omi_openclaw_version", "?"))


def skip_globs(remembered: Sequence[str], given: Sequence[str]) -> List[str]:
    """The remembered --skip globs plus the new ones, each once; an empty glob is an error."""
    for glob in given:
        if _normal_glob(glob) in ("", "."):
            raise UpdateError(f"--skip {glob!r} names no file; give a path or glob inside the "
                              f"project, e.g. --skip README.md or --skip 'docs/*'")
    return list(dict.fromkeys([*remembered, *given]))


def is_skipped(path: str, patterns: Iterable[str]) -> bool:
    """`path` or one of its folders matches a --skip glob."""
    parts = path.split("/")
    candidates = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatchcase(candidate, _normal_glob(pattern))
               for pattern in patterns for candidate in candidates)


def _normal_glob(pattern: str) -> str:
    """A --skip glob relative to the project: "./docs/*/" is "docs/*"."""
    return posixpath.normpath(pattern.strip()).strip("/")


def _as_text(content: Optional[bytes]) -> Optional[str]:
    if content is None or b"\0" in content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _project_file(project: Path, path: str) -> Optional[bytes]:
    """The project's content at `path`, which must be inside it: a regular file or nothing."""
    try:
        target = confined(project, path)
    except UnsafePath as error:
        raise UpdateError(f"{error}; an update changes only the project's own files: replace "
                          f"the symlink with the folder it points to, or --skip that folder") \
            from None
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise UpdateError(f"{target} is not a regular file but the template has a file there; "
                          f"move it aside or add --skip {path}")
    return target.read_bytes() if target.exists() else None


def _decide(path: str, base: Optional[bytes], ours: Optional[bytes], theirs: Optional[bytes],
            labels: Labels, engine: str) -> Optional[Change]:
    """The change for one file the template changed (base != theirs), or None for no change."""
    if ours == theirs:
        return None
    if base is None and ours is None:
        return Change(path, "added", ours, theirs)
    if theirs is None:
        if ours is None:
            return None
        if ours == base:
            return Change(path, "deleted", ours, None)
        return Change(path, "conflict", ours, ours,
                      "the template deleted it but you changed it; yours is kept: delete it "
                      "or keep it")
    if ours is None:
        return Change(path, "conflict", None, None,
                      "you deleted it and the template changed it; restore it from the "
                      "template or add --skip " + path)
    if ours == base:
        return Change(path, "updated", ours, theirs)
    texts = [_as_text(content) if content is not None else "" for content in (base, ours, theirs)]
    if None in texts:
        return Change(path, "conflict", ours, ours,
                      "binary file changed by you and by the template; yours is kept")
    merged = merge_texts(*texts, labels=labels, engine=engine)
    after = merged.text.encode("utf-8")
    if merged.conflicts:
        how = "you and the template both added it" if base is None else \
            "you and the template changed the same lines"
        return Change(path, "conflict", ours, after,
                      f"{how}; resolve the {merged.conflicts} <<<<<<< block(s)")
    return Change(path, "merged", ours, after) if after != ours else None


def plan_update(project: os.PathLike | str, skip: Sequence[str] = (),
                settings: Optional[Mapping[str, str]] = None,
                template_dir: Optional[Path] = None, engine: str = "auto") -> UpdatePlan:
    """Work out the update of `project` to the installed templates; write nothing.

    `skip` globs are added to the remembered ones; `settings` change template answers.
    """
    project = Path(project).resolve()
    previous, base = read_record(project)
    recorded = str(previous.get("omi_openclaw_version", ""))
    if _release(recorded) > _release(__version__):
        raise UpdateError(f"{project.name} was last updated with omi-openclaw {recorded}, newer "
                          f"than the installed {__version__}, whose older templates would undo "
                          f"that; run `pip install -U omi-openclaw` first")
    answers = copy.deepcopy(previous)
    answers["skip"] = skip_globs(previous.get("skip", []), skip)
    answers["variables"] = {**still_asked(answers["template"], answers["variables"], template_dir),
                            **(settings or {})}
    recorded_license = previous["variables"].get("license")
    if recorded_license is not None and "license" not in answers["variables"]:
        offered = _template_variables(template_dir or templates_root() / answers["template"])
        raise UpdateError(f"{ANSWERS_FILE} records the license '{recorded_license}', which the "
                          f"installed templates do not offer; choose one of "
                          f"{', '.join(offered['license'])} with --set license=NAME (and "
                          f"--skip LICENSE to keep your LICENSE file as it is)")
    fresh, rendered_answers = render(answers, template_dir)
    answers["variables"] = rendered_answers["variables"]
    answers["omi_openclaw_version"] = __version__
    plan = UpdatePlan(project, previous, answers, fresh)
    labels = Labels(base=f"template as generated (omi-openclaw {plan.from_version})",
                    theirs=f"template (omi-openclaw {__version__})")
    for path in sorted(set(base) | set(fresh)):
        old, new = base.get(path), fresh.get(path)
        if old == new:
            continue
        if is_skipped(path, answers["skip"]):
            plan.changes.append(Change(path, "skipped", None, None, "--skip"))
            continue
        plan.behind = True
        change = _decide(path, old, _project_file(project, path), new, labels, engine)
        if change:
            plan.changes.append(change)
    previous_without_base = {key: value for key, value in previous.items() if key != "base"}
    plan.record_changed = plan.behind or any(
        answers.get(key) != previous_without_base.get(key) for key in ("skip", "variables"))
    return plan


def _release(version: str) -> Tuple[int, ...]:
    """The release numbers of a version, for ordering: "0.10.2rc1" -> (0, 10, 2)."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in match.group().split(".")) if match else ()


# --- applying: stage everything, then swap it in --------------------------------------------


def apply_update(plan: UpdatePlan) -> None:
    """Write the plan's files and the new record, all or nothing."""
    contents: Dict[str, Optional[bytes]] = {change.path: change.after
                                            for change in plan.changes if change.writes}
    if plan.record_changed:
        kept = {key: value for key, value in plan.answers.items() if key != "base"}
        contents.update(record_files(kept, plan.base))
    write_atomically(plan.project, contents)


# --- git work tree and --init -------------------------------------------------------------


def git_worktree_state(project: Path) -> Tuple[str, str]:
    """("clean" | "dirty" | "no-git" | "not-a-repo", detail) for the project's directory."""
    try:
        completed = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=project,
                                   capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        return "no-git", "git is not installed"
    if completed.returncode != 0:
        if "not a git repository" in completed.stderr:
            return "not-a-repo", f"{project} is not in a git work tree"
        raise UpdateError(f"git status failed in {project}: "
                          f"{' '.join(completed.stderr.split())}; fix that or pass --allow-dirty")
    changed = [line[3:] for line in completed.stdout.splitlines() if line.strip()]
    if changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3
                                          else "")
        return "dirty", shown
    return "clean", ""


def check_worktree(project: Path, allow_dirty: bool = False) -> Optional[str]:
    """Whether an update may write into `project`: UpdateError when its git work tree has
    uncommitted changes (the update should be one reviewable change) unless `allow_dirty`;
    a note to show when there is no commit to check against; None when all is well."""
    if allow_dirty:
        return None
    state, detail = git_worktree_state(project)
    if state == "dirty":
        raise UpdateError(f"the git work tree has uncommitted changes ({detail}); commit or "
                          f"stash them so the update is one reviewable change, or pass "
                          f"--allow-dirty")
    if state != "clean":
        return f"{detail}, so the update cannot be checked against a commit; updating anyway."
    return None


def answers_from_pyproject(project: Path) -> Dict[str, Any]:
    """Answers for a project `omi plugins new` did not make, from its pyproject.toml."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise UpdateError("--init reads pyproject.toml, which needs Python 3.11+ or "
                              "`pip install tomli`") from None
    pyproject = project / "pyproject.toml"
    if not pyproject.is_file():
        raise UpdateError(f"{project} has no pyproject.toml to take the answers from; "
                          f"is PATH the plugin project's directory?")
    try:
        metadata = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UpdateError(f"{pyproject} is not valid TOML ({error})") from None
    dist = str(metadata.get("name", ""))
    parts = dist.split("-", 2)
    if len(parts) != 3 or parts[0] != "omi" or parts[1] not in PLUGIN_TYPES:
        raise UpdateError(f"{pyproject} names the project '{dist}', not omi-<type>-<name> with "
                          f"type {', '.join(PLUGIN_TYPES)}; --init only adopts OMI plugins")
    try:
        plugin_names(parts[1], parts[2])
    except ScaffoldError as error:
        raise UpdateError(str(error)) from None
    variables: Dict[str, str] = {}
    author = (metadata.get("authors") or [{}])[0]
    found = {"description": metadata.get("description"), "author": author.get("name"),
             "email": author.get("email"), "version": metadata.get("version"),
             "license": metadata.get("license"),
             "repository": (metadata.get("urls") or {}).get("Source")}
    if isinstance(found["license"], dict):
        found["license"] = found["license"].get("text")
    license_file = project / "LICENSE"
    if license_file.is_file():  # the copyright year is an answer too: keep the project's
        year = re.search(r"Copyright \(c\) (\d{4})", license_file.read_text(errors="replace"))
        found["year"] = year.group(1) if year else None
    for key, value in found.items():
        if isinstance(value, str) and value:
            variables[key] = value
    return {"template": parts[1], "omi_openclaw_version": __version__, "name": parts[2],
            "variables": variables, "skip": []}


def init_record(project: os.PathLike | str, skip: Sequence[str] = (),
                settings: Optional[Mapping[str, str]] = None,
                template_dir: Optional[Path] = None) -> Tuple[Dict[str, Any], List[str]]:
    """Record answers (from pyproject.toml) and today's rendering as the base of `project`.

    The project is taken as current with the installed templates: where it differs from them,
    that is the author's own edit, which later updates keep. Returns the answers and the
    paths that differ from the template.
    """
    project = Path(project).resolve()
    if (project / ANSWERS_FILE).exists():
        raise UpdateError(f"{project / ANSWERS_FILE} already exists; --init is for projects "
                          f"without one (run `omi plugins update` instead)")
    answers = answers_from_pyproject(project)
    answers["skip"] = skip_globs([], skip)
    answers["variables"] = {**still_asked(answers["template"], answers["variables"], template_dir),
                            **(settings or {})}
    fresh, rendered_answers = render(answers, template_dir)
    answers["variables"] = rendered_answers["variables"]
    different = [path for path in sorted(fresh)
                 if not is_skipped(path, answers["skip"])
                 and (project / path).is_file() and (project / path).read_bytes() != fresh[path]]
    write_atomically(project, record_files(answers, fresh))
    return answers, different
