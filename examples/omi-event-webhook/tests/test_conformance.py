"""OMI's standard conformance suite: the same checks as `omi plugins check webhook`."""

import pytest
from omi.testing import EventHandlerConformance

from omi_event_webhook.handler import WebhookHandler


class TestConformance(EventHandlerConformance):
    # The suite version these tests were generated for; checks added later say so.
    suite_version = "0.1.0"
    # Checks your plugin cannot pass yet, with the reason: {"check_name": "why"}.
    known_failures = {}

    @pytest.fixture
    def plugin(self, tmp_path):
        return WebhookHandler(path=tmp_path / "events.jsonl")
