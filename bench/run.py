"""Run every benchmark in bench/ and print one table of figures.

Usage: python bench/run.py [--quick] [--only TOPIC ...] [--markdown]

Exits 1 when a figure misses its target, so the table can gate a release.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# The plugin sources the tests install (tests/plugin_sources.py), imported by the same name
# pytest gives it: the benchmarks time the very plugins the tests check.
sys.path.append(str(HERE.parent / "tests"))

from common import Figure  # noqa: E402


def _format_value(value: float, unit: str) -> str:
    if unit == "s" and value < 0.001:
        return f"{value * 1e6:.0f} µs"
    if unit == "s":
        return f"{value * 1000:.1f} ms"
    if value >= 1000:
        return f"{value:,.0f} {unit}"
    return f"{value:.3g} {unit}"


def _row(figure: Figure) -> list[str]:
    ratio = "" if figure.ratio is None else f"{figure.ratio:.2f}"
    verdict = {True: "ok", False: "MISSED", None: ""}[figure.passed]
    baseline = (
        f"{figure.baseline_name}: {_format_value(figure.baseline, figure.unit)}"
        if figure.baseline is not None
        else ""
    )
    return [
        figure.name,
        _format_value(figure.value, figure.unit),
        baseline,
        ratio,
        figure.target,
        verdict,
    ]


HEADER = ["figure", "value", "baseline", "ratio", "target", "verdict"]


def render_text(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [HEADER, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def render_markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--only", nargs="*", default=None, help="topics, e.g. cli host")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)

    topics = sorted(path.stem.removeprefix("bench_") for path in HERE.glob("bench_*.py"))
    if args.only:
        unknown = sorted(set(args.only) - set(topics))
        if unknown:
            parser.error(f"unknown topic(s) {', '.join(unknown)}; choose from {', '.join(topics)}")
        topics = [topic for topic in topics if topic in args.only]
    figures: list[Figure] = []
    for topic in topics:
        print(f"running bench_{topic} ...", file=sys.stderr, flush=True)
        figures += importlib.import_module(f"bench_{topic}").run(quick=args.quick)
    rows = [_row(figure) for figure in figures]
    print(render_markdown(rows) if args.markdown else render_text(rows))
    return 1 if any(figure.passed is False for figure in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
