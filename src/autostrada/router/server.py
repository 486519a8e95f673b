"""The asyncio side of the embedded router: listeners that feed the sans-I/O core.

One :class:`RouterServer` runs a :class:`~autostrada.router.core.Router` behind the
listeners of a :class:`~autostrada.router.config.ServerConfig`: WebSocket, RawSocket,
or both on one port ("universal": a RawSocket client's first byte is 0x7F, anything
else is taken as an HTTP upgrade), over TCP, TLS or Unix sockets.

Per connection the driver only decodes, calls the core, encodes and writes. What one
read from a socket causes is written as one batch: every message is encoded and framed
once for all its receivers that speak the same serializer over the same framing, and
each connection gets one write per batch (or per 16 KiB of it), at the end of the batch
(no timer, no added latency). Policies:

* **slow consumers**: a connection whose socket write buffer exceeds the listener's
  ``max_write_buffer`` (the transport's high-water mark) gets nothing more; it is
  dropped (logged as a warning) once that batch is written, and its session ends at
  once, as if the connection had been lost. So one client that stops reading can
  never make the router's memory grow beyond about ``max_write_buffer`` (plus the last
  write) for its connection, and the other sessions are not slowed down;
* **undeliverable messages**: a message the receiver's serializer cannot carry (a NaN
  in JSON, an integer beyond 64 bits in MessagePack) or longer than the maximum a
  RawSocket client announced is not sent, and nobody is left waiting for it: an EVENT
  or a progressive RESULT is dropped for that receiver (a warning); an INVOCATION is
  answered to the caller with ERROR ``wamp.error.invalid_argument`` (or
  ``wamp.error.payload_size_exceeded``), as if the callee had refused it; a RESULT or
  ERROR is replaced by such an ERROR; anything else ends the receiver's session;
* **handshake timeout**: a connection that has not completed its transport handshake
  within ``open_timeout`` of being accepted is dropped, whether it sent part of a
  handshake or nothing at all (a TLS handshake has the same bound); so is one that has
  not sent HELLO within ``open_timeout`` of its transport handshake;
* **a new session after GOODBYE**: the client's GOODBYE is echoed and ends its session,
  not its connection, which may carry a new session (HELLO again), as on Crossbar. A
  connection that sends no HELLO within ``open_timeout`` of that GOODBYE is closed
  (cleanly: WebSocket close 1000). An ABORT, a protocol violation and the router's own
  GOODBYE (kill, shutdown) close the connection, as before;
* **keepalive**: WebSocket connections are pinged by default (every 30 s, a pong
  within 20 s: :attr:`ListenerConfig.keepalive_interval`), so that a dead peer's
  session — and its registrations — do not outlive it for long; RawSocket connections
  only when the listener sets an interval (Autobahn|Python's RawSocket cannot answer a
  PING);
* **shutdown**: every session gets GOODBYE ``wamp.close.system_shutdown``, connections
  still in their handshake are closed; the server waits (bounded by
  ``shutdown_timeout``) for the transports to close, then drops the rest.

URLs: :attr:`RouterServer.urls` names every listener as clients spell it, e.g.
``ws://127.0.0.1:8080/ws``, ``rs://127.0.0.1:8081``, ``rs+unix:///run/router.sock``.
A ``ws+unix://`` URL cannot carry a path (its handshake names ``/``), so a WebSocket
listener on a Unix socket accepts ``/`` besides its configured path.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
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
from autostrada.exceptions import ApplicationError, ProtocolError, TransportError
from autostrada.messages import (
    Abort,
    Error,
    Event,
    Goodbye,
    Invocation,
    Message,
    MessageType,
    Result,
)
from autostrada.rawsocket import HandshakeErrorCode, is_rawsocket
from autostrada.router.config import ListenerConfig, ServerConfig, TLSConfig
from autostrada.router.core import Outgoing, Router, RouterSession, SessionState
from autostrada.serializers import Serializer

__all__ = ["RouterServer"]

log = logging.getLogger("autostrada.router")

# How long stop() waits for dropped connections to be reported gone (one loop turn is
# enough for an aborted socket; this is only a bound).
_ABORT_GRACE = 1.0

_NEW = SessionState.NEW
_ESTABLISHED = SessionState.ESTABLISHED
_CLOSED = SessionState.CLOSED


class _Connection:
    """One client connection: its channel and its session in the router core."""

    __slots__ = (
        "channel",
        "dropped",
        "encode",
        "format",
        "frame",
        "hello_timer",
        "listener",
        "pending",
        "send",
        "serializer",
        "session",
        "shared",
    )

    def __init__(self, channel: Channel, listener: ListenerConfig) -> None:
        self.channel = channel
        self.listener = listener
        self.session: RouterSession | None = None
        self.serializer: Serializer | None = None
        # Connections with the same format put the same bytes on the wire for a
        # message: the key of the per-batch encoding cache. ``shared``: the cache
        # holds frames (channel.send_framed), else encoded messages (channel.send).
        self.format = -1
        self.shared = False
        # Bound once the handshake is done (see RouterServer._opened), for the hot path:
        # serializer.encode, channel.frame (None when not shared) and the send method.
        self.encode: Callable[[Message], bytes] = _not_open
        self.frame: Callable[[bytes], bytes] | None = None
        self.send: Callable[[bytes], None] = channel.send
        self.pending = False  # in the batch being written (corked), see RouterServer._flush
        self.dropped = False  # aborted by the router: send nothing more
        self.hello_timer: asyncio.TimerHandle | None = None  # bounds the wait for HELLO


class _Accepted(asyncio.Protocol):
    """The first protocol of every accepted connection, until its first bytes arrive.

    It arms the open timeout at once, so a client that connects and sends nothing is
    dropped too, and names the peer. On the first bytes it hands the transport to the
    channel the listener serves: on a universal listener RawSocket when the first byte
    is 0x7F, else WebSocket.
    """

    def __init__(self, server: RouterServer, listener: ListenerConfig) -> None:
        self._server = server
        self._listener = listener
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._peer = "?"
        self.channel: Channel | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if self._server._stopping:  # accepted just before the listener closed
            transport.abort()
            return
        self._peer = _describe_peer(transport.get_extra_info("peername"))
        self._timer = asyncio.get_running_loop().call_later(
            self._listener.open_timeout, self._timed_out
        )
        self._server._accepted.add(self)

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        self._server._accepted.discard(self)
        kind = self._listener.kind
        rawsocket = is_rawsocket(data) if kind == "universal" else kind == "rawsocket"
        channel = self._server._channel(self._listener, rawsocket, self._peer)
        self.channel = channel
        channel.opened.add_done_callback(self._handshake_over)
        self._transport.set_protocol(channel)
        channel.connection_made(self._transport)
        channel.data_received(data)

    def eof_received(self) -> bool | None:
        return None  # closed before saying anything: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        # Only while no channel has taken over: the client left without a word.
        self._server._accepted.discard(self)
        self._handshake_over()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _handshake_over(self, _opened: object = None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        timeout = self._listener.open_timeout
        if self.channel is None:
            log.info("dropping %s: it sent nothing within %s s", self._peer, timeout)
            self.abort()
        elif not self.channel.opened.done():
            log.info("dropping %s: no transport handshake within %s s", self._peer, timeout)
            self.channel.abort()


class RouterServer:
    """The embedded router with its listeners.

    Use as ``async with RouterServer(config) as server: ...`` or call :meth:`start`
    and :meth:`stop`. :attr:`urls` lists where it listens (with the actual ports when
    the config asked for port 0).
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.router = Router(config.router, wall_clock_offset=time.time() - time.monotonic())
        self._servers: list[tuple[asyncio.Server, ListenerConfig, list[str]]] = []
        self._accepted: set[_Accepted] = set()  # connected, no byte received yet
        self._connections: set[_Connection] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None
        self._formats: dict[tuple[Serializer, object], int] = {}
        # The batch being written: connections sent to (corked) or whose session may
        # have closed, and those over their write limit, to drop once it is written.
        self._pending: list[_Connection] = []
        self._overflowed: list[_Connection] = []
        self._flushing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock: Callable[[], float] = time.monotonic  # the loop's, see start()
        self._stopping = False
        self._stopped: asyncio.Event | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind every listener. Raises ``OSError`` naming the address when one cannot bind."""
        if self._loop is not None:
            raise RuntimeError("RouterServer.start: already started")
        loop = self._loop = asyncio.get_running_loop()
        # ``now`` for the core is the loop's clock, read for every message: asyncio's
        # own loops read time.monotonic(), so call that directly (a frame less).
        if type(loop).time is not asyncio.BaseEventLoop.time:
            self._clock = loop.time
        for warning in self.config.warnings:
            log.warning("%s", warning)
        try:
            for listener in self.config.listeners:
                server = await self._listen(listener)
                urls = _urls(server, listener)
                self._servers.append((server, listener, urls))
                for url in urls:
                    log.info("listening on %s", url)
        except BaseException:
            await self._close_servers()
            raise

    async def _listen(self, listener: ListenerConfig) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        where = listener.unix_path or f"{listener.host}:{listener.port}"
        ssl_context = _server_ssl(listener.tls, where) if listener.tls else None
        # A TLS handshake gets the same bound as the WAMP transport handshake.
        handshake = listener.open_timeout if ssl_context is not None else None

        def factory() -> asyncio.Protocol:
            return _Accepted(self, listener)

        try:
            if listener.unix_path is not None:
                return await loop.create_unix_server(
                    factory, listener.unix_path, ssl=ssl_context, ssl_handshake_timeout=handshake
                )
            return await loop.create_server(
                factory,
                listener.host,
                listener.port,
                ssl=ssl_context,
                ssl_handshake_timeout=handshake,
            )
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {where}: {exc.strerror}") from exc

    @property
    def urls(self) -> list[str]:
        """Where the router listens, as client URLs (``ws://127.0.0.1:8080/ws``, ``rs://...``).

        A universal listener has two: its WebSocket URL, then its RawSocket URL. A Unix
        socket listener's are ``ws+unix:///path`` / ``rs+unix:///path``.
        """
        return [url for _, _, urls in self._servers for url in urls]

    def port_of(self, kind: str) -> int:
        """The TCP port of the first listener of ``kind`` (handy with port 0 in tests).

        Raises:
            LookupError: no TCP listener of that kind (``websocket``, ``rawsocket``,
                ``universal``) is listening.
        """
        for server, listener, _ in self._servers:
            if listener.kind == kind and listener.unix_path is None:
                return int(server.sockets[0].getsockname()[1])
        raise LookupError(f"no {kind} TCP listener")

    async def stop(self, timeout: float | None = None) -> None:
        """Say GOODBYE to every session, wait (bounded) for them to close, stop listening.

        Connections still in their handshake are closed at once. After ``timeout``
        (default: the config's ``shutdown_timeout``) the connections left are dropped.
        Calling it again, or concurrently, waits for the same shutdown.
        """
        if self._stopped is not None:
            await self._stopped.wait()
            return
        self._stopped = asyncio.Event()
        self._stopping = True
        try:
            if self._loop is not None:
                await self._shut_down(self.config.shutdown_timeout if timeout is None else timeout)
        finally:
            self._stopped.set()

    async def _shut_down(self, timeout: float) -> None:
        for server, _, _ in self._servers:
            server.close()  # no new connections
        for accepted in list(self._accepted):
            accepted.abort()
        now = self._now()
        self._deliver(self.router.shutdown(now))
        for connection in list(self._connections):
            session = connection.session
            if session is None or not session.closing:
                # Still in its transport or WAMP handshake: nobody to say GOODBYE to.
                if session is not None:
                    self._deliver(self.router.detach(session, now))
                connection.channel.close(1001, "router shutting down")
        await self._wait_closed(timeout)
        for connection in list(self._connections):
            connection.dropped = True
            connection.channel.abort()
        await self._wait_closed(_ABORT_GRACE)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self._close_servers()

    async def _wait_closed(self, timeout: float) -> None:
        closing = [c.channel.closed for c in self._connections if not c.channel.closed.done()]
        if closing:
            await asyncio.wait(closing, timeout=timeout)

    async def _close_servers(self) -> None:
        for server, _, urls in self._servers:
            server.close()
            await server.wait_closed()
            for url in urls:
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
        return self._clock()

    def _channel(self, listener: ListenerConfig, rawsocket: bool, endpoint: str) -> Channel:
        interval, timeout = listener.keepalive("rawsocket" if rawsocket else "websocket")
        options: dict[str, Any] = {
            "keepalive_interval": interval,
            "keepalive_timeout": timeout,
            "max_message_size": listener.max_message_size,
        }
        if rawsocket:
            names = [s for s in listener.serializers if not s.endswith(".batched")]
            # Batched serializers only (a universal listener may say so): no RawSocket
            # serializer to offer, so refuse the handshake the way the spec says.
            refuse = None if names else HandshakeErrorCode.SERIALIZER_UNSUPPORTED
            channel: Channel = RawSocketChannel.server(
                endpoint, names or ["json"], refuse=refuse, **options
            )
        else:
            check = _path_check(listener.path, unix=listener.unix_path is not None)
            channel = WebSocketChannel.server(
                endpoint, listener.serializers, check_request=check, **options
            )
        connection = _Connection(channel, listener)
        channel.opened.add_done_callback(lambda f: self._opened(connection, f))
        self._connections.add(connection)
        channel.closed.add_done_callback(lambda _f: self._connections.discard(connection))
        return channel

    def _opened(self, connection: _Connection, opened: asyncio.Future[Serializer]) -> None:
        channel = connection.channel
        transport = channel.transport
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
        framing = channel.framing
        shared = connection.shared = framing is not None
        connection.format = self._formats.setdefault((serializer, framing), len(self._formats))
        connection.encode = serializer.encode
        connection.frame = channel.frame if shared else None
        connection.send = channel.send_framed if shared else channel.send
        info = {
            "type": "rawsocket" if isinstance(channel, RawSocketChannel) else "websocket",
            "peer": channel.endpoint,
            "is_secure": bool(transport and transport.get_extra_info("ssl_object")),
            "serializer": serializer.name,
            "channel_binding": channel_ids(transport),
        }
        # One handle for every session of this connection (the core renews it after
        # the client's GOODBYE), so the receiver can be bound to it.
        session = connection.session = self.router.attach(info, context=connection)
        channel.limit_write_buffer(
            connection.listener.max_write_buffer, lambda: self._over_limit(connection)
        )
        channel.set_receiver(
            functools.partial(self._on_frame, connection, session, serializer.decode),
            functools.partial(self._on_close, connection),
            self._flush,
        )
        # A connection that never says HELLO holds a socket without a session: it gets
        # open_timeout for that too (once per connection and GOODBYE, not per message).
        # (Frames that came with the handshake went through set_receiver already.)
        if connection.hello_timer is None and session.state is _NEW:
            self._await_hello(connection, after_goodbye=False)

    def _await_hello(self, connection: _Connection, *, after_goodbye: bool) -> None:
        assert self._loop is not None
        if connection.hello_timer is not None:
            connection.hello_timer.cancel()
        connection.hello_timer = self._loop.call_later(
            connection.listener.open_timeout, self._hello_timed_out, connection, after_goodbye
        )

    def _hello_timed_out(self, connection: _Connection, after_goodbye: bool) -> None:
        connection.hello_timer = None
        session = connection.session
        if session is None or connection.dropped or connection.channel.closed.done():
            return
        if session.state is not SessionState.NEW:
            return
        timeout = connection.listener.open_timeout
        endpoint = connection.channel.endpoint
        if after_goodbye:
            # A client that left and stays silent: a clean close, as it may be waiting
            # for the router to close (its session ended well).
            log.info("closing %s: no new HELLO within %s s of its GOODBYE", endpoint, timeout)
            self._deliver(self.router.detach(session, self._now()))
            connection.channel.close(1000, "no new session")
        else:
            log.info("dropping %s: no HELLO within %s s", endpoint, timeout)
            self._deliver(self._drop(connection))

    def _on_frame(
        self,
        connection: _Connection,
        session: RouterSession,
        decode: Callable[[bytes], list[Message]],
        data: bytes,
    ) -> None:
        # Routes, but writes nothing: the channel calls _flush after the read.
        if connection.dropped:
            return  # more frames of the chunk that was being read when we dropped it
        now = self._clock()
        try:
            messages = decode(data)
        except ProtocolError as exc:
            log.info("protocol violation by %s: %s", connection.channel.endpoint, exc)
            self._route(self.router.protocol_violation(session, exc, now), session)
            return
        receive = self.router.receive
        for message in messages:
            self._route(receive(session, message, now), session)
            state = session.state
            if state is not _ESTABLISHED:
                if state is _CLOSED:
                    return
                if state is _NEW:  # the client's GOODBYE: a new HELLO may follow
                    self._await_hello(connection, after_goodbye=True)

    def _on_close(self, connection: _Connection, error: Exception | None) -> None:
        session = connection.session
        assert session is not None  # the receiver is set once the session exists
        if connection.hello_timer is not None:
            connection.hello_timer.cancel()
            connection.hello_timer = None
        if error is not None:
            log.info("connection to %s lost: %s", connection.channel.endpoint, error)
        self._deliver(self.router.detach(session, self._now()))

    def _deliver(self, outgoing: Outgoing, origin: RouterSession | None = None) -> None:
        """Route ``outgoing`` and write it now (outside the batch of a read)."""
        self._route(outgoing, origin)
        self._flush()

    def _route(
        self, outgoing: Outgoing, origin: RouterSession | None = None, *, substitute: bool = True
    ) -> None:
        """Encode, frame and queue ``outgoing`` into the batch; :meth:`_flush` writes it."""
        # One encoding (and frame) per (message, format) here: fan-out shares messages.
        # Keyed by the format, which names the serializer itself (json and json.batched
        # share a name, not bytes) and the framing (WebSocket text, RawSocket...). A
        # single message (a CALL's INVOCATION, a YIELD's RESULT) needs no cache.
        cache: dict[tuple[int, int], bytes | ValueError] | None = {} if len(outgoing) > 1 else None
        undeliverable: list[tuple[RouterSession, Message, ValueError, bool]] | None = None
        for session, message in outgoing:
            connection: _Connection = session.context
            if connection.dropped:
                continue
            if cache is None:
                data = None
            else:
                key = (id(message), connection.format)
                data = cache.get(key)
            if data is None:
                try:
                    data = connection.encode(message)
                    frame = connection.frame
                    if frame is not None:
                        data = frame(data)
                except ValueError as exc:
                    data = exc
                if cache is not None:
                    cache[key] = data
            if isinstance(data, ValueError):
                if undeliverable is None:
                    undeliverable = []
                undeliverable.append((session, message, data, False))
                continue
            if not connection.pending:
                connection.pending = True
                self._pending.append(connection)
                connection.channel.cork()
            try:
                connection.send(data)
            except TransportError as exc:  # closed meanwhile: detach handles the rest
                log.debug("not sent to %s: %s", connection.channel.endpoint, exc)
            except ValueError as exc:  # longer than the RawSocket peer accepts
                if undeliverable is None:
                    undeliverable = []
                undeliverable.append((session, message, exc, True))
        if origin is not None and origin.state is _CLOSED:
            connection = origin.context  # its session ended: _flush closes the connection
            if connection is not None and not connection.pending:
                connection.pending = True
                self._pending.append(connection)
        if undeliverable is None:
            return
        for session, message, error, too_long in undeliverable:
            if substitute:
                replies = self._undeliverable(session, message, error, too_long)
                self._route(replies, substitute=False)
            else:  # pragma: no cover - a substitute is small; only a pathological peer
                # Not even the substitute could be sent: drop that peer, do not loop.
                log.warning("not sent to %s either: %s", session.context.channel.endpoint, error)
                self._route(self._drop(session.context))

    def _flush(self) -> None:
        """Write the batch: one write per connection; close the sessions that ended."""
        if self._flushing:
            return  # re-entered from a write (see _over_limit): the outer call goes on
        if self._pending or self._overflowed:
            self._flushing = True
            try:
                self._write_batch()
            finally:
                self._flushing = False
        self._arm_timer()

    def _write_batch(self) -> None:
        while self._pending or self._overflowed:
            pending, self._pending = self._pending, []
            for connection in pending:
                connection.pending = False
                if connection.dropped:
                    continue
                channel = connection.channel
                channel.uncork()
                session = connection.session
                if session is not None and session.closing:
                    channel.close(1000, "")
            overflowed, self._overflowed = self._overflowed, []
            for connection in overflowed:
                log.warning(
                    "disconnecting %s: it does not read (over %d bytes queued)",
                    connection.channel.endpoint,
                    connection.listener.max_write_buffer,
                )
                self._route(self._drop(connection))

    def _over_limit(self, connection: _Connection) -> None:
        # Called by the transport from inside a write (its high-water mark): send it
        # nothing more, but abort it and end its session only once out of that write.
        if connection.dropped:
            return
        connection.dropped = True
        self._overflowed.append(connection)
        if not self._flushing and self._loop is not None:
            # During a read's batch its _flush comes anyway; a PING or a close frame
            # written from a timer has none.
            self._loop.call_soon(self._flush)

    def _undeliverable(
        self, session: RouterSession, message: Message, error: ValueError, too_long: bool
    ) -> Outgoing:
        """What to do instead of sending ``message`` to ``session`` (module docstring)."""
        connection: _Connection = session.context
        endpoint = connection.channel.endpoint
        uri = (
            ApplicationError.PAYLOAD_SIZE_EXCEEDED
            if too_long
            else ApplicationError.INVALID_ARGUMENT
        )
        name = message.TYPE.name
        text = f"the router cannot send {name} to session {session.session_id}: {error}"
        log.warning("not sent to %s: %s %s", endpoint, name, error)
        if isinstance(message, Event) or (
            isinstance(message, Result) and message.details.get("progress")
        ):
            return []
        if isinstance(message, Invocation):
            # As if the callee had refused the call: the caller gets an ERROR now.
            reply = Error(MessageType.INVOCATION, message.request_id, {}, uri, [text])
            return self.router.receive(session, reply, self._now())
        if isinstance(message, Result):
            return [(session, Error(MessageType.CALL, message.request_id, {}, uri, [text]))]
        if isinstance(message, Error):
            replacement = Error(message.request_type, message.request_id, {}, message.error, [text])
            return [(session, replacement)]
        if isinstance(message, (Abort, Goodbye)):
            return self._drop(connection)  # its last word, lost: nothing more to say
        # WELCOME, CHALLENGE...: the session cannot go on without it; say why and end it.
        out: Outgoing = [(session, Abort({"message": text}, uri))]
        out.extend(self.router.detach(session, self._now()))
        return out

    def _drop(self, connection: _Connection) -> Outgoing:
        """Abort a connection and end its session now (its peers learn at once)."""
        connection.dropped = True
        connection.channel.abort()
        session = connection.session
        return [] if session is None else self.router.detach(session, self._now())

    def _arm_timer(self) -> None:
        deadline = self.router.next_deadline()
        if deadline == self._deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadline = deadline
        if deadline is not None and self._loop is not None and not self._stopping:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._deadline = None
        self._deliver(self.router.tick(self._now()))


def _not_open(message: Message) -> bytes:  # pragma: no cover - a driver bug
    raise AssertionError("encoding for a connection whose handshake is not done")


def _describe_peer(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = f"[{peer[0]}]" if ":" in str(peer[0]) else peer[0]
        return f"{host}:{peer[1]}"
    return str(peer) if peer else "unix-socket peer"


def _urls(server: asyncio.Server, listener: ListenerConfig) -> list[str]:
    secure = "s" if listener.tls else ""
    schemes = {"websocket": ("ws",), "rawsocket": ("rs",), "universal": ("ws", "rs")}
    if listener.unix_path is not None:
        path = os.path.abspath(listener.unix_path)
        return [f"{scheme}{secure}+unix://{path}" for scheme in schemes[listener.kind]]
    host, port = server.sockets[0].getsockname()[:2]
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return [
        f"ws{secure}://{where}{listener.path}" if scheme == "ws" else f"rs{secure}://{where}"
        for scheme in schemes[listener.kind]
    ]


def _path_check(path: str, *, unix: bool) -> Callable[[Request], Response | None]:
    def check(request: Request) -> Response | None:
        requested = request.path.split("?", 1)[0]
        if path in ("/", requested) or (unix and requested == "/"):
            return None
        body = f"no WAMP endpoint at {requested} (try {path})\n".encode()
        headers = Headers(
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        )
        return Response(404, "Not Found", headers, body)

    return check


def _server_ssl(tls: TLSConfig, where: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(tls.cert_file, tls.key_file)
        if tls.ca_file:
            # Ask for a client certificate (and check it against ca_file) when one is
            # configured; require it only when the config says so.
            context.load_verify_locations(tls.ca_file)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        files = ", ".join(f for f in (tls.cert_file, tls.key_file, tls.ca_file) if f)
        raise OSError(f"cannot listen on {where}: bad TLS files ({files}): {exc}") from exc
    if tls.ca_file:
        context.verify_mode = ssl.CERT_REQUIRED if tls.require_client_cert else ssl.CERT_OPTIONAL
    return context
