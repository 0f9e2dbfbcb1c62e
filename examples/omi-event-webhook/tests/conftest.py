"""Fixtures: webhook receivers on 127.0.0.1 and handlers pointed at them."""

import socket
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

from omi_event_webhook import WebhookHandler
from receiver import Receiver

SECRET = "test-secret"


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """receiver(behaviour="ok", **options) -> a started Receiver, stopped after the test."""
    started: List[Receiver] = []

    def start(behaviour: str = "ok", **options: Any) -> Receiver:
        server = Receiver(SECRET, behaviour, **options).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


@pytest.fixture
def make(tmp_path: Path) -> Callable[..., WebhookHandler]:
    """make(url, **options) -> a WebhookHandler whose dead letters go to tmp_path."""

    def make_handler(url: str, **options: Any) -> WebhookHandler:
        options = {"secret": SECRET, "dead_letter_path": tmp_path / "dead.jsonl",
                   "backoff": 0.0, **options}
        return WebhookHandler(url, **options)

    return make_handler


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL where nothing listens (the port was just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/omi"
