"""Helpers of the router listener tests: configs, an async test runner, hand-driven WAMP peers.

Everything runs on 127.0.0.1 or on Unix sockets in a test's tmp_path, and every
socket is closed before a test returns (warnings are errors: an unclosed transport
fails the test).
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import autostrada
from async_kit import async_runner, bounded
from autostrada.aio.channel import Channel
from autostrada.aio.connect import connect as connect_channel
from autostrada.aio.rawsocket import RawSocketChannel
from autostrada.aio.session import Session
from autostrada.aio.websocket import WebSocketChannel
from autostrada.messages import Hello, Message, Welcome
from autostrada.router.config import ListenerConfig, ServerConfig
from autostrada.router.core import RealmConfig, RouterConfig
from autostrada.router.server import RouterServer
from autostrada.serializers import Serializer, get_serializer

TEST_TIMEOUT = 15.0
"""Bound of every async test: a hang fails the test, not the run."""

STEP = 3.0
"""Bound of one awaited step inside a test."""

async_test = async_runner(TEST_TIMEOUT)
"""Run an ``async def`` test in a fresh loop, bounded by :data:`TEST_TIMEOUT` (see async_kit)."""


async def within(awaitable: Awaitable[Any], seconds: float = STEP) -> Any:
    """Await with a bound shorter than the test's, so that a failure names the step."""
    return await bounded(awaitable, seconds)


async def eventually(condition: Callable[[], bool], seconds: float = STEP) -> None:
    """Poll ``condition`` (cheap, no I/O) until it holds, for at most ``seconds``."""
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)


# ---------------------------------------------------------------------------- configs


def listener(kind: str = "universal", **options: Any) -> ListenerConfig:
    """A listener on a free port of 127.0.0.1 (or a Unix socket with ``unix_path=``)."""
    if "unix_path" not in options:
        options.setdefault("host", "127.0.0.1")
        options.setdefault("port", 0)
    return ListenerConfig(kind=kind, **options)


def server_config(*listeners: ListenerConfig, **options: Any) -> ServerConfig:
    """Realm ``realm1`` where anonymous may do anything, on ``listeners``."""
    return ServerConfig(
        router=RouterConfig(realms=(RealmConfig.development("realm1"),)),
        listeners=listeners or (listener(),),
        **options,
    )


@asynccontextmanager
async def running(*listeners: ListenerConfig, **options: Any) -> AsyncIterator[RouterServer]:
    """A started :class:`RouterServer`, stopped when the block ends."""
    async with RouterServer(server_config(*listeners, **options)) as server:
        yield server


def url_of(server: RouterServer, scheme: str) -> str:
    """The first of the server's URLs with this scheme (``ws``, ``rs``, ``rs+unix``...)."""
    return next(url for url in server.urls if url.split("://", 1)[0] == scheme)


@asynccontextmanager
async def sessions(url: str, count: int = 1, **options: Any) -> AsyncIterator[list[Session]]:
    """``count`` joined autostrada sessions; closed (without waiting for them) at the end."""
    joined: list[Session] = []
    try:
        for _ in range(count):
            joined.append(await within(autostrada.connect(url, "realm1", **options)))
        yield joined
    finally:
        for session in joined:
            session.disconnect()
        for session in joined:
            await within(session.wait_disconnected())


async def session_count(session: Session) -> int:
    """How many sessions the realm has, by the meta API."""
    count = await within(session.call("wamp.session.count"))
    assert isinstance(count, int)
    return count


async def still_works(url: str) -> None:
    """Two fresh sessions can still register and call: the router is fine."""
    async with sessions(url, 2) as [callee, caller]:
        await within(callee.register(lambda x: x * 2, "com.check.double"))
        assert await within(caller.call("com.check.double", 21)) == 42


# ------------------------------------------------------------------ hand-driven peers


class Peer:
    """A WAMP client driven by hand over one of our client channels.

    It sends the messages a test builds and queues what the router sends, so a test
    can misbehave on purpose (garbage, oversize frames, never answer, never read).
    """

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()
        channel.set_receiver(self.frames.put_nowait)

    @property
    def serializer(self) -> Serializer:
        assert self.channel.serializer is not None
        return self.channel.serializer

    @classmethod
    async def connect(cls, url: str, serializer: str = "json", **options: Any) -> Peer:
        """Open a channel with ``autostrada.aio.connect.connect``."""
        channel = await within(connect_channel(url, serializers=[serializer], **options))
        return cls(channel)

    @classmethod
    async def connect_slow_reader(cls, url: str, port: int, serializer: str = "json") -> Peer:
        """Open a channel on a socket with a tiny receive buffer (a client that reads little)."""
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        try:
            # Before connecting: this also turns off receive-window autotuning.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            await within(loop.sock_connect(sock, ("127.0.0.1", port)))
        except BaseException:
            sock.close()
            raise
        channel: Channel
        if url.startswith("rs"):
            channel = RawSocketChannel.client(url, serializer)
        else:
            channel = WebSocketChannel.client(url, [serializer])
        await loop.create_connection(lambda: channel, sock=sock)
        await within(channel.opened)
        return cls(channel)

    def send(self, *messages: Message) -> None:
        self.channel.send(b"".join(self.serializer.encode(m) for m in messages))

    async def receive(self, seconds: float = STEP) -> Message:
        """The next message (a batch of several must be taken apart by the test)."""
        [message] = self.serializer.decode(await within(self.frames.get(), seconds))
        return message

    async def join(self, realm: str = "realm1", roles: dict[str, Any] | None = None) -> Welcome:
        if roles is None:
            roles = {"caller": {}, "callee": {}, "publisher": {}, "subscriber": {}}
        self.send(Hello(realm, {"roles": roles}))
        welcome = await self.receive()
        assert isinstance(welcome, Welcome), welcome
        return welcome

    async def closed(self, seconds: float = STEP) -> Exception | None:
        """Wait until the router has closed the connection."""
        result: Exception | None = await within(self.channel.wait_closed(), seconds)
        return result

    async def aclose(self) -> None:
        self.channel.abort()
        await within(self.channel.wait_closed())


@asynccontextmanager
async def peer(url: str, serializer: str = "json", **options: Any) -> AsyncIterator[Peer]:
    """A :class:`Peer`, aborted when the block ends."""
    hand = await Peer.connect(url, serializer, **options)
    try:
        yield hand
    finally:
        await hand.aclose()


@asynccontextmanager
async def tcp_client(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A plain TCP connection to 127.0.0.1:``port``, closed when the block ends."""
    reader, writer = await within(asyncio.open_connection("127.0.0.1", port))
    try:
        yield reader, writer
    finally:
        writer.transport.abort()
        writer.close()
        # Let the transport report connection_lost before the loop moves on.
        await asyncio.sleep(0)


def encoded(serializer: str, message: Message) -> bytes:
    return get_serializer(serializer).encode(message)


# ----------------------------------------------------------------------- certificates


def _aio_helpers() -> Any:
    """tests/aio/helpers.py, loaded under a name of its own (its directory is not ours)."""
    name = "router_server_aio_helpers"
    module = sys.modules.get(name)
    if module is None:
        path = Path(__file__).resolve().parents[1] / "aio" / "helpers.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


def make_certificates(directory: Path) -> Any:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost and a client one.

    Returns tests/aio/helpers.py's ``Certificates`` (paths ``ca``, ``server_cert``,
    ``server_key``, ``client_cert``, ``client_key``; ``client_context(with_cert=)``).
    """
    return _aio_helpers().make_certificates(directory)


def client_tls(certs: Any, *, with_cert: bool) -> ssl.SSLContext:
    context: ssl.SSLContext = certs.client_context(with_cert=with_cert)
    return context
