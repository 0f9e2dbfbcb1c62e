"""pytest front end of the conformance suite: subclass one class, provide one fixture.

    from omi.testing import EmbeddingProviderConformance

    class TestMyEmbedderConformance(EmbeddingProviderConformance):
        @pytest.fixture
        def plugin(self):
            return MyEmbedder()

Storage backends provide `backend_factory` instead: a callable that takes a directory and
returns a backend whose data lives there (the same directory again reopens the same data).
Setting `plugin_class = MyPlugin` instead builds instances the way `omi plugins check` does.

Every check of the registry becomes a test named `test_<check name>`. Known failures
(`known_failures` here, or `conformance_known_failures` on the plugin class) run as xfail.
Overriding or removing a standard test (in the class or a mixin) without declaring it a known
failure is an error at import time, so a plugin cannot quietly opt out of a check. With
`suite_version` set, a failing check added by a later release of the suite says it is new.

A check of a "should" rule that the plugin does not follow is an advisory: the test passes
with a `ConformanceAdvisory` warning, and fails with `strict = True` on the class or
`pytest -p omi.testing --omi-strict`, as `omi plugins check --strict` fails it.

Each check runs within `check_timeout` seconds (the class attribute; else $OMI_CHECK_TIMEOUT,
else 60), as under `omi plugins check`: a check still running then fails with a dump of where
the plugin was stuck, and the session goes on to the next test.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from packaging.version import Version

from omi.conformance.authoring import CALL_TIMEOUT, Check, CheckFailure
from omi.conformance.building import InstanceFactory, instance_factory
from omi.conformance.outcome import (
    ADVISORY,
    EXITS,
    FAILED,
    NOT_TESTED,
    SKIPPED,
    Outcome,
    default_timeout,
    execute,
    exit_failure,
    valid_timeout,
)
from omi.conformance.registry import checks_for
from omi.conformance.target import (
    check_known_failures,
    declared_capabilities,
    declared_known_failures,
    options_problem,
)

__all__ = [
    "ConformanceAdvisory",
    "EmbeddingProviderConformance",
    "EventHandlerConformance",
    "StorageBackendConformance",
]


class ConformanceAdvisory(UserWarning):
    """A check of a "should" rule that the plugin does not follow: advice, not a failure
    (unless `strict`)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--omi-strict`: advisories fail, in every conformance suite of the session. The option
    exists where omi.testing is loaded as a pytest plugin: `pytest -p omi.testing`, or
    `pytest_plugins = ["omi.testing"]` in a conftest.py."""
    parser.addoption(
        "--omi-strict",
        action="store_true",
        dest="omi_strict",
        default=False,
        help="omi.testing: fail conformance tests that give an advisory (a "
        "'should' rule not followed)",
    )


class _Conformance:
    interface: ClassVar[str] = ""
    #: The plugin class, when instances are built like `omi plugins check` builds them.
    plugin_class: ClassVar[type | None] = None
    #: Constructor options used with `plugin_class`.
    plugin_options: ClassVar[dict[str, Any]] = {}
    #: Checks this plugin is known to fail, with the reason: {check_name: reason}.
    known_failures: ClassVar[dict[str, str]] = {}
    #: The suite version these tests were written against; newer checks say they are new.
    suite_version: ClassVar[str | None] = None
    seed: ClassVar[int] = 0
    #: Seconds one call of the plugin may take in the checks that time its calls.
    call_timeout: ClassVar[float] = CALL_TIMEOUT
    #: Seconds each check may take; None: $OMI_CHECK_TIMEOUT, else 60.
    check_timeout: ClassVar[float | None] = None
    #: Advisories (advice not followed) fail the test, as under `omi plugins check --strict`;
    #: `pytest --omi-strict` sets it for every suite. Otherwise an advisory passes with a
    #: ConformanceAdvisory warning, which pytest shows and counts in its summary.
    strict: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "interface" in cls.__dict__:  # one of the three suites: one test per check
            for check in checks_for(cls.interface):
                setattr(cls, f"test_{check.name}", _standard_test(check))
            return
        if not cls.interface:
            return
        known = check_known_failures(
            f"{cls.__name__}.known_failures", cls.known_failures, cls.interface
        )
        for check in checks_for(cls.interface):
            attribute = f"test_{check.name}"
            standard = getattr(getattr(cls, attribute, None), "conformance_check", None)
            if standard != check.name and check.name not in known:
                raise TypeError(
                    f"{cls.__name__} overrides or removes the standard conformance test "
                    f"{attribute}; declare it instead: known_failures = "
                    f"{{{check.name!r}: 'the reason'}}"
                )

    # --- how instances are built ----------------------------------------------------------

    def _factory(self, request: pytest.FixtureRequest) -> Callable[[Path], Any]:
        raise NotImplementedError

    def _declared_on(self, factory: Callable[[Path], Any], workdir: Path) -> type:
        if self.plugin_class is not None:
            return self.plugin_class
        scratch = Path(tempfile.mkdtemp(prefix="omi-probe-", dir=workdir))
        try:
            instance = factory(scratch)
            close = getattr(instance, "close", None)
            if callable(close) and self.interface == "storage":
                close()
            return type(instance)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _timeout(self) -> float:
        try:
            if self.check_timeout is not None:
                return valid_timeout(f"{type(self).__name__}.check_timeout", self.check_timeout)
            return default_timeout()
        except ValueError as error:
            pytest.fail(str(error), pytrace=False)

    def _run(self, check: Check, request: pytest.FixtureRequest) -> None:
        timeout = self._timeout()
        factory = self._factory(request)
        workdir = Path(tempfile.mkdtemp(prefix="omi-check-"))
        verdict = _within(
            timeout, check.name, factory, workdir, lambda: self._check(check, factory, workdir)
        )
        if isinstance(verdict, str):  # why the check does not apply
            pytest.skip(verdict)
        known, outcome = verdict
        if outcome.status == NOT_TESTED:  # the plugin's service could not be reached
            pytest.skip(f"not tested: {outcome.message}")
        if outcome.status == SKIPPED:  # the check found it cannot judge this plugin
            pytest.skip(outcome.message)
        if check.name in known:
            request.node.add_marker(pytest.mark.xfail(reason=known[check.name], strict=False))
        if outcome.status == ADVISORY:
            if self.strict or request.config.getoption("omi_strict", False):
                pytest.fail(f"advisory (strict): {check.name}: {outcome.message}", pytrace=False)
            warnings.warn(ConformanceAdvisory(f"{check.name}: {outcome.message}"), stacklevel=1)
        if outcome.status == FAILED:
            prefix = ""
            if self.suite_version and Version(check.since) > Version(self.suite_version):
                prefix = (
                    f"[new in conformance suite {check.since}; these tests were written "
                    f"for {self.suite_version}: fix the plugin, or declare it in "
                    f"known_failures with the reason] "
                )
            pytest.fail(f"{prefix}{check.name}: {outcome.message}", pytrace=False)

    def _check(
        self, check: Check, factory: Callable[[Path], Any], workdir: Path
    ) -> str | tuple[dict[str, str], Outcome]:
        """The skip reason, or the known failures and the outcome: everything that calls the
        plugin (building the probe instance too), so the timeout covers all of it. Every
        file it makes is in `workdir`."""
        declared_on = self._declared_on(factory, workdir)
        capabilities: frozenset[str] = declared_capabilities(declared_on)
        known = {**declared_known_failures(declared_on), **self.known_failures}
        reason = check.skip_reason(capabilities)
        if reason:
            return reason
        # An instance from the `plugin` fixture belongs to the fixture, which may share it
        # between checks (scope="class"): the check must not close it.
        return known, execute(
            check,
            factory,
            capabilities,
            self.seed,
            self.call_timeout,
            close_instances=self.interface == "storage",
            workdir=workdir,
        )


#: Instances a timed-out check may still hold (a lock, a connection): never handed to
#: another check. Kept alive by the stuck thread anyway, so holding them costs nothing.
_STUCK: list[Any] = []


def _within(
    timeout: float,
    name: str,
    factory: Callable[[Path], Any],
    workdir: Path,
    work: Callable[[], Any],
) -> Any:
    """`work()`'s result, computed in a daemon thread given `timeout` seconds; `workdir`, its
    scratch directory, is removed when it ends.

    A thread cannot be killed: one still running at the deadline is left behind (a daemon, so
    it never holds up the interpreter's exit), its directory is removed when the session
    exits, and the test fails with its stack, which shows where the plugin was stuck. The
    instance it used is marked stuck, so a fixture that shares it (scope="class") fails the
    later checks at once instead of hanging them too. KeyboardInterrupt or SystemExit from
    the plugin fails the test as it fails the check under `omi plugins check`, and the
    session goes on.
    """
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = work()
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            result["error"] = error

    thread = threading.Thread(target=run, name=f"omi-check-{name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if not thread.is_alive():
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        atexit.register(shutil.rmtree, workdir, ignore_errors=True)
        frame = sys._current_frames().get(thread.ident or 0)
        stack = "".join(traceback.format_stack(frame)) if frame else "(no stack)\n"
        instance = getattr(factory, "instance", None)  # a _FixtureInstance's
        if instance is not None:
            _STUCK.append(instance)
        pytest.fail(
            f"{name}: did not finish within {timeout:g} s (the plugin hangs, or needs "
            f"a larger check_timeout or OMI_CHECK_TIMEOUT); where it was stuck:\n"
            f"{stack}",
            pytrace=False,
        )
    if isinstance(result.get("error"), EXITS):
        pytest.fail(f"{name}: {exit_failure(result['error'])}", pytrace=False)
    if "error" in result:
        raise result["error"]
    return result["value"]


def _standard_test(check: Check) -> Callable[..., None]:
    def test(self: _Conformance, request: pytest.FixtureRequest) -> None:
        self._run(check, request)

    test.__name__ = f"test_{check.name}"
    test.__qualname__ = test.__name__
    test.__doc__ = check.description
    test.conformance_check = check.name  # type: ignore[attr-defined]  # marks it as standard
    return test


class _InstanceConformance(_Conformance):
    """Embedding providers and event handlers: the author provides a `plugin` fixture."""

    @pytest.fixture
    def plugin(self) -> Any:  # Any: a subclass's fixture returns its own plugin class
        if self.plugin_class is None:
            raise pytest.UsageError(
                f"{type(self).__name__} needs a `plugin` fixture returning an instance, "
                f"or plugin_class = YourPlugin"
            )
        _check_options(self.plugin_class, self.plugin_options)
        directory = Path(tempfile.mkdtemp(prefix="omi-plugin-"))
        problem = None
        try:
            instance = instance_factory(self.plugin_class, self.plugin_options)(directory)
        except CheckFailure as failure:  # the text omi plugins check gives, not a traceback
            problem = str(failure)
        except EXITS as error:  # the plugin's constructor: not the end of the session
            problem = exit_failure(error)
        if problem is not None:
            shutil.rmtree(directory, ignore_errors=True)
            pytest.fail(problem, pytrace=False)
        yield instance
        close = getattr(instance, "close", None)  # built here, so closed here
        if callable(close):
            close()
        shutil.rmtree(directory, ignore_errors=True)

    def _factory(self, request: pytest.FixtureRequest) -> Callable[[Path], Any]:
        instance = request.getfixturevalue("plugin")
        if any(instance is stuck for stuck in _STUCK):
            pytest.fail(
                "the `plugin` fixture gave the instance a check that did not finish "
                "is still using; give a function-scoped fixture, so each check gets "
                "a fresh one",
                pytrace=False,
            )
        return _FixtureInstance(self.plugin_class or type(instance), self.plugin_options, instance)


@dataclass(frozen=True)
class _FixtureInstance(InstanceFactory):
    """Hands every check the `plugin` fixture's instance (named, for `_STUCK`); the class and
    options remain the recipe a fresh interpreter builds the plugin from (`deterministic`
    across processes)."""

    instance: Any = None

    def __call__(self, directory: Path) -> Any:
        return self.instance


def _check_options(plugin_class: type, options: dict[str, Any]) -> None:
    """Fail at once, saying how to fix it, when `plugin_options` cannot build the plugin."""
    problem = options_problem(plugin_class, options) if options else None
    if problem:
        pytest.fail(f"plugin_options: {problem}", pytrace=False)


class EmbeddingProviderConformance(_InstanceConformance):
    """The conformance suite for an EmbeddingProvider; provide a `plugin` fixture."""

    interface = "embedding"


class EventHandlerConformance(_InstanceConformance):
    """The conformance suite for an EventHandler; provide a `plugin` fixture."""

    interface = "event"


class StorageBackendConformance(_Conformance):
    """The conformance suite for a StorageBackend; provide a `backend_factory` fixture."""

    interface = "storage"

    @pytest.fixture
    def backend_factory(self) -> Callable[[Path], Any]:
        if self.plugin_class is None:
            raise pytest.UsageError(
                f"{type(self).__name__} needs a `backend_factory` fixture (a callable taking "
                f"a directory and returning a backend), or plugin_class = YourBackend"
            )
        _check_options(self.plugin_class, self.plugin_options)
        return instance_factory(self.plugin_class, self.plugin_options)

    def _factory(self, request: pytest.FixtureRequest) -> Callable[[Path], Any]:
        factory: Callable[[Path], Any] = request.getfixturevalue("backend_factory")
        return factory
