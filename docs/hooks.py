"""MkDocs hooks: the conformance checks page and the contract tables of the interfaces guide
are written from the check registry and its rules at build time, the grade rules from
omi.matrix.grade, and the command-line page sees every command.

`omi plugins check --list-checks`, `--explain` and this page read the same registry
(omi.conformance), so a check added to the suite appears here on the next build, with the
description, the why and the usual fix the command prints; tests/test_docs.py holds them to
the same text.

mkdocs-click walks a group's loaded commands only; `omi`'s `plugins` group is loaded on first
use (omi.cli.root's lazy table), so the build loads every lazy subcommand first.
"""

from __future__ import annotations

import re
from typing import Any

PLACEHOLDER = "<!-- conformance-checks -->"
#: `<!-- rules: INTERFACE METHOD -->` in a page becomes the table of that method's rules.
RULES_PLACEHOLDER = re.compile(r"<!-- rules: (\w+) (\w+) -->")
GRADES_PLACEHOLDER = "<!-- grade-rules -->"
TITLES = {
    "embedding": "Embedding providers",
    "storage": "Storage backends",
    "event": "Event handlers",
}


def _cell(text: str) -> str:
    """`text` as literal Markdown table-cell text: nothing in a description becomes markup."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    for char in "\\`*_[]|":
        text = text.replace(char, "\\" + char)
    return text


def _names(capabilities: frozenset) -> str:
    return ", ".join(f"`{name}`" for name in sorted(capabilities)) or "-"


def checks_markdown() -> str:
    """One table of capabilities, one table of checks per interface, in registry order, then
    each check's why and usual fix."""
    from omi.conformance import CAPABILITIES, all_checks
    from omi.conformance.authoring import INTERFACES

    lines = [
        "## Capabilities",
        "",
        "A plugin declares these in `conformance_capabilities`; checks that need one run "
        "only when it is declared.",
        "",
        "| Capability | What the plugin promises |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {_cell(text)} |" for name, text in CAPABILITIES.items()]
    checks = all_checks()
    for interface in INTERFACES:
        title = TITLES[interface]
        lines += [
            "",
            f"## {title} (`{interface}`)",
            "",
            "| Check | What it proves | Needs | Does not apply with | Since |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| `{check.name}` | {_cell(check.description)} | {_names(check.requires)} "
            f"| {_names(check.unless)} | {check.since} |"
            for check in checks
            if check.interface == interface
        ]
    lines += [
        "",
        "## Why each check exists, and the usual fix",
        "",
        "What `omi plugins check --explain CHECK` prints for each check.",
    ]
    for check in checks:
        lines += [
            "",
            f"### `{check.name}`",
            "",
            f"{_cell(check.description)}",
            "",
            f"**Why:** {_cell(check.why)}",
            "",
            f"**Usual fix:** {_cell(check.fix)}",
            "",
            f"**Rules ({check.level}):** {', '.join(f'`{name}`' for name in check.rules) or '-'}",
        ]
    return "\n".join(lines)


def rules_markdown(interface: str, method: str) -> str:
    """The table of one method's rules (omi.conformance.rules): each rule's level, its text
    and the checks that prove it, so the guide promises nothing no check tests."""
    from omi.conformance import all_checks
    from omi.conformance.rules import rules_of

    rules = rules_of(interface, method)
    if not rules:
        raise ValueError(f"no rules for {interface} {method}: fix the placeholder")
    lines = ["| Rule | | Checked by |", "|---|---|---|"]
    for rule in rules:
        proofs = [check.name for check in all_checks() if rule.name in check.rules]
        lines.append(
            f"| {_cell(rule.text)} | **{rule.level}** | "
            f"{', '.join(f'`{name}`' for name in proofs)} |"
        )
    return "\n".join(lines)


def grades_markdown() -> str:
    """The grade's rules, tier by tier, as `omi plugins check --grade` checks them."""
    from omi.matrix.grade import RULES

    lines = ["| Tier | Rule | The plugin... | Why it matters |", "|---|---|---|---|"]
    lines += [
        f"| {rule.tier} | `{rule.name}` | {_cell(rule.text)} | {_cell(rule.why)} |"
        for rule in RULES
    ]
    return "\n".join(lines)


def on_config(config: Any, **kwargs: Any) -> Any:
    import click

    from omi.cli.root import cli

    context = click.Context(cli, info_name="omi")
    for name in cli.lazy:
        cli.get_command(context, name)
    return config


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if PLACEHOLDER in markdown:
        markdown = markdown.replace(PLACEHOLDER, checks_markdown())
    if GRADES_PLACEHOLDER in markdown:
        markdown = markdown.replace(GRADES_PLACEHOLDER, grades_markdown())
    return RULES_PLACEHOLDER.sub(lambda match: rules_markdown(*match.groups()), markdown)
