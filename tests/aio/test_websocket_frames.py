"""WebSocketChannel's own frame parsing and building, against websockets' rules.

Once open, the channel parses whole data frames itself and builds the client's
masked frames; everything else goes through websockets' parser. These tests feed
frames split anywhere, mixed with control frames and fragments, and frames to
refuse, and check that the result is what websockets alone would give.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from helpers import RawPeer, async_test, raw_server, serve, websocket_accept, within
from websockets.exceptions import PayloadTooBig
from websockets.exceptions import ProtocolError as WebSocketsProtocolError
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from autostrada.aio.connect import connect
from autostrada.aio.websocket import WebSocketChannel
from autostrada.exceptions import TransportError


def _frame(opcode: Opcode, data: bytes, *, fin: bool = True, mask: bool = False) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=mask, extensions=[])


def _stream(*, mask: bool) -> tuple[bytes, list[bytes]]:
    """Frames of every length form, a PING, a PONG and a fragmented message."""
    messages = [b"a", b"b" * 125, b"c" * 126, b"d" * 65535, b"e" * 65536, b"", b"f" * 300]
    wire = b"".join(_frame(Opcode.BINARY, m, mask=mask) for m in messages[:3])
    wire += _frame(Opcode.PING, b"ping", mask=mask)
    wire += b"".join(_frame(Opcode.BINARY, m, mask=mask) for m in messages[3:5])
    wire += _frame(Opcode.PONG, b"unasked", mask=mask)
    wire += _frame(Opcode.TEXT, b"[1,", fin=False, mask=mask)
    wire += _frame(Opcode.CONT, b"2]", mask=mask)
    wire += b"".join(_frame(Opcode.BINARY, m, mask=mask) for m in messages[5:])
    return wire, [*messages[:5], b"[1,2]", *messages[5:]]


async def _open_pair(
    server: Any, serializer: str = "msgpack"
) -> tuple[WebSocketChannel, WebSocketChannel]:
    client = await connect(server.url("ws"), serializers=[serializer])
    peer = await within(server.next_channel())
    await within(peer.opened)
    assert isinstance(client, WebSocketChannel) and isinstance(peer, WebSocketChannel)
    return client, peer


@pytest.mark.parametrize("side", ["client", "server"])
@pytest.mark.parametrize("seed", range(4))
@async_test
async def test_frames_split_anywhere_arrive_whole_and_in_order(side: str, seed: int) -> None:
    async with serve(lambda: WebSocketChannel.server("c", ["msgpack"]), echo=False) as server:
        client, peer = await _open_pair(server)
        channel = client if side == "client" else peer
        assert channel._owned  # parsing data frames itself from the start
        got: list[bytes] = []
        channel.set_receiver(got.append)
        writes: list[bytes] = []
        assert channel.transport is not None
        channel.transport.write = writes.append  # type: ignore[method-assign]
        wire, expected = _stream(mask=side == "server")
        rng = random.Random(seed)
        position = 0
        while position < len(wire):
            size = {0: len(wire), 1: 1}.get(seed) or rng.choice([1, 2, 3, 7, 100, 70000])
            channel.data_received(wire[position : position + size])
            position += size
        assert got == expected
        assert channel.is_open and channel._owned and not channel._inbuf
        # The PING was answered (masked on the client side) as websockets would.
        pong = b"".join(writes)
        if side == "client":
            assert pong[0] == 0x80 | Opcode.PONG and pong[1] & 0x80
        else:
            assert pong == _frame(Opcode.PONG, b"ping")
        client.abort()
        peer.abort()


@async_test
async def test_client_frames_are_masked_with_a_fresh_key_each() -> None:
    async with serve(lambda: WebSocketChannel.server("c", ["json"]), echo=False) as server:
        client, peer = await _open_pair(server, "json")
        got: list[bytes] = []
        peer.set_receiver(got.append)
        writes: list[bytes] = []
        assert client.transport is not None
        write = client.transport.write
        client.transport.write = lambda data: (writes.append(data), write(data))  # type: ignore[assignment, method-assign]
        messages = [b"x" * n for n in (0, 1, 125, 126, 65535, 65536)] * 400  # > one key block
        for message in messages:
            client.send(message)
        while len(got) < len(messages):
            await asyncio.sleep(0.01)
        assert got == messages
        # Parsed by websockets' own parser as a server: masked, valid, text (JSON).
        reader = StreamReader()
        reader.feed_data(b"".join(writes))
        keys = set()
        for message in messages:
            parser = Frame.parse(reader.read_exact, mask=True, max_size=None, extensions=[])
            with pytest.raises(StopIteration) as done:
                next(parser)
            frame = done.value.value
            assert frame.opcode is Opcode.TEXT and frame.fin and frame.data == message
        for data in writes:
            header = 2 if data[1] & 0x7F < 126 else 4 if data[1] & 0x7F == 126 else 10
            keys.add(data[header : header + 4])
        assert len(keys) > len(messages) * 0.99  # random, never reused on purpose
        client.abort()
        peer.abort()


async def _fails_with(wire: bytes, code: int, cause: type[Exception]) -> None:
    async with serve(lambda: WebSocketChannel.server("c", ["msgpack"]), echo=False) as server:
        client = await connect(server.url("ws"), serializers=["msgpack"], max_message_size=1000)
        assert isinstance(client, WebSocketChannel)
        got: list[bytes] = []
        client.set_receiver(got.append)
        client.data_received(_frame(Opcode.BINARY, b"ok") + wire)
        assert got == [b"ok"]
        assert not client.is_open  # failed at once, before any payload
        error = await within(client.wait_closed())
        assert isinstance(error, TransportError)
        assert str(code) in str(error)
        assert isinstance(error.__cause__, cause)
        assert got == [b"ok"]


@pytest.mark.parametrize(
    ("wire", "code", "cause"),
    [
        # A 64-bit length over max_message_size: refused on its header alone.
        (bytes((0x82, 127)) + (10**12).to_bytes(8, "big"), 1009, PayloadTooBig),
        (bytes((0x82, 126)) + (1001).to_bytes(2, "big"), 1009, PayloadTooBig),
        (bytes((0xC2, 5)) + b"12345", 1002, WebSocketsProtocolError),  # RSV1
        (bytes((0x82, 0x85)) + b"mask" + b"12345", 1002, WebSocketsProtocolError),  # masked
        (bytes((0x83, 1)) + b"x", 1002, WebSocketsProtocolError),  # reserved opcode
        (bytes((0x02, 1)) + b"x" + bytes((0x82, 1)) + b"y", 1002, WebSocketsProtocolError),
        (bytes((0x80, 1)) + b"x", 1002, WebSocketsProtocolError),  # continuation of nothing
    ],
)
@async_test
async def test_frames_to_refuse_fail_the_connection_as_websockets_does(
    wire: bytes, code: int, cause: type[Exception]
) -> None:
    await _fails_with(wire, code, cause)


@async_test
async def test_a_fragmented_message_counts_against_max_message_size() -> None:
    wire = _frame(Opcode.BINARY, b"x" * 600, fin=False) + _frame(Opcode.CONT, b"y" * 600)
    await _fails_with(wire, 1009, PayloadTooBig)


@async_test
async def test_eof_inside_a_frame_is_an_abnormal_close() -> None:
    async with serve(lambda: WebSocketChannel.server("c", ["msgpack"]), echo=False) as server:
        client = await connect(server.url("ws"), serializers=["msgpack"])
        assert isinstance(client, WebSocketChannel)
        got: list[bytes] = []
        client.set_receiver(got.append)
        client.data_received(_frame(Opcode.BINARY, b"whole") + _frame(Opcode.BINARY, b"half")[:4])
        assert client._inbuf
        client.eof_received()
        assert isinstance(client.protocol.parser_exc, EOFError)
        assert got == [b"whole"]
        client.abort()


@async_test
async def test_data_buffered_when_closing_goes_through_websockets() -> None:
    async with serve(lambda: WebSocketChannel.server("c", ["msgpack"]), echo=False) as server:
        client = await connect(server.url("ws"), serializers=["msgpack"])
        assert isinstance(client, WebSocketChannel)
        got: list[bytes] = []
        client.set_receiver(got.append)
        frame = _frame(Opcode.BINARY, b"in flight")
        client.data_received(frame[:5])
        client.close()  # CLOSING: websockets still delivers data frames
        client.data_received(frame[5:])
        assert got == [b"in flight"]
        assert not client._owned
        assert await within(client.wait_closed()) is None


@async_test
async def test_a_frame_split_right_after_the_handshake_is_not_lost() -> None:
    """websockets' parser holds the start of a frame: it keeps the stream until done."""
    message = b"x" * 300

    def split(peer: RawPeer, data: bytes) -> None:
        if peer.state.get("open"):
            if not peer.state.get("rest"):
                peer.state["rest"] = True
                peer.write(frame[4:] + _frame(Opcode.TEXT, b'"next"'))
            return
        accepted = websocket_accept(peer)
        if accepted is not None:
            peer.state["open"] = True
            peer.write(accepted[1] + frame[:4])  # the whole header, then nothing

    frame = _frame(Opcode.TEXT, message)
    async with raw_server(split) as server:
        client = await connect(server.url("ws"), serializers=["json"])
        assert isinstance(client, WebSocketChannel)
        assert not client._owned  # mid-frame, its buffer empty
        got: asyncio.Queue[bytes] = asyncio.Queue()
        client.set_receiver(got.put_nowait)
        client.send(b"[]")  # the script answers with the rest
        assert await within(got.get()) == message
        assert await within(got.get()) == b'"next"'
        assert client._owned
        client.abort()
