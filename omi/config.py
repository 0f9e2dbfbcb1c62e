"""config.yaml -> plugin instances: find the file, expand ${VAR}, check its shape, build plugins.

The shape follows the plugin guide::

    embedding: {provider: nim, model: ..., api_key: ${NVIDIA_API_KEY}, batch_size: 16}
    storage:   {backend: sqlite, path: ~/omi/memories.db}
    events:    {handlers: [webhook, {name: slack, channel: "#omi"}], background: true}

The selector (`provider`, `backend`, `name`) picks the plugin; every other key of its section
is passed to the plugin's constructor. Every error is a ConfigError whose one-line message
names the file, the key, what is wrong and how to fix it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Union

from omi.errors import ConfigError
from omi.errors import did_you_mean as _did_you_mean
from omi.masking import MASK, is_secret, mask_error, mask_secrets, mask_text
from omi.paths import default_database_path, user_config_dir, user_config_file, user_data_dir

if TYPE_CHECKING:  # imported when plugins are built, not when a config is read
    from pathlib import Path

    from omi.embeddings import EmbeddingProvider
    from omi.events import EventHandler
    from omi.kinds import PluginKind
    from omi.plugins import PluginRegistry
    from omi.storage import StorageBackend

__all__ = [
    "CONFIG_ENV",
    "Config",
    "ConfigError",
    "PluginChoice",
    "Plugins",
    "build_plugins",
    "expand_variables",
    "find_config",
    "load_config",
    "mask_secrets",
    "options_problem",
    "parse_config",
    "user_config_dir",
    "user_data_dir",
]

CONFIG_ENV = "OMI_CONFIG"
LOCAL_CONFIG = "omi.yaml"
BUILTIN_STORAGE = "sqlite"
TOP_LEVEL_KEYS = ("embedding", "storage", "events")
#: Options of `events` besides `handlers`; they go to omi.dispatch.Dispatcher.
DISPATCH_OPTIONS = (
    "background",
    "queue_size",
    "put_timeout",
    "slow_handler_seconds",
    "close_timeout",
)
#: ./omi.yaml may come from someone else's checkout: a config is a few kilobytes, so anything
#: past this size (or the loader's limits, omi.configyaml) is refused before it can cost
#: seconds or gigabytes.
MAX_CONFIG_BYTES = 256 * 1024

# Patterns, compiled (and cached by `re`) when a value holds a "$": most never do.
_REFERENCE = r"\$\$\{|\$\{([^}]*)\}|\$\{"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*\Z"

PathLike = Union[str, "os.PathLike[str]"]


def find_config(explicit: PathLike | None = None) -> Path | None:
    """The config file to read: `explicit`, else $OMI_CONFIG, else ./omi.yaml, else
    the user config dir's config.yaml; None when there is none (the host runs on defaults).

    A file named explicitly or by OMI_CONFIG must exist: a typo there is an error, not a
    silent fall back to defaults.
    """
    found = _locate_config(explicit)
    if found is None:
        return None
    from pathlib import Path

    return Path(found)


def _locate_config(explicit: PathLike | None) -> str | None:
    """`find_config` as a string: the host's start looks the file up without `pathlib`."""
    for path, origin in ((explicit, "--config"), (os.environ.get(CONFIG_ENV) or None, CONFIG_ENV)):
        if path is not None:
            path = os.path.expanduser(os.fspath(path))
            if not os.path.isfile(path):
                raise ConfigError(
                    f"{origin} names {path}, which is not a file; fix the path or create the file"
                )
            return path
    for path in (LOCAL_CONFIG, user_config_file()):
        if os.path.isfile(path):
            return path
    return None


# --- ${VAR} expansion -------------------------------------------------------------------------


def expand_variables(value: Any, key: str = "", environ: Mapping[str, str] | None = None) -> Any:
    """Replace ${VAR} and ${VAR:-default} in every string of `value` (keys are left alone).

    `$${` writes a literal `${`. Expanded values stay strings. As in the shell, the default
    replaces a variable that is unset or empty. A variable that is not set and has no default
    is an error naming the variable and the key that used it.
    """
    env = os.environ if environ is None else environ
    if isinstance(value, dict):
        return {k: expand_variables(v, _join(key, k), env) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_variables(v, f"{key}[{i}]", env) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value

    secret = is_secret(key.rsplit(".", 1)[-1])  # its text may be the key itself: not shown

    def shown(text: str) -> str:
        return MASK if secret else mask_text(text)  # a URL's password stays hidden too

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        inner = match.group(1)
        if inner is None:
            raise ConfigError(
                f"{key}: unclosed '${{' in {shown(value)!r}; "
                f"write ${{NAME}}, or $${{ for a literal '${{'"
            )
        name, sep, default = inner.partition(":-")
        if not re.match(_NAME, name):
            raise ConfigError(
                f"{key}: '${{{shown(inner)}}}' is not a variable "
                f"reference; write ${{NAME}} or ${{NAME:-default}}"
            )
        if sep and not env.get(name):  # as in the shell: unset or empty takes the default
            return default
        if name in env:
            return env[name]
        raise ConfigError(
            f"{key}: environment variable {name} is not set; export it or "
            f"write ${{{name}:-default}}"
        )

    return re.sub(_REFERENCE, replace, value)


def _join(parent: str, child: Any) -> str:
    return f"{parent}.{child}" if parent else str(child)


# --- the parsed configuration ---------------------------------------------------------------


# Not @dataclass: building the two classes (exec of each method) costs every host start 1.4 ms,
# of the 12 ms it may spend over building the plugins directly (bench_cli: ratio <= 1.20).
class _Record:
    """Equality and a repr over `_fields`, as @dataclass would write them."""

    __slots__: tuple[str, ...] = ()
    _fields: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # mutable options: unhashable, as before

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({shown})"


class PluginChoice(_Record):
    """One plugin chosen by name, the options for its constructor, and where it was chosen."""

    __slots__ = _fields = ("key", "name", "options", "written")

    def __init__(
        self, key: str, name: str, options: dict[str, Any] | None = None, written: str = ""
    ) -> None:
        self.key = key  # "embedding", "storage" or "events.handlers[0]", for error messages
        self.name = name
        self.options: dict[str, Any] = {} if options is None else options
        self.written = written  # the name as written, when it came from a ${VAR}

    @property
    def shown(self) -> str:
        """The name for messages: a mistaken ${VAR} may hold a secret, so it is shown as
        written, never expanded."""
        return f"{self.written!r} (as expanded)" if self.written else repr(self.name)


class Config(_Record):
    """A checked configuration; nothing is imported or built until `build_plugins`."""

    __slots__ = ("_source", "embedding", "storage", "handlers", "dispatch")
    _fields = ("source", "embedding", "storage", "handlers", "dispatch")

    def __init__(
        self,
        source: PathLike | None = None,
        embedding: PluginChoice | None = None,
        storage: PluginChoice | None = None,
        handlers: list[PluginChoice] | None = None,
        dispatch: dict[str, Any] | None = None,
    ) -> None:
        self._source = None if source is None else os.fspath(source)
        self.embedding = embedding
        self.storage = PluginChoice("storage", BUILTIN_STORAGE) if storage is None else storage
        self.handlers: list[PluginChoice] = [] if handlers is None else handlers
        self.dispatch: dict[str, Any] = {} if dispatch is None else dispatch

    @property
    def source(self) -> Path | None:
        """The file it came from; None when running on defaults."""
        if self._source is None:
            return None
        from pathlib import Path

        return Path(self._source)

    def effective(self) -> dict[str, Any]:
        """The configuration as the host runs it, defaults filled in (secrets NOT masked)."""
        storage = {"backend": self.storage.name, **self.storage.options}
        if self.storage.name == BUILTIN_STORAGE and "path" not in storage:
            storage["path"] = str(default_database_path())
        embedding = (
            None
            if self.embedding is None
            else {"provider": self.embedding.name, **self.embedding.options}
        )
        handlers = [
            choice.name if not choice.options else {"name": choice.name, **choice.options}
            for choice in self.handlers
        ]
        return {
            "embedding": embedding,
            "storage": storage,
            "events": {"handlers": handlers, **self.dispatch},
        }


def load_config(path: PathLike | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Find (see `find_config`), read, expand and check the configuration.

    The parsed file comes from omi.configcache while the file is unchanged, so most starts
    never import PyYAML; ${VAR}s are expanded and the shape checked at every load.
    """
    source = _locate_config(path)
    if source is None:
        return Config()
    from omi import configcache

    try:
        document = configcache.load(
            source, lambda data: _parse_yaml(source, data), MAX_CONFIG_BYTES
        )
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{source}: cannot read it: {error}") from None
    try:
        return parse_config(document, source, environ)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def _parse_yaml(source: str, data: bytes) -> Any:
    """The YAML document in `data`, the contents of `source`, read by the bounded loader."""
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{source}: the file is larger than {MAX_CONFIG_BYTES // 1024} KiB, "
            f"which no configuration needs; check that this is the right file"
        )
    import yaml  # only a config that is not in the cache pays for it

    from omi.configyaml import ConfigLoader, Refused

    text = data.decode("utf-8")
    try:
        return yaml.load(text, Loader=ConfigLoader)
    except Refused as error:
        at = error.problem_mark
        where = f"line {at.line + 1}, column {at.column + 1}: " if at is not None else ""
        raise ConfigError(f"{source}: {where}{error.problem}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or error
        line = text.splitlines()[mark.line] if mark and mark.line < len(text.splitlines()) else ""
        hint = (
            '; inside {...} quote values that use ${VAR}, e.g. api_key: "${MY_KEY}"'
            if "${" in line and "{" in line.replace("${", "")
            else ""
        )
        raise ConfigError(f"{source}: not valid YAML{where}: {problem}{hint}") from None


def parse_config(
    document: Any, source: PathLike | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Check a loaded YAML document and turn it into a Config (messages omit the file name)."""
    if document is None:
        return Config(source=source)
    if not isinstance(document, dict):
        raise ConfigError(
            f"the top level must be a mapping with keys {', '.join(TOP_LEVEL_KEYS)}"
            f", not a {type(document).__name__}"
        )
    unknown = [key for key in document if key not in TOP_LEVEL_KEYS]
    if unknown:
        hint = _did_you_mean(unknown[0], TOP_LEVEL_KEYS)
        raise ConfigError(
            f"unknown top-level key {unknown[0]!r}{hint}; valid keys: {', '.join(TOP_LEVEL_KEYS)}"
        )
    # Shapes are checked before ${VAR}s are expanded, so an error quoting a misplaced value
    # shows the text of the file, never the secret a variable holds.
    config = Config(source=source)
    if document.get("embedding") is not None:
        config.embedding = _choice(document["embedding"], "embedding", "provider", environ)
    if document.get("storage") is not None:
        config.storage = _choice(document["storage"], "storage", "backend", environ)
    events = document.get("events")
    if events is not None:
        if not isinstance(events, dict):
            raise ConfigError(
                f"events must be a mapping like {{handlers: [name, ...]}}, not {_kind(events)}"
            )
        valid = ("handlers", *DISPATCH_OPTIONS)
        for key in events:
            if key not in valid:
                raise ConfigError(
                    f"events: unknown key {key!r}{_did_you_mean(key, valid)}; valid "
                    f"keys: {', '.join(valid)}"
                )
        handlers = events.get("handlers") or []
        if not isinstance(handlers, list):
            raise ConfigError(
                f"events.handlers must be a list of names or {{name: ..., "
                f"options}} mappings, not {_kind(handlers)}"
            )
        config.handlers = [
            _choice(entry, f"events.handlers[{index}]", "name", environ)
            for index, entry in enumerate(handlers)
        ]
        config.dispatch = _dispatch_options(events)
    return config


def _dispatch_options(events: dict[str, Any]) -> dict[str, Any]:
    """The dispatch options of `events`, checked when the file is read: one that only failed
    when the host closed (close_timeout: .inf) came after the memory was already stored."""
    from omi.dispatch import check_option

    options = {}
    for key in DISPATCH_OPTIONS:
        if key in events:
            if isinstance(events[key], str):  # never quoted back: a ${VAR} may hold anything
                wanted = "true or false" if key == "background" else "a number in plain digits"
                raise ConfigError(
                    f"events.{key} must be {wanted}, not a string; write it "
                    f"without quotes (YAML reads 1e3 as a string, and a ${{VAR}} "
                    f"always gives one)"
                )
            try:
                check_option(key, events[key])
            except ValueError as error:
                raise ConfigError(f"events: {error}") from None
            options[key] = events[key]
    return options


def _choice(
    section: Any, key: str, selector: str, environ: Mapping[str, str] | None
) -> PluginChoice:
    if isinstance(section, str) and selector == "name":
        section = {"name": section}
    if not isinstance(section, dict):
        raise ConfigError(
            f"{key} must be a mapping with `{selector}` and the plugin's options, "
            f"not {_kind(section)}"
        )
    written = section.get(selector)
    section = expand_variables(section, key, environ)
    name = section.get(selector)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(
            f"{key}.{selector} is missing; name the plugin, e.g. {selector}: "
            f"{_example(key)} (see `omi plugins list`)"
        )
    options = {k: v for k, v in section.items() if k != selector}
    for option in options:
        if not isinstance(option, str) or not option.isidentifier():
            raise ConfigError(f"{key}: option {option!r} is not a valid option name")
    from_variable = written if isinstance(written, str) and "${" in written else ""
    return PluginChoice(key, name.strip(), options, from_variable)


def _example(key: str) -> str:
    return {"embedding": "nim", "storage": BUILTIN_STORAGE}.get(key, "webhook")


def _kind(value: Any) -> str:
    """What `value` is, for an error: a scalar is quoted (credentials inside it masked, cut
    short), a mapping or list is not, since it may hold anything."""
    if isinstance(value, (dict, list)):
        return f"a {type(value).__name__}"
    shown = repr(mask_text(value) if isinstance(value, str) else value)
    return f"a {type(value).__name__} ({shown if len(shown) <= 60 else shown[:56] + '...'})"


# --- building the plugins ---------------------------------------------------------------------


class Plugins(NamedTuple):
    """The instances a Config describes; handlers are keyed by their configured name."""

    storage: StorageBackend
    embedder: EmbeddingProvider | None
    handlers: dict[str, EventHandler]


def build_plugins(config: Config, registry: PluginRegistry | None = None) -> Plugins:
    """Load, validate and construct every plugin of `config`.

    Whatever was built before a failure is closed again, so a bad handler entry does not leave
    a database open. Raises ConfigError naming the key and the plugin.
    """
    from omi.plugins import PluginRegistry

    registry = registry or PluginRegistry()
    built: list[Any] = []
    try:
        storage = _construct(config.storage, _storage_class(config.storage, registry))
        built.append(storage)
        embedder = None
        if config.embedding is not None:
            embedder = _construct(config.embedding, _plugin_class(config.embedding, registry))
            built.append(embedder)
        handlers: dict[str, Any] = {}
        for choice in config.handlers:
            name = choice.name if choice.name not in handlers else f"{choice.name} ({choice.key})"
            handlers[name] = _construct(choice, _plugin_class(choice, registry))
            built.append(handlers[name])
    except BaseException as error:
        for instance in reversed(built):
            close = getattr(instance, "close", None)
            if callable(close):
                close()
        if isinstance(error, ConfigError) and config.source is not None:
            raise ConfigError(f"{config.source}: {error}") from error.__cause__
        raise
    return Plugins(storage, embedder, handlers)


def _plugin_kind(choice: PluginChoice) -> PluginKind:
    """The plugin kind whose config section `choice` is in."""
    from omi.kinds import KINDS

    section = choice.key.split(".", 1)[0]
    return next(kind for kind in KINDS if kind.section == section)


def _storage_class(choice: PluginChoice, registry: PluginRegistry) -> type:
    if choice.name == BUILTIN_STORAGE:
        from omi.builtin.sqlite import SQLiteBackend

        return SQLiteBackend
    return _plugin_class(choice, registry, builtin=(BUILTIN_STORAGE,))


def _plugin_class(
    choice: PluginChoice, registry: PluginRegistry, builtin: tuple[str, ...] = ()
) -> type:
    from omi.plugins import PluginError

    kind = _plugin_kind(choice)
    group = kind.group
    installed = sorted(registry.get_plugins(group))
    if choice.name not in installed:
        valid = [f"{name} (built-in)" for name in builtin] + installed
        raise ConfigError(
            f"{choice.key}.{kind.selector}: no {kind.noun} named {choice.shown}"
            f"{_did_you_mean(choice.name, [*builtin, *installed])}; valid: "
            f"{', '.join(valid) or '(none installed)'} (see `omi plugins list`)"
        )
    try:
        return registry.load(group, choice.name)
    except PluginError as error:
        raise ConfigError(f"{choice.key}: {error}") from error


def _construct(choice: PluginChoice, cls: type) -> Any:
    """`cls(**options)`, with errors that name the plugin and the options (never their values)."""
    label = f"{choice.key}: {_plugin_kind(choice).noun} {choice.name!r} ({cls.__name__})"
    problem = options_problem(cls, choice.options)
    if problem:
        raise ConfigError(f"{label} {problem}")
    try:
        return cls(**choice.options)
    except (Exception, SystemExit) as error:  # a plugin calling sys.exit() must not end OMI
        given = ", ".join(choice.options) or "no options"
        raise ConfigError(
            f"{label} rejected its options ({given}): {mask_error(error, choice.options)}"
        ) from error


def options_problem(cls: Any, options: dict[str, Any], partial: bool = False) -> str | None:
    """Why `cls(**options)` cannot be called, naming the options (never their values): an
    option it does not accept, or (unless `partial`) one it needs. None when they fit, or
    when `cls` has no signature to check (some C types: the call itself will tell)."""
    import inspect

    if _keeps_object_constructor(cls):
        signature = inspect.Signature()
    else:
        try:
            signature = inspect.signature(cls)
        except (TypeError, ValueError):
            return None
    try:
        (signature.bind_partial if partial else signature.bind)(**options)
    except TypeError as error:
        return _binding_problem(signature, options, error)
    return None


def _keeps_object_constructor(cls: Any) -> bool:
    """Whether calling `cls` runs `object`'s own constructor, which takes no options (as
    inspect.signature would say, after compiling tokenize's patterns: ms of a host start)."""
    init, new = getattr(cls, "__init__", None), getattr(cls, "__new__", None)
    return (
        init is object.__init__
        and new is object.__new__
        and isinstance(cls, type)
        and type(cls).__call__ is type.__call__
    )


def _binding_problem(signature: Any, options: dict[str, Any], error: TypeError) -> str:
    import inspect

    accepted = [
        name
        for name, p in signature.parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    unknown = [name for name in options if name not in accepted]
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return (
            f"does not accept option{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}{_did_you_mean(unknown[0], accepted)}; it accepts: "
            f"{', '.join(accepted) or '(no options)'}"
        )
    missing = [
        name
        for name, p in signature.parameters.items()
        if p.default is inspect.Parameter.empty
        and name not in options
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if missing:
        return f"needs option{'s' if len(missing) > 1 else ''} {', '.join(missing)}; add it"
    return f"cannot take these options: {error}"
