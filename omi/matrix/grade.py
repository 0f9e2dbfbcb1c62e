"""A plugin's quality grade, from evidence only: what installing and checking it showed, and what
its installed metadata says. Declarations alone earn nothing: a capability counts once its
check ran and passed; a known failure, though honest, keeps a plugin below silver.

Four tiers, after Home Assistant's integration quality scale; each rule says why it matters
(docs/pages/reference/grades.md lists them). A plugin has the highest tier whose rules, and the
rules of every tier below, it all meets; one that misses a bronze rule has no grade.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TIERS = ("bronze", "silver", "gold", "platinum")
#: shields.io colours of the tiers, and of a plugin without one.
COLORS = {
    "bronze": "cd7f32",
    "silver": "c0c0c0",
    "gold": "dbb40c",
    "platinum": "8ad2e6",
    None: "lightgrey",
}
#: How a check skipped for want of a declared capability begins its message.
NEEDS_CAPABILITY = "needs capability"


@dataclass
class Evidence:
    """What a grade is computed from: the check reports (the `plugins` entries of
    `omi plugins check --format json`) and the distribution's facts (`omi.matrix.probe`)."""

    reports: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    install_error: str | None = None

    def results(self) -> list[dict[str, Any]]:
        return [result for report in self.reports for result in report.get("results", [])]

    def with_status(self, *statuses: str) -> list[str]:
        return [
            str(result.get("name")) for result in self.results() if result.get("status") in statuses
        ]


@dataclass(frozen=True)
class Rule:
    tier: str
    name: str
    text: str  # what the plugin must do
    why: str  # why it matters to the people who use the plugin
    missing: Callable[[Evidence], str | None]  # None when met, else what is missing


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _installs(evidence: Evidence) -> str | None:
    if evidence.install_error:
        return f"it did not install: {evidence.install_error}"
    if not evidence.facts.get("plugins"):
        return "the distribution registers no OMI plugin"
    return None


def _validates(evidence: Evidence) -> str | None:
    if not evidence.reports:
        return "no plugin was checked"
    bad = [str(r.get("plugin")) for r in evidence.reports if r.get("validation_error")]
    return f"validation failed: {_names(bad)}" if bad else None


def _status_rule(statuses: tuple[str, ...], what: str) -> Callable[[Evidence], str | None]:
    def missing(evidence: Evidence) -> str | None:
        names = evidence.with_status(*statuses)
        return f"{len(names)} {what}: {_names(names)}" if names else None

    return missing


def _fact(key: str, what: str, fix: str) -> Callable[[Evidence], str | None]:
    def missing(evidence: Evidence) -> str | None:
        return (
            None if evidence.facts.get(key) else f"no {what} in the installed metadata; fix: {fix}"
        )

    return missing


def _typed(evidence: Evidence) -> str | None:
    lacks = [
        what
        for key, what in (
            ("py_typed", "a py.typed file"),
            ("typed_classifier", "the Typing :: Typed classifier"),
        )
        if not evidence.facts.get(key)
    ]
    return (
        (
            f"no {' and no '.join(lacks)}; fix: put an empty py.typed in the package (and in "
            f"its package data) and add the classifier"
        )
        if lacks
        else None
    )


def _unproven_capabilities(evidence: Evidence) -> str | None:
    """Checks skipped because the plugin does not declare what they need; a check that does
    not apply (a shared backend's isolation checks) is no missing capability."""
    names = [
        str(result.get("name"))
        for result in evidence.results()
        if result.get("status") == "skipped"
        and str(result.get("message", "")).startswith(NEEDS_CAPABILITY)
    ]
    return (
        f"{len(names)} check(s) skipped for want of a capability: {_names(names)}"
        if names
        else None
    )


RULES = (
    Rule(
        "bronze",
        "installs",
        "installs from its requirement and registers an OMI plugin "
        "in one of OMI's entry-point groups",
        "a plugin that does not install, or that OMI cannot find, does nothing",
        _installs,
    ),
    Rule(
        "bronze",
        "validates",
        "every plugin it registers passes validate_plugin",
        "OMI refuses to load a plugin that fails validation",
        _validates,
    ),
    Rule(
        "bronze",
        "conforms",
        "no conformance check fails",
        "each check is a promise of the interface that OMI's host relies on",
        _status_rule(("failed",), "check(s) failed"),
    ),
    Rule(
        "bronze",
        "tested",
        "every check that applies ran (none not tested for want of its service)",
        "a verdict needs evidence: a check that could not run proves nothing",
        _status_rule(("not-tested",), "check(s) not tested"),
    ),
    Rule(
        "silver",
        "no-known-failures",
        "declares no known failure (conformance_known_failures is empty)",
        "a declared failure is honest, but users of the plugin still meet it",
        _status_rule(("xfail", "xpass"), "known failure(s) declared"),
    ),
    Rule(
        "silver",
        "requires-python",
        "states the Pythons it supports (Requires-Python)",
        "installers then pick a release that works on the user's Python instead of breaking",
        _fact(
            "requires_python",
            "Requires-Python",
            'requires-python = ">=3.10" in [project] of pyproject.toml',
        ),
    ),
    Rule(
        "silver",
        "license",
        "states its license as an SPDX expression (License-Expression)",
        "people and tools can tell whether they may use it without reading its source",
        _fact(
            "license_expression",
            "License-Expression",
            'license = "MIT" (an SPDX expression) in [project], built with setuptools>=77 '
            "or hatchling",
        ),
    ),
    Rule(
        "gold",
        "no-advisories",
        "follows every piece of the contract's advice (no advisory result)",
        "advice is what makes a plugin pleasant in a real host",
        _status_rule(("advisory",), "advisory result(s)"),
    ),
    Rule(
        "gold",
        "typed",
        "ships py.typed and the Typing :: Typed classifier",
        "type checkers then check the code that uses the plugin",
        _typed,
    ),
    Rule(
        "gold",
        "readme",
        "has a README as its long description",
        "the package index page is where users decide; it should say what the plugin does",
        _fact("readme", "README (long description)", 'readme = "README.md" in [project]'),
    ),
    Rule(
        "gold",
        "project-urls",
        "names its source and issue tracker (Project-URL)",
        "users can read the code, report a bug and see that someone maintains it",
        _fact(
            "project_urls",
            "Project-URL",
            "a [project.urls] table with Source and Issues (omi plugins new writes it when "
            "given --set repository=URL)",
        ),
    ),
    Rule(
        "platinum",
        "all-capabilities",
        "declares and proves every optional capability of "
        "its interface: no check skipped for want of one",
        "the whole contract is proven, including the optional promises (persistent storage, "
        "deterministic and semantic embeddings)",
        _unproven_capabilities,
    ),
)


@dataclass
class Grade:
    tier: str | None  # the highest tier met, None when a bronze rule is not
    checklist: list[tuple[Rule, str | None]]  # each rule and what is missing (None: met)

    @property
    def missing(self) -> list[str]:
        return [rule.name for rule, missing in self.checklist if missing is not None]


def grade(evidence: Evidence) -> Grade:
    """The tier `evidence` earns and the checklist behind it."""
    checklist = [(rule, rule.missing(evidence)) for rule in RULES]
    tier = None
    for name in TIERS:
        if any(missing is not None for rule, missing in checklist if rule.tier == name):
            break
        tier = name
    return Grade(tier, checklist)


def render_checklist(title: str, result: Grade) -> str:
    """`title: tier`, then one line a rule, ✓ or ✗ with what is missing."""
    lines = [f"{title}: {result.tier or 'no grade (a bronze rule is not met)'}"]
    for rule, missing in result.checklist:
        mark = "✓" if missing is None else "✗"
        lines.append(f"  {mark} {rule.tier:8} {rule.name:18} {rule.text}")
        if missing is not None:
            lines.append(f"      {missing}")
    return "\n".join(lines)


def badge(tier: str | None) -> dict[str, Any]:
    """A shields.io endpoint document for `tier` (https://shields.io/badges/endpoint-badge)."""
    return {
        "schemaVersion": 1,
        "label": "omi",
        "message": tier or "ungraded",
        "color": COLORS[tier],
    }
