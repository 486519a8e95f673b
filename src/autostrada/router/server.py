"""The asyncio side of the embedded router: listeners that feed the sans-I/O core.

One :class:`RouterServer` runs a :class:`~autostrada.router.core.Router` behind the
listeners of a :class:`~autostrada.router.config.ServerConfig`: WebSocket, RawSocket,
or both on one port ("universal": a RawSocket client's first byte is 0x7F, anything
else is taken as an HTTP upgrade), over TCP, TLS or Unix sockets.

Per connection the driver only decodes, calls the core, encodes and writes. Policies:

* **slow consumers**: a connection whose socket write buffer exceeds the listener's
  ``max_write_buffer`` is dropped (logged as a warning), so one client that stops
  reading can never make the router's memory grow without bound;
* **handshake timeout**: a connection that has not completed its transport handshake
  within ``open_timeout`` is dropped;
* **shutdown**: every session gets GOODBYE ``wamp.close.system_shutdown``; the
  server waits (bounded by ``shutdown_timeout``) for the transports to close.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from typing import Any

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from autostrada.aio.channel import Channel
from autostrada.aio.rawsocket import RawSocketChannel
from autostrada.aio.tls import channel_ids
from autostrada.aio.websocket import WebSocketChannel
from autostrada.exceptions import ProtocolError
from autostrada.messages import Message
from autostrada.rawsocket import is_rawsocket
from autostrada.router.config import ListenerConfig, ServerConfig, TLSConfig
from autostrada.router.core import Router, RouterSession
from autostrada.serializers import Serializer

__all__ = ["RouterServer"]

log = logging.getLogger("autostrada.router")


class _Connection:
    """One client connection: its channel and its session in the router core."""

    __slots__ = ("channel", "listener", "serializer", "session")

    def __init__(self, channel: Channel, listener: ListenerConfig) -> None:
        self.channel = channel
        self.listener = listener
        self.session: RouterSession | None = None
        self.serializer: Serializer | None = None


class _Sniffer(asyncio.Protocol):
    """First protocol of a universal listener: picks RawSocket or WebSocket by the first byte."""

    def __init__(self, make: Callable[[bool], Channel]) -> None:
        self._make = make
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        channel = self._make(is_rawsocket(data))
        self._transport.set_protocol(channel)
        channel.connection_made(self._transport)
        channel.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        pass  # closed before sending anything: nothing to clean up


class RouterServer:
    """The embedded router with its listeners.

    Use as ``async with RouterServer(config) as server: ...`` or call :meth:`start`
    and :meth:`stop`. :attr:`urls` lists where it listens (with the actual ports when
    the config asked for port 0).
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.router = Router(config.router, wall_clock_offset=time.time() - time.monotonic())
        self._servers: list[tuple[asyncio.Server, ListenerConfig, str]] = []
        self._connections: set[_Connection] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind every listener. Raises ``OSError`` naming the address when one cannot bind."""
        self._loop = asyncio.get_running_loop()
        for warning in self.config.warnings:
            log.warning("%s", warning)
        try:
            for listener in self.config.listeners:
                server = await self._listen(listener)
                url = self._url(server, listener)
                self._servers.append((server, listener, url))
                log.info("listening on %s", url)
        except BaseException:
            await self._close_servers()
            raise

    async def _listen(self, listener: ListenerConfig) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        ssl_context = _server_ssl(listener.tls) if listener.tls else None

        def factory() -> asyncio.Protocol:
            if listener.kind == "universal":
                return _Sniffer(lambda raw: self._channel(listener, raw))
            return self._channel(listener, listener.kind == "rawsocket")

        try:
            if listener.unix_path is not None:
                return await loop.create_unix_server(factory, listener.unix_path, ssl=ssl_context)
            return await loop.create_server(factory, listener.host, listener.port, ssl=ssl_context)
        except OSError as exc:
            where = listener.unix_path or f"{listener.host}:{listener.port}"
            raise OSError(exc.errno, f"cannot listen on {where}: {exc.strerror}") from exc

    @property
    def urls(self) -> list[str]:
        """Where the router listens, as client URLs (``ws://127.0.0.1:8080/ws``, ``rs://...``)."""
        return [url for _, _, url in self._servers]

    def _url(self, server: asyncio.Server, listener: ListenerConfig) -> str:
        secure = "s" if listener.tls else ""
        if listener.unix_path is not None:
            return f"unix:{listener.unix_path}"
        host, port = server.sockets[0].getsockname()[:2]
        if listener.kind == "rawsocket":
            return f"rs{secure}://{host}:{port}"
        return f"ws{secure}://{host}:{port}{listener.path}"

    def port_of(self, kind: str) -> int:
        """The TCP port of the first listener of ``kind`` (handy with port 0 in tests)."""
        for server, listener, _ in self._servers:
            if listener.kind == kind and listener.unix_path is None:
                return int(server.sockets[0].getsockname()[1])
        raise LookupError(f"no {kind} TCP listener")

    async def stop(self, timeout: float | None = None) -> None:
        """Say GOODBYE to every session, wait (bounded) for them to close, stop listening."""
        if self._stopping:
            return
        self._stopping = True
        timeout = self.config.shutdown_timeout if timeout is None else timeout
        for server, _, _ in self._servers:
            server.close()
        self._deliver(self.router.shutdown(self._now()))
        waits = [c.channel.wait_closed() for c in list(self._connections)]
        if waits:
            _, pending = await asyncio.wait(
                [asyncio.ensure_future(w) for w in waits], timeout=timeout
            )
            for task in pending:
                task.cancel()
            for connection in list(self._connections):
                connection.channel.abort()
        if self._timer is not None:
            self._timer.cancel()
        await self._close_servers()

    async def _close_servers(self) -> None:
        for server, _, url in self._servers:
            server.close()
            await server.wait_closed()
            log.info("stopped listening on %s", url)
        self._servers.clear()

    async def serve_forever(self) -> None:
        """Run until cancelled, then stop gracefully."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def __aenter__(self) -> RouterServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ connections

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _channel(self, listener: ListenerConfig, rawsocket: bool) -> Channel:
        options: dict[str, Any] = {
            "keepalive_interval": listener.keepalive_interval,
            "keepalive_timeout": listener.keepalive_timeout,
            "max_message_size": listener.max_message_size,
        }
        if rawsocket:
            names = [s for s in listener.serializers if not s.endswith(".batched")]
            channel: Channel = RawSocketChannel.server("?", names, **options)
        else:
            channel = WebSocketChannel.server(
                "?", listener.serializers, check_request=_path_check(listener.path), **options
            )
        connection = _Connection(channel, listener)
        channel.opened.add_done_callback(lambda f: self._opened(connection, f))
        timer = asyncio.get_running_loop().call_later(
            listener.open_timeout, self._open_timed_out, connection
        )
        channel.closed.add_done_callback(lambda _f: timer.cancel())
        self._connections.add(connection)
        channel.closed.add_done_callback(lambda _f: self._connections.discard(connection))
        return channel

    def _open_timed_out(self, connection: _Connection) -> None:
        channel = connection.channel
        if not channel.opened.done():
            log.info(
                "dropping %s: no transport handshake within %s s",
                channel.endpoint,
                connection.listener.open_timeout,
            )
            channel.abort()

    def _opened(self, connection: _Connection, opened: asyncio.Future[Serializer]) -> None:
        channel = connection.channel
        transport = channel.transport
        peer = transport.get_extra_info("peername") if transport else None
        channel.endpoint = _describe_peer(peer)
        if opened.cancelled() or opened.exception() is not None:
            log.debug(
                "handshake with %s failed: %s",
                channel.endpoint,
                None if opened.cancelled() else opened.exception(),
            )
            return
        if self._stopping:
            channel.close(1001, "router shutting down")
            return
        serializer = opened.result()
        connection.serializer = serializer
        info = {
            "type": "rawsocket" if isinstance(channel, RawSocketChannel) else "websocket",
            "peer": channel.endpoint,
            "is_secure": bool(transport and transport.get_extra_info("ssl_object")),
            "serializer": serializer.name,
            "channel_binding": channel_ids(transport),
        }
        connection.session = self.router.attach(info, context=connection)
        channel.set_receiver(
            lambda data: self._on_frame(connection, data),
            lambda error: self._on_close(connection, error),
        )

    def _on_frame(self, connection: _Connection, data: bytes) -> None:
        session = connection.session
        serializer = connection.serializer
        assert session is not None and serializer is not None
        now = self._now()
        try:
            messages = serializer.decode(data)
        except ProtocolError as exc:
            log.info("protocol violation by %s: %s", connection.channel.endpoint, exc)
            self._deliver(self.router.protocol_violation(session, exc, now), session)
            return
        receive = self.router.receive
        for message in messages:
            self._deliver(receive(session, message, now), session)
            if session.closing:
                return

    def _on_close(self, connection: _Connection, error: Exception | None) -> None:
        session = connection.session
        if session is None:
            return
        if error is not None:
            log.info("connection to %s lost: %s", connection.channel.endpoint, error)
        self._deliver(self.router.detach(session, self._now()))

    def _deliver(
        self, outgoing: list[tuple[RouterSession, Message]], origin: RouterSession | None = None
    ) -> None:
        # One encoding per (message, serializer) in this batch: fan-out shares messages.
        encoded: dict[tuple[int, str], bytes] = {}
        touched: set[_Connection] = set()
        for session, message in outgoing:
            connection: _Connection = session.context
            serializer = connection.serializer
            if serializer is None:
                continue
            key = (id(message), serializer.name)
            data = encoded.get(key)
            if data is None:
                data = encoded[key] = serializer.encode(message)
            try:
                connection.channel.send(data)
            except Exception as exc:  # closed meanwhile: detach handles the rest
                log.debug("not sent to %s: %s", connection.channel.endpoint, exc)
                continue
            touched.add(connection)
        if origin is not None and origin.context is not None:
            touched.add(origin.context)
        for connection in touched:
            self._after_send(connection)
        self._arm_timer()

    def _after_send(self, connection: _Connection) -> None:
        channel = connection.channel
        session = connection.session
        if session is not None and session.closing:
            channel.close(1000, "")
            return
        limit = connection.listener.max_write_buffer
        if channel.write_buffer_size() > limit:
            log.warning(
                "disconnecting %s: it does not read (over %d bytes queued)", channel.endpoint, limit
            )
            channel.abort()

    def _arm_timer(self) -> None:
        deadline = self.router.next_deadline()
        if deadline == self._deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadline = deadline
        if deadline is not None and self._loop is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._deadline = None
        self._deliver(self.router.tick(self._now()))


def _describe_peer(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer) if peer else "unix-socket peer"


def _path_check(path: str) -> Callable[[Request], Response | None]:
    def check(request: Request) -> Response | None:
        requested = request.path.split("?", 1)[0]
        if path in ("", "/") or requested == path:
            return None
        body = f"no WAMP endpoint at {requested} (try {path})\n".encode()
        headers = Headers(
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        )
        return Response(404, "Not Found", headers, body)

    return check


def _server_ssl(tls: TLSConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.ca_file:
        # Ask for a client certificate (and check it against ca_file) when one is
        # configured; require it only when the config says so.
        context.load_verify_locations(tls.ca_file)
        context.verify_mode = ssl.CERT_REQUIRED if tls.require_client_cert else ssl.CERT_OPTIONAL
    return context
