"""The router's file configuration: our TOML format, and the subset of a Crossbar.io config.

Three ways to get a :class:`ServerConfig` (the core's :class:`RouterConfig` plus the
listeners the asyncio server opens):

* :func:`default_config`: realm ``realm1`` on ``ws://127.0.0.1:8080/ws`` and
  ``rs://127.0.0.1:8081``, where anonymous sessions may do everything (development);
* :func:`load_toml`: our TOML format (reference: ``docs/router-config.md``);
* :func:`load_crossbar`: the part of a Crossbar.io node ``config.json`` that maps onto
  our router (realms, roles, permissions, WebSocket/RawSocket transports, static and
  dynamic authentication); what does not map is listed in ``ServerConfig.warnings``.

Every problem in a file is a :class:`ConfigError` that names the file, the dotted key and
the problem, e.g. ``router.toml: realms[0].roles[1].permissions[2].match: must be one of
exact, prefix, wildcard, got 'regex'``. Secrets (tickets, WAMP-CRA secrets, passwords)
are named by their key, never shown. A secret may be written ``"${NAME}"`` to read it from
the environment variable ``NAME`` (Crossbar's convention).

This module holds the server configuration, the typed reading of a file's tables and the
parts both formats share; each format has its module (:mod:`.toml_config`,
:mod:`.crossbar_config`), imported on use.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from autostrada.aio.connect import is_loopback_host
from autostrada.auth import MAX_KEYLEN, MAX_PBKDF2_ITERATIONS, ScramCredential
from autostrada.rawsocket import MAX_MAX_LENGTH, MIN_MAX_LENGTH
from autostrada.router.core.config import (
    CryptosignPrincipal,
    DynamicAuthenticator,
    RouterConfig,
    ScramPrincipal,
    TicketPrincipal,
    WampCraPrincipal,
)
from autostrada.serializers import get_serializer

__all__ = [
    "ConfigError",
    "TLSConfig",
    "ListenerConfig",
    "ServerConfig",
    "LISTENER_KINDS",
    "DEFAULT_KEEPALIVE_INTERVAL",
    "DEFAULT_KEEPALIVE_TIMEOUT",
    "default_config",
    "load_toml",
    "load_crossbar",
]

T = TypeVar("T")

LISTENER_KINDS: Final = ("websocket", "rawsocket", "universal")
"""``universal`` serves WebSocket and RawSocket on one port (RawSocket starts with 0x7F)."""

DEFAULT_SERIALIZERS: Final = ("json", "msgpack", "cbor")

DEFAULT_KEEPALIVE_INTERVAL: Final = 30.0
"""Seconds between the pings a listener sends WebSocket clients unless told otherwise.

Often enough to keep an idle connection open through proxies and load balancers that
drop connections idle for 60 s (a common default), rarely enough to cost nothing."""

DEFAULT_KEEPALIVE_TIMEOUT: Final = 20.0
"""Seconds a client has to answer a ping before its connection is dropped, by default.

Generous: a healthy client whose event loop is busy, or that is behind a slow link
with the write buffer (``max_write_buffer``) ahead of the ping, is not taken for a
dead one. With the interval, a dead peer is noticed within 50 s."""


class ConfigError(ValueError):
    """A configuration file is invalid.

    The message is ``"<file>: <dotted key>: <problem>"`` (``"<file>: <problem>"`` when the
    whole file is at fault). A secret's value never appears in it.

    Attributes:
        file: the file, as the caller named it.
        key: the dotted key of the offending item, e.g. ``listeners[1].port``.
        problem: what is wrong with it.
    """

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        super().__init__(f"{file}: {key}: {problem}" if key else f"{file}: {problem}")


# --------------------------------------------------------------------------------------
# The server configuration: validated in the constructors, like the core's dataclasses.


def _bad(field_name: str, problem: str) -> ValueError:
    return ValueError(f"{field_name}: {problem}")


def _check_seconds(value: object, field_name: str) -> None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:  # type: ignore[arg-type, operator]
        raise _bad(field_name, f"must be a positive number of seconds, got {value!r}")


def _check_count(value: object, field_name: str) -> None:
    if type(value) is not int or value <= 0:
        raise _bad(field_name, f"must be a positive integer, got {value!r}")


def _check_name(value: object, field_name: str) -> None:
    if type(value) is not str or not value:
        raise _bad(field_name, "must be a non-empty string")


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """TLS for a listener (the files are read when the listener starts).

    Attributes:
        cert_file: PEM server certificate, followed by its intermediate chain.
        key_file: PEM private key.
        ca_file: PEM CA bundle that client certificates are verified against.
        require_client_cert: refuse clients without a certificate valid for ``ca_file``.
    """

    cert_file: str
    key_file: str
    ca_file: str | None = None
    require_client_cert: bool = False

    def __post_init__(self) -> None:
        _check_name(self.cert_file, "TLSConfig.cert_file")
        _check_name(self.key_file, "TLSConfig.key_file")
        if self.ca_file is not None:
            _check_name(self.ca_file, "TLSConfig.ca_file")
        if type(self.require_client_cert) is not bool:
            raise _bad("TLSConfig.require_client_cert", "must be a bool")
        if self.require_client_cert and self.ca_file is None:
            raise _bad("TLSConfig.require_client_cert", "needs ca_file to verify clients against")


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    """One listening socket of the router.

    Attributes:
        kind: ``websocket``, ``rawsocket`` or ``universal`` (both on one port).
        host: the interface to bind (``0.0.0.0`` / ``::`` for all); unused with a Unix path.
        port: TCP port (0: any free port); exactly one of ``port`` and ``unix_path``.
        unix_path: Unix domain socket path.
        path: the URL path WebSocket clients connect to (websocket/universal), matched
            exactly, query string aside; ``"/"`` accepts every path, as a Crossbar
            ``websocket`` transport does.
        serializers: the serializers offered, by :func:`autostrada.serializers.get_serializer`
            name, normalized to the short form (``json``, ``cbor.batched``...). Batched
            variants exist only on WebSocket; a ``universal`` listener's RawSocket side
            uses the plain ones of the list.
        max_message_size: the largest message accepted, in bytes; 512 B..16 MiB on
            ``rawsocket`` and ``universal`` listeners (all RawSocket can express).
        tls: TLS settings; ``None`` for plain TCP.
        keepalive_interval: seconds between pings, so that a peer that is gone without
            a word (power loss, a NAT that forgot the connection, a half-open link) is
            noticed and its session ends. ``None`` (default): WebSocket connections
            every :data:`DEFAULT_KEEPALIVE_INTERVAL` (30 s), RawSocket connections never
            (Autobahn|Python's RawSocket fails on a PING, and Autobahn|JS answers with a
            mangled payload). A number: every connection, WebSocket ping or RawSocket
            PING. ``0``: no pings at all. See :meth:`keepalive`.
        keepalive_timeout: seconds to wait for the pong before dropping the connection;
            ``None`` (default): :data:`DEFAULT_KEEPALIVE_TIMEOUT` (20 s). Meaningless
            with ``keepalive_interval=0``.
        max_write_buffer: bytes queued to one slow client before it is disconnected.
        open_timeout: seconds in which the WebSocket/RawSocket handshake must complete,
            and then seconds in which the client must send HELLO.
    """

    kind: str
    host: str = "127.0.0.1"
    port: int | None = None
    unix_path: str | None = None
    path: str = "/ws"
    serializers: tuple[str, ...] = DEFAULT_SERIALIZERS
    max_message_size: int = 1 << 20
    tls: TLSConfig | None = None
    keepalive_interval: float | None = None
    keepalive_timeout: float | None = None
    max_write_buffer: int = 4 << 20
    open_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.kind not in LISTENER_KINDS:
            raise _bad(
                "ListenerConfig.kind",
                f"must be one of {', '.join(LISTENER_KINDS)}, got {self.kind!r}",
            )
        _check_name(self.host, "ListenerConfig.host")
        if (self.port is None) == (self.unix_path is None):
            raise _bad("ListenerConfig.port", "give exactly one of port and unix_path")
        if self.port is not None and (type(self.port) is not int or not 0 <= self.port <= 65535):
            raise _bad("ListenerConfig.port", f"must be an integer in 0..65535, got {self.port!r}")
        if self.unix_path is not None:
            _check_name(self.unix_path, "ListenerConfig.unix_path")
        if type(self.path) is not str or not re.fullmatch(r"/[^\s?#]*", self.path):
            raise _bad(
                "ListenerConfig.path", f"must be a URL path starting with '/', got {self.path!r}"
            )
        object.__setattr__(self, "serializers", _serializer_names(self.serializers, self.kind))
        _check_count(self.max_message_size, "ListenerConfig.max_message_size")
        size = self.max_message_size
        if self.kind != "websocket" and not MIN_MAX_LENGTH <= size <= MAX_MAX_LENGTH:
            problem = f"RawSocket allows {MIN_MAX_LENGTH}..{MAX_MAX_LENGTH}, got {size}"
            raise _bad("ListenerConfig.max_message_size", problem)
        if self.tls is not None and not isinstance(self.tls, TLSConfig):
            raise _bad("ListenerConfig.tls", "must be a TLSConfig or None")
        interval = self.keepalive_interval
        if interval is not None and not (type(interval) in (int, float) and interval == 0):
            try:
                _check_seconds(interval, "ListenerConfig.keepalive_interval")
            except ValueError:
                problem = f"must be a positive number of seconds, or 0 (no pings), got {interval!r}"
                raise _bad("ListenerConfig.keepalive_interval", problem) from None
        if self.keepalive_timeout is not None:
            _check_seconds(self.keepalive_timeout, "ListenerConfig.keepalive_timeout")
            if self.keepalive_interval == 0:
                raise _bad(
                    "ListenerConfig.keepalive_timeout",
                    "means nothing with keepalive_interval = 0 (no pings)",
                )
        _check_count(self.max_write_buffer, "ListenerConfig.max_write_buffer")
        _check_seconds(self.open_timeout, "ListenerConfig.open_timeout")

    def keepalive(self, transport: str) -> tuple[float | None, float]:
        """``(interval, timeout)`` in seconds for a ``websocket`` or ``rawsocket``
        connection of this listener; interval ``None``: no pings."""
        interval = self.keepalive_interval
        if interval is None:
            interval = DEFAULT_KEEPALIVE_INTERVAL if transport == "websocket" else None
        timeout = self.keepalive_timeout
        return (interval or None), (DEFAULT_KEEPALIVE_TIMEOUT if timeout is None else timeout)

    def urls(self) -> tuple[str, ...]:
        """How clients reach this listener, e.g. ``("ws://127.0.0.1:8080/ws",)``."""
        schemes = {"websocket": ("ws",), "rawsocket": ("rs",), "universal": ("ws", "rs")}
        urls = []
        for scheme in schemes[self.kind]:
            secure = f"{scheme}s" if self.tls is not None else scheme
            if self.unix_path is not None:
                where = f"unix:{self.unix_path}"
            else:
                host = f"[{self.host}]" if ":" in self.host else self.host
                where = f"{host}:{self.port}"
            urls.append(f"{secure}://{where}{self.path if scheme == 'ws' else ''}")
        return tuple(urls)


def _serializer_names(names: object, kind: str) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise _bad("ListenerConfig.serializers", "must be a list of serializer names")
    result: list[str] = []
    for index, name in enumerate(names):
        field_name = f"ListenerConfig.serializers[{index}]"
        try:
            serializer = get_serializer(name)
        except ValueError as exc:
            raise _bad(field_name, str(exc)) from None
        short = serializer.subprotocol.removeprefix("wamp.2.")
        if serializer.batched and kind == "rawsocket":
            raise _bad(field_name, f"{short} exists only on WebSocket")
        if short in result:
            raise _bad(field_name, f"duplicate serializer {short!r}")
        result.append(short)
    if not result:
        raise _bad("ListenerConfig.serializers", "must not be empty")
    return tuple(result)


def _address(listener: ListenerConfig) -> tuple[str, object] | None:
    if listener.unix_path is not None:
        return ("unix", listener.unix_path)
    return (listener.host, listener.port) if listener.port else None


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything ``autostrada router`` runs: the router core's config and the listeners.

    Attributes:
        router: realms, roles, authentication and limits (the sans-I/O core's config).
        listeners: where to listen (at least one; no two on the same address).
        shutdown_timeout: seconds that sessions get to close on shutdown.
        warnings: what the operator should be told at start (ignored Crossbar parts,
            tickets over unencrypted listeners, development mode...), one line each.
    """

    router: RouterConfig
    listeners: tuple[ListenerConfig, ...]
    shutdown_timeout: float = 5.0
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.router, RouterConfig):
            raise _bad("ServerConfig.router", "must be a RouterConfig")
        listeners = tuple(self.listeners)
        if not listeners:
            raise _bad("ServerConfig.listeners", "must not be empty")
        seen: dict[tuple[str, object], int] = {}
        for index, listener in enumerate(listeners):
            if not isinstance(listener, ListenerConfig):
                raise _bad(f"ServerConfig.listeners[{index}]", "must be a ListenerConfig")
            address = _address(listener)
            if address in seen:
                problem = f"same address as listeners[{seen[address]}]"
                raise _bad(f"ServerConfig.listeners[{index}]", problem)
            if address is not None:
                seen[address] = index
        object.__setattr__(self, "listeners", listeners)
        _check_seconds(self.shutdown_timeout, "ServerConfig.shutdown_timeout")
        warnings = tuple(self.warnings)
        if not all(type(w) is str for w in warnings):
            raise _bad("ServerConfig.warnings", "must be strings")
        object.__setattr__(self, "warnings", warnings)


def default_config() -> ServerConfig:
    """Realm ``realm1``, anonymous may do everything; WebSocket 8080 and RawSocket 8081.

    Both listeners are on 127.0.0.1. ``warnings`` holds one line saying so.
    """
    listeners = (ListenerConfig("websocket", port=8080), ListenerConfig("rawsocket", port=8081))
    urls = " and ".join(url for listener in listeners for url in listener.urls())
    warning = (
        f"development mode: realm 'realm1' on {urls}, where anonymous sessions may do "
        "everything; give a config file for anything else"
    )
    return ServerConfig(RouterConfig.development(), listeners, warnings=(warning,))


# --------------------------------------------------------------------------------------
# Reading a file: typed access to its tables, with dotted keys for the errors.

_MISSING: Final[Any] = object()
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ENV_SECRET = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CORE_ERROR = re.compile(r"([A-Z]\w*)(?:\.([^:\s]+))?: (.*)", re.DOTALL)


def _join(key: str, name: str) -> str:
    part = name if _BARE_KEY.fullmatch(name) else '"' + name.replace('"', '\\"') + '"'
    return f"{key}.{part}" if key else part


def _anything(value: Any) -> bool:
    return True


# The kinds of value in a file: their types, a check of the value, how errors say them.
_KINDS: Final[dict[str, tuple[tuple[type, ...], Callable[[Any], bool], str]]] = {
    "string": ((str,), _anything, "a string"),
    "name": ((str,), lambda v: v != "", "a non-empty string"),
    "integer": ((int,), _anything, "an integer"),
    "count": ((int,), lambda v: v > 0, "a positive integer"),
    "seconds": ((int, float), lambda v: math.isfinite(v) and v > 0, "a positive number"),
    "boolean": ((bool,), _anything, "a boolean"),
    "table": ((dict,), _anything, "a table"),
    "array": ((list,), _anything, "an array"),
    "strings": ((list,), lambda v: all(type(s) is str for s in v), "an array of strings"),
}
_TYPE_NAMES: Final = {
    str: "string",
    int: "integer",
    float: "float",
    bool: "boolean",
    dict: "table",
    list: "array",
    type(None): "null",
}


class _Source:
    """One configuration file being read: its name, directory, warnings, strictness.

    ``strict``: unknown keys are errors (our TOML); otherwise they are collected in
    ``ignored`` and reported in one warning (a Crossbar config, which may hold much
    that we do not support).
    """

    def __init__(self, path: Path, *, strict: bool, table_word: str) -> None:
        self.name = str(path)
        self.base = path.absolute().parent
        self.strict = strict
        self.table_word = table_word
        self.a_table = f"an {table_word}" if table_word[0] in "aeiou" else f"a {table_word}"
        self.warnings: list[str] = []
        self.ignored: list[str] = []

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.name, key, problem)

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{self.name}: {key}: {message}" if key else f"{self.name}: {message}")

    def resolve(self, path: str) -> str:
        """A path from the file, relative to the file's directory."""
        return str(self.base / os.path.expandvars(path))

    def read_bytes(self) -> bytes:
        try:
            return Path(self.name).read_bytes()
        except OSError as exc:
            raise self.error("", f"cannot read: {exc.strerror or exc}") from None

    def describe(self, value: object) -> str:
        name = _TYPE_NAMES.get(type(value), type(value).__name__)
        return self.table_word if name == "table" else name

    def core(self, key: str, build: Callable[[], T]) -> T:
        """Build a validated dataclass; its ``ValueError`` becomes a :class:`ConfigError`.

        The dataclasses say ``"Class.field: problem"``; the field is appended to ``key``.
        """
        try:
            return build()
        except ValueError as exc:
            match = _CORE_ERROR.fullmatch(str(exc))
            if match is None:
                raise self.error(key, str(exc)) from None
            field_name, problem = match.group(2), match.group(3)
            if field_name:
                key = f"{key}.{field_name}" if key else field_name
            raise self.error(key, problem) from None


class _Table:
    """A table (dict) of the file, with its dotted key; remembers which keys were read."""

    __slots__ = ("data", "key", "seen", "src")

    def __init__(self, src: _Source, key: str, data: Mapping[str, Any]) -> None:
        self.src = src
        self.key = key
        self.data = data
        self.seen: set[str] = set()

    def sub(self, name: str) -> str:
        return _join(self.key, name)

    def error(self, name: str, problem: str) -> ConfigError:
        return self.src.error(self.sub(name), problem)

    def has(self, name: str) -> bool:
        return name in self.data

    def skip(self, *names: str) -> None:
        """Mark keys as read: they are accepted and deliberately unused."""
        self.seen.update(names)

    def get(self, name: str, kind: str, default: Any = _MISSING, *, secret: bool = False) -> Any:
        """The value of ``name``, checked against ``kind`` (a key of ``_KINDS``).

        Raises:
            ConfigError: missing without a default, or not of that kind. The value is
                quoted only when its type was right and it is not ``secret``.
        """
        self.seen.add(name)
        if name not in self.data:
            if default is _MISSING:
                typo = difflib.get_close_matches(name, list(self.data), n=1)
                hint = f" (is {typo[0]!r} a misspelling?)" if typo else ""
                raise self.error(name, f"missing (required){hint}")
            return default
        value = self.data[name]
        types, check, wording = _KINDS[kind]
        wording = wording.replace("a table", self.src.a_table)
        if type(value) not in types:
            raise self.error(name, f"must be {wording}, got {self.src.describe(value)}")
        if not check(value):
            shown = "" if secret or kind in ("strings", "table", "array") else f", got {value!r}"
            raise self.error(name, f"must be {wording}{shown}")
        return value

    def secret(self, name: str) -> str:
        """A secret: a non-empty string, or ``"${NAME}"`` read from the environment."""
        value: str = self.get(name, "name", secret=True)
        match = _ENV_SECRET.fullmatch(value)
        if match is None:
            return value
        env = os.environ.get(match.group(1))
        if not env:
            raise self.error(name, f"environment variable {match.group(1)} is not set")
        return env

    def table(self, name: str) -> _Table | None:
        """An optional sub-table."""
        data = self.get(name, "table", None)
        return None if data is None else _Table(self.src, self.sub(name), data)

    def required(self, name: str) -> _Table:
        """A sub-table that must be there."""
        return _Table(self.src, self.sub(name), self.get(name, "table"))

    def tables(self, name: str) -> list[_Table]:
        """An array of tables (``[[name]]`` in TOML); ``[]`` when absent."""
        items = self.get(name, "array", [])
        result = []
        for index, item in enumerate(items):
            key = f"{self.sub(name)}[{index}]"
            if type(item) is not dict:
                raise self.src.error(
                    key, f"must be {self.src.a_table}, got {self.src.describe(item)}"
                )
            result.append(_Table(self.src, key, item))
        return result

    def items(self) -> list[tuple[str, _Table]]:
        """All entries, each a table (a map of principals, by authid)."""
        result = []
        for name in self.data:
            if not name:
                raise self.src.error(self.key, "names must not be empty")
            result.append((name, self.required(name)))
        return result

    def close(self) -> None:
        """Report the keys not read: an error (strict), else remembered as ignored."""
        unknown = [name for name in self.data if name not in self.seen]
        if not unknown:
            return
        if self.src.strict:
            allowed = ", ".join(sorted(self.seen))
            problem = f"unknown key {unknown[0]!r}" + (f" (allowed: {allowed})" if allowed else "")
            raise self.error(unknown[0], problem)
        self.src.ignored.extend(self.sub(name) for name in unknown)


# --------------------------------------------------------------------------------------
# Parts shared by both formats: permissions, principals, TLS files, the final checks.

PERMISSION_ACTIONS: Final = ("call", "register", "publish", "subscribe")


def parse_authenticator(t: _Table, procedure_key: str, realm_key: str) -> DynamicAuthenticator:
    """A dynamic authenticator (``procedure``/``realm``/``timeout`` or Crossbar's names)."""
    procedure = t.get(procedure_key, "string")
    realm = t.get(realm_key, "string", None)
    timeout = t.get("timeout", "seconds", 10.0)
    return t.src.core(t.key, lambda: DynamicAuthenticator(procedure, realm, timeout))


def parse_ticket(t: _Table) -> TicketPrincipal:
    return TicketPrincipal(t.secret("ticket"), t.get("role", "name"))


def parse_wampcra(t: _Table) -> WampCraPrincipal:
    secret = t.secret("secret")
    role = t.get("role", "name")
    salt = t.get("salt", "name", None)
    options = {}
    for name, maximum in (("iterations", MAX_PBKDF2_ITERATIONS), ("keylen", MAX_KEYLEN)):
        if t.has(name):
            options[name] = value = t.get(name, "count")
            if value > maximum:
                raise t.error(name, f"must be at most {maximum}, got {value}")
    t.skip("iterations", "keylen")
    return t.src.core(t.key, lambda: WampCraPrincipal(secret, role, salt, **options))


def parse_cryptosign(t: _Table) -> CryptosignPrincipal:
    keys = t.get("authorized_keys", "strings")
    for index, key in enumerate(keys):
        if not re.fullmatch(r"[0-9a-fA-F]{64}", key):
            raise t.src.error(
                f"{t.sub('authorized_keys')}[{index}]",
                "must be an Ed25519 public key: 64 hex digits",
            )
    if not keys:
        raise t.error("authorized_keys", "must not be empty")
    return CryptosignPrincipal(tuple(key.lower() for key in keys), t.get("role", "name"))


def parse_scram(t: _Table, *, allow_password: bool) -> ScramPrincipal:
    """A SCRAM principal as Crossbar holds it (``kdf``, ``iterations``, ``memory``,
    ``salt``, ``stored-key``, ``server-key``), or, if allowed, from a ``password``."""
    role = t.get("role", "name")
    if allow_password and t.has("password"):
        password = t.secret("password")
        kdf = t.get("kdf", "string", "argon2id-13")
        iterations = t.get("iterations", "count", None)
        memory = t.get("memory", "integer", None)
        try:
            credential = ScramCredential.from_password(
                password, kdf=kdf, iterations=iterations, memory=memory
            )
        except ValueError as exc:
            raise t.src.error(t.key, str(exc)) from None
        except ImportError as exc:
            raise t.src.error(t.sub("kdf"), str(exc)) from None
        t.src.warn(
            t.sub("password"),
            "a plaintext password in a config file is for development only; store the "
            "derived kdf/iterations/memory/salt/stored-key/server-key instead",
        )
    else:
        raw = {name: t.get(name, "string") for name in ("kdf", "salt", "stored-key", "server-key")}
        raw["iterations"] = t.get("iterations", "count")
        raw["memory"] = t.get("memory", "integer", None)  # Crossbar writes 0 for pbkdf2
        try:
            credential = ScramCredential.from_config(raw)
        except ValueError as exc:
            raise t.src.error(t.key, str(exc)) from None
    c = credential
    keys = (c.salt.hex(), c.stored_key.hex(), c.server_key.hex())
    return ScramPrincipal(c.kdf, c.iterations, *keys, role=role, memory=c.memory)


def existing_file(t: _Table, name: str) -> str:
    """A file path from the table, resolved against the config's directory; must exist."""
    path = t.src.resolve(t.get(name, "name"))
    if not Path(path).is_file():
        raise t.error(name, f"no such file: {path}")
    return path


def finish(
    src: _Source,
    router: RouterConfig,
    listeners: Sequence[tuple[str, ListenerConfig]],
    shutdown_timeout: float = 5.0,
) -> ServerConfig:
    """The :class:`ServerConfig`, once the listeners (with their keys) are checked against
    each other and the realms, and the warnings are complete."""
    seen: dict[tuple[str, object], str] = {}
    for key, listener in listeners:
        address = _address(listener)
        if address is not None and address in seen:
            raise src.error(key, f"same address as {seen[address]}")
        if address is not None:
            seen[address] = key
    ticket_realms = [r.name for r in router.realms if r.auth_method("ticket") is not None]
    exposed = [
        url
        for _, listener in listeners
        if listener.tls is None
        and listener.port is not None
        and not is_loopback_host(listener.host)
        for url in listener.urls()
    ]
    if ticket_realms and exposed:
        src.warn(
            "",
            f"WAMP-Ticket (realm {', '.join(ticket_realms)}) is accepted on unencrypted "
            f"listeners {', '.join(exposed)}: tickets cross the network in clear text; "
            "use TLS, or listen on loopback behind a TLS proxy",
        )
    if src.ignored:
        src.warn("", f"ignored, not supported by autostrada: {', '.join(src.ignored)}")
    return ServerConfig(
        router, tuple(listener for _, listener in listeners), shutdown_timeout, tuple(src.warnings)
    )


# --------------------------------------------------------------------------------------
# The two formats: ours (toml_config.py) and Crossbar's (crossbar_config.py).


def load_toml(path: str | Path) -> ServerConfig:
    """Read a router configuration in our TOML format.

    Without ``[[listeners]]``, the router listens where :func:`default_config` does.

    Raises:
        ConfigError: the file cannot be read, is not TOML, or holds an invalid or
            unknown key; the message names the file and the key.
    """
    # Imported here: toml_config builds on the helpers of this module.
    from autostrada.router.toml_config import read_toml  # noqa: PLC0415

    src = _Source(Path(path), strict=True, table_word="table")
    return read_toml(src)


def load_crossbar(path: str | Path) -> ServerConfig:
    """Read the subset of a Crossbar.io node ``config.json`` that our router supports.

    Realms, roles, permissions; websocket, rawsocket, universal and web (its WebSocket
    path) transports, TCP or Unix, with TLS; static or dynamic anonymous, ticket, wampcra,
    cryptosign and scram authentication, which each realm accepts on every listener.
    The rest is listed in ``warnings``. See ``docs/router-config.md`` for the mapping.

    Raises:
        ConfigError: the file cannot be read, is not JSON, or a part we map is invalid.
    """
    # Imported here: crossbar_config builds on the helpers of this module.
    from autostrada.router.crossbar_config import read_crossbar  # noqa: PLC0415

    src = _Source(Path(path), strict=False, table_word="object")
    return read_crossbar(src)
