"""A Component's configuration, Autobahn's format, checked before any connection is made.

:func:`parse_transports` turns the ``transports`` argument of
:class:`~autostrada.aio.component.Component` — ``None``, a URL, a dict, or a list of
them — into :class:`TransportConfig` objects: the URL and keyword arguments for
:func:`autostrada.aio.connect.connect`, and the :class:`~autostrada.backoff.RetryPolicy`.
:func:`parse_authentication` checks the ``authentication`` dict. Every mistake is a
:class:`ValueError` (or :class:`TypeError`) that names the transport and the key. The
caller's dicts are read, never changed.

Transport keys (Autobahn's)::

    type                 "websocket" or "rawsocket" (default: from the URL scheme)
    url                  ws wss rs rss tcp, and the +unix forms (see aio.connect)
    endpoint             {"type": "tcp", "host", "port", "tls", "timeout", "version"}
                         or {"type": "unix", "path", "timeout"}
    serializers          WebSocket: names in order of preference
    serializer           RawSocket: one name
    options              WebSocket/RawSocket options, camelCase or snake_case (below)
    proxy                {"host": ..., "port": ...} (or "http://host:port")
    headers              extra HTTP headers for the WebSocket handshake
    max_retries initial_retry_delay retry_delay_growth retry_delay_jitter max_retry_delay

Options with an equivalent here: ``autoPingInterval`` / ``auto_ping_interval`` (seconds,
0: off), ``autoPingTimeout``, ``openHandshakeTimeout``, ``closeHandshakeTimeout``
(seconds; floats work), ``maxMessagePayloadSize`` (bytes). Autobahn's other options
(compression, fragmentation, masking...) have no equivalent and are refused by name.
"""

from __future__ import annotations

import ssl
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from autostrada.aio.connect import Endpoint, parse_proxy, parse_url
from autostrada.authenticators import Authenticator, create_authenticator
from autostrada.backoff import RetryPolicy
from autostrada.serializers import get_serializer

__all__ = [
    "DEFAULT_TRANSPORT_URL",
    "TRANSPORT_KEYS",
    "TransportConfig",
    "parse_authentication",
    "parse_transports",
]

DEFAULT_TRANSPORT_URL = "ws://127.0.0.1:8080/ws"
"""Where a Component connects when it is given no transports (as Autobahn does)."""

TRANSPORT_KEYS = frozenset(
    {
        "type",
        "url",
        "endpoint",
        "serializers",
        "serializer",
        "options",
        "proxy",
        "headers",
        "max_retries",
        "initial_retry_delay",
        "retry_delay_growth",
        "retry_delay_jitter",
        "max_retry_delay",
    }
)
"""The keys of a transport dict (Autobahn's); any other key is an error."""

_RETRY_KEYS = (
    "max_retries",
    "initial_retry_delay",
    "retry_delay_growth",
    "retry_delay_jitter",
    "max_retry_delay",
)

_ENDPOINT_KEYS = frozenset({"type", "host", "port", "path", "tls", "timeout", "version"})

# Autobahn option (camelCase) -> keyword argument of aio.connect.connect().
_OPTIONS = {
    "autoPingInterval": "keepalive_interval",
    "autoPingTimeout": "keepalive_timeout",
    "openHandshakeTimeout": "open_timeout",
    "closeHandshakeTimeout": "close_timeout",
    "maxMessagePayloadSize": "max_message_size",
}

# Autobahn's other WebSocket client options: known names, no equivalent here.
_UNSUPPORTED_OPTIONS = frozenset(
    {
        "version",
        "utf8validateIncoming",
        "acceptMaskedServerFrames",
        "maskClientFrames",
        "applyMask",
        "maxFramePayloadSize",
        "autoFragmentSize",
        "failByDrop",
        "echoCloseCodeReason",
        "serverConnectionDropTimeout",
        "tcpNoDelay",
        "perMessageCompressionOffers",
        "perMessageCompressionAccept",
        "autoPingSize",
        "autoPingRestartOnAnyTraffic",
    }
)

_WEBSOCKET_SCHEMES = {"ws": "rs", "wss": "rss"}


@dataclass(frozen=True, slots=True)
class TransportConfig:
    """One transport of a Component, ready to connect.

    Attributes:
        index: its position in the ``transports`` list.
        kind: ``"websocket"`` or ``"rawsocket"``.
        url: the URL handed to :func:`~autostrada.aio.connect.connect`.
        connect_options: the keyword arguments for it.
        retry: the retry settings.
    """

    index: int
    kind: str
    url: str
    connect_options: Mapping[str, Any] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __str__(self) -> str:
        unix_path = self.connect_options.get("unix_path")
        where = f"{self.url} (Unix socket {unix_path})" if unix_path else self.url
        return f"transport {self.index} ({self.kind}, {where})"


def parse_transports(transports: Any) -> list[TransportConfig]:
    """Check a Component's ``transports`` argument and return one config per transport.

    Raises:
        ValueError: a transport is malformed; the message names its index and key.
    """
    if transports is None:
        transports = DEFAULT_TRANSPORT_URL
    if isinstance(transports, str | Mapping):
        transports = [transports]
    if not isinstance(transports, Sequence) or not transports:
        raise ValueError(
            f"transports must be a URL, a dict, or a non-empty list of them, got {transports!r}"
        )
    return [_parse_transport(index, item) for index, item in enumerate(transports)]


def parse_authentication(authentication: Any) -> dict[str, Mapping[str, Any] | Authenticator]:
    """Check the ``authentication`` dict (``{method: {key: value}}``) by building each one.

    Values may also be :class:`~autostrada.authenticators.Authenticator` instances.

    Returns:
        A copy: method -> a copy of its settings (or the authenticator given).

    Raises:
        ValueError: unknown method, unknown or missing key, unusable value (named).
    """
    if authentication is None:
        return {}
    if not isinstance(authentication, Mapping):
        raise ValueError(
            f"authentication must be a dict {{method: {{key: value}}}}, got {authentication!r}"
        )
    checked: dict[str, Mapping[str, Any] | Authenticator] = {}
    for method, settings in authentication.items():
        if isinstance(settings, Authenticator):
            checked[method] = settings
            continue
        if not isinstance(settings, Mapping):
            raise ValueError(
                f"authentication[{method!r}] must be a dict of settings, got {settings!r}"
            )
        copy = dict(settings)
        create_authenticator(method, **copy)  # raises ValueError naming the problem
        checked[method] = copy
    return checked


def _parse_transport(index: int, item: Any) -> TransportConfig:
    where = f"transports[{index}]"
    if isinstance(item, str):
        item = {"url": item}
    if not isinstance(item, Mapping):
        raise ValueError(f"{where} must be a URL or a dict, got {item!r}")
    unknown = sorted(set(item) - TRANSPORT_KEYS)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))} "
            f"(allowed: {', '.join(sorted(TRANSPORT_KEYS))})"
        )
    try:
        retry = RetryPolicy(**{key: item[key] for key in _RETRY_KEYS if key in item})
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    kind = item.get("type")
    if kind is not None and kind not in ("websocket", "rawsocket"):
        raise ValueError(f"{where}.type must be 'websocket' or 'rawsocket', got {kind!r}")
    options: dict[str, Any] = {}
    url = item.get("url")
    endpoint = item.get("endpoint")
    if endpoint is not None:
        url = _apply_endpoint(where, endpoint, url, kind, options)
    if url is None:
        raise ValueError(f"{where}: 'url' is required")
    if not isinstance(url, str):
        raise ValueError(f"{where}.url must be a string, got {url!r}")
    parsed = _parse_url(where, url)
    if kind == "rawsocket" and parsed.kind == "websocket":
        # Autobahn connects a rawsocket transport to the host and port of a ws:// URL
        # (a Crossbar "universal" listener serves both there).
        url = _as_rawsocket_url(parsed)
        parsed = _parse_url(where, url)
    elif kind == "websocket" and parsed.kind == "rawsocket":
        raise ValueError(f"{where}: type 'websocket' contradicts the RawSocket URL {url!r}")
    kind = parsed.kind
    _check_tls(where, parsed, options.get("ssl"))
    _serializers(where, item, kind, options)
    if item.get("options") is not None:
        _transport_options(where, item["options"], options)
    if item.get("proxy") is not None:
        _proxy(where, item["proxy"], options)
    if item.get("headers") is not None:
        _headers(where, item["headers"], kind, options)
    return TransportConfig(index, kind, url, options, retry)


def _parse_url(where: str, url: str) -> Endpoint:
    try:
        return parse_url(url)
    except ValueError as exc:
        raise ValueError(f"{where}.url: {exc}") from None


def _as_rawsocket_url(parsed: Endpoint) -> str:
    parts = urllib.parse.urlsplit(parsed.url)
    base, plus, unix = parts.scheme.lower().partition("+")
    scheme = _WEBSOCKET_SCHEMES[base] + plus + unix
    return f"{scheme}://{parts.netloc}{parts.path if unix else ''}"


def _apply_endpoint(
    where: str, endpoint: Any, url: Any, kind: str | None, options: dict[str, Any]
) -> Any:
    """Map Autobahn's ``endpoint`` dict onto connect() options; return the URL to use."""
    where = f"{where}.endpoint"
    if not isinstance(endpoint, Mapping):
        raise ValueError(f"{where} must be a dict, got {endpoint!r}")
    unknown = sorted(set(endpoint) - _ENDPOINT_KEYS)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))} "
            f"(allowed: {', '.join(sorted(_ENDPOINT_KEYS))})"
        )
    etype = endpoint.get("type")
    if etype not in ("tcp", "unix"):
        raise ValueError(f"{where}.type must be 'tcp' or 'unix', got {etype!r}")
    allowed, required = (
        ({"host", "port", "tls"}, ("host", "port")) if etype == "tcp" else ({"path"}, ("path",))
    )
    for key in ("host", "port", "path", "tls"):
        if key in endpoint and key not in allowed:
            raise ValueError(f"{where}: {key!r} is not valid in a {etype!r} endpoint")
    for key in required:
        if key not in endpoint:
            raise ValueError(f"{where}: {key!r} is required in a {etype!r} endpoint")
    if "timeout" in endpoint:
        options["open_timeout"] = _seconds(f"{where}.timeout", endpoint["timeout"])
    if endpoint.get("version", 4) not in (4, 6):
        raise ValueError(f"{where}.version must be 4 or 6, got {endpoint['version']!r}")
    if etype == "unix":
        path = endpoint["path"]
        if not isinstance(path, str) or not path:
            raise ValueError(f"{where}.path must be a non-empty string, got {path!r}")
        options["unix_path"] = path
        if url is None:
            url = "ws://localhost/" if kind == "websocket" else "rs://localhost"
        return url
    host, port = endpoint["host"], endpoint["port"]
    if not isinstance(host, str) or not host:
        raise ValueError(f"{where}.host must be a non-empty string, got {host!r}")
    if type(port) is not int or not 0 < port < 65536:
        raise ValueError(f"{where}.port must be an integer in 1..65535, got {port!r}")
    tls = endpoint.get("tls")
    hostname = host
    if isinstance(tls, Mapping):
        tls, hostname = _tls_dict(f"{where}.tls", tls, host)
    elif tls is not None and not isinstance(tls, bool | ssl.SSLContext):
        raise ValueError(f"{where}.tls must be a bool, a dict or an ssl.SSLContext, got {tls!r}")
    if tls is not None:
        options["ssl"] = tls
    if url is None:
        if kind == "websocket":
            raise ValueError(f"{where}: a websocket transport needs a 'url'")
        netloc = f"[{hostname}]" if ":" in hostname else hostname
        return f"{'rss' if tls else 'rs'}://{netloc}:{port}"
    if hostname != host:
        # Verify the certificate against ``hostname`` (and name it in the handshake),
        # but connect to ``host``.
        url = _with_host(url, hostname)
    options["host"] = host
    options["port"] = port
    return url


def _tls_dict(where: str, tls: Mapping[str, Any], host: str) -> tuple[Any, str]:
    unknown = sorted(set(tls) - {"hostname", "trust_root"})
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))} "
            "(allowed: hostname, trust_root)"
        )
    hostname = tls.get("hostname", host)
    if not isinstance(hostname, str) or not hostname:
        raise ValueError(f"{where}.hostname must be a non-empty string, got {hostname!r}")
    trust_root = tls.get("trust_root")
    if trust_root is None:
        return True, hostname
    try:
        context = ssl.create_default_context(cafile=trust_root)
    except (OSError, ssl.SSLError, TypeError) as exc:
        raise ValueError(f"{where}.trust_root: cannot load {trust_root!r}: {exc}") from None
    return context, hostname


def _with_host(url: str, hostname: str) -> str:
    parts = urllib.parse.urlsplit(url)
    netloc = f"[{hostname}]" if ":" in hostname else hostname
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _check_tls(where: str, parsed: Endpoint, tls: Any) -> None:
    if tls is False and parsed.secure:
        raise ValueError(f"{where}: endpoint tls=False contradicts the TLS URL {parsed.url!r}")


def _serializers(where: str, item: Mapping[str, Any], kind: str, options: dict[str, Any]) -> None:
    if kind == "websocket":
        if "serializer" in item:
            raise ValueError(f"{where}: 'serializer' is for rawsocket; use 'serializers'")
        names = item.get("serializers")
        if names is None:
            return
        if isinstance(names, str) or not isinstance(names, Sequence) or not names:
            raise ValueError(f"{where}.serializers must be a non-empty list of names")
    else:
        if "serializers" in item:
            raise ValueError(f"{where}: 'serializers' is for websocket; use 'serializer'")
        name = item.get("serializer")
        if name is None:
            return
        if not isinstance(name, str):
            raise ValueError(f"{where}.serializer must be a name, got {name!r}")
        names = [name]
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"{where}: serializer names must be strings, got {name!r}")
        try:
            get_serializer(name)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    options["serializers"] = list(names)


def _camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _transport_options(where: str, given: Any, options: dict[str, Any]) -> None:
    where = f"{where}.options"
    if not isinstance(given, Mapping):
        raise ValueError(f"{where} must be a dict, got {given!r}")
    unsupported, unknown = [], []
    values: dict[str, Any] = {}
    for key, value in given.items():
        name = _camel_case(key) if isinstance(key, str) else key
        if name in _OPTIONS:
            values[name] = (key, value)
        elif name in _UNSUPPORTED_OPTIONS:
            unsupported.append(key)
        else:
            unknown.append(key)
    if unsupported:
        raise ValueError(
            f"{where}: Autobahn option(s) {', '.join(map(repr, unsupported))} have no "
            "equivalent in autostrada (supported: auto_ping_interval, auto_ping_timeout, "
            "open_handshake_timeout, close_handshake_timeout, max_message_payload_size)"
        )
    if unknown:
        raise ValueError(
            f"{where}: unknown option(s) {', '.join(map(repr, unknown))} (supported: "
            "auto_ping_interval, auto_ping_timeout, open_handshake_timeout, "
            "close_handshake_timeout, max_message_payload_size; or their camelCase names)"
        )
    for name, (key, value) in values.items():
        label = f"{where}.{key}"
        if name in ("autoPingInterval", "autoPingTimeout"):
            # Autobahn: 0 (its default) or None turns pings off.
            options[_OPTIONS[name]] = None if value in (0, None) else _seconds(label, value)
        elif name == "maxMessagePayloadSize":
            if type(value) is not int or value <= 0:
                raise ValueError(
                    f"{label} must be a positive number of bytes, got {value!r} "
                    "(Autobahn's 0 = unlimited is not supported: give a limit)"
                )
            options["max_message_size"] = value
        else:
            seconds = _seconds(label, value)
            if name == "openHandshakeTimeout" and "open_timeout" in options:
                # endpoint.timeout bounds the TCP connect, this the handshake; our
                # open_timeout bounds both together.
                seconds += options["open_timeout"]
            options[_OPTIONS[name]] = seconds
    if options.get("keepalive_interval") is None:
        # No pings, nothing to time (Autobahn ignores the timeout then).
        options.pop("keepalive_timeout", None)


def _seconds(label: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{label} must be a positive number of seconds, got {value!r}")
    return float(value)


def _proxy(where: str, proxy: Any, options: dict[str, Any]) -> None:
    if "unix_path" in options:
        raise ValueError(f"{where}.proxy cannot be used with a Unix socket endpoint")
    try:
        parse_proxy(proxy)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    options["proxy"] = dict(proxy) if isinstance(proxy, Mapping) else proxy


def _headers(where: str, headers: Any, kind: str, options: dict[str, Any]) -> None:
    if kind != "websocket":
        raise ValueError(f"{where}: 'headers' are for WebSocket; a RawSocket handshake has none")
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ValueError(f"{where}.headers must be a dict of strings, got {headers!r}")
    options["headers"] = dict(headers)
