"""omi.dispatch: every handler gets every event, each its own copy; failures stay contained."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from typing import Any

import pytest
from handlers import Gated

from omi.dispatch import Dispatcher, snapshot
from omi.events import EventHandler


class Recorder(EventHandler):
    interface_version = "1.0"

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.threads: list[str] = []

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        self.events.append((event_type, event_data))
        self.threads.append(threading.current_thread().name)


class Vandal(EventHandler):
    """Mutates everything it is given, to prove nobody else sees it."""

    interface_version = "1.0"

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        event_data["metadata"]["tags"].append("vandalised")
        event_data["content"] = "changed"
        event_data.clear()


class Exploding(EventHandler):
    interface_version = "1.0"

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        raise RuntimeError(f"boom on {event_type}")


class Blocking(EventHandler):
    """Waits for `release` before returning, to fill the background queue."""

    interface_version = "1.0"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.seen: list[int] = []

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        self.entered.set()
        self.release.wait(10)
        self.seen.append(event_data["n"])


class Sleepy(EventHandler):
    interface_version = "1.0"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        time.sleep(self.seconds)


def payload() -> dict[str, Any]:
    return {"id": "m1", "content": "hello", "metadata": {"tags": ["a"]}}


@pytest.mark.parametrize("background", [False, True])
def test_every_handler_gets_every_event_in_order(background):
    first, second = Recorder(), Recorder()
    dispatcher = Dispatcher({"first": first, "second": second}, background=background)
    for n in range(50):
        dispatcher.dispatch("memory.stored", {"n": n})
    dispatcher.close()
    for recorder in (first, second):
        assert [data["n"] for _, data in recorder.events] == list(range(50))
    expected_thread = "omi-events" if background else threading.current_thread().name
    assert set(first.threads) == {expected_thread}


@pytest.mark.parametrize("background", [False, True])
def test_each_handler_gets_its_own_copy(background):
    before, after = Recorder(), Recorder()
    dispatcher = Dispatcher([before, Vandal(), after], background=background)
    data = payload()
    dispatcher.dispatch("memory.stored", data)
    data["metadata"]["tags"].append("changed by the caller after emitting")
    dispatcher.close()
    assert before.events == after.events == [("memory.stored", payload())]
    assert before.events[0][1] is not after.events[0][1]
    assert data["content"] == "hello"  # the vandal never touched the caller's dict


@pytest.mark.parametrize(
    "data",
    [
        {"id": "m", "n": 1, "x": 1.5, "ok": True, "none": None, "raw": b"\x00"},  # leaves only
        {"id": "m", "metadata": {"tags": "a"}, "ids": ["a", "b"]},  # flat containers
        {"results": [{"id": "a", "metadata": {"k": [1, {"deep": True}]}}]},  # deeper: marshal
        {"ordered": OrderedDict(a={"deep": [1]}), "t": (1, [2])},  # not marshal-able: deepcopy
    ],
)
def test_every_kind_of_data_is_deep_copied_and_frozen_at_snapshot_time(data):
    import copy

    original = copy.deepcopy(data)
    make, frozen = snapshot(data)
    first, second = make(frozen), make(frozen)
    assert first == second == original
    assert type(first) is type(original)

    def containers(value):
        if isinstance(value, (dict, list)):
            yield value
            for item in value.values() if isinstance(value, dict) else value:
                yield from containers(item)

    assert not {id(c) for c in containers(first)} & {id(c) for c in containers(second)}
    assert not {id(c) for c in containers(first)} & {id(c) for c in containers(data)}
    for container in containers(data):  # the caller changes everything after emitting
        container.clear()
    assert make(frozen) == original


def test_data_that_cannot_be_copied_is_refused():
    dispatcher = Dispatcher([Recorder()])
    with pytest.raises(TypeError, match="event data must be copyable plain data"):
        dispatcher.dispatch("memory.stored", {"lock": threading.Lock()})


@pytest.mark.parametrize("background", [False, True])
def test_a_raising_handler_is_logged_by_name_and_others_still_run(background, caplog):
    after = Recorder()
    dispatcher = Dispatcher({"exploder": Exploding(), "after": after}, background=background)
    with caplog.at_level(logging.ERROR, logger="omi.events"):
        dispatcher.dispatch("session.started", {"session_id": "s"})
        dispatcher.dispatch("session.ended", {"session_id": "s"})
        dispatcher.close()
    assert [event for event, _ in after.events] == ["session.started", "session.ended"]
    assert dispatcher.failures == 2
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == (
        "Event handler 'exploder' failed on session.started; the memory is "
        "kept and the other handlers still get the event"
    )
    assert "RuntimeError: boom on session.started" in caplog.records[0].exc_text


def test_a_slow_handler_is_logged_with_its_name_and_time(caplog):
    dispatcher = Dispatcher({"sleepy": Sleepy(0.06)}, slow_handler_seconds=0.03)
    with caplog.at_level(logging.WARNING, logger="omi.events"):
        dispatcher.dispatch("memory.recalled", {})
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("Event handler 'sleepy' took 0.")
    assert (
        "on memory.recalled; make it faster or set events.background: true" in record.getMessage()
    )


def test_background_dispatch_returns_at_once_and_flush_waits():
    sleepy = Sleepy(0.05)
    recorder = Recorder()
    dispatcher = Dispatcher({"sleepy": sleepy, "recorder": recorder}, background=True)
    start = time.perf_counter()
    for n in range(5):
        dispatcher.dispatch("memory.stored", {"n": n})
    assert time.perf_counter() - start < 0.05  # the caller did not wait for the handler
    assert not dispatcher.flush(timeout=0.01)
    assert dispatcher.flush(timeout=5)
    assert len(recorder.events) == 5
    dispatcher.close()


def test_close_flushes_every_queued_event():
    recorder = Recorder()
    dispatcher = Dispatcher([Sleepy(0.002), recorder], background=True, queue_size=500)
    for n in range(200):
        dispatcher.dispatch("memory.stored", {"n": n})
    dispatcher.close()
    assert [data["n"] for _, data in recorder.events] == list(range(200))


def test_a_full_queue_blocks_then_drops_loudly_naming_the_slow_handler(caplog):
    blocker = Blocking()
    dispatcher = Dispatcher({"blocker": blocker}, background=True, queue_size=1, put_timeout=0.1)
    dispatcher.dispatch("memory.stored", {"n": 0})
    assert blocker.entered.wait(5)  # the worker holds event 0; the queue is empty again
    dispatcher.dispatch("memory.stored", {"n": 1})  # fills the queue
    with caplog.at_level(logging.ERROR, logger="omi.events"):
        start = time.perf_counter()
        dispatcher.dispatch("memory.stored", {"n": 2})
        waited = time.perf_counter() - start
    assert waited >= 0.1
    assert dispatcher.dropped == 1
    (record,) = caplog.records
    assert record.getMessage().startswith(
        "Event memory.stored DROPPED: the event queue stayed full (1 events) for 0.1 s while "
        "handler 'blocker' has been running for "
    )
    assert record.getMessage().endswith("; raise events.queue_size or fix the slow handler")
    blocker.release.set()
    dispatcher.close()
    assert blocker.seen == [0, 1]


def test_close_gives_up_after_close_timeout_and_says_what_was_lost(caplog):
    blocker = Blocking()
    dispatcher = Dispatcher({"blocker": blocker}, background=True, close_timeout=0.2)
    for n in range(3):
        dispatcher.dispatch("memory.stored", {"n": n})
    assert blocker.entered.wait(5)
    with caplog.at_level(logging.ERROR, logger="omi.events"):
        dispatcher.close()
    (record,) = caplog.records
    assert record.getMessage().startswith(
        "2 queued events and the one in progress were NOT delivered: close() waited 0.2 s "
        "while handler 'blocker' has been running for "
    )
    blocker.release.set()


def test_a_closed_dispatcher_refuses_events():
    dispatcher = Dispatcher([Recorder()], background=True)
    dispatcher.close()
    dispatcher.close()  # idempotent
    with pytest.raises(RuntimeError, match="the event dispatcher is closed"):
        dispatcher.dispatch("memory.stored", {})


def test_no_handlers_means_no_worker_thread_and_no_work():
    before = threading.active_count()
    dispatcher = Dispatcher((), background=True)
    assert not dispatcher.has_handlers
    dispatcher.dispatch("memory.stored", {"lock": threading.Lock()})  # not even copied
    assert threading.active_count() == before
    assert dispatcher.flush(0)
    dispatcher.close()


def test_sequence_handlers_are_named_by_class(caplog):
    dispatcher = Dispatcher([Exploding()])
    with caplog.at_level(logging.ERROR, logger="omi.events"):
        dispatcher.dispatch("belief.updated", {})
    assert "Event handler 'Exploding' failed on belief.updated" in caplog.text


@pytest.mark.parametrize(
    "options, message",
    [
        ({"queue_size": 0}, "queue_size must be a positive integer, got 0"),
        ({"queue_size": "10"}, "queue_size must be a positive integer, got '10'"),
        ({"queue_size": True}, "queue_size must be a positive integer, got True"),
        ({"queue_size": 10**7}, "queue_size must be at most 1,000,000, got 10000000"),
        ({"put_timeout": -1}, "put_timeout must be a number of seconds above 0, got -1"),
        ({"put_timeout": 0}, "put_timeout must be a number of seconds above 0, got 0"),
        ({"put_timeout": 1e300}, "put_timeout must be at most 3,600 seconds, got 1e+300"),
        ({"close_timeout": "5"}, "close_timeout must be a number of seconds above 0, got '5'"),
        ({"close_timeout": float("inf")}, "close_timeout must be at most 3,600 seconds, got inf"),
        (
            {"close_timeout": float("nan")},
            "close_timeout must be a number of seconds above 0, got nan",
        ),
        ({"slow_handler_seconds": None}, "slow_handler_seconds must be a number of seconds"),
        ({"slow_handler_seconds": 0.0}, "slow_handler_seconds must be a number of seconds above 0"),
        ({"background": "yes"}, "background must be true or false, got 'yes'"),
    ],
)
def test_bad_options_are_rejected_by_name(options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Dispatcher([Recorder()], **options)


def test_a_handler_without_handle_is_rejected_by_name():
    with pytest.raises(TypeError, match="event handler 'odd' has no handle"):
        Dispatcher({"odd": object()})


def test_an_event_queued_while_another_thread_closes_is_still_delivered():
    recorder = Recorder()
    dispatcher = Dispatcher({"recorder": recorder}, background=True)
    assert dispatcher._queue is not None
    real_put = dispatcher._queue.put
    closer = threading.Thread(target=dispatcher.close)

    def put_while_closing(item, *args, **kwargs):
        if isinstance(item, tuple):  # our event, not the stop marker
            closer.start()  # close() runs while this caller is between its check and its put
            closer.join(0.3)
        return real_put(item, *args, **kwargs)

    dispatcher._queue.put = put_while_closing  # type: ignore[method-assign]
    dispatcher.dispatch("memory.stored", {"n": 1})
    closer.join(5)
    assert not closer.is_alive() and not dispatcher._worker.is_alive()
    assert [data for _, data in recorder.events] == [{"n": 1}]


class Timed(EventHandler):
    """Records when each call starts; sleeps `seconds`, and blocks on event `block_at` until
    `release` is set."""

    interface_version = "1.0"

    def __init__(self, seconds: float = 0.0, block_at: int = -1) -> None:
        self.seconds, self.block_at = seconds, block_at
        self.release = threading.Event()
        self.calls: list[tuple[int, float]] = []

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        self.calls.append((event_data["n"], time.monotonic()))
        if event_data["n"] == self.block_at:
            self.release.wait(10)
        time.sleep(self.seconds)


def test_once_close_gives_up_no_handler_is_called_again_and_the_loss_is_counted(caplog):
    first, slow, last = Timed(), Timed(seconds=0.005, block_at=3), Timed()
    dispatcher = Dispatcher(
        {"first": first, "slow": slow, "last": last}, background=True, close_timeout=0.3
    )
    for n in range(200):
        dispatcher.dispatch("memory.stored", {"n": n})
    with caplog.at_level(logging.ERROR, logger="omi.events"):
        dispatcher.close()
    closed_at = time.monotonic()
    slow.release.set()  # the call in progress returns: the worker must stop there
    time.sleep(0.3)
    for handler in (first, slow, last):
        assert all(started < closed_at for _, started in handler.calls)
    assert [n for n, _ in first.calls] == [n for n, _ in slow.calls] == [0, 1, 2, 3]
    assert [n for n, _ in last.calls] == [0, 1, 2]  # event 3 was in progress in `slow`
    assert dispatcher.undelivered == 197
    (record,) = caplog.records
    assert record.getMessage().startswith(
        "196 queued events and the one in progress were NOT delivered: close() waited 0.3 s "
        "while handler 'slow' has been running for "
    )


def test_a_slow_handler_is_not_called_after_close_gives_up():
    """The worker used to go on calling handle() on handlers the host had closed."""
    slow = Timed(seconds=0.01)
    dispatcher = Dispatcher({"slow": slow}, background=True, close_timeout=0.1)
    for n in range(200):
        dispatcher.dispatch("memory.stored", {"n": n})
    dispatcher.close()
    closed_at, calls = time.monotonic(), len(slow.calls)
    time.sleep(0.5)
    assert len(slow.calls) == calls and slow.calls[-1][1] < closed_at
    # the one in progress counts too, unless close() gave up between two events
    assert 200 - calls <= dispatcher.undelivered <= 200 - calls + 1
    assert not dispatcher._worker.is_alive()


def test_nothing_is_undelivered_when_close_delivers_everything():
    dispatcher = Dispatcher([Timed()], background=True)
    for n in range(10):
        dispatcher.dispatch("memory.stored", {"n": n})
    dispatcher.close()
    assert dispatcher.undelivered == 0


# --- close() and handlers still in their call (issue 23) -------------------------------------


def closed_by(dispatcher: Dispatcher) -> threading.Thread:
    closer = threading.Thread(target=dispatcher.close, args=(lambda h: h.close(),))
    closer.start()
    return closer


def test_close_waits_for_a_dispatch_in_another_thread_before_closing_its_handler():
    gated, after = Gated(), Gated()
    after.release.set()
    dispatcher = Dispatcher({"gated": gated, "after": after}, close_timeout=2)
    storing = threading.Thread(target=dispatcher.dispatch, args=("memory.stored", {"n": 1}))
    storing.start()
    assert gated.entered.wait(5)
    closer = closed_by(dispatcher)
    closer.join(0.2)
    assert closer.is_alive() and gated.log == ["handle"]  # waiting, not closing under it
    gated.release.set()
    closer.join(5)
    storing.join(5)
    assert gated.log == ["handle", "returned", "close"]
    assert after.log == ["handle", "returned", "close"]  # delivered before close
    assert dispatcher.undelivered == 0


def test_when_close_gives_up_a_handler_in_its_call_is_closed_when_it_returns(caplog):
    """Handlers in the caller's thread: close_timeout runs out while another thread is in
    handle(); that handler is closed by that thread after its call, the next handler is
    never called, and the cut-short event is counted."""
    gated, after = Gated(), Gated()
    dispatcher = Dispatcher({"gated": gated, "after": after}, close_timeout=0.3)
    storing = threading.Thread(target=dispatcher.dispatch, args=("memory.stored", {"n": 1}))
    storing.start()
    assert gated.entered.wait(5)
    with caplog.at_level(logging.ERROR, logger="omi.events"):
        closed_by(dispatcher).join(5)
    assert gated.log == ["handle"] and after.log == []  # not closed during the call
    gated.release.set()
    storing.join(5)
    assert gated.log == ["handle", "returned", "close"] and after.log == ["close"]
    assert dispatcher.undelivered == 1
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0].startswith("1 events being delivered by other threads were cut short")
    assert messages[1].startswith(
        "The event handlers are closed when the handle() call still running returns"
    )
    with pytest.raises(RuntimeError, match="closed"):
        dispatcher.dispatch("memory.stored", {"n": 2})


def test_in_background_a_handler_in_its_call_is_not_closed_until_it_returns(caplog):
    gated = Gated()
    dispatcher = Dispatcher({"gated": gated}, background=True, close_timeout=0.3)
    dispatcher.dispatch("memory.stored", {"n": 1})
    dispatcher.dispatch("memory.stored", {"n": 2})
    assert gated.entered.wait(5)
    with caplog.at_level(logging.ERROR, logger="omi.events"):
        closed_by(dispatcher).join(5)
    assert gated.log == ["handle"]
    gated.release.set()
    dispatcher._worker.join(5)
    assert gated.log == ["handle", "returned", "close"]  # closed after, by the worker
    assert dispatcher.undelivered == 2
    assert "handler 'gated' has been running for" in caplog.records[-1].getMessage()


class Exits(EventHandler):
    interface_version = "1.0"

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        if event_data["n"] == 0:
            raise SystemExit(3)
        if event_data["n"] == 1:
            raise KeyboardInterrupt


def test_systemexit_and_keyboardinterrupt_in_a_background_handler_are_contained(caplog):
    recorder = Recorder()
    dispatcher = Dispatcher({"exits": Exits(), "recorder": recorder}, background=True)
    with caplog.at_level(logging.ERROR, logger="omi.events"):
        for n in range(3):
            dispatcher.dispatch("memory.stored", {"n": n})
        dispatcher.close()
    assert [data["n"] for _, data in recorder.events] == [0, 1, 2]
    assert dispatcher.failures == 2 and dispatcher.undelivered == 0
    assert [r.exc_info[0] for r in caplog.records] == [SystemExit, KeyboardInterrupt]


def test_systemexit_in_a_handler_in_another_caller_thread_is_contained():
    recorder = Recorder()
    dispatcher = Dispatcher({"exits": Exits(), "recorder": recorder})
    storing = threading.Thread(target=dispatcher.dispatch, args=("memory.stored", {"n": 0}))
    storing.start()
    storing.join(5)
    assert recorder.events and dispatcher.failures == 1


def test_systemexit_in_the_main_thread_goes_on_up_after_being_counted():
    """It may be a signal handler's sys.exit (or Ctrl-C): the program's, not the handler's."""
    dispatcher = Dispatcher({"exits": Exits()})
    with pytest.raises(SystemExit):
        dispatcher.dispatch("memory.stored", {"n": 0})
    assert dispatcher.failures == 1


def test_a_dead_worker_is_noticed_and_what_it_left_is_counted_and_logged(caplog, monkeypatch):
    gated = Gated()
    dispatcher = Dispatcher({"gated": gated}, background=True, close_timeout=1)
    real = dispatcher._deliver

    def dies(*args: Any, **kwargs: Any) -> bool:
        real(*args, **kwargs)
        raise MemoryError("the worker's own failure")

    monkeypatch.setattr(dispatcher, "_deliver", dies)
    with caplog.at_level(logging.ERROR, logger="omi.events"):
        for n in range(3):
            dispatcher.dispatch("memory.stored", {"n": n})
        gated.release.set()
        dispatcher._worker.join(5)
        assert not dispatcher._worker.is_alive()
        dispatcher.dispatch("memory.stored", {"n": 3})
        dispatcher.close()
    assert gated.log[:2] == ["handle", "returned"]
    assert dispatcher.undelivered == 3  # two left queued, one after
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0] == (
        "The event thread died: 2 queued events were NOT delivered, nor will later ones be"
    )
    assert caplog.records[0].exc_info[0] is MemoryError
    assert messages[1] == (
        "Event memory.stored NOT delivered: the event thread has died (see the error logged then)"
    )


class ClosesItsDispatcher(Gated):
    dispatcher: Dispatcher

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        self.log.append("handle")
        self.dispatcher.close(lambda handler: handler.close())
        self.log.append("returned")


@pytest.mark.parametrize("background", [False, True])
def test_a_handler_closing_its_own_dispatcher_neither_waits_for_itself_nor_is_closed_under_it(
    background,
):
    handler = ClosesItsDispatcher()
    dispatcher = handler.dispatcher = Dispatcher(
        {"self": handler}, background=background, close_timeout=5
    )
    start = time.monotonic()
    dispatcher.dispatch("memory.stored", {"n": 1})
    if background:
        dispatcher._worker.join(5)
    assert time.monotonic() - start < 2  # not close_timeout
    assert handler.log == ["handle", "returned", "close"]


@pytest.mark.parametrize("background", [False, True])
def test_handlers_are_closed_once_even_when_the_dispatcher_was_closed_before(background):
    """The program (or the exit handler) closed the dispatcher; Memory.close still closes
    the handlers, and only once however often it is asked."""
    gated = Gated()
    gated.release.set()
    dispatcher = Dispatcher({"gated": gated}, background=background)
    dispatcher.dispatch("memory.stored", {"n": 1})
    dispatcher.close()
    assert gated.log == ["handle", "returned"]
    for _ in range(2):
        dispatcher.close(lambda handler: handler.close())
    assert gated.log == ["handle", "returned", "close"]
