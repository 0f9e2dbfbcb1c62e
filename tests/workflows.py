"""GitHub Actions workflows in the tests: read one as GitHub does, check it against GitHub's
schema and the hardening rules every workflow here follows, and run the commands of a job."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: `uses: owner/repo@ref  # v1.2.3`, as every step that uses an action is written here.
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<action>[^@\s]+)@(?P<ref>\S+)(?:\s+#\s*(?P<tag>\S+))?")
PUBLISH_ACTION = "pypa/gh-action-pypi-publish"

#: The release every workflow here pins, per action: the newest release whose commit could be
#: verified, by the tag in a clone of the action's repository or, for the publish action (whose
#: clone ends at v1.8.14), by several unrelated public projects pinning that commit under that
#: version. When Dependabot proposes a newer one, verify it the same way and move this table.
PINNED_RELEASES = {
    "actions/checkout": ("v7.0.1", "3d3c42e5aac5ba805825da76410c181273ba90b1"),
    "actions/setup-python": ("v7.0.0", "5fda3b95a4ea91299a34e894583c3862153e4b97"),
    "actions/upload-artifact": ("v7.0.0", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f"),
    "actions/download-artifact": ("v8.0.1", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c"),
    PUBLISH_ACTION: ("v1.14.2", "dc37677b2e1c63e2034f94d8a5b11f265b73ba33"),
}

#: The first release of the publish action known to upload each core metadata version; an older
#: one's twine refuses the distribution ("InvalidDistribution: Metadata is missing required
#: fields: Name, Version" for 2.4, "'2.5' is not a valid metadata version" for 2.5).
#: setuptools >= 77 writes 2.4 for an SPDX `license = "..."` (the generated plugins); hatchling
#: >= 1.30 writes 2.5 (omi-openclaw itself). A version not listed is unchecked: add it.
FIRST_PUBLISH_RELEASE_ACCEPTING = {"2.4": "v1.12.3", "2.5": "v1.14.2"}


def load(path: Path) -> dict[str, Any]:
    """The workflow as GitHub reads it. PyYAML reads YAML 1.1, where the key `on` is the
    boolean True; GitHub reads YAML 1.2, where it is the string "on"."""
    import yaml

    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in document:
        document["on"] = document.pop(True)
    return document


def schema_errors(document: Any, schema: str) -> list[str]:
    """Where `document` breaks one of the schemas check-jsonschema ships (no network needed):
    "github-workflows" or "dependabot"."""
    import jsonschema
    from check_jsonschema.builtin_schemas import get_builtin_schema

    definition = get_builtin_schema(f"vendor.{schema}")
    validator = jsonschema.validators.validator_for(definition)(definition)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def pinned_actions(path: Path) -> list[dict[str, str | None]]:
    """Every action a workflow uses: its name, the ref it is pinned to and the tag comment."""
    return [
        match.groupdict()
        for line in path.read_text(encoding="utf-8").splitlines()
        if (match := USES.match(line))
    ]


def hardening_problems(path: Path) -> list[str]:
    """What keeps a workflow from the rules: actions pinned to a full commit SHA with the
    release in a comment, no token left in the checkout, no permission unless a job asks,
    write access only for the OIDC token of jobs that publish from an environment, and a
    time limit on every job."""
    problems = []
    for used in pinned_actions(path):
        if not re.fullmatch(r"[0-9a-f]{40}", used["ref"]):
            problems.append(f"{used['action']}@{used['ref']} is not pinned to a commit SHA")
        if not used["tag"] or not re.fullmatch(r"v\d+(\.\d+)*", used["tag"]):
            problems.append(f"{used['action']}@{used['ref']} has no '# vX.Y.Z' comment")
    document = load(path)
    if document.get("permissions") != {}:
        problems.append(f"top-level permissions are {document.get('permissions')!r}, not {{}}")
    for name, job in document["jobs"].items():
        if "timeout-minutes" not in job:
            problems.append(f"job {name} has no timeout-minutes")
        permissions = job.get("permissions")
        if permissions is None:
            problems.append(f"job {name} does not state its permissions")
            permissions = {}
        publishes = any(PUBLISH_ACTION in step.get("uses", "") for step in job["steps"])
        for scope, access in permissions.items():
            if access == "write" and not (
                scope == "id-token" and publishes and "environment" in job
            ):
                problems.append(f"job {name} may write {scope}")
        for step in job["steps"]:
            if (
                step.get("uses", "").startswith("actions/checkout@")
                and (step.get("with") or {}).get("persist-credentials") is not False
            ):
                problems.append(f"job {name} checks out without persist-credentials: false")
    return problems


def job_commands(path: Path, job: str) -> list[str]:
    """The `run:` commands of one job, in order."""
    return [step["run"] for step in load(path)["jobs"][job]["steps"] if "run" in step]


def run_step(
    command: str, cwd: Path, path_first: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run one command as a runner with `shell: bash` does (bash -eo pipefail), with
    `path_first` (where python and the tools are) first on PATH."""
    environment = {
        **os.environ,
        **(env or {}),
        "PATH": os.pathsep.join([str(path_first), os.environ.get("PATH", "")]),
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env=environment,
    )


def run_steps(
    commands: list[str], cwd: Path, path_first: Path, env: Mapping[str, str] | None = None
) -> None:
    """Run commands one after the other; each must succeed."""
    for command in commands:
        completed = run_step(command, cwd, path_first, env)
        assert completed.returncode == 0, (
            f"{command!r} exited {completed.returncode}:\n"
            f"{completed.stdout[-3000:]}{completed.stderr[-3000:]}"
        )


def release_number(tag: str) -> tuple[int, ...]:
    """`v1.12.3` as (1, 12, 3), for comparing releases."""
    return tuple(int(part) for part in tag.lstrip("v").split("."))


def wheel_metadata_version(wheel: Path) -> str:
    """The Metadata-Version field of a wheel's METADATA file."""
    import zipfile
    from email.parser import HeaderParser

    with zipfile.ZipFile(wheel) as archive:
        name = next(
            name
            for name in archive.namelist()
            if name.count("/") == 1 and name.endswith(".dist-info/METADATA")
        )
        headers = HeaderParser().parsestr(archive.read(name).decode("utf-8"))
    return str(headers["Metadata-Version"])


def publish_problems(workflow: Path, wheel: Path) -> list[str]:
    """Why the publish action `workflow` pins would refuse to upload `wheel`."""
    version = wheel_metadata_version(wheel)
    first = FIRST_PUBLISH_RELEASE_ACCEPTING.get(version)
    if first is None:
        return [
            f"{wheel.name} has Metadata-Version {version}, which no entry of "
            "FIRST_PUBLISH_RELEASE_ACCEPTING covers: add the first publish release that "
            "uploads it"
        ]
    return [
        f"{workflow}: {PUBLISH_ACTION} {used['tag']} cannot upload Metadata-Version "
        f"{version} (first accepted by {first}); pin {first} or newer"
        for used in pinned_actions(workflow)
        if used["action"] == PUBLISH_ACTION
        and release_number(used["tag"] or "v0") < release_number(first)
    ]
