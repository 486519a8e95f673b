"""The router's cheap paths stay correct: shared frames, batched writes, write limits, ids.

* a message is framed once per (serializer, framing) and the same bytes go to every
  receiver of that format: they must be exactly what websockets / our RawSocket framer
  would have written, text frames for JSON and binary ones for the rest;
* what one read causes is written with one write per connection, in order, and a
  close never overtakes the messages before it;
* the write limit is the transport's high-water mark, and crossing it drops the
  connection whether it happens inside a batch or not;
* random ids come from a pool of ``os.urandom`` words: uniform over ``[1, 2**53]``,
  never shared between threads or across ``fork()``.
"""

from __future__ import annotations

import asyncio
import os
import struct
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from server_kit import (
    STEP,
    Peer,
    async_test,
    eventually,
    listener,
    peer,
    running,
    session_count,
    sessions,
    still_works,
    url_of,
    within,
)
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from autostrada import ids
from autostrada.aio.channel import CORK_LIMIT, Channel
from autostrada.aio.rawsocket import RawSocketChannel
from autostrada.aio.websocket import WebSocketChannel
from autostrada.exceptions import InvalidState
from autostrada.messages import (
    Call,
    Event,
    Goodbye,
    Hello,
    Invocation,
    Publish,
    Register,
    Registered,
    Result,
    Subscribe,
    Subscribed,
    Welcome,
    Yield,
)
from autostrada.rawsocket import (
    MessageReceived,
    ProtocolViolation,
    RawSocketClient,
    RawSocketServer,
)
from autostrada.router.server import RouterServer
from autostrada.serializers import get_serializer

PLAIN = ("json", "msgpack", "cbor")
BATCHED = ("json.batched", "msgpack.batched", "cbor.batched")


def _router_side(server: RouterServer, client: Peer) -> Any:
    """The router's connection object of ``client`` (matched by the client's address)."""
    transport = client.channel.transport
    assert transport is not None
    host, port = transport.get_extra_info("sockname")[:2]
    for connection in server._connections:
        if connection.channel.endpoint == f"{host}:{port}":
            return connection
    raise AssertionError("no router-side connection for this client")


def _count_writes(connection: Any) -> list[bytes]:
    """Record every write the router makes to this connection's transport."""
    transport = connection.channel.transport
    writes: list[bytes] = []
    write = transport.write

    def counting(data: bytes) -> None:
        writes.append(bytes(data))
        write(data)

    transport.write = counting
    return writes


def _record_opcodes(client: Peer) -> list[Opcode]:
    """The opcodes of the data frames a WebSocket client receives from now on.

    Read from the bytes on the wire (the channel parses data frames itself, not
    through websockets' Frame objects); the stream is between two frames now.
    """
    channel = client.channel
    assert isinstance(channel, WebSocketChannel)
    opcodes: list[Opcode] = []
    received = bytearray()
    data_received = channel.data_received

    def recording(data: bytes) -> None:
        received.extend(data)
        while len(received) >= 2:
            length, start = received[1] & 0x7F, 2  # server frames are not masked
            if length == 126:
                (length,), start = struct.unpack_from("!H", received, 2), 4
            elif length == 127:
                (length,), start = struct.unpack_from("!Q", received, 2), 10
            if len(received) < start + length:
                break
            opcode = Opcode(received[0] & 0x0F)
            if opcode in (Opcode.TEXT, Opcode.BINARY):
                opcodes.append(opcode)
            del received[: start + length]
        data_received(data)

    channel.data_received = recording  # type: ignore[method-assign]
    return opcodes


async def _next(client: Peer, kind: type[Any]) -> Any:
    """The next message of a peer, which must be a ``kind`` (batches taken apart)."""
    message = await client.receive()
    assert isinstance(message, kind), message
    return message


# -------------------------------------------------------------------- shared frames


@async_test
async def test_one_publication_is_framed_once_per_format_for_every_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ws/rs x json/msgpack/cbor (+ batched): each gets its own, correct, shared frame."""
    formats = [("ws", name) for name in (*PLAIN, *BATCHED)] + [("rs", name) for name in PLAIN]
    framed: list[tuple[str, bytes]] = []
    for cls in (WebSocketChannel, RawSocketChannel):
        frame = cls.frame

        def counting(self: Channel, data: bytes, frame: Callable[..., bytes] = frame) -> bytes:
            framed.append((type(self).__name__, data))
            return frame(self, data)

        monkeypatch.setattr(cls, "frame", counting)
    config = listener("universal", serializers=(*PLAIN, *BATCHED))
    async with running(config) as server:
        peers: list[tuple[str, str, Peer]] = []
        try:
            for scheme, name in formats * 2:  # two of each: the second shares the frame
                hand = await Peer.connect(url_of(server, scheme), name)
                peers.append((scheme, name, hand))
                await hand.join()
                hand.send(Subscribe(1, {}, "com.shared"))
                await _next(hand, Subscribed)
            async with peer(url_of(server, "ws"), "cbor") as publisher:
                await publisher.join()
                connections = {id(hand): _router_side(server, hand) for _, _, hand in peers}
                writes = {key: _count_writes(c) for key, c in connections.items()}
                opcodes = {id(hand): _record_opcodes(hand) for s, _, hand in peers if s == "ws"}
                framed.clear()
                payload = ["héllo", 2**40, {"nested": [1.5, None, True]}, b"\x00bytes"]
                publisher.send(Publish(7, {}, "com.shared", payload))
                for scheme, name, hand in peers:
                    event = await _next(hand, Event)
                    assert event.args == payload, (scheme, name)
                    if scheme == "ws":
                        binary = hand.serializer.binary
                        assert opcodes[id(hand)] == [Opcode.BINARY if binary else Opcode.TEXT]
                # One frame per format (no more), and both of a kind got the same bytes.
                assert len(framed) == len(formats)
                for index, (scheme, name, hand) in enumerate(peers[: len(formats)]):
                    twin = peers[index + len(formats)][2]
                    [mine], [theirs] = writes[id(hand)], writes[id(twin)]
                    assert mine == theirs, (scheme, name)
        finally:
            for _, _, hand in peers:
                await hand.aclose()


@pytest.mark.parametrize("serializer", ["json", "msgpack"])
@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
@async_test
async def test_websocket_frames_are_what_websockets_would_send(serializer: str, size: int) -> None:
    async with (
        running(listener("universal")) as server,
        peer(url_of(server, "ws"), serializer) as hand,
    ):
        await hand.join()
        channel = _router_side(server, hand).channel
        assert channel.framing == ("websocket", serializer == "json")
        data = bytes(range(256)) * (size // 256) + bytes(size % 256)
        opcode = Opcode.TEXT if serializer == "json" else Opcode.BINARY
        assert channel.frame(data) == Frame(opcode, data).serialize(mask=False)
        # Our client side masks its frames: nothing to share, nothing to frame.
        assert hand.channel.framing is None
        with pytest.raises(RuntimeError, match="server channel"):
            hand.channel.frame(data)


@pytest.mark.parametrize("size", [0, 1, 511, 0xFFFFFF, 2**24])
@async_test
async def test_rawsocket_frames_are_what_the_framer_would_send(size: int) -> None:
    client, framer = RawSocketClient(1, 2**24), RawSocketServer([1], 2**24)
    client.start()
    framer.receive_data(client.data_to_send())
    client.receive_data(framer.data_to_send())
    data = b"\x07" * size
    framer.send_message(data)
    async with running(listener("universal")) as server, peer(url_of(server, "rs")) as hand:
        await hand.join()
        channel = _router_side(server, hand).channel
        assert channel.framing == hand.channel.framing == "rawsocket"
        assert channel.frame(data) == framer.data_to_send()


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def _comparable(events: list[Any]) -> list[Any]:
    # A message as its payload; a violation by its text (exceptions compare by identity).
    return [
        e.payload
        if isinstance(e, MessageReceived)
        else ("violation", str(e.error))
        if isinstance(e, ProtocolViolation)
        else e
        for e in events
    ]


@settings(max_examples=150, deadline=None)
@given(
    frames=st.lists(
        st.tuples(st.sampled_from([0, 0, 0, 1, 2, 3]), st.binary(max_size=40)), max_size=8
    ),
    cuts=st.lists(st.integers(0, 400), max_size=6),
    pipelined=st.booleans(),
    as_view=st.booleans(),
)
def test_rawsocket_receive_messages_is_receive_data_without_the_wrapper(
    frames: list[tuple[int, bytes]], cuts: list[int], pipelined: bool, as_view: bool
) -> None:
    # The channel reads with receive_messages (payloads as bytes); it must see exactly
    # what receive_data reports, however the input is cut, after the handshake or
    # pipelined right behind it, fed as bytes or as a memoryview (the view path).
    wire = b"".join(
        struct.pack(">I", (kind << 24) | len(payload)) + payload for kind, payload in frames
    )
    request = bytes((0x7F, 0x92, 0, 0))  # msgpack, 2**18
    both = [RawSocketServer([2], 2**18), RawSocketServer([2], 2**18)]
    if pipelined:
        wire = request + wire
    else:
        for framer in both:
            framer.receive_data(request)
    plain, fast = both
    expected: list[Any] = []
    got: list[Any] = []
    for piece in _split(wire, cuts):
        expected += _comparable(plain.receive_data(piece))
        items = fast.receive_messages(memoryview(piece) if as_view else piece)
        assert not any(isinstance(item, MessageReceived) for item in items)
        got += _comparable(items)
    assert got == expected
    assert fast.state is plain.state
    assert fast.data_to_send() == plain.data_to_send()


def test_rawsocket_receive_messages_before_start_is_a_driver_bug() -> None:
    with pytest.raises(InvalidState, match="receive_messages: call start"):
        RawSocketClient(2).receive_messages(b"\x7f")


@async_test
async def test_a_shared_frame_too_long_for_one_rawsocket_peer_skips_that_peer_only() -> None:
    async with running(listener("universal")) as server:
        rs, ws = url_of(server, "rs"), url_of(server, "ws")
        async with (
            peer(rs, "json", max_message_size=1024) as small,
            peer(rs, "json") as large,
            peer(ws, "json") as publisher,
        ):
            for hand in (small, large):
                await hand.join()
                hand.send(Subscribe(1, {}, "com.size"))
                await _next(hand, Subscribed)
            await publisher.join()
            publisher.channel.cork()  # both in one read: one batch, one shared frame each
            publisher.send(Publish(1, {}, "com.size", ["x" * 2000]))
            publisher.send(Publish(2, {}, "com.size", ["y"]))
            publisher.channel.uncork()
            assert (await _next(large, Event)).args == ["x" * 2000]
            assert (await _next(large, Event)).args == ["y"]
            assert (await _next(small, Event)).args == ["y"]  # the long one was skipped
            assert small.channel.is_open and large.channel.is_open


# -------------------------------------------------------------------- batched writes


@pytest.mark.parametrize("scheme", ["ws", "rs"])
@async_test
async def test_what_one_read_causes_is_one_write_per_connection_in_order(scheme: str) -> None:
    async with running(listener("universal")) as server:
        url = url_of(server, scheme)
        async with peer(url, "msgpack") as caller, peer(url, "msgpack") as callee:
            await caller.join()
            await callee.join()
            callee.send(Register(1, {}, "com.batch"))
            await _next(callee, Registered)
            to_callee = _count_writes(_router_side(server, callee))
            to_caller = _count_writes(_router_side(server, caller))
            count = 20
            caller.channel.cork()  # one write, so that the router reads them at once
            for request in range(1, count + 1):
                caller.send(Call(request, {}, "com.batch", [request]))
            caller.channel.uncork()
            invocations = [await _next(callee, Invocation) for _ in range(count)]
            assert [i.args for i in invocations] == [[n] for n in range(1, count + 1)]
            assert len(to_callee) == 1
            callee.channel.cork()
            for invocation in invocations:
                callee.send(Yield(invocation.request_id, {}, invocation.args))
            callee.channel.uncork()
            results = [await _next(caller, Result) for _ in range(count)]
            assert [(r.request_id, r.args) for r in results] == [
                (n, [n]) for n in range(1, count + 1)
            ]
            assert len(to_caller) == 1


@async_test
async def test_a_large_batch_is_written_in_chunks_not_held_whole() -> None:
    async with running(listener("universal")) as server:
        url = url_of(server, "rs")
        async with peer(url, "msgpack") as publisher, peer(url, "msgpack") as subscriber:
            for hand in (publisher, subscriber):
                await hand.join()
            subscriber.send(Subscribe(1, {}, "com.big"))
            await _next(subscriber, Subscribed)
            writes = _count_writes(_router_side(server, subscriber))
            count = 40
            publisher.channel.cork()
            for request in range(1, count + 1):
                publisher.send(Publish(request, {}, "com.big", [request, "z" * 1000]))
            publisher.channel.uncork()
            for request in range(1, count + 1):
                assert (await _next(subscriber, Event)).args[0] == request
            # ~40 KiB: written as it crosses CORK_LIMIT, not all at the end.
            assert len(writes) >= 2
            assert all(len(chunk) <= CORK_LIMIT + 1100 for chunk in writes)


@pytest.mark.parametrize("scheme", ["ws", "rs"])
@async_test
async def test_goodbye_and_a_new_session_in_the_same_batch(scheme: str) -> None:
    # One read holds SUBSCRIBE, GOODBYE and a new HELLO: every reply goes out, in order.
    async with running(listener("universal")) as server, peer(url_of(server, scheme)) as hand:
        first = await hand.join()
        hand.channel.cork()
        hand.send(Subscribe(1, {}, "com.t"))
        hand.send(Goodbye({}, "wamp.close.normal"))
        hand.send(Hello("realm1", {"roles": {"subscriber": {}}}))
        hand.channel.uncork()
        await _next(hand, Subscribed)
        await _next(hand, Goodbye)
        welcome = await _next(hand, Welcome)
        assert welcome.session_id != first.session_id


# -------------------------------------------------------------------- write limit


@async_test
async def test_the_write_limit_is_the_transports_high_water_mark() -> None:
    config = listener("universal", max_write_buffer=123_456)
    async with running(config) as server, peer(url_of(server, "ws")) as hand:
        await hand.join()
        transport = _router_side(server, hand).channel.transport
        assert transport.get_write_buffer_limits()[1] == 123_456


@pytest.mark.parametrize("scheme", ["ws", "rs"])
@async_test
async def test_crossing_the_write_limit_outside_a_batch_drops_the_connection(scheme: str) -> None:
    """E.g. a keepalive PING written from a timer: the drop must not wait for traffic."""
    async with running(listener("universal")) as server:
        url = url_of(server, scheme)
        async with peer(url) as hand, sessions(url) as [other]:
            await hand.join()
            connection = _router_side(server, hand)
            connection.channel.pause_writing()  # what the transport does over the mark
            assert connection.dropped  # nothing more is sent to it from now on
            await eventually(lambda: connection not in server._connections)
            await hand.closed()
            assert await session_count(other) == 1
        await still_works(url)


# ---------------------------------------------- WebSocket input, however it is split


class _RawWebSocket:
    """A WebSocket client on a plain TCP stream: every byte the test sends is its own."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.protocol = ClientProtocol(parse_uri("ws://127.0.0.1/ws"), subprotocols=[_JSON])

    def request(self) -> bytes:
        self.protocol.send_request(self.protocol.connect())
        return b"".join(self.protocol.data_to_send())

    @staticmethod
    def frame(opcode: int, data: bytes, *, fin: bool = True, mask: bool = True) -> bytes:
        """A client frame, as it comes, valid or not (RFC 6455 §5.2)."""
        length = len(data)
        flag = 0x80 if mask else 0
        if length < 126:
            header = bytes(((0x80 if fin else 0) | opcode, flag | length))
        else:
            header = bytes(((0x80 if fin else 0) | opcode, flag | 127)) + length.to_bytes(8, "big")
        if not mask:
            return header + data
        key = os.urandom(4)
        return header + key + bytes(octet ^ key[i % 4] for i, octet in enumerate(data))

    def message(self, message: Any) -> bytes:
        return self.frame(Opcode.TEXT, get_serializer("json").encode(message))

    async def events(self, count: int) -> list[Any]:
        """The next ``count`` frames (and the handshake response) from the router."""
        got: list[Any] = []
        async with asyncio.timeout(STEP):
            while len(got) < count:
                data = await self.reader.read(65536)
                if not data:
                    self.protocol.receive_eof()
                else:
                    self.protocol.receive_data(data)
                got += [e for e in self.protocol.events_received() if isinstance(e, Frame)]
                if not data:
                    break
        return got


_JSON = Subprotocol("wamp.2.json")
_HELLO = Hello("realm1", {"roles": {"subscriber": {}, "publisher": {}}})


@asynccontextmanager
async def _raw_websocket(server: RouterServer) -> AsyncIterator[_RawWebSocket]:
    port = server.port_of("universal")
    reader, writer = await within(asyncio.open_connection("127.0.0.1", port))
    try:
        yield _RawWebSocket(reader, writer)
    finally:
        writer.transport.abort()
        await asyncio.sleep(0)


def _decode(frame: Frame) -> Any:
    [message] = get_serializer("json").decode(bytes(frame.data))
    return message


@async_test
async def test_websocket_input_split_anywhere_or_pipelined_with_the_request() -> None:
    """The upgrade request and the first messages in one packet, then a byte at a time."""
    async with running(listener("universal")) as server, _raw_websocket(server) as ws:
        ws.writer.write(ws.request() + ws.message(_HELLO) + ws.message(Subscribe(1, {}, "t")))
        [welcome, subscribed] = [_decode(f) for f in await ws.events(2)]
        assert isinstance(welcome, Welcome) and isinstance(subscribed, Subscribed)
        stream = b"".join(
            ws.message(Publish(n, {"exclude_me": False}, "t", ["x" * size]))
            for n, size in ((2, 10), (3, 200), (4, 70_000))
        )
        for index in range(0, len(stream), 997):  # frames split at odd places
            ws.writer.write(stream[index : index + 997])
            await ws.writer.drain()
        events = [_decode(f) for f in await ws.events(3)]
        assert [len(e.args[0]) for e in events] == [10, 200, 70_000]
        for octet in ws.message(Publish(5, {"exclude_me": False}, "t", ["one by one"])):
            ws.writer.write(bytes([octet]))
            await asyncio.sleep(0)
        [event] = [_decode(f) for f in await ws.events(1)]
        assert event.args == ["one by one"]


@async_test
async def test_websocket_fragments_pings_and_close_from_a_client() -> None:
    async with running(listener("universal")) as server, _raw_websocket(server) as ws:
        ws.writer.write(ws.request() + ws.message(_HELLO))
        await ws.events(1)
        data = get_serializer("json").encode(Subscribe(1, {}, "t"))
        ws.writer.write(
            ws.frame(Opcode.PING, b"are you there")
            + ws.frame(Opcode.TEXT, data[:5], fin=False)
            + ws.frame(Opcode.PING, b"still there")  # a control frame between fragments
            + ws.frame(Opcode.CONT, data[5:9], fin=False)
            + ws.frame(Opcode.CONT, data[9:])
            + ws.message(Publish(2, {"exclude_me": False}, "t", ["after"]))
        )
        frames = await ws.events(4)
        pongs = [bytes(f.data) for f in frames if f.opcode is Opcode.PONG]
        assert pongs == [b"are you there", b"still there"]
        subscribed, event = [_decode(f) for f in frames if f.opcode is Opcode.TEXT]
        assert isinstance(subscribed, Subscribed)
        assert event.args == ["after"]
        # A clean close from the client: echoed, then the router closes the TCP stream.
        ws.writer.write(ws.frame(Opcode.CLOSE, Close(1000, "bye").serialize()))
        [echo] = await ws.events(1)
        assert echo.opcode is Opcode.CLOSE
        assert await within(ws.reader.read()) == b""
        ws.writer.close()
        await eventually(lambda: not server._connections)


@pytest.mark.parametrize(
    ("opcode", "fin", "mask", "payload", "code"),
    [
        (Opcode.TEXT, True, False, b"[]", 1002),  # a client frame must be masked
        (Opcode.CONT, True, True, b"[]", 1002),  # nothing to continue
        (Opcode.TEXT, True, True, b"x" * 3000, 1009),  # over max_message_size
        (Opcode.PING, False, True, b"", 1002),  # a fragmented control frame
    ],
)
@async_test
async def test_bad_websocket_frames_still_fail_the_connection(
    opcode: Opcode, fin: bool, mask: bool, payload: bytes, code: int
) -> None:
    config = listener("universal", max_message_size=2048)
    async with (
        running(config) as server,
        _raw_websocket(server) as ws,
        sessions(url_of(server, "ws")) as [other],
    ):
        ws.writer.write(ws.request() + ws.message(_HELLO))
        await ws.events(1)
        ws.writer.write(ws.frame(opcode, payload, fin=fin, mask=mask))
        frames = await ws.events(1)
        assert frames and frames[-1].opcode is Opcode.CLOSE
        assert Close.parse(bytes(frames[-1].data)).code == code
        ws.writer.close()  # the router closed its side: the client closes too
        await eventually(lambda: len(server._connections) == 1)
        assert await session_count(other) == 1


# -------------------------------------------------------------------- random ids


def test_random_ids_are_in_range_and_every_bit_is_fair() -> None:
    drawn = [ids.random_id() for _ in range(40_000)]
    assert all(ids.is_valid_id(value) for value in drawn)
    assert len(set(drawn)) == len(drawn)
    for bit in range(53):
        share = sum(value >> bit & 1 for value in drawn) / len(drawn)
        assert 0.47 < share < 0.53, f"bit {bit} set in {share:.3f} of the ids"


@pytest.mark.parametrize(
    ("octet", "expected"),
    [(0x00, ids.MAX_ID), (0xFF, ids.MAX_ID - 1), (0x01, int("01" * 7, 16) & (ids.MAX_ID - 1))],
)
def test_random_ids_map_53_random_bits_onto_1_to_2_53(
    monkeypatch: pytest.MonkeyPatch, octet: int, expected: int
) -> None:
    """The low 53 bits of a random word give 0 .. 2**53 - 1; 0 stands for 2**53.

    So each id in 1 .. 2**53 is exactly as likely (2**-53) as any other.
    """
    monkeypatch.setattr(ids, "_pool", [])
    monkeypatch.setattr(ids.os, "urandom", lambda n: bytes([octet]) * n)
    assert [ids.random_id() for _ in range(300)] == [expected] * 300  # across a refill


def test_threads_never_draw_the_same_id() -> None:
    drawn: list[list[int]] = [[] for _ in range(4)]
    start = threading.Barrier(len(drawn))

    def draw(into: list[int]) -> None:
        start.wait()
        into.extend(ids.random_id() for _ in range(20_000))

    threads = [threading.Thread(target=draw, args=(into,)) for into in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [value for into in drawn for value in into]
    assert len(set(every)) == len(every) == 80_000


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    ids.random_id()  # the pool is filled: without care, the child would share it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write, ids.random_id().to_bytes(8, "big"))
        finally:
            os._exit(0)
    os.close(write)
    try:
        child = int.from_bytes(os.read(read, 8), "big")
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    assert ids.is_valid_id(child)
    assert child != ids.random_id()
