"""Helpers for the client tests: running coroutines, sessions, relays and scripted peers.

Everything here talks over real sockets: Crossbar (the ``crossbar`` fixture), our
embedded router (``autostrada.testing.RouterThread``), a TCP relay we can freeze or
cut, and a scripted router for what no real router will do (protocol violations,
a missing GOODBYE echo, a CHALLENGE for a method we have no credentials for).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

import autostrada
from async_kit import async_runner, bounded
from autostrada.aio.channel import Channel
from autostrada.aio.connect import connect as connect_channel
from autostrada.aio.session import Session
from autostrada.aio.websocket import WebSocketChannel
from autostrada.messages import Hello, Message, Welcome
from autostrada.serializers import Serializer

TEST_TIMEOUT = 15.0
"""Upper bound on one test; a hang fails that test, not the run."""

STEP = 5.0
"""Upper bound on one step of a test (a join, a call, an event)."""

TRANSPORTS = ("ws", "rs", "rs-unix")
SERIALIZERS = ("json", "msgpack", "cbor")
MATRIX = [(t, s) for t in TRANSPORTS for s in SERIALIZERS]

async_test = async_runner(TEST_TIMEOUT, no_leftover_tasks=True)
"""Run an ``async def`` test in a fresh loop, bounded by :data:`TEST_TIMEOUT` (see async_kit)."""


async def within(awaitable: Awaitable[Any], seconds: float = STEP) -> Any:
    """Await with a bound shorter than the test's, so that a failure names the step."""
    return await bounded(awaitable, seconds)


# --------------------------------------------------------------------------- Crossbar


def crossbar_url(node: Any, transport: str) -> str:
    """The URL of one of the Crossbar fixture's listeners."""
    if transport == "ws":
        return str(node.ws_url)
    if transport == "rs":
        return f"rs://{node.rs_host}:{node.rs_port}"
    if transport == "rs-unix":
        return f"rs+unix://{node.rs_unix_path}"
    raise ValueError(transport)


@dataclass(frozen=True)
class Target:
    """A router listener and the serializer to speak to it."""

    url: str
    serializer: str
    realm: str = "realm1"

    @property
    def transport(self) -> str:
        return self.url.split(":", 1)[0]


def authentication_for(node: Any, method: str) -> dict[str, dict[str, Any]]:
    """Autobahn-style ``authentication=`` for one of the Crossbar fixture's principals."""
    if method == "anonymous":
        return {"anonymous": {}}
    if method == "ticket":
        return {"ticket": {"authid": node.ticket.authid, "ticket": node.ticket.ticket}}
    if method in ("wampcra", "wampcra_salted"):
        principal = getattr(node, method)
        return {"wampcra": {"authid": principal.authid, "secret": principal.secret}}
    if method == "cryptosign":
        principal = node.cryptosign
        return {"cryptosign": {"authid": principal.authid, "privkey": principal.seed_hex}}
    if method in ("scram", "scram_pbkdf2"):
        principal = getattr(node, method)
        return {"scram": {"authid": principal.authid, "password": principal.password}}
    raise ValueError(method)


# ---------------------------------------------------------------------------- sessions


async def open_session(
    url: str, *, serializer: str = "json", realm: str = "realm1", **options: Any
) -> Session:
    """``autostrada.connect()`` with one serializer, bounded by :data:`STEP`."""
    options.setdefault("serializers", [serializer])
    session: Session = await within(autostrada.connect(url, realm, **options))
    return session


async def close_session(session: Session) -> None:
    """Leave (if joined) and wait until the transport is gone; idempotent."""
    if session.is_attached():
        await within(session.leave())
    session.disconnect()
    await within(session.wait_disconnected())


async def disconnect(session: Session) -> None:
    """Close the transport without GOODBYE (for scripted routers that never echo it)."""
    session.disconnect()
    await within(session.wait_disconnected())


@contextlib.asynccontextmanager
async def joined(url: str, **options: Any) -> AsyncIterator[Session]:
    """A joined session for the block; closed (leave + disconnect) at its end."""
    session = await open_session(url, **options)
    try:
        yield session
    finally:
        await close_session(session)


@contextlib.asynccontextmanager
async def sessions(url: str, count: int, **options: Any) -> AsyncIterator[list[Session]]:
    """``count`` joined sessions for the block."""
    opened: list[Session] = []
    try:
        for _ in range(count):
            opened.append(await open_session(url, **options))
        yield opened
    finally:
        for session in opened:
            await close_session(session)


class Gate:
    """A handler that waits until released, and tells when it started or was cancelled."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.finished = asyncio.Event()
        self.calls = 0

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        self.finished.set()
        return args[0] if args else "released"


class LogWatch(logging.Handler):
    """Collects log records of one logger and wakes waiters when one matches.

    Records are emitted in the event loop's thread (the session logs from its
    callbacks), so an :class:`asyncio.Event` is a safe way to wait for one.
    """

    def __init__(self, logger: str) -> None:
        super().__init__(logging.DEBUG)
        self.logger = logging.getLogger(logger)
        self.records: list[logging.LogRecord] = []
        self._waiters: list[tuple[str, asyncio.Event]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        text = record.getMessage()
        for needle, event in self._waiters:
            if needle in text:
                event.set()

    async def wait_for(self, needle: str) -> logging.LogRecord:
        """Wait (bounded) for a record whose message contains ``needle``."""
        event = asyncio.Event()
        self._waiters.append((needle, event))
        try:
            if not any(needle in r.getMessage() for r in self.records):
                await within(event.wait())
        finally:
            self._waiters.remove((needle, event))
        return next(r for r in self.records if needle in r.getMessage())

    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]

    def __enter__(self) -> LogWatch:
        self._level = self.logger.level
        self.logger.addHandler(self)
        self.logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self._level)


# ----------------------------------------------------------------------------- relay


class Relay:
    """A TCP relay in front of a router: count, freeze or cut its connections.

    Args:
        upstream: ``(host, port)`` or a Unix socket path of the router.
        http_connect: act as an HTTP proxy: expect ``CONNECT host:port`` first
            (and tunnel to that target) instead of relaying at once.
    """

    def __init__(
        self, upstream: tuple[str, int] | str | None = None, *, http_connect: bool = False
    ) -> None:
        self.upstream = upstream
        self.http_connect = http_connect
        self.connections = 0
        self.connect_requests: list[bytes] = []
        self.port = 0
        self.hold_downstream = False  # router -> client bytes are kept back
        self._held: list[tuple[asyncio.StreamWriter, bytes]] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def __aenter__(self) -> Relay:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        self.sever()
        if self._tasks:
            await within(asyncio.wait(self._tasks))
        await self._server.wait_closed()

    def sever(self) -> None:
        """Cut every connection at once (both sides see a reset)."""
        for writer in self._writers:
            writer.transport.abort()

    async def wait_idle(self) -> None:
        """Wait until every relayed connection has ended (on either side)."""
        await within(self._idle.wait())

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._idle.clear()
        self._writers.append(writer)
        self.connections += 1
        try:
            target = self.upstream
            if self.http_connect:
                head = await reader.readuntil(b"\r\n\r\n")
                self.connect_requests.append(head)
                host, _, port = head.split(b"\r\n", 1)[0].split()[1].decode().rpartition(":")
                target = (host, int(port))
            assert target is not None
            if isinstance(target, str):
                up_reader, up_writer = await asyncio.open_unix_connection(target)
            else:
                up_reader, up_writer = await asyncio.open_connection(*target)
            self._writers.append(up_writer)
            if self.http_connect:
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(
                self._pipe(reader, up_writer, downstream=False),
                self._pipe(up_reader, writer, downstream=True),
            )
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()
            self._tasks.discard(task)
            if not self._tasks:
                self._idle.set()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, downstream: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if downstream and self.hold_downstream:
                    self._held.append((writer, data))
                    continue
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()


# ------------------------------------------------------------------ raw WAMP peers


class RawPeer:
    """A WAMP peer that speaks messages, not an API: for what must be seen on the wire.

    Uses our channel layer (``aio.connect``) and serializers, nothing of the session.
    """

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        assert channel.serializer is not None
        self.serializer: Serializer = channel.serializer
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        channel.set_receiver(self._on_frame)
        self.request_id = 0

    @classmethod
    async def open(cls, url: str, serializer: str = "json") -> RawPeer:
        channel = await within(connect_channel(url, serializers=[serializer]))
        return cls(channel)

    def _on_frame(self, data: bytes) -> None:
        for message in self.serializer.decode(data):
            self.inbox.put_nowait(message)

    def next_id(self) -> int:
        self.request_id += 1
        return self.request_id

    def send(self, message: Message) -> None:
        self.channel.send(self.serializer.encode(message))

    async def recv(self) -> Message:
        message: Message = await within(self.inbox.get())
        return message

    async def join(self, realm: str, roles: dict[str, Any]) -> Welcome:
        self.send(Hello(realm, {"roles": roles}))
        welcome = await self.recv()
        assert isinstance(welcome, Welcome), welcome
        return welcome

    async def close(self) -> None:
        self.channel.close()
        await within(self.channel.wait_closed())


class ScriptedRouter:
    """A WebSocket listener whose connections are driven by the test, message by message.

    ``peer = await router.accept()`` gives the next connection as a :class:`RawPeer`
    (server side): the test reads the client's HELLO and answers as it likes.
    """

    def __init__(self, serializers: tuple[str, ...] = ("json",)) -> None:
        self.serializers = serializers
        self.port = 0
        self._accepted: asyncio.Queue[Channel] = asyncio.Queue()
        self._channels: list[Channel] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def _make(self) -> Channel:
        channel = WebSocketChannel.server("test client", self.serializers)
        self._channels.append(channel)
        self._accepted.put_nowait(channel)
        return channel

    async def accept(self) -> RawPeer:
        channel: Channel = await within(self._accepted.get())
        await within(channel.opened)
        return RawPeer(channel)

    async def __aenter__(self) -> ScriptedRouter:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._make, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for channel in self._channels:
            if channel.transport is not None and not channel.closed.done():
                channel.abort()
        for channel in self._channels:
            if channel.transport is not None:
                await within(channel.wait_closed())
        await self._server.wait_closed()


ROUTER_ROLES: dict[str, Any] = {
    "broker": {"features": {"x_acknowledged_event_delivery": True}},
    "dealer": {"features": {"call_canceling": True, "progressive_call_results": True}},
}
"""What the scripted router announces in WELCOME."""
