"""`omi plugins update`: bring a generated plugin up to date with the installed templates.

`omi plugins new` stores the pristine rendering a project started from (the *base*) beside
the answers file. An update renders the installed templates again with the same answers and
merges the template's changes (base -> fresh rendering) into the author's files (base ->
project) file by file, with a three-way merge: edits on both sides survive, overlapping edits
become standard conflict markers. The files a template lists as `_written_once` in its
cookiecutter.json (the implementation module and its unit tests, which the author rewrites)
are the author's once written: an update adds one the template newly has and the project
lacks, and never touches them after. The base travels with the project, so this works after
`pip install -U omi-openclaw`, offline, and without git; see README, "Keeping a plugin current".

Nothing is written until every file's new content is known and staged beside its target; the
staged files then replace the originals, and any failure puts the originals back.
"""

from __future__ import annotations

import copy
import fnmatch
import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omi import __version__, git
from omi.atomic import write_atomically
from omi.confine import UnsafePath, confined
from omi.errors import ScaffoldError, UpdateError
from omi.kinds import KIND_NAMES
from omi.merge import Labels, merge_texts
from omi.record import (
    ANSWERS_FILE,
    Files,
    as_text,
    read_record,
    read_tree,
    record_files,
)
from omi.scaffold import new_plugin, plugin_names, template_variables, templates_root

__all__ = [
    "Change",
    "UpdateError",
    "UpdatePlan",
    "apply_update",
    "check_worktree",
    "init_record",
    "plan_update",
    "render",
    "still_asked",
]

# --- rendering ----------------------------------------------------------------------------


def render(
    answers: Mapping[str, Any], template_dir: Path | None = None
) -> tuple[Files, dict[str, Any]]:
    """Render the template again with `answers`: the files, and the answers as recorded."""
    scratch = Path(tempfile.mkdtemp(prefix=".omi-update-"))
    try:
        made = new_plugin(
            answers["template"],
            answers["name"],
            scratch,
            dict(answers["variables"]),
            no_input=True,
            template_dir=template_dir,
        )
        return read_tree(made.project_dir), made.answers
    except ScaffoldError as error:
        raise UpdateError(str(error)) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def still_asked(
    plugin_type: str, variables: Mapping[str, Any], template_dir: Path | None = None
) -> dict[str, Any]:
    """The recorded `variables` the template still has (and a license it still offers)."""
    defaults = template_variables(template_dir or templates_root() / plugin_type)
    kept = {
        key: value
        for key, value in variables.items()
        if key in defaults and not key.startswith("_")
    }
    if isinstance(defaults.get("license"), list) and kept.get("license") not in defaults["license"]:
        kept.pop("license", None)
    return kept


def written_once(plugin_type: str, template_dir: Path | None = None) -> list[str]:
    """The globs of the files the template writes once and then leaves to the author: the
    `_written_once` list of its cookiecutter.json."""
    globs = template_variables(template_dir or templates_root() / plugin_type).get(
        "_written_once", []
    )
    if not isinstance(globs, list) or not all(isinstance(glob, str) for glob in globs):
        raise UpdateError(
            f"the {plugin_type} template's cookiecutter.json: '_written_once' "
            f"must be a list of globs; reinstall omi-openclaw"
        )
    return globs


# --- planning an update -------------------------------------------------------------------


@dataclass
class Change:
    """What the update does to one file of the project."""

    path: str
    status: str  # added, updated, merged, deleted, conflict or skipped
    before: bytes | None  # the project's content now (None: absent)
    after: bytes | None  # the content after the update (None: absent)
    note: str = ""

    @property
    def writes(self) -> bool:
        return self.status != "skipped" and self.before != self.after


@dataclass
class UpdatePlan:
    """Everything an update would do; `apply_update` carries it out."""

    project: Path
    previous: dict[str, Any]
    answers: dict[str, Any]
    base: Files  # the fresh rendering: what the record stores as the base after the update
    changes: list[Change] = field(default_factory=list)
    behind: bool = False
    record_changed: bool = False
    notes: list[str] = field(default_factory=list)  # what the author should know beyond files
    managed: list[str] = field(default_factory=list)  # the paths the update keeps current
    yours: list[str] = field(default_factory=list)  # written once, then the author's alone

    @property
    def conflicts(self) -> list[Change]:
        return [change for change in self.changes if change.status == "conflict"]

    @property
    def answers_changed(self) -> bool:
        """Whether the skip globs or the variables differ from the recorded ones."""
        return any(self.answers.get(key) != self.previous.get(key) for key in ("skip", "variables"))

    @property
    def from_version(self) -> str:
        return str(self.previous.get("omi_openclaw_version", "?"))

    def contents(self) -> dict[str, bytes | None]:
        """What the update writes, by path: the new content, or None to delete the file."""
        contents = {change.path: change.after for change in self.changes if change.writes}
        if self.record_changed:
            kept = {key: value for key, value in self.answers.items() if key != "base"}
            contents.update(record_files(kept, self.base))
        return contents


def skip_globs(remembered: Sequence[str], given: Sequence[str]) -> list[str]:
    """The remembered --skip globs plus the new ones, each once; an empty glob is an error."""
    for glob in given:
        if _normal_glob(glob) in ("", "."):
            raise UpdateError(
                f"--skip {glob!r} names no file; give a path or glob inside the "
                f"project, e.g. --skip README.md or --skip 'docs/*'"
            )
    return list(dict.fromkeys([*remembered, *given]))


def is_skipped(path: str, patterns: Iterable[str]) -> bool:
    """`path` or one of its folders matches a --skip glob."""
    parts = path.split("/")
    candidates = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
    return any(
        fnmatch.fnmatchcase(candidate, _normal_glob(pattern))
        for pattern in patterns
        for candidate in candidates
    )


def _normal_glob(pattern: str) -> str:
    """A --skip glob relative to the project: "./docs/*/" is "docs/*"."""
    return posixpath.normpath(pattern.strip()).strip("/")


def _project_file(project: Path, path: str) -> bytes | None:
    """The project's content at `path`, which must be inside it: a regular file or nothing."""
    try:
        target = confined(project, path)
    except UnsafePath as error:
        raise UpdateError(
            f"{error}; an update changes only the project's own files: replace "
            f"the symlink with the folder it points to, or --skip that folder"
        ) from None
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise UpdateError(
            f"{target} is not a regular file but the template has a file there; "
            f"move it aside or add --skip {path}"
        )
    return target.read_bytes() if target.exists() else None


def _decide(
    path: str,
    base: bytes | None,
    ours: bytes | None,
    theirs: bytes | None,
    labels: Labels,
    engine: str,
) -> Change | None:
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
        return Change(
            path,
            "conflict",
            ours,
            ours,
            "the template deleted it but you changed it; yours is kept: delete it or keep it",
        )
    if ours is None:
        return Change(
            path,
            "conflict",
            None,
            None,
            "you deleted it and the template changed it; restore it from the "
            "template or add --skip " + path,
        )
    if ours == base:
        return Change(path, "updated", ours, theirs)
    base_text, our_text, their_text = (
        as_text(content) if content is not None else "" for content in (base, ours, theirs)
    )
    if base_text is None or our_text is None or their_text is None:
        return Change(
            path,
            "conflict",
            ours,
            ours,
            "binary file changed by you and by the template; yours is kept",
        )
    merged = merge_texts(base_text, our_text, their_text, labels=labels, engine=engine)
    after = merged.text.encode("utf-8")
    if merged.conflicts:
        how = (
            "you and the template both added it"
            if base is None
            else "you and the template changed the same lines"
        )
        return Change(
            path, "conflict", ours, after, f"{how}; resolve the {merged.conflicts} <<<<<<< block(s)"
        )
    return Change(path, "merged", ours, after) if after != ours else None


def plan_update(
    project: os.PathLike[str] | str,
    skip: Sequence[str] = (),
    settings: Mapping[str, str] | None = None,
    template_dir: Path | None = None,
    engine: str = "auto",
) -> UpdatePlan:
    """Work out the update of `project` to the installed templates; write nothing.

    `skip` globs are added to the remembered ones; `settings` change template answers.
    """
    project = Path(project).resolve()
    previous, base = read_record(project)
    recorded = str(previous.get("omi_openclaw_version", ""))
    if _newer(recorded, __version__):
        raise UpdateError(
            f"{project.name} was last updated with omi-openclaw {recorded}, newer "
            f"than the installed {__version__}, whose older templates would undo "
            f"that; run `pip install -U omi-openclaw` first"
        )
    answers = _new_answers(previous, skip, settings, template_dir)
    fresh, rendered_answers = render(answers, template_dir)
    fresh = keep_suite_version(fresh, base)
    answers["variables"] = rendered_answers["variables"]
    answers["omi_openclaw_version"] = __version__
    owned = written_once(answers["template"], template_dir)
    left_alone = [*answers["skip"], *owned]
    refuse_conflict_markers(
        project,
        [path for path in sorted(set(base) | set(fresh)) if not is_skipped(path, left_alone)],
    )
    plan = UpdatePlan(project, previous, answers, fresh)
    plan.managed = [path for path in sorted(fresh) if not is_skipped(path, left_alone)]
    plan.yours = [
        path
        for path in sorted(fresh)
        if is_skipped(path, owned) and not is_skipped(path, answers["skip"])
    ]
    _plan_changes(plan, base, owned, engine)
    suite = suite_note(project, fresh, answers["template"])
    if suite and previous.get("suite_noted") != __version__:
        answers["suite_noted"] = __version__  # said once per release: the record remembers it
    else:
        suite = None
    plan.record_changed = (
        plan.behind
        or plan.answers_changed
        or answers.get("suite_noted") != previous.get("suite_noted")
    )
    plan.notes = [note for note in (requirement_note(base, fresh, answers["skip"]), suite) if note]
    return plan


def _new_answers(
    previous: dict[str, Any],
    skip: Sequence[str],
    settings: Mapping[str, str] | None,
    template_dir: Path | None,
) -> dict[str, Any]:
    """The recorded answers with the new skips and settings, for the installed templates."""
    answers = copy.deepcopy(previous)
    answers["skip"] = skip_globs(previous.get("skip", []), skip)
    answers["variables"] = {
        **still_asked(answers["template"], answers["variables"], template_dir),
        **(settings or {}),
    }
    recorded_license = previous["variables"].get("license")
    if recorded_license is not None and "license" not in answers["variables"]:
        offered = template_variables(template_dir or templates_root() / answers["template"])
        raise UpdateError(
            f"{ANSWERS_FILE} records the license '{recorded_license}', which the "
            f"installed templates do not offer; choose one of "
            f"{', '.join(offered['license'])} with --set license=NAME (and "
            f"--skip LICENSE to keep your LICENSE file as it is)"
        )
    return answers


def _plan_changes(plan: UpdatePlan, base: Files, owned: Sequence[str], engine: str) -> None:
    """Add to `plan` a change for each file the template changed since `base`: merged into a
    managed file, or written once where a file the author owns (`owned` globs) is missing."""
    labels = Labels(
        base=f"template as generated (omi-openclaw {plan.from_version})",
        theirs=f"template (omi-openclaw {__version__})",
    )
    for path in sorted(set(base) | set(plan.base)):
        old, new = base.get(path), plan.base.get(path)
        if old == new:
            continue
        if is_skipped(path, plan.answers["skip"]):
            plan.changes.append(Change(path, "skipped", None, None, "--skip"))
        elif not is_skipped(path, owned):
            plan.behind = True
            change = _decide(path, old, _project_file(plan.project, path), new, labels, engine)
            if change:
                plan.changes.append(change)
        elif old is None and new is not None and _project_file(plan.project, path) is None:
            plan.behind = True  # new in the template: written once, the author's from now on
            plan.changes.append(Change(path, "added", None, new))


# --- what an update must not do on its own -------------------------------------------------

#: `suite_version = "X"` in a generated test module.
SUITE_LINE = re.compile(
    r"""^(?P<head>[ \t]*suite_version[ \t]*=[ \t]*)"""
    r"""(?P<q>["'])(?P<version>[^"'\n]*)(?P=q)""",
    re.MULTILINE,
)
#: The omi-openclaw requirement in a generated pyproject.toml.
REQUIREMENT = re.compile(r'"(omi-openclaw[^"]*)"')


def refuse_conflict_markers(project: Path, paths: Iterable[str]) -> None:
    """UpdateError naming the files among `paths` that still hold a conflict block: merging
    into them again would bury the unresolved block in another, and `--check` would call the
    project current."""
    unresolved = []
    for path in paths:
        try:
            target = confined(project, path)
        except UnsafePath:  # the plan refuses it if the update touches it
            continue
        if target.is_file() and not target.is_symlink():
            text = as_text(target.read_bytes())
            if text is not None and has_conflict_block(text):
                unresolved.append(path)
    if unresolved:
        raise UpdateError(
            f"{_abridged(unresolved)} still hold(s) <<<<<<< conflict markers from an "
            f"earlier update; resolve them (keep the lines you want, delete the "
            f"marker lines), commit, then run omi plugins update again"
        )


def has_conflict_block(text: str) -> bool:
    """Whether `text` holds a conflict left by an earlier update: a `<<<<<<<` line, later a
    `=======` line, later a `>>>>>>>` line (a Markdown or reStructuredText heading underlined
    with ======= alone is not one). One pass over the lines: linear in the text's length,
    whatever the text (a regular expression spanning lines backtracked for minutes on a
    long README)."""
    lines = text.split("\n")
    stage = 0  # 0: looking for <<<<<<<, 1: for =======, 2: for >>>>>>>
    for number, line in enumerate(lines):
        line = line[:-1] if line.endswith("\r") else line
        ended = number < len(lines) - 1  # the first two markers are whole lines
        if stage == 0 and ended and (line == "<<<<<<<" or line.startswith("<<<<<<< ")):
            stage = 1
        elif stage == 1 and ended and line == "=======":
            stage = 2
        elif stage == 2 and (line == ">>>>>>>" or line.startswith(">>>>>>> ")):
            return True
    return False


def _abridged(paths: Sequence[str], shown: int = 3) -> str:
    """The first `shown` paths, and how many more: a long list abridged for one line."""
    more = len(paths) - shown
    return ", ".join(paths[:shown]) + (f" and {more} more" if more > 0 else "")


def _suite_version(content: bytes | None) -> str | None:
    found = SUITE_LINE.search(as_text(content) or "")
    return found.group("version") if found else None


def keep_suite_version(fresh: Files, base: Files) -> Files:
    """The fresh rendering with the `suite_version` the base has, file by file.

    The template writes the installed release there, but the value says which checks the
    author's tests were written against: only the author may raise it (see `suite_note`).
    """
    kept = dict(fresh)
    for path, content in fresh.items():
        recorded = _suite_version(base.get(path))
        text = as_text(content)
        found = SUITE_LINE.search(text or "")
        if recorded is not None and text is not None and found is not None:
            start, end = found.span("version")
            kept[path] = (text[:start] + recorded + text[end:]).encode("utf-8")
    return kept


def suite_note(project: Path, fresh: Files, interface: str) -> str | None:
    """What to say when the project's tests name an older conformance suite than the
    installed one (whose version is omi-openclaw's), or None."""
    from packaging.version import InvalidVersion, Version

    for path in sorted(fresh):
        if _suite_version(fresh[path]) is None:
            continue
        try:
            written_for = _suite_version(_project_file(project, path))
        except UpdateError:  # not a regular file: the plan says so if the update touches it
            return None
        try:
            older = written_for is not None and Version(written_for) < Version(__version__)
        except InvalidVersion:
            return None  # the pytest suite reports a bad suite_version itself
        if not older:
            return None
        from omi.conformance.registry import checks_for  # the checks: only when it matters

        new = [
            check.name
            for check in checks_for(interface)
            if Version(check.since) > Version(str(written_for))
        ]
        advice = (
            f"checks added since: {', '.join(new)}; raise it once the plugin passes them"
            if new
            else f"no {interface} check was added since, so raise it when you like"
        )
        return (
            f"conformance suite {__version__} is available; {path} has suite_version = "
            f"{written_for!r}, which the update leaves as it is; {advice}"
        )
    return None


def requirement_note(base: Files, fresh: Files, skip: Sequence[str]) -> str | None:
    """What to say when the template moves the omi-openclaw requirement of pyproject.toml
    (merged cleanly or not): the plugin's next release then no longer installs beside the
    releases the old range allowed."""
    if is_skipped("pyproject.toml", skip):
        return None
    before, after = (
        REQUIREMENT.search(as_text(files.get("pyproject.toml")) or "") for files in (base, fresh)
    )
    if before and after and before.group(1) != after.group(1):
        return (
            f"pyproject.toml: the omi-openclaw requirement moves from '{before.group(1)}' "
            f"to '{after.group(1)}': the plugin's next release drops users of the "
            f"omi-openclaw releases the old range allowed; give it a new version and say "
            f"so in CHANGELOG.md"
        )
    return None


def _newer(recorded: str, installed: str) -> bool:
    """Whether the recorded version is later than the installed one, by PEP 440 (0.2.0rc1
    comes before 0.2.0); a record without a valid version counts as older."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(recorded) > Version(installed)
    except InvalidVersion:
        return False


# --- applying: stage everything, then swap it in --------------------------------------------


def apply_update(plan: UpdatePlan) -> None:
    """Write the plan's files and the new record, all or nothing."""
    write_atomically(plan.project, plan.contents())


# --- the git work tree and --init----------------------------------------------------------


def check_worktree(
    project: Path, allow_dirty: bool = False, writes: Sequence[str] = ()
) -> str | None:
    """Whether an update writing (or deleting) the paths `writes` may go ahead in `project`:
    UpdateError when its git work tree has uncommitted changes to tracked files (the update
    should be one reviewable change) or when it would overwrite an untracked file, unless
    `allow_dirty`; a note to show when there is no commit to check against; None when all is
    well. Untracked files the update does not touch are no concern of it."""
    if allow_dirty:
        return None
    state, detail = git.worktree_state(project)
    if state == "failed":
        raise UpdateError(
            f"git status failed in {project}: {detail}; fix that or pass --allow-dirty"
        )
    if state == "dirty":
        raise UpdateError(
            f"the git work tree has uncommitted changes "
            f"({_abridged(detail.splitlines())}); commit or "
            f"stash them so the update is one reviewable change, or pass "
            f"--allow-dirty"
        )
    if state != "clean":
        return f"{detail}, so the update cannot be checked against a commit; updating anyway."
    untracked = git.untracked_among(project, writes)
    if untracked is None:
        raise UpdateError(f"git ls-files failed in {project}; fix that or pass --allow-dirty")
    if untracked:
        raise UpdateError(
            f"the update would overwrite {_abridged(untracked)}, which git does not "
            f"track and could not give back; commit or move them aside first, "
            f"or pass --allow-dirty"
        )
    return None


def answers_from_pyproject(project: Path) -> dict[str, Any]:
    """Answers for a project `omi plugins new` did not make, from its pyproject.toml."""
    from omi import tomlfile

    pyproject = project / "pyproject.toml"
    if not pyproject.is_file():
        raise UpdateError(
            f"{project} has no pyproject.toml to take the answers from; "
            f"is PATH the plugin project's directory?"
        )
    try:
        metadata = tomlfile.load(str(pyproject)).get("project", {})
    except tomlfile.NoParser as error:
        raise UpdateError(f"--init: {error}") from None
    except OSError as error:
        raise UpdateError(f"cannot read {pyproject}: {error.strerror or error}") from None
    except ValueError as error:
        raise UpdateError(f"{pyproject} {error}") from None
    dist = str(metadata.get("name", ""))
    parts = dist.split("-", 2)
    if len(parts) != 3 or parts[0] != "omi" or parts[1] not in KIND_NAMES:
        raise UpdateError(
            f"{pyproject} names the project '{dist}', not omi-<type>-<name> with "
            f"type {', '.join(KIND_NAMES)}; --init only adopts OMI plugins"
        )
    try:
        plugin_names(parts[1], parts[2])
    except ScaffoldError as error:
        raise UpdateError(str(error)) from None
    variables: dict[str, str] = {}
    author = (metadata.get("authors") or [{}])[0]
    found = {
        "description": metadata.get("description"),
        "author": author.get("name"),
        "email": author.get("email"),
        "version": metadata.get("version"),
        "license": metadata.get("license"),
        "repository": (metadata.get("urls") or {}).get("Source"),
    }
    if isinstance(found["license"], dict):
        found["license"] = found["license"].get("text")
    license_file = project / "LICENSE"
    if license_file.is_file():  # the copyright year is an answer too: keep the project's
        year = re.search(r"Copyright \(c\) (\d{4})", license_file.read_text(errors="replace"))
        found["year"] = year.group(1) if year else None
    for key, value in found.items():
        if isinstance(value, str) and value:
            variables[key] = value
    return {
        "template": parts[1],
        "omi_openclaw_version": __version__,
        "name": parts[2],
        "variables": variables,
        "skip": [],
    }


def init_record(
    project: os.PathLike[str] | str,
    skip: Sequence[str] = (),
    settings: Mapping[str, str] | None = None,
    template_dir: Path | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Record answers (from pyproject.toml) and today's rendering as the base of `project`.

    The project is taken as current with the installed templates: where it differs from them,
    that is the author's own edit, which later updates keep. Returns the answers and the
    paths that differ from the template.
    """
    project = Path(project).resolve()
    if (project / ANSWERS_FILE).exists():
        raise UpdateError(
            f"{project / ANSWERS_FILE} already exists; --init is for projects "
            f"without one (run `omi plugins update` instead)"
        )
    answers = answers_from_pyproject(project)
    answers["skip"] = skip_globs([], skip)
    answers["variables"] = {
        **still_asked(answers["template"], answers["variables"], template_dir),
        **(settings or {}),
    }
    fresh, rendered_answers = render(answers, template_dir)
    answers["variables"] = rendered_answers["variables"]
    different = [
        path
        for path in sorted(fresh)
        if not is_skipped(path, answers["skip"])
        and (project / path).is_file()
        and (project / path).read_bytes() != fresh[path]
    ]
    write_atomically(project, record_files(answers, fresh))
    return answers, different
