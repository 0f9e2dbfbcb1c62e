"""Checks that a plugin raises when its service fails, never returning a made-up value in
place of what it could not get (a zero vector, an empty recall).

A plugin that declares its service (`conformance_service()`, see `reachability`) is built
again, pointed at a server on 127.0.0.1 that fails every request: HTTP 500 for an http(s)
URL, a connection closed as soon as it opens for any other scheme. Each call must raise (any
exception). The verdict is fair both ways:

- a value returned once the failing server was asked (while building the plugin or during
  the call) is an error swallowed: a failure;
- a value returned without the server being asked was not made up in its place (a local
  cache; a call that does not use that service): a pass;
- a call still running at the call timeout (retrying with backoff) has returned nothing
  made up, and whether it would is unknown: the check is skipped saying so, as it is for a
  plugin that declares no service, or no option or environment variable to move it.
"""

from __future__ import annotations

import os
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from omi.conformance.authoring import (
    CheckFailure,
    Context,
    NotApplicable,
    check,
    close_quietly,
    shorten,
)
from omi.conformance.building import InstanceFactory
from omi.conformance.reachability import Service, declared_service

#: The most bytes of a request's body the failing server reads before answering it.
BODY_LIMIT = 1 << 20
_ANSWER = b'{"error": {"message": "internal error (a failing service: omi plugins check)"}}'


class FailingService:
    """A server on 127.0.0.1 that fails every request and counts the connections made to it
    (`contacts`): HTTP 500 when `http`, else each connection closed as soon as it opens."""

    def __init__(self, http: bool) -> None:
        self.http = http
        self.contacts = 0
        self._lock = threading.Lock()
        self._server = _server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="omi-failing-service",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def contacted(self) -> None:
        with self._lock:
            self.contacts += 1

    def __enter__(self) -> FailingService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False  # a plugin still retrying must not hold up the check
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up first is no news: the server only has to fail."""


def _server(service: FailingService) -> _Server:
    """The server of `service`; http.server is imported only by a check that needs it."""
    from http.server import BaseHTTPRequestHandler

    class HangUp(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            service.contacted()  # the connection closes as this returns

    class Fail(BaseHTTPRequestHandler):
        timeout = 5.0  # a client that connects and sends nothing frees the thread

        def setup(self) -> None:
            service.contacted()
            super().setup()

        def fail(self) -> None:
            try:
                length = max(0, int(self.headers.get("Content-Length") or 0))
            except ValueError:
                length = 0
            self.rfile.read(min(length, BODY_LIMIT))
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(_ANSWER)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(_ANSWER)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = fail

        def log_message(self, *args: Any) -> None:
            pass

    return _Server(("127.0.0.1", 0), Fail if service.http else HangUp)


def how_it_fails(http: bool) -> str:
    """How a FailingService fails, as a report says it."""
    return "HTTP 500 to every request" if http else "every connection closed at once"


def _parts(url: str) -> tuple[bool, SplitResult]:
    """Whether `url` has a scheme, and its parts (a bare host:port is read as http)."""
    schemed = "://" in url
    return schemed, urlsplit(url if schemed else f"http://{url}")


def speaks_http(url: str) -> bool:
    return _parts(url)[1].scheme in ("http", "https")


def pointed_at(url: str, port: int) -> str:
    """`url` with 127.0.0.1:`port` for its host and port, its user, path and query kept; an
    https URL becomes http (the failing server speaks plain HTTP)."""
    schemed, parts = _parts(url)
    user = parts.netloc.rpartition("@")[0]
    netloc = f"{user}@127.0.0.1:{port}" if user else f"127.0.0.1:{port}"
    scheme = "http" if parts.scheme == "https" else parts.scheme
    pointed = urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))
    return pointed if schemed else pointed.removeprefix("http://")


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """Environment variable `name` set to `value` inside (nothing when `name` is "")."""
    if not name:
        yield
        return
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


@dataclass(frozen=True)
class ServiceCall:
    """One call a check makes of a plugin pointed at a failing service: `what`, as a report
    names it, and `call`, from the instance to what it returns."""

    what: str
    call: Callable[[Any], Any]


@dataclass
class _Ending:
    """How one call ended against the failing service."""

    contacts: int = 0  # connections the plugin made to it, building included
    returned: bool = False  # the call returned `value`
    value: Any = None
    error: BaseException | None = None  # what building or calling raised
    unbuilt: str = ""  # why the plugin could not be built (a CheckFailure's text)
    running: bool = False  # still running at the call timeout


#: The reason a plugin with no service gets.
NO_SERVICE = (
    "the plugin declares no service (conformance_service()), so none can be made to fail; "
    "a plugin that calls one should declare it"
)

DECLARATION_FIX = (
    "return a dict of str: name and url, and option or env (the constructor option or "
    "environment variable that sets the URL)"
)


def _declared(ctx: Context) -> Service:
    """The service the plugin declares; NotApplicable when it declares none, a failure when
    its declaration cannot be read."""
    plugin_class = getattr(ctx.factory, "plugin_class", None)
    if plugin_class is not None and not callable(
        getattr(plugin_class, "conformance_service", None)
    ):
        raise NotApplicable(NO_SERVICE)  # known without building anything
    try:
        service = declared_service(ctx.plugin)
    except ValueError as error:  # the declaration: the plugin's to fix
        raise CheckFailure(
            "a conformance_service() the suite can read", str(error), DECLARATION_FIX
        ) from None
    if service is None:
        raise NotApplicable(NO_SERVICE)
    return service


def _builder(ctx: Context, service: Service) -> Callable[[str, Path], Any]:
    """How to build a new instance pointed at a URL, in a directory: the suite's
    recipe with the service's option set to it, else with its environment variable set around
    the call (see `_attempt_all`). NotApplicable when neither can move the plugin."""
    factory = ctx.factory
    recipe = (
        (factory.plugin_class, factory.options) if isinstance(factory, InstanceFactory) else None
    )
    if service.option and recipe:
        plugin_class, options = recipe
        return lambda url, where: InstanceFactory(plugin_class, {**options, service.option: url})(
            where
        )
    if service.env:  # a new instance, also when the suite's factory hands out a fixture's
        return lambda url, where: (InstanceFactory(*recipe) if recipe else factory)(where)
    if service.option:
        raise NotApplicable(
            f"the suite builds the plugin through a fixture, which cannot be given "
            f"{service.option}=URL: set plugin_class (and plugin_options) so that it builds "
            f"the plugin, or name an environment variable (env) in conformance_service()"
        )
    raise NotApplicable(
        "conformance_service() names no option and no environment variable (env) that "
        "points the plugin at another server, so it cannot be made to fail"
    )


#: Held while an instance is built: InstanceFactory changes the working directory, which two
#: threads building at once would leave pointing at the other's (soon removed) directory.
_BUILDING = threading.Lock()


class _Attempt:
    """One call on a new instance pointed at a failing service of its own, made in a thread of
    its own (a plugin still retrying at the deadline is left to it): entered, the service and
    the call start; `finish` waits for the call until a deadline and says how it ended."""

    def __init__(
        self, build: Callable[[str, Path], Any], call: ServiceCall, url: str, where: Path
    ) -> None:
        self.failing = FailingService(speaks_http(url))
        self.url = pointed_at(url, self.failing.port)
        self.build, self.call, self.where, self.ending = build, call, where, _Ending()
        self.thread = threading.Thread(target=self._run, name="omi-check-failing", daemon=True)

    def _run(self) -> None:
        ending = self.ending
        try:
            self.where.mkdir(parents=True, exist_ok=True)
            with _BUILDING:  # a constructor runs in its directory: the process's, one at a time
                instance = self.build(self.url, self.where)
        except CheckFailure as failure:  # InstanceFactory's: it could not be built
            ending.unbuilt = failure.got
            return
        except BaseException as error:  # noqa: BLE001 - judged by the check
            ending.error = error
            return
        try:
            ending.value, ending.returned = self.call.call(instance), True
        except BaseException as error:  # noqa: BLE001 - raising is what is asked
            ending.error = error
        finally:
            close_quietly(instance)

    def __enter__(self) -> _Attempt:
        self.failing.__enter__()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.failing.__exit__()

    def finish(self, deadline: float) -> _Ending:
        self.thread.join(max(0.0, deadline - time.monotonic()))
        ending = self.ending
        ending.running, ending.contacts = self.thread.is_alive(), self.failing.contacts
        if not ending.running and not isinstance(ending.error, (Exception, type(None))):
            raise ending.error  # KeyboardInterrupt, SystemExit: the runner reports them
        return ending


def _attempt_all(ctx: Context, service: Service, calls: list[ServiceCall]) -> list[_Ending]:
    """How each call ended, each on its own instance and failing service, given the call
    timeout: all at once when the option moves each instance, one after the other when the
    environment variable does (it holds one URL at a time)."""
    build = _builder(ctx, service)
    attempts = [
        _Attempt(build, call, service.url, ctx.workdir / f"failing-service-{index}")
        for index, call in enumerate(calls)
    ]
    with _staying_in(os.getcwd()):
        if service.option:
            with ExitStack() as stack:
                for attempt in attempts:
                    stack.enter_context(attempt)
                deadline = time.monotonic() + ctx.call_timeout
                return [attempt.finish(deadline) for attempt in attempts]
        endings = []
        for attempt in attempts:
            with _environment(service.env, attempt.url), attempt:
                endings.append(attempt.finish(time.monotonic() + ctx.call_timeout))
        return endings


@contextmanager
def _staying_in(directory: str) -> Iterator[None]:
    """Back in `directory` on the way out: a constructor still running at the deadline is
    still in its own directory, which the check removes when it ends."""
    try:
        yield
    finally:
        os.chdir(directory)


def expect_raises_when_service_fails(ctx: Context, calls: list[ServiceCall], fix: str) -> None:
    """Each of `calls`, on a new instance pointed at a failing service, raises (see the
    module's docstring for the verdict)."""
    service = _declared(ctx)
    how = how_it_fails(speaks_http(service.url))
    endings = list(zip(calls, _attempt_all(ctx, service, calls), strict=True))
    for call, ending in endings:
        if ending.returned and not ending.running and ending.contacts:
            raise CheckFailure(
                f"{call.what} to raise when {service.name} fails ({how}; asked "
                f"{_times(ending.contacts)})",
                f"{shorten(ending.value)}, returned instead",
                fix,
            )
    for call, ending in endings:
        if ending.unbuilt and not ending.contacts:
            raise NotApplicable(
                f"the plugin could not be built pointed at a failing server, to try "
                f"{call.what}: {ending.unbuilt}; give the suite the options it needs "
                f"(--option; under pytest plugin_class and plugin_options: the arguments a "
                f"plugin fixture passes cannot be reused)"
            )
    for call, ending in endings:
        if ending.running:
            raise NotApplicable(
                f"{call.what} was still running {ctx.call_timeout:g} s (the call timeout) "
                f"after {service.name} began to fail it (asked {_times(ending.contacts)}): "
                f"it returned nothing made up in that time, and whether it would later is "
                f"not known; let its retries give up within the call timeout (fewer "
                f"retries, a shorter backoff), or under pytest raise call_timeout"
            )


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


#: The fix both checks give, before what the plugin must never return.
RAISE_INSTEAD = (
    "let the service's error reach the caller, or raise your own naming the service and the "
    "cause (raise RuntimeError(...) from error)"
)
#: Texts the checks embed, and the query they recall.
TEXTS = ["The cat sat on the mat.", "Quarterly revenue grew by 12 percent."]
QUERY = "where did I leave the keys"


@check(
    "embedding",
    "pointed at a service that fails, embed() and embed_batch() raise instead of "
    "returning a made-up vector (for a plugin declaring conformance_service())",
    rules=("embedding.service_failure",),
    why="a vector made up when the service was down (zeros, say) is stored with the memory as "
    "if it were real: the memory is never found again, and nothing says why",
    fix=f"{RAISE_INSTEAD}; never return a vector in its place",
)
def embed_raises_when_its_service_fails(ctx: Context) -> None:
    expect_raises_when_service_fails(
        ctx,
        [
            ServiceCall(f"embed({TEXTS[0]!r})", lambda plugin: plugin.embed(TEXTS[0])),
            ServiceCall(f"embed_batch({TEXTS!r})", lambda plugin: plugin.embed_batch(list(TEXTS))),
        ],
        f"{RAISE_INSTEAD}; never return a zero vector in place of the one the service did not give",
    )


@check(
    "storage",
    "pointed at a service that fails, recall() raises instead of returning a made-up result "
    "(for a plugin declaring conformance_service())",
    rules=("recall.service_failure",),
    why="an empty result when the service was down tells the agent it remembers nothing: it "
    "answers without its memories instead of learning that recall failed",
    fix=f"{RAISE_INSTEAD}; never return [] in its place",
)
def recall_raises_when_its_service_fails(ctx: Context) -> None:
    expect_raises_when_service_fails(
        ctx,
        [ServiceCall(f"recall({QUERY!r}, limit=5)", lambda plugin: plugin.recall(QUERY, limit=5))],
        f"{RAISE_INSTEAD}; never return [] in place of the results the service did not give",
    )
