"""Unit tests for {{ cookiecutter.__class_name }}."""

import json
from pathlib import Path

import pytest
from omi.events import EVENT_TYPES, EventHandler

from {{ cookiecutter.__import_name }}.handler import {{ cookiecutter.__class_name }}


def test_plugin_interface() -> None:
    assert issubclass({{ cookiecutter.__class_name }}, EventHandler)
    assert {{ cookiecutter.__class_name }}.interface_version == "1.0"


def test_every_event_becomes_one_json_line(tmp_path: Path) -> None:
    handler = {{ cookiecutter.__class_name }}(path=tmp_path / "events.jsonl")
    for event_type in EVENT_TYPES:
        handler.handle(event_type, {"id": "m1"})
    records = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [record["type"] for record in records] == list(EVENT_TYPES)
    assert all(record["data"] == {"id": "m1"} for record in records)


def test_unknown_and_filtered_events_are_ignored(tmp_path: Path) -> None:
    handler = {{ cookiecutter.__class_name }}(path=tmp_path / "events.jsonl", events=["memory.stored"])
    handler.handle("session.started", {})
    handler.handle("some.future.event", {})
    assert not (tmp_path / "events.jsonl").exists()


def test_one_event_type_may_be_given_as_a_string(tmp_path: Path) -> None:
    handler = {{ cookiecutter.__class_name }}(path=tmp_path / "events.jsonl", events="memory.stored")
    assert handler.events == {"memory.stored"}


def test_unknown_event_filter_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown event types"):
        {{ cookiecutter.__class_name }}(path=tmp_path / "e.jsonl", events=["memory.deleted"])
