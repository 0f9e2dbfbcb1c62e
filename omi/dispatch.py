"""Event dispatch: every handler gets every event, each with its own copy, and none can hurt
the others or the caller.

A handler that raises (any BaseException, SystemExit too) is logged with its name (`omi.events`
logger, with the traceback) and counted, and the next handler still runs; a slow one is logged
with its name and how long it took. (In the caller's main thread, a BaseException that is not
an Exception is logged and counted, then goes on up: it may be Ctrl-C, or a signal handler's
sys.exit, which must not be swallowed.) Delivery is in the caller's thread by default, or in
one background thread behind a bounded queue, which `close()` flushes. When that queue stays
full for `put_timeout` seconds the event is dropped and an ERROR names the event and the
handler that is holding the queue up: never silently. Should the background thread die, what
it left queued, and each event after, is counted as undelivered and logged.

`close()` waits up to `close_timeout` for the deliveries in progress (other threads' dispatches,
or the queue); when it gives up, the events left are counted and logged and no handler call
starts again. It closes the handlers itself when given `close_handler`, never one in the middle
of its handle(): a handler still in its call then is closed by the thread running it, when the
call returns (and if it never returns, it stays open, which close() logs).
"""

from __future__ import annotations

import atexit
import copy
import logging
import marshal
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from omi.events import EventHandler

logger = logging.getLogger("omi.events")

Handlers = Mapping[str, EventHandler] | Sequence[EventHandler]
#: An event in the background queue: its type, how to make each handler's copy of its data,
#: and the frozen data it is made from. None in the queue tells the worker to stop.
_Queued = tuple[str, Callable[[Any], dict[str, Any]], Any]


# Immutable leaf types: a copy may share them.
_ATOMIC = frozenset({str, int, float, bool, type(None), bytes})


def snapshot(data: dict[str, Any]) -> tuple[Callable[[Any], dict[str, Any]], Any]:
    """Freeze `data` now; `make(frozen)` then returns a fresh deep copy each time it is called.

    Three ways, fastest first, because copying is most of what dispatch costs: a dict whose
    values are plain leaves or flat dicts/lists of leaves (what OMI's own events look like)
    is copied with dict.copy()/list.copy() at each level, sharing the immutable leaves; other
    plain data goes through marshal, a C-speed deep copy; anything else through
    copy.deepcopy. Raises TypeError when `data` cannot be copied at all.
    """
    nested = _flat_containers(data)
    if nested is not None:
        return _two_level_copier(nested), _two_level_copier(nested)(data)
    try:
        return marshal.loads, marshal.dumps(data)
    except ValueError:  # a type marshal does not know: a class instance, an OrderedDict, ...
        try:
            return copy.deepcopy, copy.deepcopy(data)
        except Exception as error:
            raise TypeError(
                f"event data must be copyable plain data (dicts, lists, strings, "
                f"numbers): {type(error).__name__}: {error}"
            ) from None


def _flat_containers(data: Any) -> list[str] | None:
    """The keys of `data` holding flat dicts/lists of leaves, or None if it is deeper."""
    if type(data) is not dict:
        return None
    keys = []
    for key, value in data.items():
        kind = type(value)
        if kind in _ATOMIC:
            continue
        if kind is not dict and kind is not list:
            return None
        for item in value.values() if kind is dict else value:
            if type(item) not in _ATOMIC:
                return None
        keys.append(key)
    return keys


def _two_level_copier(keys: list[str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    if not keys:
        return dict.copy

    def make(frozen: dict[str, Any]) -> dict[str, Any]:
        fresh = frozen.copy()
        for key in keys:
            fresh[key] = fresh[key].copy()
        return fresh

    return make


#: The largest value of each numeric option: past it a setting is a typo (or an attack from a
#: config file), and `.inf` or `1e300` seconds would overflow the clock deep inside close().
OPTION_LIMITS = {
    "queue_size": 1_000_000,
    "put_timeout": 3600,
    "slow_handler_seconds": 3600,
    "close_timeout": 3600,
}


def check_option(name: str, value: Any) -> None:
    """Raise ValueError, naming the option and its valid range, unless `value` is valid for
    the Dispatcher option `name` (omi.config checks a config file's options with it)."""
    if name == "background":
        if not isinstance(value, bool):
            raise ValueError(f"background must be true or false, got {value!r}")
        return
    if name == "queue_size":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"queue_size must be a positive integer, got {value!r}")
    elif (
        not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0
    ):  # `not >` also refuses nan
        raise ValueError(f"{name} must be a number of seconds above 0, got {value!r}")
    if value > OPTION_LIMITS[name]:
        unit = "" if name == "queue_size" else " seconds"
        raise ValueError(f"{name} must be at most {OPTION_LIMITS[name]:,}{unit}, got {value!r}")


def _named(handlers: Handlers) -> list[tuple[str, EventHandler]]:
    pairs = (
        list(handlers.items())
        if isinstance(handlers, Mapping)
        else [(type(handler).__name__, handler) for handler in handlers]
    )
    for name, handler in pairs:
        if not callable(getattr(handler, "handle", None)):
            raise TypeError(
                f"event handler {name!r} has no handle(event_type, event_data) "
                f"method; pass an omi.events.EventHandler"
            )
    return pairs


class Dispatcher:
    """Delivers events to handlers; see the module docstring for the guarantees.

    `handlers` is a mapping name -> handler (the names appear in logs) or a sequence (named
    by class). Options: `background` (deliver in a worker thread), `queue_size` (events that
    may wait), `put_timeout` (seconds to wait for room before dropping loudly),
    `slow_handler_seconds` (warn above this), `close_timeout` (seconds `close` waits).
    """

    def __init__(
        self,
        handlers: Handlers = (),
        *,
        background: bool = False,
        queue_size: int = 1000,
        put_timeout: float = 5.0,
        slow_handler_seconds: float = 1.0,
        close_timeout: float = 30.0,
    ) -> None:
        for name, value in (
            ("background", background),
            ("queue_size", queue_size),
            ("put_timeout", put_timeout),
            ("close_timeout", close_timeout),
            ("slow_handler_seconds", slow_handler_seconds),
        ):
            check_option(name, value)
        self.handlers = _named(handlers)
        self.background = background
        self.put_timeout = float(put_timeout)
        self.slow_handler_seconds = float(slow_handler_seconds)
        self.close_timeout = float(close_timeout)
        self.failures = 0  # handler calls that raised
        self.dropped = 0  # events that found the queue full for put_timeout seconds
        self._count_lock = threading.Lock()
        self._closed = False
        # Callers putting an event on the queue right now: close() waits for them, so no
        # event can land behind the stop marker, where nobody would deliver it.
        self._putting = 0
        # The callers' side: _closed, _putting, _accepted, _in_flight. Its plain lock is taken
        # directly on the hot path of dispatch in the caller's thread (cheaper than the
        # Condition's `with`).
        self._lock = threading.Lock()
        self._state = threading.Condition(self._lock)
        # The worker's side, a lock of its own so that callers and the worker do not queue for
        # one lock on every event: the handler running, the events delivered to every handler,
        # and whether close() has given up (_abandoned), after which no handler call starts.
        # close() takes _state, then _gate.
        self._gate = threading.Lock()
        self._running: tuple[str, float] | None = None  # (handler, since) in the worker
        # Events queued (or being queued) and events delivered: their difference is what
        # close() gives up on.
        self._accepted = 0
        self._delivered = 0
        self._abandoned = False
        # Deliveries in progress (caller threads', or the worker's current event), and what
        # closes the handlers once the last of them ends after close() gave up on them.
        self._in_flight = 0
        self._here = threading.local()  # `depth`: this thread's own deliveries in progress
        self._pending_close: Callable[[], None] | None = None
        self._dead = False  # the worker thread ended without being told to
        self._handlers_closed = False  # by a close_handler given to close()
        self._queue: queue.Queue[_Queued | None] | None = None
        if background and self.handlers:
            self._queue = queue.Queue(maxsize=queue_size)
            self._worker = threading.Thread(target=self._work, name="omi-events", daemon=True)
            self._worker.start()
            atexit.register(self.close)  # a program that forgets close() still flushes

    @property
    def has_handlers(self) -> bool:
        return bool(self.handlers)

    @property
    def undelivered(self) -> int:
        """Events close() gave up on when close_timeout ran out (those still queued or being
        queued, and those in progress), or that a dead worker left: 0 unless either happened."""
        with self._state, self._gate:
            return self._accepted - self._delivered if self._abandoned or self._dead else 0

    def dispatch(self, event_type: str, data: dict[str, Any]) -> None:
        """Deliver (or queue) one event; never raises because of a handler."""
        if self._closed:
            raise RuntimeError("the event dispatcher is closed")
        if not self.handlers:
            return
        make, frozen = snapshot(data)
        if self._queue is None:
            self._deliver_here(event_type, make, frozen)
            return
        with self._state:
            if self._closed:
                raise RuntimeError("the event dispatcher is closed")
            self._accepted += 1  # before the put, so the worker's count never runs ahead
            if self._dead:
                logger.error(
                    "Event %s NOT delivered: the event thread has died (see the error logged then)",
                    event_type,
                )
                return
            self._putting += 1
        queued = False
        try:
            self._queue.put((event_type, make, frozen), timeout=self.put_timeout)
            queued = True
        except queue.Full:
            with self._count_lock:
                self.dropped += 1
            logger.error(
                "Event %s DROPPED: the event queue stayed full (%d events) for %.1f s%s; "
                "raise events.queue_size or fix the slow handler",
                event_type,
                self._queue.maxsize,
                self.put_timeout,
                self._blocker(),
            )
        finally:
            with self._state:
                self._putting -= 1
                if not queued:
                    self._accepted -= 1
                if self._closed:  # close() may be waiting for the last put to finish
                    self._state.notify_all()

    def _blocker(self) -> str:
        running = self._running
        if running is None:
            return ""
        name, since = running
        return f" while handler '{name}' has been running for {time.monotonic() - since:.1f} s"

    def _deliver_here(
        self, event_type: str, make: Callable[[Any], dict[str, Any]], frozen: Any
    ) -> None:
        """Deliver in the caller's thread, as one of the deliveries close() waits for."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the event dispatcher is closed")
            self._in_flight += 1
            self._accepted += 1
        delivered = False
        self._here.depth = getattr(self._here, "depth", 0) + 1
        try:
            delivered = self._deliver(event_type, make, frozen)
        finally:
            self._here.depth -= 1
            self._leave(delivered)

    def _leave(self, delivered: bool = False) -> None:
        """One delivery ended (`delivered`: to every handler, in a caller's thread): wake
        close(), and close the handlers if it gave up on them and this was the last delivery
        still running."""
        with self._lock:
            self._in_flight -= 1
            if delivered and not self._abandoned:
                self._delivered += 1
            closing = self._pending_close if not self._in_flight else None
            if closing is not None:
                self._pending_close = None
            if self._closed:
                self._state.notify_all()
        if closing is not None:
            closing()

    def _deliver(
        self,
        event_type: str,
        make: Callable[[Any], dict[str, Any]],
        frozen: Any,
        queued: bool = False,
    ) -> bool:
        """Give the event to each handler in turn, stopping (False) once close() has given up.
        The worker (`queued`) checks under the lock close() takes, and says which handler it
        is in; a caller's thread reads the flag (close() closes no handler while it runs)."""
        clock = time.monotonic
        start = clock()
        for name, handler in self.handlers:
            if queued:
                with self._gate:
                    if self._abandoned:
                        return False
                    self._running = (name, start)
            elif self._abandoned:
                return False
            try:
                handler.handle(event_type, make(frozen))
            except BaseException as error:  # noqa: BLE001 - a handler never breaks delivery
                with self._count_lock:
                    self.failures += 1
                logger.exception(
                    "Event handler '%s' failed on %s; the memory is kept and "
                    "the other handlers still get the event",
                    name,
                    event_type,
                )
                if (
                    not isinstance(error, Exception)
                    and not queued
                    and threading.current_thread() is threading.main_thread()
                ):
                    raise  # Ctrl-C, or a signal handler's sys.exit: the program's, not ours
            now = clock()
            if now - start > self.slow_handler_seconds:
                logger.warning(
                    "Event handler '%s' took %.2f s on %s; make it faster or set "
                    "events.background: true",
                    name,
                    now - start,
                    event_type,
                )
            start = now
        if queued:
            with self._gate:
                self._running = None
                if not self._abandoned:  # else close() has counted it as given up on
                    self._delivered += 1
        return True

    def _work(self) -> None:
        assert self._queue is not None
        try:
            while True:
                item = self._queue.get()
                try:
                    if item is None:
                        return
                    with self._state:
                        self._in_flight += 1
                    try:
                        if not self._deliver(*item, queued=True):
                            return  # close() gave up
                    finally:
                        self._leave()
                finally:
                    self._queue.task_done()
        except BaseException:  # noqa: BLE001 - its own failure: a handler's is contained
            self._died()

    def _died(self) -> None:
        """The worker is ending on an error of its own: count what it leaves queued as
        undelivered and say so, with the traceback."""
        with self._state, self._gate:
            self._dead = True
            left = self._accepted - self._delivered
        logger.exception(
            "The event thread died: %d queued events were NOT delivered, nor will later ones be",
            left,
        )

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event is delivered; False if `timeout` ran out first."""
        if self._queue is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def close(self, close_handler: Callable[[EventHandler], None] | None = None) -> None:
        """Deliver what is queued and wait for the deliveries in progress (up to close_timeout
        in all), then refuse new events; with `close_handler`, close each handler with it.

        When close_timeout runs out first, the events left are logged and counted in
        `undelivered`, and no handler call starts again; a handler still in its call is closed
        when the call returns, by the thread running it, never during it.
        """
        with self._state:
            again, self._closed = self._closed, True
        if again:  # closed before (by the program, or at exit): the handlers may still be open
            if close_handler is not None:
                self._close_handlers_when_idle(self._closer(close_handler))
            return
        if self._queue is not None:
            atexit.unregister(self.close)
        self._wait_for_deliveries(time.monotonic() + self.close_timeout)
        closing = None if close_handler is None else self._closer(close_handler)
        with self._state, self._gate:
            busy = self._in_flight > 0 or (self._queue is not None and self._worker.is_alive())
            deferred = busy and closing is not None and self._in_flight > 0
            if busy:
                self._abandoned = True
                self._pending_close = closing if deferred else None
            lost = self._accepted - self._delivered
            blocker = self._blocker()
        if closing is not None and not deferred:
            closing()
        if busy:
            self._report_abandoned(lost, blocker, deferred)

    def _wait_for_deliveries(self, deadline: float) -> None:
        """Until `deadline`: for the callers putting events and the deliveries in caller
        threads to end; then for the worker to deliver the queue and stop. A handler calling
        close() waits for none of its own thread's deliveries, which wait for it."""
        own = getattr(self._here, "depth", 0)
        with self._state:
            self._state.wait_for(
                lambda: not self._putting and (self._queue is not None or self._in_flight <= own),
                max(0.0, deadline - time.monotonic()),
            )
        if self._queue is None:
            return
        worker = threading.current_thread() is self._worker  # nobody else empties the queue
        try:
            self._queue.put(None, timeout=0 if worker else max(0.0, deadline - time.monotonic()))
        except queue.Full:
            pass  # the worker is stuck behind a full queue: it is given up on
        if not worker:
            self._worker.join(max(0.0, deadline - time.monotonic()))

    def _report_abandoned(self, lost: int, blocker: str, deferred: bool) -> None:
        if lost and self._queue is not None:
            logger.error(
                "%d queued events and the one in progress were NOT delivered: close() "
                "waited %.1f s%s; raise events.close_timeout or fix the slow handler",
                lost - 1,
                self.close_timeout,
                blocker,
            )
        elif lost:
            logger.error(
                "%d events being delivered by other threads were cut short: close() "
                "waited %.1f s for them; no handler is called again",
                lost,
                self.close_timeout,
            )
        if deferred:
            logger.error(
                "The event handlers are closed when the handle() call still running "
                "returns%s, never during it: one that never returns leaves them open",
                blocker,
            )

    def _close_handlers_when_idle(self, closing: Callable[[], None]) -> None:
        """Close the handlers now, or when the handler call still running returns."""
        with self._state:
            if self._in_flight and self._pending_close is None:
                self._pending_close = closing
                return
        closing()

    def _closer(self, close_handler: Callable[[EventHandler], None]) -> Callable[[], None]:
        """Closes every handler with `close_handler`: once, however often it is called."""

        def close_all() -> None:
            with self._state:
                if self._handlers_closed:
                    return
                self._handlers_closed = True
            for _, handler in self.handlers:
                close_handler(handler)

        return close_all
