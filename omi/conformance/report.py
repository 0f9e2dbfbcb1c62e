"""Formatting check reports: text for people, JSON for scripts, JUnit XML for CI.

The texts in a report come partly from the plugin (its messages, exceptions, output): each
renderer gets them `visible`, so no plugin can make a report that is not well-formed XML,
not encodable as UTF-8, or that drives the terminal it is printed on.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable

from omi.conformance.outcome import NOT_TESTED, STATUSES
from omi.conformance.suite import Report, exit_code
from omi.conformance.target import UNKNOWN
from omi.textsafety import visible

MARKS = {
    "passed": "✓",
    "failed": "✗",
    "advisory": "advisory",
    "skipped": "skipped",
    "xfail": "xfail",
    "xpass": "xpass",
}


def _visible_report(report: Report) -> Report:
    outcomes = [
        dataclasses.replace(outcome, name=visible(outcome.name), message=visible(outcome.message))
        for outcome in report.outcomes
    ]
    error = report.validation_error
    return dataclasses.replace(
        report,
        label=visible(report.label),
        outcomes=outcomes,
        validation_error=None if error is None else visible(error),
    )


def _escaped(render: Callable[[list[Report], bool], str]) -> Callable[[list[Report], bool], str]:
    """The renderer, given the reports with their texts made `visible`."""

    @functools.wraps(render)
    def escaped(reports: list[Report], strict: bool = False) -> str:
        return render([_visible_report(report) for report in reports], strict)

    return escaped


def summary_line(reports: list[Report]) -> str:
    """`N passed, N failed, N skipped`, plus advisory, not-tested, xfail and xpass counts when
    there are any."""
    totals = dict.fromkeys(STATUSES, 0)
    for report in reports:
        for status, count in report.counts().items():
            totals[status] += count
        if report.validation_error is not None:
            totals["failed"] += 1
    line = f"{totals['passed']} passed, {totals['failed']} failed"
    if totals["advisory"]:
        line += f", {totals['advisory']} advisory"
    line += f", {totals['skipped']} skipped"
    if totals[NOT_TESTED]:
        untested = sum(report.untested is not None for report in reports)
        line += (
            f", {totals[NOT_TESTED]} not tested ({untested} plugin"
            f"{'s' if untested > 1 else ''} whose service could not be reached)"
        )
    if totals["xfail"] or totals["xpass"]:
        line += f", {totals['xfail']} xfailed, {totals['xpass']} xpassed"
    return line


@_escaped
def render_text(reports: list[Report], strict: bool = False) -> str:
    """One line per check; `strict` changes nothing here (the exit code says it)."""
    lines: list[str] = []
    for report in reports:
        lines.append(
            report.label + ("" if report.interface == UNKNOWN else f" [{report.interface}]")
        )
        if report.validation_error is not None:
            lines.append("  ✗ validate_plugin")
            lines.append(f"      {report.validation_error}")
            continue
        lines.append("  ✓ validate_plugin")
        for outcome in report.outcomes:
            if outcome.status == NOT_TESTED:
                continue  # said once, below
            mark = MARKS[outcome.status]
            line = f"  {mark} {outcome.name} ({outcome.duration:.3f}s)"
            if outcome.status in ("skipped", "xfail", "xpass"):
                line += f": {outcome.message}"
            elif outcome.status == "advisory":
                line += f" (a failure under --strict): {outcome.message}"
            lines.append(line)
            if outcome.status == "failed":
                lines.append(f"      {outcome.message}")
        if report.untested is not None:
            count = report.counts()[NOT_TESTED]
            lines.append(
                f"  not tested ({count} check{'s' if count > 1 else ''}): {report.untested}"
            )
    lines.append(summary_line(reports))
    return "\n".join(lines)


@_escaped
def render_json(reports: list[Report], strict: bool = False) -> str:
    document = {
        "schema": "omi.plugins.check/1",
        "strict": strict,
        "plugins": [
            {
                "plugin": report.label,
                "interface": report.interface,
                "seed": report.seed,
                "validation_error": report.validation_error,
                "results": [outcome.to_dict() for outcome in report.outcomes],
                "counts": report.counts(),
                "exit_code": report.exit_code(strict),
                "wall_time": round(report.wall_time, 4),
            }
            for report in reports
        ],
        "summary": summary_line(reports),
        "exit_code": exit_code(reports, strict),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


@_escaped
def render_junit(reports: list[Report], strict: bool = False) -> str:
    """JUnit XML for CI; under `strict` an advisory or an xpass is a failure, as it is for the
    exit code."""
    from xml.etree import ElementTree  # only JUnit needs it: keeps the text report's start-up short

    suites = ElementTree.Element("testsuites", name="omi plugins check")
    for report in reports:
        counts = report.counts()
        suite = ElementTree.SubElement(
            suites,
            "testsuite",
            name=report.label,
            tests=str(len(report.outcomes) + 1),
            failures=str(
                counts["failed"]
                + (report.validation_error is not None)
                + (counts["xpass"] + counts["advisory"] if strict else 0)
            ),
            skipped=str(counts["skipped"] + counts["xfail"] + counts[NOT_TESTED]),
            time=f"{report.wall_time:.3f}",
        )
        case = ElementTree.SubElement(
            suite, "testcase", classname=report.interface, name="validate_plugin"
        )
        if report.validation_error is not None:
            ElementTree.SubElement(case, "failure", message=report.validation_error)
            continue
        for outcome in report.outcomes:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=report.interface,
                name=outcome.name,
                time=f"{outcome.duration:.3f}",
            )
            if outcome.status == "failed":
                ElementTree.SubElement(case, "failure", message=outcome.message)
            elif outcome.status in ("skipped", "xfail", NOT_TESTED):
                ElementTree.SubElement(
                    case, "skipped", message=f"{outcome.status}: {outcome.message}"
                )
            elif outcome.status in ("xpass", "advisory") and strict:
                ElementTree.SubElement(
                    case, "failure", message=f"{outcome.status}: {outcome.message}"
                )
            elif outcome.status in ("xpass", "advisory"):
                ElementTree.SubElement(
                    case, "system-out"
                ).text = f"{outcome.status}: {outcome.message}"
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True)


RENDERERS = {"text": render_text, "json": render_json, "junit": render_junit}
