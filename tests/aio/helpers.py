"""Real servers for the channel tests: channel servers, scripted raw peers, a CONNECT proxy, TLS.

Everything listens on 127.0.0.1 (or a Unix socket in a test's tmp_path) and is
closed by its context manager, so no test leaves a socket behind (warnings are
errors, and an unclosed transport warns).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from async_kit import async_runner, bounded
from autostrada.aio.channel import Channel

TEST_TIMEOUT = 5.0
"""Upper bound on every test: a hang fails the test instead of the whole run."""

async_test = async_runner(TEST_TIMEOUT)
"""Run an ``async def`` test in a fresh loop, bounded by :data:`TEST_TIMEOUT` (see async_kit)."""


async def within(awaitable: Awaitable[Any], seconds: float = 2.0) -> Any:
    """Await with a bound shorter than the test's, so that a failure names the step."""
    return await bounded(awaitable, seconds)


# --------------------------------------------------------------------- channel servers


class ChannelServer:
    """A listener whose connections are server-side channels; echoes messages by default."""

    def __init__(self, factory: Callable[[], Channel], *, echo: bool = True) -> None:
        self.factory = factory
        self.echo = echo
        self.channels: list[Channel] = []
        self.port = 0
        self._accepted: asyncio.Queue[Channel] = asyncio.Queue()
        self._server: asyncio.Server | None = None

    def url(self, scheme: str, path: str = "/ws") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _make(self) -> Channel:
        channel = self.factory()
        if self.echo:

            def echo(frame: bytes) -> None:
                if channel.is_open:
                    channel.send(frame)

            channel.set_receiver(echo)
        self.channels.append(channel)
        self._accepted.put_nowait(channel)
        return channel

    async def next_channel(self) -> Channel:
        """The next accepted connection's channel."""
        return await within(self._accepted.get())

    async def start(self, *, tls: ssl.SSLContext | None = None, unix: Path | None = None) -> None:
        loop = asyncio.get_running_loop()
        if unix is not None:
            self._server = await loop.create_unix_server(self._make, str(unix), ssl=tls)
        else:
            self._server = await loop.create_server(self._make, "127.0.0.1", 0, ssl=tls)
            self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        # A channel whose TLS handshake failed never got a transport: asyncio
        # made the protocol but never called connection_made (nor _lost).
        connected = [channel for channel in self.channels if channel.transport is not None]
        for channel in connected:
            if not channel.closed.done():
                channel.abort()
        for channel in connected:
            await within(channel.wait_closed())


@asynccontextmanager
async def serve(
    factory: Callable[[], Channel],
    *,
    tls: ssl.SSLContext | None = None,
    unix: Path | None = None,
    echo: bool = True,
) -> AsyncIterator[ChannelServer]:
    """Serve channels built by ``factory`` until the block ends."""
    server = ChannelServer(factory, echo=echo)
    await server.start(tls=tls, unix=unix)
    try:
        yield server
    finally:
        await server.stop()


# ------------------------------------------------------------------- scripted raw peers


class RawPeer(asyncio.Protocol):
    """One accepted connection of a :class:`RawServer`: records bytes, runs a script."""

    def __init__(
        self,
        script: Callable[[RawPeer, bytes], None] | None,
        on_connect: Callable[[RawPeer], None] | None = None,
    ) -> None:
        self.script = script
        self.on_connect = on_connect
        self.transport: asyncio.Transport | None = None
        self.received = bytearray()
        self.state: dict[str, Any] = {}
        self.lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.on_connect is not None:
            self.on_connect(self)

    def data_received(self, data: bytes) -> None:
        self.received += data
        if self.script is not None:
            self.script(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class RawServer:
    """A TCP listener on 127.0.0.1 whose peers run a script on every chunk they read."""

    def __init__(
        self,
        script: Callable[[RawPeer, bytes], None] | None = None,
        on_connect: Callable[[RawPeer], None] | None = None,
    ) -> None:
        self.script = script
        self.on_connect = on_connect
        self.peers: list[RawPeer] = []
        self.port = 0
        self._accepted: asyncio.Queue[RawPeer] = asyncio.Queue()
        self._server: asyncio.Server | None = None

    def url(self, scheme: str, path: str = "/ws") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _make(self) -> RawPeer:
        peer = RawPeer(self.script, self.on_connect)
        self.peers.append(peer)
        self._accepted.put_nowait(peer)
        return peer

    async def next_peer(self) -> RawPeer:
        return await within(self._accepted.get())

    async def start(self, tls: ssl.SSLContext | None = None) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._make, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for peer in self.peers:
            if peer.transport is not None:
                peer.transport.abort()
        for peer in self.peers:
            if peer.transport is not None:
                await within(peer.lost)


@asynccontextmanager
async def raw_server(
    script: Callable[[RawPeer, bytes], None] | None = None,
    *,
    on_connect: Callable[[RawPeer], None] | None = None,
    tls: ssl.SSLContext | None = None,
) -> AsyncIterator[RawServer]:
    """A scripted TCP server; ``script=None`` reads and ignores everything (a silent peer)."""
    server = RawServer(script, on_connect)
    await server.start(tls)
    try:
        yield server
    finally:
        await server.stop()


def websocket_accept(
    peer: RawPeer,
    subprotocols: list[str] | None = None,
    edit: Callable[[Response], None] | None = None,
) -> tuple[ServerProtocol, bytes] | None:
    """Answer the upgrade request buffered in ``peer.received``, if complete.

    Returns the websockets protocol (OPEN) and the response bytes, not yet written,
    so a script can append frames to the same packet; ``None`` while the request is
    incomplete. ``edit`` may change the response before it is serialized.
    """
    if b"\r\n\r\n" not in peer.received:
        return None
    protocol = ServerProtocol(
        subprotocols=[Subprotocol(s) for s in (subprotocols or ["wamp.2.json"])]
    )
    protocol.receive_data(bytes(peer.received))
    [request] = protocol.events_received()
    assert isinstance(request, Request)
    response = protocol.accept(request)
    if edit is not None:
        edit(response)
    protocol.send_response(response)
    return protocol, b"".join(protocol.data_to_send())


def websocket_frame(protocol: ServerProtocol, opcode: Opcode, data: bytes) -> bytes:
    """Serialize one server-to-client frame (unmasked)."""
    return Frame(opcode, data).serialize(mask=False, extensions=protocol.extensions)


def swallow_after_websocket_handshake(peer: RawPeer, data: bytes) -> None:
    """Script: complete the WebSocket handshake, then read and ignore everything."""
    if peer.state.get("open"):
        return
    accepted = websocket_accept(peer)
    if accepted is not None:
        peer.state["open"] = True
        peer.write(accepted[1])


def swallow_after_rawsocket_handshake(peer: RawPeer, data: bytes) -> None:
    """Script: accept the RawSocket handshake (max length 2**24), then ignore everything."""
    if not peer.state.get("open") and len(peer.received) >= 4:
        peer.state["open"] = True
        serializer_id = peer.received[1] & 0x0F
        peer.write(bytes((0x7F, 0xF0 | serializer_id, 0, 0)))


# ---------------------------------------------------------------------- CONNECT proxy


class ConnectProxy:
    """A tiny HTTP proxy that tunnels with CONNECT (or refuses, or never answers).

    Args:
        refuse: a status line tail such as ``"407 Proxy Authentication Required"``
            to answer every request with; ``None`` tunnels.
        silent: read the request and never answer.
    """

    def __init__(self, refuse: str | None = None, *, silent: bool = False) -> None:
        self.refuse = refuse
        self.silent = silent
        self.requests: list[bytes] = []
        self.port = 0
        self.url = ""
        self.connected = asyncio.Event()
        self.finished = asyncio.Event()  # a client's connection has ended
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        if self._tasks:
            await within(asyncio.wait(self._tasks))
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.append(writer)
        self.connected.set()
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head)
            if self.silent:
                await reader.read()  # until the client gives up
                return
            if self.refuse is not None:
                writer.write(f"HTTP/1.1 {self.refuse}\r\nContent-Length: 0\r\n\r\n".encode())
                return
            target = head.split(b"\r\n", 1)[0].split()[1].decode()
            host, _, port = target.rpartition(":")
            upstream_reader, upstream = await asyncio.open_connection(host.strip("[]"), int(port))
            self._writers.append(upstream)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pipe(reader, upstream), _pipe(upstream_reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()
            self.finished.set()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.transport.abort()


@asynccontextmanager
async def connect_proxy(
    refuse: str | None = None, *, silent: bool = False
) -> AsyncIterator[ConnectProxy]:
    proxy = ConnectProxy(refuse, silent=silent)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


# ----------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Certificates:
    """A throwaway CA, a server certificate (127.0.0.1, localhost) and a client one."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    def server_context(self, *, require_client_cert: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.server_cert, self.server_key)
        if require_client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(self.ca)
        return context

    def client_context(self, *, with_cert: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        if with_cert:
            context.load_cert_chain(self.client_cert, self.client_key)
        return context


def make_certificates(directory: Path) -> Certificates:
    """Generate the CA and the leaf certificates (EC P-256: fast) into ``directory``."""
    now = datetime.datetime.now(datetime.UTC)

    def write_key(key: ec.EllipticCurvePrivateKey, name: str) -> Path:
        path = directory / name
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path

    def write_cert(cert: x509.Certificate, name: str) -> Path:
        path = directory / name
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    def builder(subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> Any:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "autostrada test CA")])
    ca_cert = (
        builder("autostrada test CA", ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(name: str, usage: x509.ObjectIdentifier, sans: list[x509.GeneralName]) -> Any:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            builder(name, ca_name, key)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        return key, cert

    server_key, server_cert = leaf(
        "localhost",
        ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    client_key, client_cert = leaf(
        "client", ExtendedKeyUsageOID.CLIENT_AUTH, [x509.DNSName("client.test")]
    )
    return Certificates(
        ca=write_cert(ca_cert, "ca.pem"),
        server_cert=write_cert(server_cert, "server.pem"),
        server_key=write_key(server_key, "server.key"),
        client_cert=write_cert(client_cert, "client.pem"),
        client_key=write_key(client_key, "client.key"),
    )
