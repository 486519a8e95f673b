"""Open a client :class:`~autostrada.aio.channel.Channel` from a transport URL.

One call does everything between a URL and a channel ready for WAMP messages: TCP
or Unix socket, optional HTTP proxy (``CONNECT``), TLS, and the WebSocket or
RawSocket handshake, all under one ``open_timeout``::

    channel = await connect("wss://example.com/ws", serializers=["cbor", "json"])
    channel.set_receiver(on_frame, on_close)
    channel.send(channel.serializer.encode(hello))

URL schemes:

=====================  ==========================================================
``ws://``, ``wss://``  WebSocket (Basic Profile), plain or over TLS
``rs://``, ``rss://``  RawSocket (Advanced Profile), plain or over TLS
``tcp://``             RawSocket, plain (as Autobahn and Crossbar spell it)
``ws+unix:///path``    WebSocket over a Unix socket (also ``wss+unix``); the
                       handshake names ``ws://localhost/``
``rs+unix:///path``    RawSocket over a Unix socket (also ``rss+unix``)
=====================  ==========================================================

A ``ws://`` or ``rs://`` URL plus ``unix_path=`` connects over that Unix socket
while the URL still provides the WebSocket Host header and path.

Errors: whatever goes wrong on the way is a :class:`~autostrada.exceptions.TransportError`
naming the URL; bad arguments are :class:`ValueError` / :class:`TypeError`. A TLS
certificate problem keeps the :mod:`ssl` exception as ``__cause__`` (an
:class:`ssl.SSLCertVerificationError` when *we* rejected the server's certificate)
and says "certificate" in the message; :func:`is_certificate_error` tells such
errors apart, for a retry policy that treats them as fatal.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
import os
import ssl as ssl_module
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from autostrada.exceptions import TransportError
from autostrada.rawsocket import MAX_MAX_LENGTH, MIN_MAX_LENGTH

from .channel import Channel, describe
from .rawsocket import RawSocketChannel
from .websocket import WebSocketChannel

__all__ = [
    "Endpoint",
    "ProxyAddress",
    "connect",
    "crosses_network_in_clear_text",
    "is_certificate_error",
    "is_loopback_host",
    "parse_proxy",
    "parse_url",
    "warn_if_ticket_in_clear_text",
]

log = logging.getLogger("autostrada.transport")

TransportKind = Literal["websocket", "rawsocket"]

# scheme -> (transport kind, TLS, over a Unix socket)
_SCHEMES: dict[str, tuple[TransportKind, bool, bool]] = {
    "ws": ("websocket", False, False),
    "wss": ("websocket", True, False),
    "ws+unix": ("websocket", False, True),
    "wss+unix": ("websocket", True, True),
    "rs": ("rawsocket", False, False),
    "rss": ("rawsocket", True, False),
    "tcp": ("rawsocket", False, False),
    "rs+unix": ("rawsocket", False, True),
    "rss+unix": ("rawsocket", True, True),
}

_HANDSHAKE_STAGE: dict[TransportKind, str] = {
    "websocket": "WebSocket handshake",
    "rawsocket": "RawSocket handshake",
}

# An HTTP proxy's answer to CONNECT is a few hundred bytes; a peer sending more
# without ending its header is not a proxy.
_MAX_PROXY_RESPONSE = 16 * 1024


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A transport URL, parsed and checked (see :func:`parse_url`).

    Attributes:
        url: the URL as given.
        kind: ``"websocket"`` or ``"rawsocket"``.
        secure: the scheme asks for TLS (``wss``, ``rss``, ``...+unix`` variants).
        host: the host to connect to and to verify the certificate against
            (``"localhost"`` for a ``+unix`` URL).
        port: the TCP port (default 80, or 443 with TLS, as Autobahn does).
        unix_path: the socket path of a ``+unix`` URL, else ``None``.
        websocket_url: the ``ws://`` / ``wss://`` URL the WebSocket handshake names.
    """

    url: str
    kind: TransportKind
    secure: bool
    host: str
    port: int
    unix_path: str | None
    websocket_url: str


@dataclass(frozen=True, slots=True)
class ProxyAddress:
    """An HTTP proxy that tunnels with ``CONNECT`` (RFC 9110 §9.3.6)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        return f"http://{_host_port(self.host, self.port)}"


def parse_url(url: str) -> Endpoint:
    """Parse and check a transport URL (see the module docstring for the schemes).

    Component configurations can call this up front, so that a typo fails at
    construction rather than at the first connection attempt.

    Raises:
        ValueError: the URL has an unknown scheme, no host, a bad port, a fragment,
            a query on a RawSocket URL, or a ``+unix`` URL has a host or no path.
        TypeError: ``url`` is not a string.
    """
    if not isinstance(url, str):
        raise TypeError(f"url must be a string, got {type(url).__name__}")
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        known = ", ".join(f"{name}://" for name in _SCHEMES)
        raise ValueError(f"unsupported transport URL {url!r}: the scheme must be one of {known}")
    kind, secure, over_unix = _SCHEMES[scheme]
    if parts.fragment:
        raise ValueError(f"transport URL {url!r}: a fragment is meaningless here")
    if kind == "rawsocket" and parts.query:
        raise ValueError(f"RawSocket URL {url!r}: a query is meaningless here")
    ws_scheme = "wss" if secure else "ws"
    if over_unix:
        path = urllib.parse.unquote(parts.path)
        if parts.netloc or not path:
            raise ValueError(
                f"Unix socket URL {url!r} must have an empty host and a socket path, "
                f"like {scheme}:///run/router.sock"
            )
        return Endpoint(url, kind, secure, "localhost", 0, path, f"{ws_scheme}://localhost/")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"transport URL {url!r} has an invalid port") from None
    host = parts.hostname
    if not host:
        raise ValueError(f"transport URL {url!r} has no host")
    port = port or (443 if secure else 80)
    websocket_url = urllib.parse.urlunsplit(parts._replace(scheme=ws_scheme))
    return Endpoint(url, kind, secure, host, port, None, websocket_url)


def is_certificate_error(error: BaseException) -> bool:
    """Tell whether a connection failed on a TLS certificate (ours or the server's).

    True when ``error`` or an exception in its ``__cause__`` / ``__context__`` chain
    is an :class:`ssl.SSLCertVerificationError` (we rejected the server's
    certificate: unknown CA, expired, wrong host name), or an :class:`ssl.SSLError`
    whose reason names a certificate (the server rejected or required ours).
    Retrying does not fix these, so a retry policy should treat them as fatal.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl_module.SSLCertVerificationError):
            return True
        # OpenSSL sets ``reason`` (e.g. "TLSV13_ALERT_CERTIFICATE_REQUIRED"); an
        # SSLError built in Python has no such attribute.
        reason = getattr(current, "reason", None)
        if isinstance(current, ssl_module.SSLError) and "CERTIFICATE" in str(reason or ""):
            return True
        current = current.__cause__ or current.__context__
    return False


def crosses_network_in_clear_text(
    url: str,
    *,
    ssl: ssl_module.SSLContext | bool | None = None,
    unix_path: str | None = None,
    host: str | None = None,
    proxy: str | Mapping[str, object] | None = None,
) -> bool:
    """Tell whether what :func:`connect` sends with these arguments may cross a network
    unencrypted.

    No: over TLS (a ``wss``/``rss`` URL, or ``ssl`` given and not ``False``), over a Unix
    socket, or when every host on the way — the URL's, ``host``, the proxy's — is a
    loopback address or ``localhost`` (a TLS-terminating proxy on the same machine, say).

    Raises:
        ValueError: ``url`` or ``proxy`` is malformed (as :func:`connect` would say).
    """
    endpoint = parse_url(url)
    tls = endpoint.secure or (ssl is not None and ssl is not False)
    if tls or endpoint.unix_path is not None or unix_path is not None:
        return False
    hosts = [endpoint.host, host, parse_proxy(proxy).host if proxy is not None else None]
    return not all(is_loopback_host(name) for name in hosts if name is not None)


def warn_if_ticket_in_clear_text(
    authmethods: Iterable[str], url: str, options: Mapping[str, Any], where: str | None = None
) -> bool:
    """Log a WARNING when a WAMP-Ticket would cross the network in clear text.

    That is: ``"ticket"`` is among ``authmethods`` and :func:`crosses_network_in_clear_text`
    says so for ``url`` and the :func:`connect` keyword arguments ``options``. The
    router has the same rule for its listeners (``ServerConfig.warnings``).

    Args:
        authmethods: the authentication methods the client may use.
        url: the transport URL.
        options: keyword arguments for :func:`connect` (other keys are ignored).
        where: names the transport in the message (default: ``url``).

    Returns:
        Whether it warned.
    """
    if "ticket" not in authmethods or not crosses_network_in_clear_text(
        url,
        ssl=options.get("ssl"),
        unix_path=options.get("unix_path"),
        host=options.get("host"),
        proxy=options.get("proxy"),
    ):
        return False
    log.warning(
        "%s: WAMP-Ticket authentication over an unencrypted transport: the ticket (a "
        "password) crosses the network in clear text; use TLS (wss:// or rss://)",
        where or url,
    )
    return True


async def connect(
    url: str,
    *,
    serializers: Sequence[str] = ("json", "msgpack", "cbor"),
    ssl: ssl_module.SSLContext | bool | None = None,
    unix_path: str | None = None,
    host: str | None = None,
    port: int | None = None,
    proxy: str | Mapping[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
    max_message_size: int = 1 << 20,
    open_timeout: float = 10.0,
    close_timeout: float = 5.0,
    keepalive_interval: float | None = None,
    keepalive_timeout: float | None = None,
) -> Channel:
    """Open a WebSocket or RawSocket channel to a WAMP router; return it once usable.

    Args:
        url: where to connect; the scheme picks the transport (module docstring).
        serializers: serializer names in order of preference. WebSocket offers them
            all as subprotocols and the server picks one; RawSocket asks for the
            first (its handshake negotiates a single serializer).
        ssl: ``None``: TLS with :func:`ssl.create_default_context` (server
            verification on) for ``wss``/``rss``, none otherwise. ``True``: that
            default context, even on a ``ws://``/``rs://`` URL (Autobahn's endpoint
            ``tls`` option). An :class:`ssl.SSLContext`: TLS with it (custom CA,
            client certificate...). ``False``: no TLS; refused for ``wss``/``rss``,
            whose URL promises TLS.
        unix_path: connect over this Unix socket; the URL still names the
            transport, the WebSocket Host header and path.
        host: connect to this host instead of the URL's (Autobahn's endpoint
            ``host``); the URL's host stays in the handshake and is the name the
            server certificate must match.
        port: connect to this port instead of the URL's.
        proxy: an HTTP proxy to tunnel through with ``CONNECT``:
            ``"http://[user:password@]host:port"`` or Autobahn's
            ``{"host": ..., "port": ...}``. Not with a Unix socket. Environment
            variables such as ``HTTPS_PROXY`` are not consulted.
        headers: extra HTTP headers for the WebSocket upgrade request.
        max_message_size: the largest message accepted from the router, in bytes.
            RawSocket can only announce a power of two in 2**9..2**24: the value is
            rounded down to one, and capped at 2**24.
        open_timeout: seconds for everything up to a usable channel: TCP connect,
            proxy ``CONNECT``, TLS handshake, and the WebSocket or RawSocket handshake.
            The channel keeps it: it also bounds a session's join (WELCOME).
        close_timeout: seconds a closing handshake may take before the socket is
            dropped (the channel keeps this for :meth:`Channel.close`).
        keepalive_interval: seconds between keepalive pings (``None``: no pings).
        keepalive_timeout: seconds to wait for the pong; no answer in time fails
            the channel with a :class:`TransportError` (``None``: never).

    Returns:
        The open channel; ``channel.serializer`` is the negotiated serializer.

    Raises:
        TransportError: the channel could not be opened (refused, unreachable, timed
            out, TLS failure, proxy refusal, handshake refused...); the message
            names the URL, and ``__cause__`` keeps the underlying error.
        ValueError: an argument is invalid (its name is in the message).
        TypeError: an argument has the wrong type.
    """
    endpoint = parse_url(url)
    context = _tls_context(endpoint, ssl)
    socket_path = unix_path if unix_path is not None else endpoint.unix_path
    tunnel = parse_proxy(proxy) if proxy is not None else None
    if tunnel is not None and socket_path is not None:
        raise ValueError("proxy cannot be used with a Unix socket (unix_path or a +unix URL)")
    _check_timeouts(open_timeout, close_timeout, keepalive_interval, keepalive_timeout)
    channel = _make_channel(
        endpoint,
        serializers,
        name=url if unix_path is None else f"{url} (Unix socket {unix_path})",
        headers=headers,
        max_message_size=max_message_size,
        open_timeout=open_timeout,
        close_timeout=close_timeout,
        keepalive_interval=keepalive_interval,
        keepalive_timeout=keepalive_timeout,
    )
    target = (host or endpoint.host, port or endpoint.port)
    opening = _Opening(channel, endpoint, context, tunnel)
    deadline = asyncio.timeout(open_timeout)
    try:
        async with deadline:
            if socket_path is not None:
                await opening.open_unix(socket_path)
            else:
                await opening.open_tcp(*target)
            opening.stage = _HANDSHAKE_STAGE[endpoint.kind]
            # shield: a timeout must not cancel the channel's own future, which
            # the channel still resolves (with the failure) when it is aborted.
            await asyncio.shield(channel.opened)
    except BaseException as exc:
        opening.abandon()
        log.debug("could not open %s (%s): %r", channel.endpoint, opening.stage, exc)
        if isinstance(exc, TimeoutError) and deadline.expired():
            raise TransportError(
                f"timed out after {open_timeout:g} s opening {channel.endpoint} ({opening.stage})"
            ) from None
        if not isinstance(exc, Exception):
            raise  # CancelledError and friends: cleaned up, passed on
        error = _as_transport_error(exc, channel.endpoint, opening.stage)
        if error is exc:
            raise
        raise error from exc
    log.debug("opened %s with serializer %s", channel.endpoint, channel.serializer)
    return channel


def parse_proxy(proxy: str | Mapping[str, object]) -> ProxyAddress:
    """Check a proxy setting: ``"http://[user:password@]host[:port]"`` or ``{"host", "port"}``.

    Raises:
        ValueError: not an ``http://`` URL, no host, a bad port, or an unknown dict key.
        TypeError: neither a string nor a mapping.
    """
    if isinstance(proxy, str):
        parts = urllib.parse.urlsplit(proxy)
        if parts.scheme.lower() != "http":
            raise ValueError(f"proxy {proxy!r}: only http:// proxies (CONNECT) are supported")
        try:
            port = parts.port or 80
        except ValueError:
            raise ValueError(f"proxy {proxy!r} has an invalid port") from None
        if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"proxy {proxy!r} must be http://[user:password@]host[:port]")
        username = urllib.parse.unquote(parts.username) if parts.username is not None else None
        password = urllib.parse.unquote(parts.password) if parts.password is not None else None
        if username is not None and password is None:
            raise ValueError(f"proxy {proxy!r}: a user name without a password")
        return ProxyAddress(parts.hostname, port, username, password)
    if isinstance(proxy, Mapping):
        unknown = sorted(set(proxy) - {"host", "port"})
        if unknown:
            raise ValueError(f"proxy: unknown key {unknown[0]!r} (expected 'host' and 'port')")
        proxy_host, proxy_port = proxy.get("host"), proxy.get("port")
        if not isinstance(proxy_host, str) or not proxy_host:
            raise ValueError(f"proxy: 'host' must be a non-empty string, got {proxy_host!r}")
        if type(proxy_port) is not int or not 0 < proxy_port < 65536:
            raise ValueError(f"proxy: 'port' must be an int in 1..65535, got {proxy_port!r}")
        return ProxyAddress(proxy_host, proxy_port)
    raise TypeError(f"proxy must be a URL string or a dict, got {type(proxy).__name__}")


# ----------------------------------------------------------------------- internals


def _tls_context(
    endpoint: Endpoint, option: ssl_module.SSLContext | bool | None
) -> ssl_module.SSLContext | None:
    if isinstance(option, ssl_module.SSLContext):
        return option
    if option is None or option is True:
        if option is None and not endpoint.secure:
            return None
        return ssl_module.create_default_context()
    if option is False:
        if endpoint.secure:
            raise ValueError(f"ssl=False contradicts the TLS URL {endpoint.url!r}")
        return None
    raise TypeError(f"ssl must be an SSLContext, a bool or None, got {type(option).__name__}")


def _check_timeouts(
    open_timeout: float,
    close_timeout: float,
    keepalive_interval: float | None,
    keepalive_timeout: float | None,
) -> None:
    for name, value in (("open_timeout", open_timeout), ("close_timeout", close_timeout)):
        if not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    for name, option in (
        ("keepalive_interval", keepalive_interval),
        ("keepalive_timeout", keepalive_timeout),
    ):
        if option is not None and (not isinstance(option, int | float) or not option > 0):
            raise ValueError(f"{name} must be None or a positive number, got {option!r}")
    if keepalive_timeout is not None and keepalive_interval is None:
        raise ValueError("keepalive_timeout needs keepalive_interval (no pings, nothing to time)")


def _make_channel(
    endpoint: Endpoint,
    serializers: Sequence[str],
    *,
    name: str,
    headers: Mapping[str, str] | None,
    max_message_size: int,
    open_timeout: float,
    close_timeout: float,
    keepalive_interval: float | None,
    keepalive_timeout: float | None,
) -> Channel:
    if isinstance(serializers, str) or not serializers:
        raise ValueError(
            f"serializers must be a non-empty list of names, got {describe(serializers)}"
        )
    if type(max_message_size) is not int or max_message_size <= 0:
        raise ValueError(f"max_message_size must be a positive int, got {max_message_size!r}")
    options = {
        "open_timeout": open_timeout,
        "close_timeout": close_timeout,
        "keepalive_interval": keepalive_interval,
        "keepalive_timeout": keepalive_timeout,
    }
    if endpoint.kind == "websocket":
        return WebSocketChannel.client(
            endpoint.websocket_url,
            serializers,
            headers=dict(headers) if headers else None,
            max_message_size=max_message_size,
            endpoint=name,
            **options,
        )
    if headers:
        raise ValueError("headers are for WebSocket; a RawSocket handshake has none")
    if max_message_size < MIN_MAX_LENGTH:
        raise ValueError(
            f"max_message_size must be at least {MIN_MAX_LENGTH} for RawSocket, "
            f"got {max_message_size}"
        )
    return RawSocketChannel.client(
        name,
        serializers[0],
        max_message_size=min(max_message_size, MAX_MAX_LENGTH),
        **options,
    )


def _as_transport_error(exc: Exception, name: str, stage: str) -> Exception:
    """Turn a network or TLS failure into a :class:`TransportError` naming ``name``.

    Anything else (not an :class:`OSError`) is a bug, not a transport failure, and
    is returned unchanged so that it shows as itself.
    """
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, ssl_module.SSLCertVerificationError):
        return TransportError(
            f"TLS certificate verification failed for {name}: {exc.verify_message or exc}"
        )
    if isinstance(exc, ssl_module.SSLError):
        reason = getattr(exc, "reason", None) or exc
        return TransportError(f"TLS handshake with {name} failed: {reason}")
    if isinstance(exc, OSError) and exc.strerror:
        # asyncio words a refusal "Connect call failed (addr)": the errno says why.
        reason = os.strerror(exc.errno) if exc.errno else exc.strerror
        return TransportError(f"cannot connect to {name} ({stage}): {reason}")
    if isinstance(exc, ConnectionResetError) and not str(exc):
        # What asyncio raises when the peer hangs up during the TLS handshake
        # (e.g. a plain-text server that did not understand the ClientHello).
        return TransportError(f"cannot connect to {name} ({stage}): closed by the peer")
    if isinstance(exc, OSError):
        return TransportError(f"cannot connect to {name} ({stage}): {exc!r}")
    return exc


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address (127/8, ``::1``)."""
    name = host.lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_port(host: str, port: int) -> str:
    try:
        is_v6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        is_v6 = False
    return f"[{host}]:{port}" if is_v6 else f"{host}:{port}"


class _Opening:
    """One connection attempt: which stage it is in, and what to drop if it fails."""

    def __init__(
        self,
        channel: Channel,
        endpoint: Endpoint,
        context: ssl_module.SSLContext | None,
        proxy: ProxyAddress | None,
    ) -> None:
        self.channel = channel
        self.endpoint = endpoint
        self.context = context
        self.proxy = proxy
        self.stage = "connecting"
        self.loop = asyncio.get_running_loop()
        self._tunnel: _ProxyTunnel | None = None

    @property
    def _server_hostname(self) -> str | None:
        return self.endpoint.host if self.context is not None else None

    async def open_unix(self, path: str) -> None:
        self.stage = f"connecting to Unix socket {path}"
        await self.loop.create_unix_connection(
            lambda: self.channel,
            path,
            ssl=self.context,
            server_hostname=self._server_hostname,
        )

    async def open_tcp(self, host: str, port: int) -> None:
        if self.proxy is None:
            self.stage = f"connecting to {_host_port(host, port)}"
            if self.context is not None:
                self.stage += " and TLS handshake"
            await self.loop.create_connection(
                lambda: self.channel,
                host,
                port,
                ssl=self.context,
                server_hostname=self._server_hostname,
            )
            return
        transport, leftover = await self._open_tunnel(self.proxy, host, port)
        if self.context is not None:
            if leftover:
                raise TransportError(
                    f"HTTP proxy {self.proxy} sent data before the TLS handshake with "
                    f"{self.channel.endpoint}: {describe(leftover)}"
                )
            self.stage = "TLS handshake through the proxy"
            # start_tls hands the TLS transport to the channel but, unlike
            # create_connection, does not call connection_made.
            tls_transport = await self.loop.start_tls(
                transport, self.channel, self.context, server_hostname=self._server_hostname
            )
            if tls_transport is None:  # the peer closed during the handshake
                raise TransportError(f"{self.channel.endpoint} closed during the TLS handshake")
            self.channel.connection_made(tls_transport)
        else:
            transport.set_protocol(self.channel)
            self.channel.connection_made(transport)
            if leftover:  # the server spoke first (the bytes are the channel's)
                self.channel.data_received(leftover)

    async def _open_tunnel(
        self, proxy: ProxyAddress, host: str, port: int
    ) -> tuple[asyncio.Transport, bytes]:
        self.stage = f"connecting to HTTP proxy {proxy}"
        target = _host_port(host, port)
        tunnel = _ProxyTunnel(self.loop, f"HTTP proxy {proxy}", target, self.channel.endpoint)
        self._tunnel = tunnel
        await self.loop.create_connection(lambda: tunnel, proxy.host, proxy.port)
        assert tunnel.transport is not None
        self.stage = f"waiting for HTTP proxy {proxy} to CONNECT to {target}"
        request = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
        if proxy.username is not None:
            credentials = f"{proxy.username}:{proxy.password}".encode()
            request += f"Proxy-Authorization: Basic {base64.b64encode(credentials).decode()}\r\n"
        tunnel.transport.write(f"{request}\r\n".encode())
        await tunnel.established
        if tunnel.lost:
            raise TransportError(f"HTTP proxy {proxy} closed the tunnel to {target} at once")
        return tunnel.transport, tunnel.take_leftover()

    def abandon(self) -> None:
        """Drop whatever this attempt opened (called on failure or cancellation)."""
        tunnel = self._tunnel
        if tunnel is not None and tunnel.transport is not None:
            tunnel.transport.abort()
        if self.channel.transport is not None:
            self.channel.abort(TransportError(f"gave up opening {self.channel.endpoint}"))


class _ProxyTunnel(asyncio.Protocol):
    """Reads an HTTP proxy's answer to CONNECT; the transport then goes to the channel."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, proxy_name: str, target: str, endpoint: str
    ) -> None:
        self.proxy_name = proxy_name
        self.target = target
        self.endpoint = endpoint
        self.transport: asyncio.Transport | None = None
        self.established: asyncio.Future[None] = loop.create_future()
        self.lost = False
        self._buffer = bytearray()

    def take_leftover(self) -> bytes:
        """Bytes that followed the proxy's answer (the tunnelled server's)."""
        leftover = bytes(self._buffer)
        self._buffer.clear()
        return leftover

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self.established.done():
            return  # tunnel bytes arriving before the channel takes over
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_PROXY_RESPONSE:
                self._refuse(f"sent {len(self._buffer)} bytes without ending its response header")
            return
        head = bytes(self._buffer[:end])
        del self._buffer[: end + 4]
        status_line = head.split(b"\r\n", 1)[0]
        fields = status_line.split(None, 2)
        if len(fields) < 2 or not fields[0].startswith(b"HTTP/1.") or not fields[1].isdigit():
            self._refuse(f"answered with {describe(status_line)}, not an HTTP response")
        elif not 200 <= int(fields[1]) < 300:
            text = status_line.decode("latin-1")
            self._refuse(f"refused: {text.split(None, 1)[1] if ' ' in text else text}")
        else:
            self.established.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.established.done():
            error = TransportError(
                f"{self.proxy_name} closed the connection before answering CONNECT to "
                f"{self.target} (for {self.endpoint})"
            )
            error.__cause__ = exc
            self.established.set_exception(error)

    def _refuse(self, reason: str) -> None:
        error = TransportError(
            f"{self.proxy_name} could not tunnel to {self.target} (for {self.endpoint}): {reason}"
        )
        self.established.set_exception(error)
        assert self.transport is not None
        self.transport.abort()
