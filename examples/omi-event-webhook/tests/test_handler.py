"""WebhookHandler against real receivers on 127.0.0.1: ones that succeed and verify the
signature, fail, time out, refuse, and fail then recover."""

import datetime
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
from omi.events import EVENT_TYPES, EventHandler

from omi_event_webhook import InvalidSignature, WebhookHandler, sign, verify_signature
from receiver import Receiver

StartReceiver = Callable[..., Receiver]  # the `receiver` fixture: behaviour, options -> started
Make = Callable[..., WebhookHandler]  # the `make` fixture: url, options -> a handler


def test_plugin_interface() -> None:
    assert issubclass(WebhookHandler, EventHandler)
    assert WebhookHandler.interface_version == "1.0"


def test_every_event_is_posted_as_signed_json(receiver: StartReceiver, make: Make,
                                              tmp_path: Path) -> None:
    server = receiver("ok")
    handler = make(server.url)
    for event_type in EVENT_TYPES:
        # handle() returns (None) rather than raising
        assert handler.handle(event_type,  # type: ignore[func-returns-value]
                              {"id": "m1", "content": "tea, not coffee ☕"}) is None

    assert len(server.accepted) == len(server.requests) == len(EVENT_TYPES)  # all verified
    events = server.events()
    assert [event["type"] for event in events] == list(EVENT_TYPES)
    assert all(event["data"] == {"id": "m1", "content": "tea, not coffee ☕"} for event in events)
    assert len({event["id"] for event in events}) == len(EVENT_TYPES)
    headers = server.accepted[0]["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-OMI-Event"] == "memory.stored"
    assert headers["X-OMI-Delivery"] == events[0]["id"]
    assert headers["User-Agent"] == "omi-event-webhook/0.2.0"
    assert abs(int(headers["X-OMI-Timestamp"]) - time.time()) < 5
    assert abs(events[0]["created"] - time.time()) < 5
    assert not (tmp_path / "dead.jsonl").exists()


def test_the_signature_covers_timestamp_and_raw_body(receiver: StartReceiver, make: Make) -> None:
    server = receiver("ok")
    make(server.url).handle("memory.stored", {"id": "m1"})
    request = server.requests[0]
    timestamp = request["headers"]["X-OMI-Timestamp"]
    signature = request["headers"]["X-OMI-Signature"]

    assert signature.startswith("sha256=") and len(signature) == len("sha256=") + 64
    assert signature == sign("test-secret", int(timestamp), request["body"])
    verify_signature("test-secret", request["body"], timestamp, signature)
    for secret, body, stamp, message in [
        ("wrong-secret", request["body"], timestamp, "does not match"),
        ("test-secret", request["body"] + b" ", timestamp, "does not match"),
        ("test-secret", request["body"], str(int(timestamp) + 1), "does not match"),
        ("test-secret", request["body"], "yesterday", "not Unix seconds"),
        ("test-secret", request["body"], None, "missing"),
    ]:
        with pytest.raises(InvalidSignature, match=message):
            verify_signature(secret, body, stamp, signature)
    with pytest.raises(InvalidSignature, match="replay"):
        verify_signature("test-secret", request["body"], timestamp, signature,
                         now=int(timestamp) + 301)


def test_a_receiver_with_another_secret_refuses_and_the_event_is_kept(receiver: StartReceiver,
                                                                      make: Make,
                                                                      tmp_path: Path) -> None:
    server = receiver("ok")
    make(server.url, secret="not-the-receivers-secret").handle("memory.stored", {"id": "m1"})

    assert server.accepted == [] and len(server.requests) == 1  # 401 is not retried
    kept, = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert kept["type"] == "memory.stored" and kept["data"] == {"id": "m1"}
    assert kept["attempts"] == 1 and "HTTP 401" in kept["error"]


def test_a_failing_receiver_gets_bounded_retries_then_the_event_is_kept(receiver: StartReceiver,
                                                                        make: Make) -> None:
    server = receiver("fail")
    handler = make(server.url, max_retries=2)
    handler.handle("memory.stored", {"id": "m1", "content": "keep me"})

    assert len(server.requests) == 3
    kept, = handler.dead_letters()
    assert kept["data"] == {"id": "m1", "content": "keep me"}
    assert kept["attempts"] == 3 and "HTTP 500" in kept["error"]
    assert json.loads(server.requests[0]["body"])["id"] == kept["id"]


def test_retries_back_off_exponentially(receiver: StartReceiver, make: Make) -> None:
    server = receiver("flaky", failures=2)
    start = time.perf_counter()
    make(server.url, backoff=0.1, max_retries=2).handle("memory.stored", {"id": "m1"})
    assert time.perf_counter() - start >= 0.1 + 0.2
    assert len(server.requests) == 3 and len(server.accepted) == 1


def test_retry_after_is_honoured(receiver: StartReceiver, make: Make) -> None:
    server = receiver("flaky", failures=1, retry_after="0.4")
    start = time.perf_counter()
    make(server.url, max_retries=1).handle("memory.stored", {"id": "m1"})
    assert time.perf_counter() - start >= 0.4
    assert len(server.accepted) == 1


def test_a_receiver_that_fails_then_recovers_gets_the_event_once(receiver: StartReceiver,
                                                                 make: Make,
                                                                 tmp_path: Path) -> None:
    server = receiver("flaky", failures=2)
    make(server.url, max_retries=2).handle("session.started", {"session_id": "s1"})

    assert len(server.requests) == 3
    assert [event["data"] for event in server.events()] == [{"session_id": "s1"}]
    assert not (tmp_path / "dead.jsonl").exists()


def test_a_receiver_that_times_out_costs_at_most_the_time_budget(receiver: StartReceiver,
                                                                 make: Make) -> None:
    server = receiver("slow", delay=4.0)
    handler = make(server.url, timeout=0.2, max_retries=1, backoff=0.05)
    start = time.perf_counter()
    handler.handle("memory.stored", {"id": "m1"})
    elapsed = time.perf_counter() - start

    # (max_retries + 1) * timeout + backoff, with generous slack for a busy machine; far
    # below the 4 s the receiver would take
    assert elapsed < 2 * 0.2 + 0.05 + 1.5
    kept, = handler.dead_letters()
    assert kept["attempts"] == 2 and "timed out" in kept["error"]


def test_a_receiver_trickling_its_answer_cannot_stretch_the_timeout(receiver: StartReceiver,
                                                                    make: Make) -> None:
    """The timeout bounded each read, so a receiver sending a byte every 0.2 s (every 0.5 s
    held handle() 19.5 s with timeout=1) never let it expire."""
    server = receiver("trickle", delay=0.2)
    handler = make(server.url, timeout=1.0, max_retries=0)
    start = time.perf_counter()
    handler.handle("memory.stored", {"id": "m1"})
    elapsed = time.perf_counter() - start

    assert elapsed < 1.0 + 1.0, elapsed  # the timeout, with slack; not the 9 s of the answer
    kept, = handler.dead_letters()
    assert kept["data"] == {"id": "m1"} and "timed out" in kept["error"]


@pytest.mark.parametrize("announce", [True, False])
def test_a_huge_answer_is_not_read_and_the_event_counts_as_delivered(
        receiver: StartReceiver, make: Make, tmp_path: Path, announce: bool) -> None:
    """A receiver answering 200 with 1 GiB (with a Content-Length or until it closes the
    connection) used to have all of it read into memory; only the first 64 KiB are now."""
    server = receiver("huge", size=1 << 30, announce=announce)
    handler = make(server.url, timeout=30, max_retries=0)
    handler.handle("memory.stored", {"id": "m1"})

    assert [event["data"] for event in server.events()] == [{"id": "m1"}]
    assert not (tmp_path / "dead.jsonl").exists()
    assert server.sent < server.size // 16  # the socket buffers' worth, not the body


def test_a_refusal_is_not_retried(receiver: StartReceiver, make: Make) -> None:
    server = receiver("reject")
    handler = make(server.url, max_retries=3)
    handler.handle("memory.stored", {"id": "m1"})
    assert len(server.requests) == 1
    assert "HTTP 400" in handler.dead_letters()[0]["error"]


def test_a_redirect_is_not_followed_and_the_event_is_kept(receiver: StartReceiver,
                                                          make: Make) -> None:
    """urllib would turn the POST into a body-less GET of the new address and call a 200 a
    delivery: the event would be lost."""
    server = receiver("redirect")
    handler = make(server.url)
    handler.handle("memory.stored", {"id": "m1"})
    assert [request.get("method", "POST") for request in server.requests] == ["POST"]
    [letter] = handler.dead_letters()
    assert letter["data"] == {"id": "m1"} and letter["attempts"] == 1
    assert letter["error"] == (f"{server.url} answered HTTP 302 (a redirect to "
                               f"{server.url.rsplit('/hooks', 1)[0]}/moved); set url to the "
                               f"address that receives the events")


def test_a_reply_that_is_not_http_is_retried_then_the_event_is_kept(receiver: StartReceiver,
                                                                    make: Make) -> None:
    server = receiver("garbage")
    handler = make(server.url, max_retries=1)
    assert handler.handle("memory.stored", {"id": "m1"}) is None  # type: ignore[func-returns-value]
    assert len(server.requests) == 2
    [letter] = handler.dead_letters()
    assert letter["data"] == {"id": "m1"} and letter["attempts"] == 2
    assert letter["error"].startswith(f"{server.url} did not answer in HTTP: ")


def test_an_unreachable_receiver_is_reported_in_the_dead_letter(make: Make,
                                                                closed_port_url: str) -> None:
    handler = make(closed_port_url, max_retries=1)
    handler.handle("memory.stored", {"id": "m1"})
    kept, = handler.dead_letters()
    assert kept["error"].startswith(f"cannot reach {closed_port_url}")


def test_a_receiver_that_is_down_is_not_waited_for_again_during_the_cooldown(
        receiver: StartReceiver, make: Make) -> None:
    server = receiver("fail")
    handler = make(server.url, max_retries=1, cooldown=60)
    for number in range(5):
        handler.handle("memory.stored", {"id": f"m{number}"})

    assert len(server.requests) == 2  # the first event's two attempts, then nothing
    kept = handler.dead_letters()
    assert [record["data"]["id"] for record in kept] == ["m0", "m1", "m2", "m3", "m4"]
    assert [record["attempts"] for record in kept] == [2, 0, 0, 0, 0]
    assert "cooldown" in kept[1]["error"]


def test_without_cooldown_every_event_is_tried(receiver: StartReceiver, make: Make) -> None:
    server = receiver("fail")
    handler = make(server.url, max_retries=0, cooldown=0)
    for number in range(3):
        handler.handle("memory.stored", {"id": f"m{number}"})
    assert len(server.requests) == 3


def test_redeliver_sends_the_dead_letters_again_with_their_ids(receiver: StartReceiver, make: Make,
                                                               tmp_path: Path) -> None:
    server = receiver("flaky", failures=3)
    handler = make(server.url, max_retries=0, cooldown=0)
    for number in range(3):
        handler.handle("memory.stored", {"id": f"m{number}"})
    kept_ids = [record["id"] for record in handler.dead_letters()]
    assert len(kept_ids) == 3 and server.accepted == []

    result = handler.redeliver()

    assert (result.delivered, result.remaining) == (3, 0)
    assert [event["id"] for event in server.events()] == kept_ids
    assert [event["data"]["id"] for event in server.events()] == ["m0", "m1", "m2"]
    assert not (tmp_path / "dead.jsonl").exists()
    assert handler.redeliver().delivered == 0


def test_redeliver_keeps_what_still_fails_and_never_drops_a_line(receiver: StartReceiver,
                                                                 make: Make,
                                                                 tmp_path: Path) -> None:
    server = receiver("fail")
    handler = make(server.url, max_retries=0, cooldown=0)
    handler.handle("memory.stored", {"id": "m1"})
    with (tmp_path / "dead.jsonl").open("a") as stream:
        stream.write("{not json\n")

    result = handler.redeliver()

    assert (result.delivered, result.remaining) == (0, 2)
    lines = (tmp_path / "dead.jsonl").read_text().splitlines()
    assert lines[1] == "{not json"
    record = json.loads(lines[0])
    assert record["data"] == {"id": "m1"} and record["attempts"] == 2


def test_events_kept_during_a_redelivery_are_not_lost(receiver: StartReceiver, make: Make,
                                                      closed_port_url: str) -> None:
    slow = receiver("slow", delay=0.3)
    redelivering = make(slow.url, max_retries=0, cooldown=0)
    elsewhere = make(closed_port_url, max_retries=0, cooldown=0)  # same file, own instance
    for number in range(3):
        elsewhere.handle("memory.stored", {"id": f"old{number}"})

    def keep_more() -> None:
        while not slow.requests:  # the redelivery has taken its snapshot and is sending
            time.sleep(0.001)
        for number in range(20):
            elsewhere.handle("memory.stored", {"id": f"new{number}"})

    writer = threading.Thread(target=keep_more)
    writer.start()
    result = redelivering.redeliver()  # takes about 0.9 s: three slow deliveries
    writer.join()

    assert result.delivered == 3
    assert sorted(e["data"]["id"] for e in slow.events()) == ["old0", "old1", "old2"]
    waiting = [record["data"]["id"] for record in elsewhere.dead_letters()]
    assert waiting == [f"new{number}" for number in range(20)]


def test_overlapping_redeliveries_lose_nothing(receiver: StartReceiver, make: Make,
                                               closed_port_url: str) -> None:
    """Two redeliveries at once (a cron run that outlasts its interval): the later one must not
    rewrite the file the earlier one already replaced, or the events kept meanwhile are lost."""
    slow = receiver("slow", delay=0.2)
    fast = receiver("ok")
    elsewhere = make(closed_port_url, max_retries=0, cooldown=0)
    for number in range(3):
        elsewhere.handle("memory.stored", {"id": f"old{number}"})
    first = threading.Thread(target=make(fast.url, max_retries=0).redeliver)
    later = make(slow.url, max_retries=0)
    kept_meanwhile: List[str] = []

    def keep_one_then_redeliver_fast() -> None:
        while not slow.requests:  # the slow redelivery has its snapshot
            time.sleep(0.001)
        elsewhere.handle("memory.stored", {"id": "new"})
        kept_meanwhile.append("new")
        first.start()
        first.join()

    helper = threading.Thread(target=keep_one_then_redeliver_fast)
    helper.start()
    later.redeliver()  # about 0.6 s; the fast one replaces the file meanwhile
    helper.join()

    assert kept_meanwhile == ["new"]
    delivered = {event["data"]["id"] for event in slow.events() + fast.events()}
    waiting = {record["data"]["id"] for record in elsewhere.dead_letters()}
    assert delivered | waiting == {"old0", "old1", "old2", "new"}, (delivered, waiting)


def test_redeliver_from_the_command_line(receiver: StartReceiver, make: Make,
                                         tmp_path: Path) -> None:
    failing = receiver("fail")
    make(failing.url, max_retries=0).handle("belief.updated", {"belief": "tea", "new": 0.9})
    ok = receiver("ok")
    command = [sys.executable, "-m", "omi_event_webhook", "redeliver", "--url", ok.url,
               "--secret", "test-secret", "--dead-letters", str(tmp_path / "dead.jsonl")]

    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("delivered 1, still waiting 0")
    assert [event["type"] for event in ok.events()] == ["belief.updated"]

    make(failing.url, max_retries=0).handle("memory.stored", {"id": "m2"})
    still_failing = command[:5] + [failing.url] + command[6:] + ["--max-retries", "0"]
    done = subprocess.run(still_failing, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "still waiting 1" in done.stdout

    done = subprocess.run(command[:5] + ["ftp://example.invalid"] + command[6:],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: url must be an http:// or https:// URL, got " \
                                  "'ftp://example.invalid'"


def test_unknown_and_filtered_events_are_ignored(receiver: StartReceiver, make: Make) -> None:
    server = receiver("ok")
    handler = make(server.url, events=["memory.stored"])
    handler.handle("session.started", {})
    handler.handle("some.future.event", {})
    assert server.requests == []
    handler.handle("memory.stored", {"id": "m1"})
    assert len(server.accepted) == 1


def test_event_data_is_not_changed_and_odd_values_are_sent_as_text(receiver: StartReceiver,
                                                                   make: Make) -> None:
    server = receiver("ok")
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    data = {"id": "m1", "at": when, "tags": ["a"]}
    make(server.url).handle("memory.stored", data)
    assert data == {"id": "m1", "at": when, "tags": ["a"]}
    assert server.events()[0]["data"] == {"id": "m1", "at": "2026-01-02 03:04:05", "tags": ["a"]}


def test_an_event_that_cannot_even_be_kept_is_a_loud_error(make: Make, closed_port_url: str,
                                                           tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    handler = make(closed_port_url, max_retries=0, dead_letter_path=tmp_path / "a-file" / "x")
    with pytest.raises(RuntimeError, match=r"could not keep it in .*a-file/x.*dead_letter_path"):
        handler.handle("memory.stored", {"id": "m1"})


def test_a_relative_dead_letter_path_is_fixed_when_the_handler_is_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed_port_url: str) -> None:
    monkeypatch.chdir(tmp_path)
    handler = WebhookHandler(closed_port_url, "s", max_retries=0)
    assert handler.dead_letter_path == tmp_path / "omi-webhook-dead-letters.jsonl"
    monkeypatch.chdir("/")
    handler.handle("memory.stored", {"id": "m1"})
    assert (tmp_path / "omi-webhook-dead-letters.jsonl").exists()


def test_the_secret_can_come_from_the_environment(receiver: StartReceiver,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    server = receiver("ok")
    monkeypatch.setenv("OMI_WEBHOOK_SECRET", "test-secret")
    WebhookHandler(server.url, dead_letter_path=tmp_path / "d.jsonl").handle("memory.stored", {})
    assert len(server.accepted) == 1


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_written(
        receiver: StartReceiver, make: Make, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    ok = receiver("ok")
    handler = make(ok.url.replace("http://", "http://omi:p%40ss%2Fw0rd@") + "?token=TOKEN1")
    handler.handle("memory.stored", {"id": "m1"})
    [delivery] = ok.accepted
    assert delivery["headers"]["Authorization"] == "Basic b21pOnBAc3MvdzByZA=="  # omi:p@ss/w0rd
    assert ok.requests[0]["path"] == "/hooks/omi?token=TOKEN1"

    secrets = ("p%40ss", "w0rd", "TOKEN1", "SECRET2", "b21pOnBAc3MvdzByZA")
    for behaviour in ("reject", "redirect", "trickle", "garbage"):
        server = receiver(behaviour, delay=0.2)
        url = server.url.replace("http://", "http://omi:p%40ss%2Fw0rd@") + "?token=TOKEN1"
        with caplog.at_level("WARNING", logger="omi_event_webhook"):
            make(url, timeout=0.5, max_retries=0, cooldown=0,
                 headers={"X-Api-Key": "SECRET2"}).handle("memory.stored", {"id": behaviour})
    written = (tmp_path / "dead.jsonl").read_text() + caplog.text
    assert [secret for secret in secrets if secret in written] == []
    errors = [json.loads(line)["error"] for line in (tmp_path / "dead.jsonl").open()]
    assert "no hook at /hooks/omi?token=****" in errors[0]
    assert all("?token=****" in error for error in errors[1:3]), errors


@pytest.mark.parametrize("options, message", [
    ({"url": "http://[::1/x"}, "url 'http://[::1/x' is not a valid URL (Invalid IPv6 URL); "
                               "write it like https://hooks.example.com/omi"),
    ({"url": "ftp://omi:pw@example.org/x"}, "url must be an http:// or https:// URL, got "
                                            "'ftp://omi:****@example.org/x'"),
    ({"url": {"href": "http://a", "token": "pw"}}, "url must be an http:// or https:// URL, got "
                                                   "a dict"),
    ({"url": "http://127.0.0.1:99999/x"}, "is not a valid URL (Port out of range 0-65535)"),
    ({"url": "http://127.0.0.1:9/a b"}, "url contains a space, line break or control character"),
    ({"url": "http://127.0.0.1:9/x\r\nX-Evil: 1"}, "url contains a space, line break"),
    ({"url": "https:///hooks"}, "url 'https:///hooks' has no host name"),
    ({"url": "http://127.0.0.1:9/caf\u00e9"}, "has characters HTTP cannot send in its path"),
    ({"url": "http://omi:p@ss/w0rd@127.0.0.1:9/x"}, "url has a user name and password with @ or "
                                                    "/ in them; percent-encode"),
    ({"url": "http://u:pw@127.0.0.1:9/x", "headers": {"authorization": "Bearer t"}},
     "url has a user name and password and headers has an Authorization header"),
    ({"headers": {"X-Tenant": "a\r\nX-Evil: 1"}},
     "headers: the value of X-Tenant contains a line break or control character; remove it"),
    ({"headers": {"X-Bad Name": "v"}}, "headers: 'X-Bad Name' is not a header name"),
    ({"headers": {"X-Retries": 3}}, "headers: the value of X-Retries must be a string, not a "
                                    "int; quote it"),
    ({"headers": {"X-Who": "\u2603"}}, "the value of X-Who has characters HTTP headers cannot "
                                        "carry"),
    ({"headers": ["X-Tenant: a"]}, "headers must be a mapping of header names to values"),
    ({"timeout": 1e300}, "timeout must be at most 3600 seconds, got 1e+300"),
    ({"backoff": 1e300}, "backoff must be at most 60 seconds"),
    ({"cooldown": 1e300}, "cooldown must be at most 86400 seconds"),
    ({"max_retries": 11}, "max_retries must be an integer, 0 or more and at most 10, got 11"),
])
def test_what_would_fail_at_the_first_event_is_refused_when_built(options: Dict[str, Any],
                                                                  message: str,
                                                                  tmp_path: Path) -> None:
    """A malformed URL or a CRLF in a header made handle() raise: the event was neither
    delivered nor kept. A huge number of seconds overflowed inside urllib or sleep()."""
    options = {"url": "http://127.0.0.1:9/hook", "secret": "s",
               "dead_letter_path": tmp_path / "dead.jsonl", **options}
    with pytest.raises(ValueError) as info:
        WebhookHandler(**options)
    assert message in str(info.value)
    assert "w0rd" not in str(info.value) and "pw" not in str(info.value)


def test_redeliver_of_a_file_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    """It printed 'delivered 0, still waiting 0' and exited 0: a typo passed for success."""
    done = subprocess.run([sys.executable, "-m", "omi_event_webhook", "redeliver", "--url",
                           "http://127.0.0.1:9/hook", "--secret", "s", "--dead-letters",
                           str(tmp_path / "typo.jsonl")], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"error: there is no dead-letter file {tmp_path / 'typo.jsonl'}; "
                           f"check --dead-letters (the handler creates it when an event cannot "
                           f"be delivered)\n")


@pytest.mark.parametrize("options, message", [
    ({"url": "example.com/hook"}, "url must be an http:// or https:// URL"),
    ({"secret": ""}, "pass secret=... or set OMI_WEBHOOK_SECRET"),
    ({"timeout": 0}, "timeout must be positive seconds, got 0"),
    ({"backoff": -1}, "backoff must be 0 or more seconds"),
    ({"cooldown": "long"}, "cooldown must be 0 or more seconds"),
    ({"timeout": float("nan")}, "timeout must be positive seconds, got nan"),
    ({"max_retries": -1}, "max_retries must be an integer, 0 or more"),
    ({"events": ["memory.deleted"]}, "unknown event types"),
])
def test_bad_settings_are_rejected(monkeypatch: pytest.MonkeyPatch,
                                   options: Dict[str, Any], message: str) -> None:
    monkeypatch.delenv("OMI_WEBHOOK_SECRET", raising=False)
    options = {"url": "http://127.0.0.1:9/hook", "secret": "s", **options}
    with pytest.raises(ValueError, match=message):
        WebhookHandler(**options)
