"""The asyncio channels (WebSocket and RawSocket) over real loopback sockets.

Servers are built from ``WebSocketChannel.server`` / ``RawSocketChannel.server``, or
are scripted raw peers (helpers.RawServer) where a misbehaving peer is needed.
Clients are opened with :func:`autostrada.aio.connect.connect`.
"""

from __future__ import annotations

import asyncio
import random
import struct
from collections.abc import Callable
from typing import Any

import pytest
from helpers import (
    RawPeer,
    async_test,
    raw_server,
    serve,
    swallow_after_rawsocket_handshake,
    swallow_after_websocket_handshake,
    websocket_accept,
    websocket_frame,
    within,
)
from websockets.datastructures import Headers
from websockets.exceptions import PayloadTooBig
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Request, Response

from autostrada.aio.channel import Channel
from autostrada.aio.connect import connect
from autostrada.aio.rawsocket import RawSocketChannel
from autostrada.aio.websocket import WebSocketChannel
from autostrada.exceptions import ProtocolError, TransportError
from autostrada.messages import Publish
from autostrada.rawsocket import HandshakeErrorCode, PingReceived
from autostrada.serializers import get_serializer

ALL = ("json", "msgpack", "cbor")
KINDS = ("ws", "rs")


def server_factory(kind: str, serializers: tuple[str, ...] = ALL, **options: Any) -> Any:
    """A factory of server channels of one kind, for helpers.serve."""
    if kind == "ws":
        return lambda: WebSocketChannel.server("test client", serializers, **options)
    return lambda: RawSocketChannel.server("test client", serializers, **options)


def inbox(channel: Channel) -> asyncio.Queue[bytes]:
    """Set a receiver that queues every frame the channel delivers."""
    frames: asyncio.Queue[bytes] = asyncio.Queue()
    channel.set_receiver(frames.put_nowait)
    return frames


async def opened_peer(server: Any) -> Channel:
    """The server side of the next connection, once its handshake is done."""
    peer: Channel = await server.next_channel()
    await within(peer.opened)
    return peer


# ----------------------------------------------------------------- open, echo, close


@pytest.mark.parametrize("serializer", ALL)
@pytest.mark.parametrize("kind", KINDS)
@async_test
async def test_echo_round_trip_and_clean_close(kind: str, serializer: str) -> None:
    async with serve(server_factory(kind)) as server:
        client = await connect(server.url(kind), serializers=[serializer])
        assert client.serializer is get_serializer(serializer)
        assert client.is_open
        assert repr(client) == f"<{type(client).__name__} {server.url(kind)} open>"
        frames = inbox(client)
        message = Publish(7, {}, "com.example.topic", ["héllo", 42, {"k": [1.5, None]}])
        data = client.serializer.encode(message)
        client.send(data)
        echoed = await within(frames.get())
        assert echoed == data
        [decoded] = client.serializer.decode(echoed)
        assert decoded.to_list() == message.to_list()
        peer = server.channels[0]
        assert peer.serializer is client.serializer

        client.close()
        assert await within(client.wait_closed()) is None
        assert await within(peer.wait_closed()) is None
        assert not client.is_open
        assert repr(client).endswith("closed>")
        with pytest.raises(TransportError, match="not open"):
            client.send(data)
        client.close()  # idempotent once closed


@pytest.mark.parametrize("kind", KINDS)
@async_test
async def test_server_side_close_is_clean_for_the_client(kind: str) -> None:
    async with serve(server_factory(kind)) as server:
        client = await connect(server.url(kind))
        ended: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        client.set_receiver(lambda frame: None, ended.set_result)
        peer = await opened_peer(server)
        peer.close(1001, "going away")
        peer.close()  # a second close while closing changes nothing
        assert await within(ended) is None
        assert await within(peer.wait_closed()) is None
        # A receiver set after the end hears about it at once.
        late: list[Exception | None] = []
        client.set_receiver(lambda frame: None, late.append)
        assert late == [None]


@async_test
async def test_websocket_error_close_code_fails_the_channel() -> None:
    async with serve(server_factory("ws")) as server:
        client = await connect(server.url("ws"))
        peer = await opened_peer(server)
        peer.close(1011, "internal error")
        error = await within(client.wait_closed())
        assert isinstance(error, TransportError)
        assert "1011" in str(error) and server.url("ws") in str(error)


@async_test
async def test_websocket_peer_dropping_tcp_is_an_error() -> None:
    async with serve(server_factory("ws")) as server:
        client = await connect(server.url("ws"))
        peer = await opened_peer(server)
        peer.abort()
        error = await within(client.wait_closed())
        assert isinstance(error, TransportError)
        assert "no close frame" in str(error)


@pytest.mark.parametrize("kind", KINDS)
@async_test
async def test_close_during_the_handshake(kind: str) -> None:
    # The client gives up while the server has not answered the handshake yet.
    async with raw_server() as server:
        loop = asyncio.get_running_loop()
        channel: Channel
        if kind == "ws":
            channel = WebSocketChannel.client(server.url("ws"), ["json"])
        else:
            channel = RawSocketChannel.client(server.url("rs"), "json")
        assert channel.write_buffer_size() == 0  # not connected yet
        assert repr(channel).endswith("opening>")
        await loop.create_connection(lambda: channel, "127.0.0.1", server.port)
        channel.close()
        error = await within(channel.wait_closed())
        assert isinstance(error, TransportError)
        assert "during the handshake" in str(error)
        with pytest.raises(TransportError):
            await channel.opened


@async_test
async def test_abort_before_connecting_fails_the_opening() -> None:
    channel = RawSocketChannel.client("rs://nowhere:1", "json")
    channel.abort(TransportError("given up"))
    with pytest.raises(TransportError, match="given up"):
        await channel.opened
    assert not channel.is_open


# ------------------------------------------------------------------ server side


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b"no entry for you\n", r"HTTP 403 Forbidden \(no entry for you\)$"), (b"", "Forbidden$")],
)
@async_test
async def test_websocket_server_can_refuse_an_upgrade(body: bytes, expected: str) -> None:
    def forbid(request: Request) -> Response:
        assert request.path == "/ws"
        return Response(403, "Forbidden", Headers(), body)

    async with serve(lambda: WebSocketChannel.server("c", ALL, check_request=forbid)) as server:
        with pytest.raises(TransportError, match=expected):
            await connect(server.url("ws"))
        peer = server.channels[0]
        error = await within(peer.wait_closed())
        assert isinstance(error, TransportError)
        assert "refused WebSocket upgrade" in str(error)


@async_test
async def test_rawsocket_server_can_refuse_every_client() -> None:
    full = HandshakeErrorCode.MAX_CONNECTION_COUNT_REACHED
    async with serve(server_factory("rs", refuse=full)) as server:
        with pytest.raises(TransportError, match="maximum connection count reached"):
            await connect(server.url("rs"))
        error = await within(server.channels[0].wait_closed())
        assert isinstance(error, TransportError)
        assert "refused RawSocket client" in str(error)


@pytest.mark.parametrize(
    ("kind", "garbage", "expected"),
    [
        ("ws", b"\x7f\x00\x00\x00 not HTTP at all\r\n\r\n", "not receive a valid HTTP request"),
        ("rs", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not the magic 0x7f"),
    ],
)
@async_test
async def test_server_channel_fails_on_a_garbage_handshake(
    kind: str, garbage: bytes, expected: str
) -> None:
    async with serve(server_factory(kind)) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(garbage)
        peer = await server.next_channel()
        await within(reader.read())  # the server ends its side at once...
        writer.close()
        await within(writer.wait_closed())
        error = await within(peer.wait_closed())  # ...and reports why
        assert isinstance(error, TransportError)
        assert expected in str(error)


@async_test
async def test_no_common_subprotocol_accepted_without_one_fails_both_sides() -> None:
    # A server configured with no serializers accepts the upgrade with no
    # subprotocol: neither side can speak WAMP, both fail clearly.
    async with serve(lambda: WebSocketChannel.server("c", [])) as server:
        with pytest.raises(TransportError, match="did not agree on a WAMP serializer"):
            await connect(server.url("ws"))
        error = await within(server.channels[0].wait_closed())
        assert isinstance(error, TransportError)


# -------------------------------------------------------------------- message size


@async_test
async def test_websocket_message_over_client_limit_fails_the_client() -> None:
    async with serve(server_factory("ws"), echo=False) as server:
        client = await connect(server.url("ws"), max_message_size=1024)
        frames = inbox(client)
        peer = await opened_peer(server)
        peer.send(b"x" * 1024)
        assert await within(frames.get()) == b"x" * 1024
        peer.send(b"y" * 1025)
        error = await within(client.wait_closed())
        assert isinstance(error, TransportError)
        assert "1009" in str(error)
        assert isinstance(error.__cause__, PayloadTooBig)
        assert frames.empty()
        assert isinstance(await within(peer.wait_closed()), TransportError)


@async_test
async def test_websocket_message_over_server_limit_fails_the_connection() -> None:
    async with serve(server_factory("ws", max_message_size=1024)) as server:
        client = await connect(server.url("ws"), serializers=["msgpack"])
        client.send(b"z" * 5000)  # no local limit on sending: the peer enforces its own
        error = await within(client.wait_closed())
        assert isinstance(error, TransportError)
        assert "1009" in str(error)
        peer_error = await within(server.channels[0].wait_closed())
        assert isinstance(peer_error, TransportError)
        assert isinstance(peer_error.__cause__, PayloadTooBig)


@async_test
async def test_rawsocket_negotiated_lengths_are_honoured_both_ways() -> None:
    async with serve(server_factory("rs", max_message_size=1024), echo=False) as server:
        client = await connect(server.url("rs"), max_message_size=600)  # announces 512
        assert isinstance(client, RawSocketChannel)
        frames = inbox(client)
        peer = await opened_peer(server)
        assert isinstance(peer, RawSocketChannel)
        assert client.framer.peer_max_length == 1024
        assert peer.framer.peer_max_length == 512
        peer_frames = inbox(peer)

        client.send(b"a" * 1024)
        assert await within(peer_frames.get()) == b"a" * 1024
        with pytest.raises(ValueError, match="exceeds the peer's maximum"):
            client.send(b"a" * 1025)
        peer.send(b"b" * 512)
        assert await within(frames.get()) == b"b" * 512
        with pytest.raises(ValueError, match="exceeds the peer's maximum"):
            peer.send(b"b" * 513)
        assert client.is_open and peer.is_open
        client.close()
        assert await within(client.wait_closed()) is None


@async_test
async def test_rawsocket_frame_over_our_limit_fails_the_client() -> None:
    def oversize(peer: RawPeer, data: bytes) -> None:
        if not peer.state.get("open") and len(peer.received) >= 4:
            peer.state["open"] = True
            peer.write(bytes((0x7F, 0xF1, 0, 0)) + struct.pack(">I", 600) + b"q" * 600)

    async with raw_server(oversize) as server:
        client = await connect(server.url("rs"), max_message_size=512)
        frames = inbox(client)
        error = await within(client.wait_closed())
        assert isinstance(error, TransportError)
        assert "exceeds our maximum of 512" in str(error)
        assert isinstance(error.__cause__, ProtocolError)
        assert frames.empty()
        await within(server.peers[0].lost)  # and the socket was closed


# ------------------------------------------------------------------------ keepalive


class _Tally:
    def __init__(self, target: int) -> None:
        self.count = 0
        self.target = target
        self.reached = asyncio.Event()

    def add(self) -> None:
        self.count += 1
        if self.count >= self.target:
            self.reached.set()


class CountingWebSocket(WebSocketChannel):
    """A server channel that counts the pings it gets and the pongs answering its own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pings = _Tally(4)
        self.pongs = _Tally(3)

    def _on_frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.PING:
            self.pings.add()
        super()._on_frame(frame)

    def _pong_received(self, payload: bytes) -> None:
        self.pongs.add()
        super()._pong_received(payload)


class CountingRawSocket(RawSocketChannel):
    """The RawSocket twin of :class:`CountingWebSocket`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pings = _Tally(4)
        self.pongs = _Tally(3)
        self._on_event[PingReceived] = lambda event: self.pings.add()

    def _pong_received(self, payload: bytes) -> None:
        self.pongs.add()
        super()._pong_received(payload)


def counting_factory(kind: str, **options: Any) -> Callable[[], Channel]:
    if kind == "ws":
        return lambda: CountingWebSocket.server("c", ALL, **options)
    return lambda: CountingRawSocket.server("c", ALL, **options)


@pytest.mark.parametrize("timeout", [1.0, None])
@pytest.mark.parametrize("kind", KINDS)
@async_test
async def test_client_keepalive_pings_answered_keep_the_connection(
    kind: str, timeout: float | None
) -> None:
    async with serve(counting_factory(kind)) as server:
        client = await connect(server.url(kind), keepalive_interval=0.02, keepalive_timeout=timeout)
        peer: Any = await opened_peer(server)
        # The client sends the next ping only once the previous one was answered,
        # so a fourth ping proves three pongs came back and matched.
        await within(peer.pings.reached.wait())
        assert client.is_open
        assert not client.closed.done()


@pytest.mark.parametrize("kind", KINDS)
@async_test
async def test_client_answers_server_pings(kind: str) -> None:
    factory = counting_factory(kind, keepalive_interval=0.02, keepalive_timeout=1.0)
    async with serve(factory) as server:
        client = await connect(server.url(kind))
        peer: Any = await opened_peer(server)
        await within(peer.pongs.reached.wait())
        assert peer.is_open and client.is_open


@pytest.mark.parametrize(
    ("kind", "script"),
    [("ws", swallow_after_websocket_handshake), ("rs", swallow_after_rawsocket_handshake)],
)
@async_test
async def test_unanswered_keepalive_fails_within_interval_plus_timeout(
    kind: str, script: Callable[[RawPeer, bytes], None]
) -> None:
    interval, timeout = 0.05, 0.15
    async with raw_server(script) as server:
        loop = asyncio.get_running_loop()
        client = await connect(
            server.url(kind), keepalive_interval=interval, keepalive_timeout=timeout
        )
        started = loop.time()
        error = await within(client.wait_closed(), 2.0)
        elapsed = loop.time() - started
        assert isinstance(error, TransportError)
        assert "did not answer a keepalive ping within 0.15 s" in str(error)
        assert server.url(kind) in str(error)
        # The upper bound is generous: CI machines are shared and noisy.
        assert interval + timeout - 0.02 <= elapsed < interval + timeout + 1.0
        await within(server.peers[0].lost)


# ----------------------------------------------------------------------------- close


@async_test
async def test_websocket_close_is_bounded_when_the_peer_never_answers() -> None:
    async with raw_server(swallow_after_websocket_handshake) as server:
        loop = asyncio.get_running_loop()
        # Pings due during the closing handshake are not sent (not open any more).
        client = await connect(server.url("ws"), close_timeout=0.15, keepalive_interval=0.02)
        started = loop.time()
        client.close()
        assert not client.is_open
        # By design a close we started ends cleanly even if the peer never echoes.
        assert await within(client.wait_closed(), 2.0) is None
        assert 0.13 <= loop.time() - started < 1.2  # upper bound generous for CI
        await within(server.peers[0].lost)
        # The close frame went out: opcode 0x8, masked, code 1000.
        assert b"\x88\x82" in server.peers[0].received


async def _fill_until_buffered(channel: Channel, threshold: int) -> None:
    """Send 256 KiB messages until more than ``threshold`` bytes wait in our buffer."""
    chunk = b"f" * (1 << 18)
    for _ in range(400):
        if channel.write_buffer_size() > threshold:
            return
        channel.send(chunk)
    raise AssertionError("the peer's socket buffers never filled")


@async_test
async def test_rawsocket_close_is_bounded_when_the_peer_stops_reading() -> None:
    async with serve(server_factory("rs"), echo=False) as server:
        loop = asyncio.get_running_loop()
        client = await connect(server.url("rs"), close_timeout=0.15)
        peer = await opened_peer(server)
        assert peer.transport is not None
        peer.transport.pause_reading()
        await _fill_until_buffered(client, 0)
        started = loop.time()
        client.close()
        client.close()  # already closing: nothing more to do
        assert await within(client.wait_closed(), 2.0) is None
        assert 0.13 <= loop.time() - started < 1.2  # upper bound generous for CI


@async_test
async def test_drain_waits_for_the_peer_and_fails_when_the_connection_ends() -> None:
    async with serve(server_factory("rs"), echo=False) as server:
        client = await connect(server.url("rs"))
        await client.drain()  # nothing buffered: returns at once
        peer = await opened_peer(server)
        assert peer.transport is not None and client.transport is not None
        peer.transport.pause_reading()
        client.transport.set_write_buffer_limits(high=1 << 16)
        await _fill_until_buffered(client, 1 << 16)

        drain = asyncio.ensure_future(client.drain())
        done, _ = await asyncio.wait([drain], timeout=0.1)
        assert not done, "drain() returned while the peer was not reading"
        peer.transport.resume_reading()
        await within(drain)

        # A drain waiting when the connection ends: paused by hand, as the transport
        # does over its high-water mark (filling the buffer again would race with the
        # kernel's receive window, which may grow and take it all).
        client.pause_writing()
        blocked = asyncio.ensure_future(client.drain())
        done, _ = await asyncio.wait([blocked], timeout=0.05)
        assert not done, "drain() returned while writing was paused"
        client.abort()
        with pytest.raises(TransportError, match="closed"):
            await within(blocked)
        assert await within(client.wait_closed()) is None
        with pytest.raises(TransportError, match="closed"):
            await within(client.drain())  # must not wait forever


@async_test
async def test_drain_raises_the_connection_error() -> None:
    async with serve(server_factory("ws")) as server:
        client = await connect(server.url("ws"))
        peer = await opened_peer(server)
        peer.abort()
        error = await within(client.wait_closed())
        assert isinstance(error, TransportError)
        with pytest.raises(TransportError) as raised:
            await client.drain()
        assert raised.value is error


# ----------------------------------------------------------- early and late frames


@async_test
async def test_websocket_frames_in_the_handshake_packet_are_not_lost() -> None:
    first = b'[16,1,{},"com.example.early"]'

    def early(peer: RawPeer, data: bytes) -> None:
        if peer.state.get("open"):
            return
        accepted = websocket_accept(peer)
        if accepted is None:
            return
        peer.state["open"] = True
        protocol, response = accepted
        # Response, an unsolicited pong (ignored), a whole message and a fragmented
        # one, all in one packet.
        peer.write(
            response
            + websocket_frame(protocol, Opcode.PONG, b"unasked")
            + websocket_frame(protocol, Opcode.TEXT, first)
            + Frame(Opcode.TEXT, b"[16,2,", fin=False).serialize(mask=False, extensions=[])
            + Frame(Opcode.CONT, b"{},", fin=False).serialize(mask=False, extensions=[])
            + Frame(Opcode.CONT, b'"x.y"]', fin=True).serialize(mask=False, extensions=[])
        )

    async with raw_server(early) as server:
        client = await connect(server.url("ws"), serializers=["json"])
        frames = inbox(client)  # delivered at once, in order
        assert frames.get_nowait() == first
        assert frames.get_nowait() == b'[16,2,{},"x.y"]'
        assert client.is_open
        client.abort()
        assert await within(client.wait_closed()) is None


@async_test
async def test_rawsocket_frames_in_the_handshake_packet_are_not_lost() -> None:
    def early(peer: RawPeer, data: bytes) -> None:
        if not peer.state.get("open") and len(peer.received) >= 4:
            peer.state["open"] = True
            reply = bytes((0x7F, 0xF2, 0, 0))
            peer.write(reply + struct.pack(">I", 3) + b"one" + struct.pack(">I", 3) + b"two")

    async with raw_server(early) as server:
        client = await connect(server.url("rs"), serializers=["msgpack"])
        assert client.serializer is get_serializer("msgpack")
        frames = inbox(client)
        assert [frames.get_nowait(), frames.get_nowait()] == [b"one", b"two"]
        client.close()
        assert await within(client.wait_closed()) is None


@async_test
async def test_websocket_data_after_the_peers_close_frame_is_ignored() -> None:
    def close_then_talk(peer: RawPeer, data: bytes) -> None:
        if not peer.state.get("open"):
            accepted = websocket_accept(peer)
            if accepted is not None:
                peer.state["open"] = True
                protocol, response = accepted
                close = Close(1000, "bye").serialize()
                peer.write(
                    response
                    + websocket_frame(protocol, Opcode.CLOSE, close)
                    + websocket_frame(protocol, Opcode.TEXT, b'"late"')
                )
        elif b"\x88" in data:  # the client's close echo: end the TCP connection
            assert peer.transport is not None
            peer.transport.close()

    async with raw_server(close_then_talk) as server:
        client = await connect(server.url("ws"))
        frames = inbox(client)
        assert await within(client.wait_closed()) is None
        assert frames.empty()


@async_test
async def test_rawsocket_data_after_close_is_ignored() -> None:
    async with serve(server_factory("rs")) as server:
        client = await connect(server.url("rs"))
        frames = inbox(client)
        client.close()
        # Bytes still in flight when we closed are dropped, not delivered or raised.
        client.data_received(struct.pack(">I", 4) + b"late")
        assert await within(client.wait_closed()) is None
        assert frames.empty()


# ----------------------------------------------------------------------- fuzz-ish


def _garbage(rng: random.Random) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))


@pytest.mark.parametrize("kind", KINDS)
@async_test
async def test_garbage_after_the_handshake_never_raises_anything_else(kind: str) -> None:
    rng = random.Random(f"after-{kind}")
    accept = (
        swallow_after_websocket_handshake if kind == "ws" else swallow_after_rawsocket_handshake
    )

    def talk_garbage(peer: RawPeer, data: bytes) -> None:
        if peer.state.get("open"):
            return
        accept(peer, data)
        if peer.state.get("open"):
            assert peer.transport is not None
            peer.write(peer.state["garbage"])
            peer.transport.close()

    failures = 0
    async with raw_server(talk_garbage) as server:
        for _ in range(25):
            garbage = _garbage(rng)
            if kind == "rs" and rng.random() < 0.5:
                garbage = bytes((rng.randrange(0x10, 0x100),)) + garbage  # reserved bits
            server.on_connect = lambda peer, garbage=garbage: peer.state.update(garbage=garbage)
            client = await connect(server.url(kind), open_timeout=1.0)
            frames = inbox(client)
            result = await within(client.wait_closed())
            while not frames.empty():
                assert isinstance(frames.get_nowait(), bytes)
            if result is None:
                # Clean only if the garbage happened to hold a well-formed ending.
                if isinstance(client, WebSocketChannel):
                    assert client.protocol.close_rcvd is not None
                    assert client.protocol.close_rcvd.code in (1000, 1001)
            else:
                assert isinstance(result, TransportError)
                assert server.url(kind) in str(result)
                failures += 1
    assert failures >= 10


# ---------------------------------------------------------------------------- cork


@pytest.mark.parametrize("kind", KINDS)
@async_test
async def test_a_read_leaves_the_cork_to_its_owner(kind: str) -> None:
    """Messages held by cork() are written by uncork(), not at the next read."""
    async with serve(server_factory(kind), echo=False) as server:
        client = await connect(server.url(kind), serializers=["msgpack"])
        peer = await opened_peer(server)
        frames, peer_frames = inbox(client), inbox(peer)
        writes: list[bytes] = []
        assert client.transport is not None
        write = client.transport.write
        client.transport.write = lambda data: (writes.append(data), write(data))  # type: ignore[assignment, method-assign]
        client.cork()
        client.send(b"held")
        peer.send(b"read")
        assert await within(frames.get()) == b"read"
        assert writes == []
        client.uncork()
        assert len(writes) == 1
        assert await within(peer_frames.get()) == b"held"  # masked on the WebSocket wire
        client.abort()
