"""Whether a plugin's service can be reached: the checks of a plugin whose server is down,
or offline, are not tested, which is not failed.

Two ways to find out, both in the check process (the parent never imports the plugin):

- before the checks, `probe_plugin` builds one instance and, when it declares its service
  (`conformance_service()`: a name, the URL it uses, the option and environment variable that
  set it), opens one TCP connection to that URL's host and port (or to the proxy urllib would
  go through), for at most PROBE_SECONDS;
- during a check, `unusable_service` recognises the errors that say a service could not be
  reached or refused the credentials (`omi.builtin.http`'s UnreachableError and
  AuthenticationError, a refused connection, a name that does not resolve, anywhere in the
  exception's chain), so a plugin that declares nothing is not tested from the first such
  check on instead of failing every check.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

#: How long the probe waits for a connection (name resolution included).
PROBE_SECONDS = 1.0
#: Past this a declared name, URL, option or variable is not one.
_LONGEST = 2048


@dataclass(frozen=True)
class Service:
    """A plugin's service as it declares it: what to call it, where it is, how to move it."""

    name: str
    url: str
    option: str = ""
    env: str = ""

    def not_tested(self, reason: str) -> str:
        """The one line a report gives a plugin whose service could not be reached."""
        from omi.masking import mask_text

        return (
            f"{self.name} at {mask_text(self.url)} could not be reached ({reason}); "
            f"point the plugin at a running one{self.how_to_point()}"
        )

    def how_to_point(self) -> str:
        ways = ([f"--option {self.option}=URL"] if self.option else []) + (
            [f"the {self.env} environment variable"] if self.env else []
        )
        return f" with {' or '.join(ways)}" if ways else ""


def declared_service(instance: Any) -> Service | None:
    """The service `instance.conformance_service()` declares, or None when it declares none.
    Its answer is the plugin's data: a mapping of str to str, each at most 2,048 characters,
    with "name" and "url"; anything else (or an exception) is a ValueError saying what is
    wrong."""
    declare = getattr(instance, "conformance_service", None)
    if not callable(declare):
        return None
    owner = f"{type(instance).__name__}.conformance_service()"
    try:
        answer = declare()
    except Exception as error:  # noqa: BLE001 - the plugin's code: reported as its mistake
        from omi.masking import mask_error

        raise ValueError(
            f"{owner} raised {mask_error(error)}; let it return the service's name and url"
        ) from error
    if not isinstance(answer, dict):
        raise ValueError(
            f"{owner} must return a dict with name and url (str), got {type(answer).__name__}"
        )
    unknown = sorted(map(str, set(answer) - {"name", "url", "option", "env"}))
    if unknown:
        raise ValueError(
            f"{owner} returned unknown key(s) {', '.join(unknown)}; it takes "
            f"name, url, option and env"
        )
    for key, value in answer.items():
        if not isinstance(value, str) or len(value) > _LONGEST:
            raise ValueError(f"{owner}[{key!r}] must be a str of at most {_LONGEST} characters")
    if not answer.get("name") or not answer.get("url"):
        raise ValueError(f"{owner} must give a name and a url")
    return Service(**answer)


def endpoint(url: str) -> tuple[str, int]:
    """The host and port a connection to `url` goes to: the proxy's when urllib would use one
    (HTTP_PROXY and the like, NO_PROXY honoured), else the URL's own. ValueError for a port
    that is not one."""
    import urllib.request

    parts = _split(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and parts.hostname and not urllib.request.proxy_bypass(parts.hostname):
        parts = _split(proxy)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def _split(url: str) -> SplitResult:
    return urlsplit(url if "://" in url else f"http://{url}")


def probe(service: Service, seconds: float = PROBE_SECONDS) -> str | None:
    """None when a TCP connection to the service opens within `seconds`; else why not, in a
    few words. Run in a thread, so that a resolver that hangs cannot hold it longer."""
    try:
        host, port = endpoint(service.url)
    except ValueError as error:  # a port that is not a number
        return f"its URL is not one: {error}"
    if not host:
        return "its URL names no host"
    outcome: list[str] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=seconds).close()
            outcome.append("")
        except OSError as error:
            outcome.append(_why(error))

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(seconds + 0.5)
    if not outcome:
        return f"no answer within {seconds:g} s"
    return outcome[0] or None


def probe_plugin(factory: Callable[[Path], Any]) -> str | None:
    """The not-tested line of a plugin whose service cannot be reached, or None: one instance
    is built (in a directory of its own) and its declared service probed. An instance that
    cannot be built is left for the checks to report; a declaration that is wrong is a
    ValueError saying what is wrong. Nothing is built for a class that declares no service:
    an instance may take long to build (a model to load), and the checks find out anyway."""
    plugin_class = getattr(factory, "plugin_class", None)
    if not callable(getattr(plugin_class, "conformance_service", None)):
        return None
    directory = Path(tempfile.mkdtemp(prefix="omi-probe-"))
    instance = None
    try:
        try:
            instance = factory(directory)
        except Exception as error:  # noqa: BLE001 - the checks report it, with their context
            return unusable_service(error)
        service = declared_service(instance)
        reason = probe(service) if service else None
        return service.not_tested(reason) if service and reason else None
    finally:
        close = getattr(instance, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # noqa: BLE001 - a check will meet the same and report it
                pass
        shutil.rmtree(directory, ignore_errors=True)


def unusable_service(error: BaseException) -> str | None:
    """Why the service behind `error` could not be used, as a report says it, when the error's
    chain (causes and contexts) holds one saying so: omi.builtin.http's UnreachableError or
    AuthenticationError (their message names the service and its masked URL), a refused
    connection or a name that does not resolve. None for any other error: that one is the
    plugin's."""
    from omi.builtin.http import AuthenticationError, UnreachableError
    from omi.masking import mask_text

    current: BaseException | None = error
    for _ in range(100):  # a chain can loop: raise a from b, then b from a
        if current is None:
            return None
        if isinstance(current, AuthenticationError):
            return f"a service refused the credentials: {mask_text(' '.join(str(current).split()))}"
        if isinstance(current, UnreachableError):
            return f"a service could not be reached: {mask_text(' '.join(str(current).split()))}"
        if isinstance(current, (ConnectionRefusedError, socket.gaierror)):
            return f"a service could not be reached: {_why(current)}"
        current = current.__cause__ or current.__context__
    return None


def _why(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return f"the name does not resolve: {error.strerror or error}"
    if isinstance(error, TimeoutError):
        return "no answer"
    return error.strerror or str(error) or type(error).__name__
