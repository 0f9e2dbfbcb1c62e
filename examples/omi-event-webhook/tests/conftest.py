"""Fixtures: webhook receivers on 127.0.0.1 and handlers pointed at them."""

import socket

import pytest
from receiver import Receiver

from omi_event_webhook import WebhookHandler

SECRET = "test-secret"


@pytest.fixture
def receiver():
    """receiver(behaviour="ok", **options) -> a started Receiver, stopped after the test."""
    started = []

    def start(behaviour="ok", **options):
        server = Receiver(SECRET, behaviour, **options).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


@pytest.fixture
def make(tmp_path):
    """make(url, **options) -> a WebhookHandler whose dead letters go to tmp_path."""

    def make_handler(url, **options):
        options = {"secret": SECRET, "dead_letter_path": tmp_path / "dead.jsonl",
                   "backoff": 0.0, **options}
        return WebhookHandler(url, **options)

    return make_handler


@pytest.fixture
def closed_port_url():
    """A loopback URL where nothing listens (the port was just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/omi"
