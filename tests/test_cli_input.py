"""Bad command-line input is a usage error: exit 2 and one line on stderr saying what is wrong,
never exit 1 with a Python message, and nothing stored or written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from run_omi import OMI, omi

from omi.builtin.sqlite import SQLiteBackend
from omi.host import MAX_RECALL_LIMIT


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default database of an isolated user, which already holds one memory, so a refused
    command that stored anything would show in its count."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("OMI_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "data" / "omi" / "memories.db"
    backend = SQLiteBackend(path)
    backend.store_memory({"content": "already here"})
    backend.close()
    return path


def stored(db: Path) -> int:
    backend = SQLiteBackend(db)
    try:
        return backend.count()
    finally:
        backend.close()


def omi_bytes(*args: bytes) -> subprocess.CompletedProcess:
    """The real console script with raw argv bytes, as a shell passes a Latin-1 file name or
    text in a non-UTF-8 terminal: Python decodes them with surrogateescape."""
    return subprocess.run(
        [OMI.encode(), *args], capture_output=True, env=os.environ.copy(), timeout=60
    )


def assert_usage_error(code: int, stderr: str, *fragments: str) -> None:
    assert code == 2, stderr
    assert stderr.startswith("Error: ") and stderr.count("\n") == 1, stderr
    for fragment in fragments:
        assert fragment in stderr


def refused(*args: str) -> subprocess.CompletedProcess:
    """`omi ARGS`, which must print nothing on stdout."""
    result = omi(*args)
    assert result.stdout == ""
    return result


@pytest.mark.parametrize(
    "args, message",
    [
        (
            [b"store", b"\xff\xfe"],
            "Invalid value for 'TEXT': not valid UTF-8 (byte 0xFF at position 0); pass UTF-8 text",
        ),
        ([b"store", b"caf\xe9 au lait"], "not valid UTF-8 (byte 0xE9 at position 3)"),
        (
            [b"store", b"ok", b"--meta", b"source=\xff"],
            "Invalid value for '--meta': not valid UTF-8",
        ),
        ([b"store", b"ok", b"--meta", b"\xff=x"], "Invalid value for '--meta': not valid UTF-8"),
        ([b"recall", b"caf\xe9"], "Invalid value for 'QUERY': not valid UTF-8 (byte 0xE9"),
    ],
)
def test_undecodable_argv_bytes_are_refused_as_not_utf8(db, args, message):
    result = omi_bytes(*args)
    assert_usage_error(result.returncode, result.stderr.decode(), message)
    assert result.stdout == b""
    assert stored(db) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["store", "red \x1b[31malert"],
            "Invalid value for 'TEXT': control character U+001B at "
            "position 4; remove it (tabs and line breaks are fine); see 'omi store --help'",
        ),
        (
            ["store", "ok", "--meta", "source=a\x07"],
            "Invalid value for '--meta': control character U+0007 at position 8",
        ),
        (["recall", "x\x9b2J"], "Invalid value for 'QUERY': control character U+009B"),
    ],
)
def test_control_characters_are_refused(db, args, message):
    result = refused(*args)
    assert_usage_error(result.returncode, result.stderr, message)
    assert stored(db) == 1


def test_whitespace_in_text_is_fine(db):
    """Multi-line notes and tabs are text, not control characters."""
    assert omi_bytes(b"store", b"two\nlines\tand a tab\r\n").returncode == 0
    assert stored(db) == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--meta", "a=1", "--meta", "a=2"], "Error: --meta gives 'a' twice; give each KEY once"),
        (["--meta", "a=1", "--meta", " a =2"], "Error: --meta gives 'a' twice"),
    ],
)
def test_store_metadata_keys_are_given_once_each(db, args, message):
    result = refused("store", "the text", *args)
    assert_usage_error(result.returncode, result.stderr, message)
    assert stored(db) == 1


@pytest.mark.parametrize(
    "limit, message",
    [
        (
            "99999999999999999999999",
            "Error: --limit 99999999999999999999999 is too large: one "
            f"recall returns at most {MAX_RECALL_LIMIT} memories; give 1 to {MAX_RECALL_LIMIT}",
        ),
        (str(MAX_RECALL_LIMIT + 1), f"Error: --limit {MAX_RECALL_LIMIT + 1} is too large"),
        ("0", "Invalid value for '--limit': 0 is not in the range x>=1; see 'omi recall --help'"),
        ("-5", "Invalid value for '--limit': -5 is not in the range x>=1"),
        ("nan", "Invalid value for '--limit'"),
    ],
)
def test_recall_limits_are_bounded(db, limit, message):
    result = refused("recall", "x", "--limit", limit)
    assert_usage_error(result.returncode, result.stderr, message)


def test_the_largest_limit_is_accepted_and_documented(db):
    result = omi("recall", "here", "--limit", str(MAX_RECALL_LIMIT))
    assert result.returncode == 0 and "already here" in result.stdout
    assert f"(1 to {MAX_RECALL_LIMIT})" in omi("recall", "--help").stdout


@pytest.mark.parametrize(
    "timeout, message",
    [
        ("nan", "Invalid value for '--timeout': 'nan' is not a number of seconds; give e.g. 60"),
        ("inf", "Invalid value for '--timeout': inf is not in the range 0<x<=86400"),
        ("1e300", "is not in the range 0<x<=86400"),
        ("-1", "-1.0 is not in the range 0<x<=86400"),
        ("0", "0.0 is not in the range 0<x<=86400; see 'omi plugins check --help'"),
    ],
)
def test_check_timeouts_are_finite_positive_and_bounded(timeout, message):
    result = refused("plugins", "check", "any", "--timeout", timeout)
    assert_usage_error(result.returncode, result.stderr, message)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--option", "dsn=a", "--option", "dsn=b"],
            "Error: --option gives 'dsn' twice; give each KEY once\n",
        ),
        (["-o", ""], "Error: -o is empty; give the report's file name, e.g. -o report.xml\n"),
    ],
)
def test_check_options_given_twice_or_empty(args, message):
    result = refused("plugins", "check", "any", *args)
    assert_usage_error(result.returncode, result.stderr)
    assert result.stderr == message


def test_a_template_answer_given_twice_creates_nothing(tmp_path):
    result = refused(
        "plugins",
        "new",
        "event",
        "twice",
        "--no-input",
        "-o",
        str(tmp_path),
        "--set",
        "version=1.0.0",
        "--set",
        "version=2.0.0",
    )
    assert_usage_error(result.returncode, result.stderr, "--set gives 'version' twice")
    assert list(tmp_path.iterdir()) == []


def test_an_undecodable_template_answer_creates_nothing(tmp_path):
    result = omi_bytes(
        b"plugins",
        b"new",
        b"event",
        b"latin",
        b"--no-input",
        b"-o",
        bytes(tmp_path),
        b"--author",
        b"Jos\xe9",
    )
    assert_usage_error(
        result.returncode,
        result.stderr.decode(),
        "Invalid value for '--author': not valid UTF-8 (byte 0xE9 at position 3)",
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["store"], "Error: Missing argument 'TEXT'; see 'omi store --help'\n"),
        (["--bogus"], "Error: No such option '--bogus'; see 'omi --help'\n"),
        (["nosuch"], "Error: No such command 'nosuch'; see 'omi --help'\n"),
        (
            ["plugin", "list"],
            "Error: No such command 'plugin' (did you mean 'plugins'?); see 'omi --help'\n",
        ),
        (
            ["plugins", "chek", "x"],
            "Error: No such command 'chek' (did you mean 'check'?); see 'omi plugins --help'\n",
        ),
        (
            ["plugins", "cache", "clr"],
            "Error: No such command 'clr' (did you mean 'clear'?); see "
            "'omi plugins cache --help'\n",
        ),
        (
            ["recall", "x", "--format", "xml"],
            "Error: Invalid value for '--format': 'xml' is not one "
            "of 'text', 'json'; see 'omi recall --help'\n",
        ),
        (
            ["plugins", "update", "a-file"],
            "Error: Invalid value for '[PATH]': Directory 'a-file' is "
            "a file; see 'omi plugins update --help'\n",
        ),
    ],
)
def test_click_usage_errors_are_one_line_too(db, args, message):
    Path("a-file").write_text("")
    result = refused(*args)
    assert_usage_error(result.returncode, result.stderr)
    assert result.stderr == message


def test_a_group_without_a_command_still_shows_its_help():
    """click raises a usage error to show it; that one is not shortened to one line."""
    result = omi("plugins")
    shown = result.stdout + result.stderr  # click 8.2 writes it to stderr, earlier to stdout
    assert "Commands:" in shown and "list" in shown
