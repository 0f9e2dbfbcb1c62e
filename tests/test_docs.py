"""The documentation site in docs/: it builds with every warning an error, its generated pages
cover the whole API, CLI and check registry, and no link in README.md or the docs leaves the
repository or points at a missing file."""

from __future__ import annotations

import html
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import click
import pytest
from browser import CHROMIUM, NO_BROWSER, dump_dom
from click.testing import CliRunner
from venvs import copy_checkout, make_venv

from omi.cli import cli
from omi.conformance import registry

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as `mkdocs build --strict` makes it: any warning fails the build."""
    out = tmp_path_factory.mktemp("site")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(DOCS / "mkdocs.yml"),
            "--site-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return out


class _Page(HTMLParser):
    """The ids, the text and the table rows of one built page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.text: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.ids.update(value for name, value in attrs if name == "id" and value)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def page(site: Path, name: str) -> _Page:
    parsed = _Page()
    parsed.feed((site / name / "index.html").read_text(encoding="utf-8"))
    return parsed


@pytest.mark.slow
def test_the_guide_covers_every_topic_of_a_plugin_author(site: Path):
    for name in (
        "interfaces",
        "discovery",
        "versioning",
        "configuration",
        "testing",
        "publishing",
        "updating",
        "troubleshooting",
    ):
        assert (site / "guide" / name / "index.html").is_file(), name


@pytest.mark.slow
def test_the_api_reference_is_generated_for_the_public_modules(site: Path):
    ids = page(site, "reference/api").ids
    for name in (
        "omi.plugins.discover_plugins",
        "omi.plugins.load_plugin",
        "omi.plugins.validate_plugin",
        "omi.plugins.PluginRegistry.load",
        "omi.plugins.PluginValidationError",
        "omi.embeddings.EmbeddingProvider.embed_batch",
        "omi.storage.StorageBackend.recall",
        "omi.storage.StorageBackend.close",
        "omi.events.EventHandler.handle",
        "omi.events.EVENT_TYPES",
        "omi.testing.EmbeddingProviderConformance",
        "omi.testing.StorageBackendConformance.backend_factory",
        "omi.testing.EventHandlerConformance.known_failures",
        "omi.host.Memory.recall",
        "omi.host.Memory.from_config",
    ):
        assert name in ids, name


def _commands(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, f"{path} {name}")


@pytest.mark.slow
def test_the_cli_reference_has_every_command_and_option(site: Path):
    built = page(site, "reference/cli")
    text = " ".join(built.text)
    for path, command in _commands(cli, "omi"):
        assert path.replace(" ", "-") in built.ids, path
        for parameter in command.params:
            if isinstance(parameter, click.Option):
                for opt in parameter.opts:
                    assert opt in text, f"{path} {opt}"


LISTED = re.compile(
    r"(?P<interface>\S+) +(?P<name>\S+) +(?P<description>.*?)"
    r"(?: \[needs (?P<needs>[^\]]+)\])?"
    r" \[(?P<level>must|should): (?P<rules>[^\]]+)\]"
)


@pytest.mark.slow
def test_the_checks_page_says_what_list_checks_prints(site: Path):
    """Every line of `omi plugins check --list-checks` is a row of the page: the same check,
    the same description, the same rules, the same capabilities needed; and the page has no
    other checks."""
    result = CliRunner().invoke(cli, ["plugins", "check", "--list-checks"])
    assert result.exit_code == 0, result.output
    listed, rules = set(), {}
    for line in result.output.splitlines():
        match = LISTED.fullmatch(line)
        assert match, line
        listed.add((match["name"], match["description"], match["needs"] or "-"))
        rules[match["name"]] = f"Rules ({match['level']}): {match['rules']}"
    built = page(site, "reference/checks")
    rows = {(row[0], row[1], row[2]) for row in built.rows if len(row) == 5 and row[0] != "Check"}
    assert rows == listed
    text = " ".join("".join(built.text).split())
    assert all(said in text for said in rules.values())


@pytest.mark.slow
def test_the_checks_page_says_why_each_check_exists_and_the_usual_fix(site: Path):
    """What `omi plugins check --explain CHECK` prints, for every check of the registry."""
    built = page(site, "reference/checks")
    text = " ".join("".join(built.text).split())
    for item in registry.all_checks():
        assert item.name in built.ids, item.name  # a heading: a link can point at it
        assert f"Why: {item.why} Usual fix: {item.fix}" in text, item.name


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_check_added_to_the_registry_appears_on_the_page(monkeypatch: pytest.MonkeyPatch):
    registry.all_checks()  # the suite's own checks are registered
    added = registry.Check(
        "recall_keeps_markup_as_text",
        "storage",
        "recall() keeps <html>, *stars* and a | pipe as text",
        lambda ctx: None,
        frozenset({"persistent"}),
        since="9.9.0",
        why="markup is <data>",
        fix="store it as *text*",
    )
    monkeypatch.setitem(registry.REGISTRY, added.name, added)
    markdown = _hooks().checks_markdown()
    assert (
        "| `recall_keeps_markup_as_text` | recall() keeps &lt;html>, \\*stars\\* and a "
        "\\| pipe as text | `persistent` | - | 9.9.0 |"
    ) in markdown
    assert ("**Why:** markup is &lt;data>\n\n**Usual fix:** store it as \\*text\\*") in markdown


# --- links ---------------------------------------------------------------------------------

MARKDOWN_FILES = sorted(
    [
        ROOT / "README.md",
        ROOT / "CHANGELOG.md",
        *(DOCS / "pages").rglob("*.md"),
        *(ROOT / "examples").glob("*/README.md"),
        *(ROOT / "examples").glob("*/CHANGELOG.md"),
    ]
)
FENCED = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(
    r"\]\(\s*(?:<([^>]+)>|([^)\s]+))(?:\s+\"[^\"]*\")?\s*\)"  # [text](target)
    r"|^\s*\[[^\]]+\]:\s*(\S+)",
    re.M,
)  # [label]: target


def relative_links(text: str) -> list[str]:
    """The link targets of a Markdown text that are paths (no scheme, not only an anchor),
    leaving out code blocks and code spans, where brackets are not links."""
    text = INLINE_CODE.sub("", FENCED.sub("", text))
    targets = [next(group for group in groups if group) for groups in LINK.findall(text)]
    return [
        target
        for target in targets
        if not re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target) and not target.startswith("#")
    ]


def test_the_link_finder_sees_inline_and_reference_links_but_not_code():
    text = (
        '[a](docs/a.md) [b](<b c.md> "title") [web](https://x.org) [top](#top)\n'
        "`[no](code.md)`\n```\n[no](fenced.md)\n```\n[ref]: ../ref.md#part\n"
    )
    assert relative_links(text) == ["docs/a.md", "b c.md", "../ref.md#part"]


def broken_links(files: list[Path], root: Path = ROOT) -> dict[str, str]:
    problems = {}
    for path in files:
        for target in relative_links(path.read_text(encoding="utf-8")):
            resolved = (path.parent / target.split("#", 1)[0].split("?", 1)[0]).resolve()
            where = f"{path.relative_to(root)}: {target}"
            if not resolved.is_relative_to(root):
                problems[where] = "leaves the repository"
            elif not resolved.exists():
                problems[where] = "points at a missing file"
    return problems


def test_no_link_leaves_the_repository_or_points_at_a_missing_file():
    assert ROOT / "README.md" in MARKDOWN_FILES and len(MARKDOWN_FILES) > 10
    assert broken_links(MARKDOWN_FILES) == {}


def test_a_link_out_of_the_repository_or_to_nothing_is_found(tmp_path: Path):
    root = tmp_path / "repository"
    (root / "docs" / "guide").mkdir(parents=True)
    (root / "docs" / "guide" / "testing.md").write_text("# Testing\n")
    (tmp_path / "shared" / "spec").mkdir(parents=True)
    (tmp_path / "shared" / "spec" / "guide.md").write_text("# Outside\n")
    doc = root / "docs" / "index.md"
    doc.write_text(
        "[spec](../../shared/spec/guide.md) [gone](guide/gone.md) [fine](guide/testing.md#phase)\n",
        encoding="utf-8",
    )
    assert broken_links([doc], root) == {
        "docs/index.md: ../../shared/spec/guide.md": "leaves the repository",
        "docs/index.md: guide/gone.md": "points at a missing file",
    }


# --- the theme, and the tables as a browser lays them out -------------------------------------


@pytest.mark.slow
def test_the_site_uses_material_and_loads_nothing_from_other_hosts(site: Path):
    home = (site / "index.html").read_text(encoding="utf-8")
    assert re.search(r'name="generator" content="mkdocs-[\d.]+, mkdocs-material-[\d.]+"', home)
    assert 'href="stylesheets/extra.css"' in home
    for built in site.rglob("*.html"):
        head = built.read_text(encoding="utf-8").split("<body", 1)[0]
        assert not re.search(r'(?:src|href)="(?:https?:)?//', head), built


#: Appended to a built page: once it has loaded and Material has wrapped its tables, tell the
#: page framing it how many tables the content column holds, its width, and the header row of
#: each table wider than the column or scrolling sideways.
MEASURE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const column = document.querySelector(".md-content__inner");
  const limit = column.getBoundingClientRect().right + 1;
  const wide = [...column.querySelectorAll("table")].filter(table => {
    const boxes = [table, table.parentElement, table.closest(".md-typeset__scrollwrap")];
    return table.getBoundingClientRect().right > limit || boxes.some(
      box => box !== null && box.scrollWidth > box.clientWidth + 1);
  }).map(table => table.rows[0].innerText.replace(/\\s+/g, " ").trim());
  parent.postMessage(JSON.stringify({page: location.href, tables:
    column.querySelectorAll("table").length, width: column.clientWidth, wide: wide}), "*");
}, 300));
</script></body>"""

#: The page that frames the measured pages, each `width` pixels wide, and writes what they
#: told it into <body data-measured> once all of them have.
FRAMES = """<!doctype html><html><body>{frames}<script>
const measured = [];
window.addEventListener("message", event => {{
  measured.push(JSON.parse(event.data));
  if (measured.length === {count}) {{
    document.body.setAttribute("data-measured", JSON.stringify(measured));
  }}
}});
</script></body></html>"""


def measured(pages: list[Path], width: int = 1280) -> dict[Path, dict[str, object]]:
    """The tables of built pages as headless Chromium lays them out `width` pixels wide: all
    in one browser, each page in a frame of that width (a browser for each took 20 s)."""
    for page in pages:
        text = page.read_text(encoding="utf-8")
        page.write_text(text.replace("</body>", MEASURE), encoding="utf-8")
    frames = "".join(
        f'<iframe src="{page.as_uri()}" style="width: {width}px; height: 900px"></iframe>'
        for page in pages
    )
    framing = pages[0].parent / "measure-frames.html"
    framing.write_text(FRAMES.format(frames=frames, count=len(pages)), encoding="utf-8")
    completed = dump_dom(framing, f"--window-size={width + 100},900", "--virtual-time-budget=5000")
    found = re.search(r'data-measured="([^"]*)"', completed.stdout)
    assert found, completed.stderr[-2000:]
    by_uri = {page.as_uri(): page for page in pages}
    return {
        by_uri[result.pop("page")]: result for result in json.loads(html.unescape(found.group(1)))
    }


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)
def test_every_table_fits_the_content_column_at_1280_pixels(site: Path, tmp_path: Path):
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    pages = sorted(
        path for path in copy.rglob("index.html") if "<table" in path.read_text(encoding="utf-8")
    )
    assert len(pages) >= 10
    results = measured(pages)
    assert sorted(results) == pages
    for path, result in results.items():
        assert result["tables"] and result["wide"] == [], (path.relative_to(copy), result)
        assert int(str(result["width"])) >= 900, (path.relative_to(copy), result)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)
def test_the_table_measure_sees_a_table_too_wide_for_the_column(site: Path, tmp_path: Path):
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    checks = copy / "reference" / "checks" / "index.html"
    wide = (
        '<table><tr><th>Too wide</th></tr><tr><td style="white-space: nowrap">'
        + "word " * 300
        + "</td></tr></table>"
    )
    text = checks.read_text(encoding="utf-8")
    checks.write_text(text.replace("<h2", wide + "<h2", 1), encoding="utf-8")
    assert measured([checks])[checks]["wide"] == ["Too wide"]


@pytest.mark.slow
def test_the_documented_docs_install_is_all_mkdocs_build_needs(tmp_path: Path):
    """`pip install -e ".[docs]"` (the README's command) in a new virtual environment, then the
    strict build: no package of the `dev` extra is needed."""
    checkout = copy_checkout(tmp_path / "omi-openclaw")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'pip install -e ".[docs]"' in readme
    python = str(make_venv(tmp_path / "venv", pip=True) / "python")
    for argv in (
        [python, "-m", "pip", "install", "--quiet", "-e", ".[docs]"],
        [
            python,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            "docs/mkdocs.yml",
            "--site-dir",
            str(tmp_path / "site"),
        ],
    ):
        completed = subprocess.run(argv, cwd=checkout, capture_output=True, text=True, timeout=900)
        assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "checks" / "index.html").is_file()
