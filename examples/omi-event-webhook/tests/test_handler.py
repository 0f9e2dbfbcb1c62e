"""Unit tests for WebhookHandler."""

import json

import pytest
from omi.events import EVENT_TYPES, EventHandler

from omi_event_webhook.handler import WebhookHandler


def test_plugin_interface():
    assert issubclass(WebhookHandler, EventHandler)
    assert WebhookHandler.interface_version == "1.0"


def test_every_event_becomes_one_json_line(tmp_path):
    handler = WebhookHandler(path=tmp_path / "events.jsonl")
    for event_type in EVENT_TYPES:
        handler.handle(event_type, {"id": "m1"})
    records = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [record["type"] for record in records] == list(EVENT_TYPES)
    assert all(record["data"] == {"id": "m1"} for record in records)


def test_unknown_and_filtered_events_are_ignored(tmp_path):
    handler = WebhookHandler(path=tmp_path / "events.jsonl", events=["memory.stored"])
    handler.handle("session.started", {})
    handler.handle("some.future.event", {})
    assert not (tmp_path / "events.jsonl").exists()


def test_unknown_event_filter_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown event types"):
        WebhookHandler(path=tmp_path / "e.jsonl", events=["memory.deleted"])
