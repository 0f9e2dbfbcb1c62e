"""OMI's standard conformance suite: the same checks as `omi plugins check webhook`.

The handler delivers to a real receiver on 127.0.0.1 that verifies every signature; the last
test proves that the suite's sample events really arrive, signed, and none is dead-lettered.
"""

from pathlib import Path
from typing import Iterator

import pytest
from omi.testing import EventHandlerConformance

from omi_event_webhook.handler import WebhookHandler
from receiver import Receiver

SECRET = "conformance-secret"


@pytest.fixture(scope="module")
def conformance_receiver() -> Iterator[Receiver]:
    with Receiver(SECRET) as server:
        yield server


class TestConformance(EventHandlerConformance):
    # The suite version these tests were generated for; checks added later say so.
    suite_version = "0.4.0"
    # Checks your plugin cannot pass yet, with the reason: {"check_name": "why"}.
    known_failures = {}

    @pytest.fixture
    def plugin(self, conformance_receiver: Receiver, tmp_path: Path) -> WebhookHandler:
        return WebhookHandler(conformance_receiver.url, SECRET, tmp_path / "dead.jsonl")


def test_the_suite_sample_events_arrive_signed(tmp_path: Path) -> None:
    from omi.conformance.events import SAMPLE_PAYLOADS

    with Receiver(SECRET) as server:
        handler = WebhookHandler(server.url, SECRET, tmp_path / "dead.jsonl")
        for event_type, payload in SAMPLE_PAYLOADS.items():
            handler.handle(event_type, payload)
    assert [(e["type"], e["data"]) for e in server.events()] == list(SAMPLE_PAYLOADS.items())
    assert len(server.accepted) == len(server.requests)
    assert not (tmp_path / "dead.jsonl").exists()
