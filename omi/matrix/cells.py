"""One cell of a matrix: a plugin with one omi-openclaw on one Python, in its own environment.

The cell installs both, asks the environment which OMI plugins the plugin's distribution
registers (`probe`), runs `omi plugins check GROUP:NAME --format json` of that environment for
each, and reads the reports. OMI's own built-in plugins are left out: they are not the
plugin's. Everything read back is the plugin's output, so it is parsed as data and bounded.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from omi.matrix import envs, probe
from omi.matrix.grade import Evidence, grade
from omi.textsafety import one_line

PASS, FAIL, NOT_TESTED, INSTALL_ERROR = "pass", "fail", "not-tested", "install-error"
STATUSES = (PASS, FAIL, NOT_TESTED, INSTALL_ERROR)
FAILING = (FAIL, INSTALL_ERROR)
MAX_REPORT = 16 * 2**20  # bytes of a check report read back
MAX_MESSAGE = 1000  # characters of a failed check's message kept
PROBED = ".omi-matrix-probe.json"  # the probe's answer, kept in the environment


@dataclass(frozen=True)
class CellSpec:
    plugin: str  # the requirement, as given
    omi: str
    python: str  # X.Y
    baseline: bool = False  # the omi is the --baseline


@dataclass
class Settings:
    """What every cell of a run shares."""

    cache: Path
    installer: envs.Installer
    find_links: Sequence[str] = ()
    offline: bool = False
    refresh: bool = False
    timeout: float = 60.0


@dataclass
class Cell:
    """A cell's result, as the omi-matrix/1 JSON document has it."""

    plugin: str
    omi: str
    python: str
    baseline: bool = False
    plugin_name: str | None = None
    plugin_version: str | None = None
    omi_version: str | None = None
    status: str = FAIL
    message: str | None = None  # why the cell did not pass, one line
    failed_checks: list[dict[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    grade: str | None = None
    grade_missing: list[str] = field(default_factory=list)
    regression: bool = False
    cached: bool = False
    seconds: float = 0.0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.plugin, self.omi, self.python)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def requirement_name(requirement: str) -> str | None:
    """The distribution a requirement names: a wheel's file name, a directory's pyproject.toml,
    a requirement's name; None when it cannot be told before installing."""
    path = Path(requirement)
    if path.is_file() and path.suffix == ".whl":
        return path.name.split("-", 1)[0]
    if path.is_dir():
        from omi import tomlfile

        try:
            project = tomlfile.load(str(path / "pyproject.toml")).get("project")
        except (OSError, ValueError, tomlfile.NoParser):  # the probe finds the distribution
            return None
        name = project.get("name") if isinstance(project, dict) else None
        return name if isinstance(name, str) else None
    from packaging.requirements import InvalidRequirement, Requirement

    try:  # a name with a range or extras, or `name @ url`; a bare URL has no name to read
        return None if path.exists() else Requirement(requirement).name
    except InvalidRequirement:
        return None


def _env_vars(env: Path) -> dict[str, str]:
    variables = envs.clean_environment()
    variables.update(
        VIRTUAL_ENV=str(env),
        PATH=f"{env / 'bin'}{os.pathsep}{variables.get('PATH', '')}",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return variables


def _run(command: list[str], env: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=_env_vars(env),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        errors="replace",
    )


def probe_environment(env: Path, name: str | None) -> dict[str, Any]:
    """The plugin distribution's facts, read by the environment's own Python once: a cached
    environment never changes, so they are kept beside it."""
    kept = env / PROBED
    try:
        stored = json.loads(kept.read_text(encoding="utf-8"))
        if (
            isinstance(stored, dict)
            and stored.get("name") == name
            and isinstance(stored.get("facts"), dict)
        ):
            return dict(stored["facts"])
    except (OSError, ValueError):
        pass
    facts = _probe(env, name)
    if "error" not in facts:
        kept.write_text(json.dumps({"name": name, "facts": facts}), encoding="utf-8")
    return facts


def _probe(env: Path, name: str | None) -> dict[str, Any]:
    done = _run(
        [str(env / "bin" / "python"), "-I", probe.__file__, *([name] if name else [])], env, 120
    )
    try:
        facts = json.loads(done.stdout[:MAX_REPORT])
    except ValueError:
        facts = None
    if not isinstance(facts, dict):
        return {"error": f"the probe failed: {one_line(done.stderr)[-300:]}"}
    return facts


def check_plugin(env: Path, plugin: str, timeout: float) -> list[dict[str, Any]]:
    """The `plugins` entries of the environment's `omi plugins check PLUGIN --format json`; a
    plugin it could not load or report on is one entry with a validation error."""
    command = [
        str(env / "bin" / "omi"),
        "plugins",
        "check",
        plugin,
        "--format",
        "json",
        "--timeout",
        f"{timeout:g}",
    ]
    try:
        done = _run(command, env, timeout * 60 + 120)
        document = json.loads(done.stdout[:MAX_REPORT])
        entries = document["plugins"] if isinstance(document, dict) else None
        if isinstance(entries, list) and all(isinstance(e, dict) for e in entries):
            return entries
        problem = one_line(done.stderr)[-MAX_MESSAGE:] or "no report"
    except subprocess.TimeoutExpired:
        problem = "omi plugins check did not finish in time"
    except (ValueError, KeyError):
        problem = one_line(done.stderr)[-MAX_MESSAGE:] or "a report that is not JSON"
    return [{"plugin": plugin, "validation_error": problem, "results": []}]


def _failures(reports: list[dict[str, Any]]) -> list[dict[str, str]]:
    failed = []
    for report in reports:
        label = one_line(report.get("plugin", "?"))
        if report.get("validation_error"):
            failed.append(
                {
                    "plugin": label,
                    "check": "validate_plugin",
                    "message": one_line(report["validation_error"])[:MAX_MESSAGE],
                }
            )
        for result in report.get("results", []):
            if isinstance(result, dict) and result.get("status") == "failed":
                failed.append(
                    {
                        "plugin": label,
                        "check": one_line(result.get("name", "?")),
                        "message": one_line(result.get("message", ""))[:MAX_MESSAGE],
                    }
                )
    return failed


def judge(cell: Cell, evidence: Evidence) -> None:
    """Set the cell's status, failed checks, counts and grade from the evidence."""
    result = grade(evidence)
    cell.grade, cell.grade_missing = result.tier, result.missing
    statuses = [str(r.get("status")) for r in evidence.results()]
    cell.counts = {status: statuses.count(status) for status in sorted(set(statuses))}
    if evidence.install_error:
        cell.status, cell.message = INSTALL_ERROR, evidence.install_error
        return
    cell.failed_checks = _failures(evidence.reports)
    if not evidence.facts.get("plugins"):
        cell.status, cell.message = (
            FAIL,
            evidence.facts.get("error")
            or (
                "registers no plugin in OMI's entry-point groups"
                + (
                    f" (found {', '.join(evidence.facts['misplaced'])})"
                    if evidence.facts.get("misplaced")
                    else ""
                )
            ),
        )
    elif cell.failed_checks:
        cell.status = FAIL
        cell.message = f"{len(cell.failed_checks)} check(s) failed"
    elif statuses and all(status == "not-tested" for status in statuses):
        cell.status, cell.message = NOT_TESTED, "no check could reach the plugin's service"
    else:
        cell.status = PASS


def run_cell(spec: CellSpec, settings: Settings) -> Cell:
    """Install the cell's environment (or find it cached), check its plugin, judge it."""
    start = time.perf_counter()
    cell = Cell(spec.plugin, spec.omi, spec.python, spec.baseline)
    evidence = Evidence()
    try:
        prepared = envs.prepare(
            settings.cache,
            [spec.omi, spec.plugin],
            envs.find_python(spec.python),
            settings.installer,
            settings.find_links,
            settings.offline,
            settings.refresh,
        )
    except envs.InstallError as error:
        evidence.install_error = str(error)
    else:
        cell.cached = prepared.cached
        evidence.facts = probe_environment(prepared.path, requirement_name(spec.plugin))
        cell.plugin_name, cell.plugin_version = (
            evidence.facts.get("name"),
            evidence.facts.get("version"),
        )
        cell.omi_version = evidence.facts.get("omi_version")
        for plugin in evidence.facts.get("plugins") or []:
            evidence.reports += check_plugin(prepared.path, plugin, settings.timeout)
    judge(cell, evidence)
    cell.seconds = round(time.perf_counter() - start, 3)
    return cell
