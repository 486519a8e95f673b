"""RawSocket sans-I/O state machine (autostrada.rawsocket): handshake, framing, PING/PONG.

Client and server are wired back to back in memory: what one queues is fed to the other.
"""

from __future__ import annotations

import ast
import itertools
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autostrada import rawsocket as rs
from autostrada.exceptions import InvalidState, ProtocolError
from autostrada.rawsocket import (
    HandshakeCompleted,
    HandshakeErrorCode,
    HandshakeRefused,
    MessageReceived,
    PingReceived,
    PongReceived,
    ProtocolViolation,
    RawSocketClient,
    RawSocketConnection,
    RawSocketServer,
    RawSocketState,
)

OPEN = RawSocketState.OPEN
FAILED = RawSocketState.FAILED


# --- helpers ------------------------------------------------------------------


def pump(sender: RawSocketConnection, receiver: RawSocketConnection) -> list[rs.Event]:
    """Move everything ``sender`` queued into ``receiver``; return its events."""
    return receiver.receive_data(sender.data_to_send())


def open_pair(
    serializer_id: int = 1,
    client_max: int = rs.DEFAULT_MAX_LENGTH,
    server_max: int = rs.DEFAULT_MAX_LENGTH,
) -> tuple[RawSocketClient, RawSocketServer]:
    client = RawSocketClient(serializer_id, max_length=client_max)
    server = RawSocketServer({1, 2, 3}, max_length=server_max)
    client.start()
    assert pump(client, server) == [HandshakeCompleted(serializer_id, client.max_length)]
    assert pump(server, client) == [HandshakeCompleted(serializer_id, server.max_length)]
    assert client.state is server.state is OPEN
    return client, server


def frame(frame_type: int, payload: bytes) -> bytes:
    return struct.pack(">I", (frame_type << 24) | len(payload)) + payload


def server_after_request(
    request: bytes, **kwargs: object
) -> tuple[RawSocketServer, list[rs.Event]]:
    server = RawSocketServer({1, 2}, **kwargs)  # type: ignore[arg-type]
    return server, server.receive_data(request)


def started_client(serializer_id: int = 1) -> RawSocketClient:
    client = RawSocketClient(serializer_id)
    client.start()
    client.data_to_send()
    return client


def assert_failed(conn: RawSocketConnection, events: list[rs.Event], words: str) -> None:
    assert conn.state is FAILED
    assert isinstance(events[-1], ProtocolViolation)
    assert events[-1].error is conn.error
    assert isinstance(conn.error, ProtocolError)
    assert words in str(conn.error)


# --- handshake ------------------------------------------------------------------


@pytest.mark.parametrize("serializer_id", [1, 2, 3, 4, 5, 15])
@pytest.mark.parametrize(
    ("client_max", "server_max"),
    [(512, 512), (1024, 2**24), (2**24, 65536), (2**20, 2**23)],
)
def test_handshake_succeeds(serializer_id: int, client_max: int, server_max: int) -> None:
    client = RawSocketClient(serializer_id, max_length=client_max)
    server = RawSocketServer(range(1, 16), max_length=server_max)
    client.start()
    request = client.data_to_send()
    exponent = client_max.bit_length() - 10
    assert request == bytes((0x7F, (exponent << 4) | serializer_id, 0, 0))
    assert client.state is RawSocketState.HANDSHAKE
    assert server.receive_data(request) == [HandshakeCompleted(serializer_id, client_max)]
    reply = server.data_to_send()
    assert reply == bytes((0x7F, ((server_max.bit_length() - 10) << 4) | serializer_id, 0, 0))
    assert client.receive_data(reply) == [HandshakeCompleted(serializer_id, server_max)]
    assert client.peer_max_length == server_max
    assert server.peer_max_length == client_max
    assert client.serializer_id == server.serializer_id == serializer_id
    assert client.error is None and server.error is None


def test_max_length_rounds_down_to_a_power_of_two() -> None:
    assert RawSocketClient(1, max_length=1000).max_length == 512
    assert RawSocketServer([1], max_length=2**24 - 1).max_length == 2**23
    assert RawSocketClient(1).max_length == rs.DEFAULT_MAX_LENGTH


def test_properties_before_handshake() -> None:
    client = RawSocketClient(3)
    server = RawSocketServer([3])
    assert client.state is RawSocketState.IDLE
    assert server.state is RawSocketState.HANDSHAKE
    assert client.peer_max_length is None and server.peer_max_length is None
    assert client.serializer_id == 3 and server.serializer_id is None
    assert client.data_to_send() == b"" and server.data_to_send() == b""


def test_handshake_byte_at_a_time_both_ways() -> None:
    client = RawSocketClient(2, max_length=4096)
    server = RawSocketServer([2], max_length=8192)
    client.start()
    request = client.data_to_send()
    events: list[rs.Event] = []
    for i in range(4):
        events += server.receive_data(request[i : i + 1])
        assert (server.state is OPEN) == (i == 3)
    assert events == [HandshakeCompleted(2, 4096)]
    reply = server.data_to_send()
    events = []
    for i in range(4):
        events += client.receive_data(reply[i : i + 1])
    assert events == [HandshakeCompleted(2, 8192)]


def test_frames_pipelined_behind_the_handshake() -> None:
    # A client may send frames right after its request; the server must not lose them.
    server = RawSocketServer([1], max_length=1024)
    data = b"\x7f\x01\x00\x00" + frame(0, b"[1]") + frame(1, b"ab") + frame(0, b"[2]")[:-1]
    assert server.receive_data(data) == [
        HandshakeCompleted(1, 512),
        MessageReceived(b"[1]"),
        PingReceived(b"ab"),
    ]
    assert server.data_to_send() == b"\x7f\x11\x00\x00" + frame(2, b"ab")
    assert server.receive_data(b"]") == [MessageReceived(b"[2]")]
    # And a client gets frames that arrive in the same chunk as the reply.
    client = started_client()
    assert client.receive_data(b"\x7f\x01\x00\x00" + frame(0, b"x")) == [
        HandshakeCompleted(1, 512),
        MessageReceived(b"x"),
    ]


@pytest.mark.parametrize(
    ("server_kwargs", "request_octets", "code"),
    [
        ({}, b"\x7f\xf3\x00\x00", HandshakeErrorCode.SERIALIZER_UNSUPPORTED),
        ({}, b"\x7f\xf0\x00\x00", HandshakeErrorCode.SERIALIZER_UNSUPPORTED),
        (
            {"min_peer_max_length": 2048},
            b"\x7f\x11\x00\x00",
            HandshakeErrorCode.MAX_LENGTH_UNACCEPTABLE,
        ),
        ({}, b"\x7f\xf1\x00\x01", HandshakeErrorCode.RESERVED_BITS_USED),
        ({}, b"\x7f\xf1\x80\x00", HandshakeErrorCode.RESERVED_BITS_USED),
    ],
)
def test_server_refuses(server_kwargs: dict[str, int], request_octets: bytes, code: int) -> None:
    server, events = server_after_request(request_octets + frame(0, b"ignored"), **server_kwargs)
    assert events == [HandshakeRefused(code, HandshakeErrorCode(code).reason)]
    assert server.state is RawSocketState.REFUSED
    reply = server.data_to_send()
    assert reply == bytes((0x7F, code << 4, 0, 0))
    # The client learns why, with the same code.
    client = started_client(request_octets[1] & 0x0F or 1)
    assert client.receive_data(reply) == [HandshakeRefused(code, HandshakeErrorCode(code).reason)]
    assert client.state is RawSocketState.REFUSED
    assert client.error is None
    assert server.receive_data(b"\x7f\x01\x00\x00") == []


def test_min_peer_max_length_accepts_at_the_boundary() -> None:
    server, events = server_after_request(b"\x7f\x21\x00\x00", min_peer_max_length=2048)
    assert events == [HandshakeCompleted(1, 2048)]
    assert server.state is OPEN


@pytest.mark.parametrize("code", list(HandshakeErrorCode)[1:])
def test_every_refusal_code_end_to_end(code: HandshakeErrorCode) -> None:
    client = RawSocketClient(1)
    server = RawSocketServer([1])
    server.refuse(code)  # the driver decides, e.g. too many connections
    client.start()
    assert pump(client, server) == [HandshakeRefused(code, code.reason)]
    events = pump(server, client)
    assert events == [HandshakeRefused(code, code.reason)]
    assert isinstance(events[0], HandshakeRefused)
    assert type(events[0].code) is HandshakeErrorCode
    assert client.state is server.state is RawSocketState.REFUSED
    with pytest.raises(InvalidState, match="refused"):
        client.send_message(b"x")


def test_refusal_takes_precedence_and_waits_for_the_request() -> None:
    server = RawSocketServer([1])
    server.refuse(HandshakeErrorCode.MAX_CONNECTION_COUNT_REACHED)
    assert server.data_to_send() == b""  # the spec has the router read the request first
    assert server.receive_data(b"\x7f\x1f") == []
    events = server.receive_data(b"\x00\x00")
    assert events == [HandshakeRefused(4, "maximum connection count reached")]
    assert server.data_to_send() == b"\x7f\x40\x00\x00"


def test_client_reports_reserved_error_codes_as_refusals() -> None:
    for code in range(5, 16):
        client = started_client()
        events = client.receive_data(bytes((0x7F, code << 4, 0, 0)))
        assert events == [
            HandshakeRefused(code, f"reserved error code {code} (not defined by the spec)")
        ]
        assert client.state is RawSocketState.REFUSED


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (b"\x7f\x00\x00\x00", "illegal error code 0"),
        (b"\x7f\x02\x00\x00", "serializer 2 (msgpack), not the requested 1 (json)"),
        (b"\x7f\x09\x00\x00", "serializer 9 (undefined)"),
        (b"\x7f\x01\x00\x01", "reserved octets"),
        (b"\x7f\x10\xff\x00", "reserved octets"),
        (b"GET / HTTP/1.1\r\n", "not the magic 0x7f"),
    ],
)
def test_client_fails_on_a_bad_reply(reply: bytes, words: str) -> None:
    client = started_client()
    events = client.receive_data(reply)
    assert len(events) == 1
    assert_failed(client, events, words)
    assert client.receive_data(b"\x7f\x01\x00\x00") == []


def test_server_fails_at_the_first_wrong_octet() -> None:
    server = RawSocketServer([1])
    events = server.receive_data(b"G")  # an HTTP request on a RawSocket-only port
    assert_failed(server, events, "starts with 0x47")
    assert server.data_to_send() == b""  # no reply: "the Router MUST fail the connection"
    assert server.receive_data(b"ET / HTTP/1.1\r\n") == []
    # The check also applies to a first octet arriving after an empty chunk.
    server = RawSocketServer([1])
    assert server.receive_data(b"") == []
    assert_failed(server, server.receive_data(b"\x00\x01"), "starts with 0x00")


def test_is_rawsocket() -> None:
    assert rs.is_rawsocket(b"\x7f")
    assert rs.is_rawsocket(bytearray(b"\x7f\x01\x00\x00"))
    assert not rs.is_rawsocket(b"GET / HTTP/1.1")
    assert not rs.is_rawsocket(memoryview(b"\x16\x03\x01"))  # a TLS ClientHello
    with pytest.raises(ValueError, match="empty"):
        rs.is_rawsocket(b"")


def test_refusal_reason() -> None:
    assert rs.refusal_reason(1) == "serializer unsupported"
    assert rs.refusal_reason(HandshakeErrorCode.RESERVED_BITS_USED) == (
        "use of reserved bits (unsupported feature)"
    )
    assert rs.refusal_reason(0) == "illegal (must not be used)"
    assert rs.refusal_reason(9) == "reserved error code 9 (not defined by the spec)"


# --- local misuse raises ----------------------------------------------------------


@pytest.mark.parametrize("bad", [0, 16, -1, True, "json", 1.0, None])
def test_bad_serializer_ids(bad: object) -> None:
    with pytest.raises(ValueError, match="serializer_id must be"):
        RawSocketClient(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="serializer_ids must be"):
        RawSocketServer([1, bad])  # type: ignore[list-item]


def test_empty_serializer_set() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RawSocketServer([])


@pytest.mark.parametrize("bad", [511, 2**24 + 1, 0, True, 1024.0, "big"])
def test_bad_max_lengths(bad: object) -> None:
    with pytest.raises(ValueError, match=r"^max_length must be an int in 512\.\.16777216"):
        RawSocketClient(1, max_length=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^max_length"):
        RawSocketServer([1], max_length=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^min_peer_max_length"):
        RawSocketServer([1], min_peer_max_length=bad)  # type: ignore[arg-type]


def test_sending_before_the_handshake_raises() -> None:
    client = RawSocketClient(1)
    with pytest.raises(InvalidState, match=r"send_message: .* idle, not open"):
        client.send_message(b"x")
    client.start()
    with pytest.raises(InvalidState, match=r"send_ping: .* handshake, not open"):
        client.send_ping()
    server = RawSocketServer([1])
    with pytest.raises(InvalidState, match="handshake, not open"):
        server.send_message(b"x")
    assert server.data_to_send() == b""


def test_receive_before_start_raises() -> None:
    with pytest.raises(InvalidState, match="start"):
        RawSocketClient(1).receive_data(b"\x7f")


def test_start_twice_raises() -> None:
    client = RawSocketClient(1)
    client.start()
    with pytest.raises(InvalidState, match=r"start: .* handshake"):
        client.start()
    assert client.data_to_send() == b"\x7f\xf1\x00\x00"


def test_refuse_misuse() -> None:
    server = RawSocketServer([1])
    for bad in (0, 5, 15, -1, "x"):
        with pytest.raises(ValueError, match="refuse: code"):
            server.refuse(bad)  # type: ignore[arg-type]
    _, server = open_pair()
    with pytest.raises(InvalidState, match=r"refuse: .* open"):
        server.refuse(HandshakeErrorCode.SERIALIZER_UNSUPPORTED)


def test_payload_type_is_checked() -> None:
    client, _ = open_pair()
    with pytest.raises(TypeError, match="send_message: payload must be bytes, got str"):
        client.send_message("[1]")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="send_ping: payload must be bytes, got int"):
        client.send_ping(3)  # type: ignore[arg-type]
    assert client.data_to_send() == b""


def test_bytes_like_payloads_are_copied() -> None:
    client, server = open_pair()
    buffer = bytearray(b"abc")
    client.send_message(buffer)
    client.send_message(memoryview(b"defg")[1:])
    client.send_ping(bytearray(b"p"))
    buffer[0] = ord("X")  # the caller reuses its buffer; what was queued must not change
    assert pump(client, server) == [
        MessageReceived(b"abc"),
        MessageReceived(b"efg"),
        PingReceived(b"p"),
    ]


# --- messages and max lengths -------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 511, 512])
def test_message_sizes_up_to_the_maximum(size: int) -> None:
    client, server = open_pair(client_max=512, server_max=512)
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    client.send_message(payload)
    server.send_message(payload)
    wire = client.data_to_send()
    assert wire[:4] == struct.pack(">I", size)
    assert server.receive_data(wire) == [MessageReceived(payload)]
    assert pump(server, client) == [MessageReceived(payload)]


def test_sending_more_than_the_peer_accepts_raises() -> None:
    client, server = open_pair(client_max=1024, server_max=512)
    with pytest.raises(
        ValueError, match="513 octets exceeds the peer's maximum message length of 512"
    ):
        client.send_message(b"x" * 513)
    server.send_message(b"x" * 1024)  # the client accepts more
    with pytest.raises(ValueError, match=r"1025 octets .* 1024"):
        server.send_message(b"x" * 1025)
    assert client.data_to_send() == b""
    assert client.state is OPEN  # local misuse does not end the connection


def test_receiving_an_oversize_header_fails_before_the_payload() -> None:
    _, server = open_pair(server_max=512)
    events = server.receive_data(frame(0, b"ok") + struct.pack(">I", 513))
    assert events[0] == MessageReceived(b"ok")
    assert_failed(server, events, "frame of 513 octets exceeds our maximum of 512")
    assert server.receive_data(b"x" * 513) == []
    # Even a claim of 16M octets fails at once, after four octets.
    _, server = open_pair(server_max=512)
    assert_failed(server, server.receive_data(b"\x00\xff\xff\xff"), "16777215 octets")


def test_pings_and_pongs_count_against_the_maximum() -> None:
    _, server = open_pair(server_max=512)
    assert_failed(server, server.receive_data(frame(1, b"p" * 513)), "513 octets")
    _, server = open_pair(server_max=512)
    assert_failed(server, server.receive_data(frame(2, b"p" * 513)), "513 octets")


def test_sixteen_mebibyte_message_uses_the_x_bit() -> None:
    # "Framing": X is the 25th length bit, set only for exactly 2**24 octets.
    client, server = open_pair(client_max=2**24, server_max=2**24)
    payload = b"\xab" * 2**24
    client.send_message(payload)
    wire = client.data_to_send()
    assert wire[:4] == b"\x08\x00\x00\x00"
    assert server.receive_data(wire) == [MessageReceived(payload)]
    with pytest.raises(ValueError, match="16777217 octets"):
        client.send_message(payload + b"!")


def test_x_bit_frames_of_every_type_parse() -> None:
    # A small maximum length still fails the connection on the X bit alone (2**24 > 512).
    _, server = open_pair(server_max=512)
    assert_failed(server, server.receive_data(b"\x09\x00\x00\x00"), "16777216 octets")
    # X with nonzero length bits would mean more than 2**24: not a valid prefix.
    _, server = open_pair()
    assert_failed(server, server.receive_data(b"\x08\x00\x00\x01"), "X with a nonzero length")


@pytest.mark.parametrize("first_octet", [0x10, 0x20, 0x40, 0x80, 0xF0, 0x11, 0x18])
def test_reserved_bits_in_a_frame_fail(first_octet: int) -> None:
    client, server = open_pair()
    events = server.receive_data(bytes((first_octet, 0, 0, 1)) + b"x")
    assert_failed(
        server, events, f"reserved bits set in frame prefix (first octet 0x{first_octet:02x})"
    )
    assert client.state is OPEN


@pytest.mark.parametrize("frame_type", [3, 4, 5, 6, 7])
def test_unknown_frame_types_fail(frame_type: int) -> None:
    client, _ = open_pair()
    events = client.receive_data(frame(0, b"a") + frame(frame_type, b"zz") + frame(0, b"b"))
    assert events[0] == MessageReceived(b"a")
    assert len(events) == 2
    assert_failed(client, events, f"frame type {frame_type} is reserved")


def test_input_after_failure_is_ignored_and_sending_raises() -> None:
    _, server = open_pair()
    server.send_message(b"queued before")
    assert_failed(server, server.receive_data(b"\x03\x00\x00\x00"), "frame type 3")
    for data in (frame(0, b"x"), b"\x7f\x01\x00\x00", b"\xff" * 10, b""):
        assert server.receive_data(data) == []
    assert server.state is FAILED
    with pytest.raises(InvalidState, match="failed, not open"):
        server.send_message(b"x")
    with pytest.raises(InvalidState, match="failed"):
        server.send_ping()
    # What was queued before the failure is still there for the driver to flush.
    assert server.data_to_send() == frame(0, b"queued before")
    server.close()
    assert server.state is FAILED  # close() does not hide the failure


def test_close() -> None:
    client, _ = open_pair()
    client.receive_data(b"\x00\x00")  # half a prefix pending
    client.close()
    assert client.state is RawSocketState.CLOSED
    client.close()  # idempotent
    assert client.state is RawSocketState.CLOSED
    assert client.receive_data(b"\x00\x01x") == []
    with pytest.raises(InvalidState, match="closed, not open"):
        client.send_message(b"x")
    for conn in (RawSocketClient(1), RawSocketServer([1])):
        conn.close()
        assert conn.state is RawSocketState.CLOSED
    refused = started_client()
    refused.receive_data(b"\x7f\x10\x00\x00")
    refused.close()
    assert refused.state is RawSocketState.REFUSED


# --- PING / PONG ------------------------------------------------------------------


def test_ping_is_answered_with_an_exact_echo() -> None:
    client, server = open_pair()
    client.send_ping(b"\x00keepalive\xff")
    client.send_ping()
    wire = client.data_to_send()
    assert wire == frame(1, b"\x00keepalive\xff") + frame(1, b"")
    assert server.receive_data(wire) == [PingReceived(b"\x00keepalive\xff"), PingReceived(b"")]
    pong = server.data_to_send()
    assert pong == frame(2, b"\x00keepalive\xff") + frame(2, b"")
    assert client.receive_data(pong) == [PongReceived(b"\x00keepalive\xff"), PongReceived(b"")]
    assert client.data_to_send() == b""  # a PONG is not answered


def test_pong_is_queued_in_order_with_messages() -> None:
    client, server = open_pair()
    server.send_message(b"before")
    server.receive_data(frame(1, b"p"))
    server.send_message(b"after")
    assert pump(server, client) == [
        MessageReceived(b"before"),
        PongReceived(b"p"),
        MessageReceived(b"after"),
    ]


def test_send_ping_respects_both_maximum_lengths() -> None:
    client, server = open_pair(client_max=512, server_max=1024)
    with pytest.raises(
        ValueError, match=r"513 octets exceeds 512, the smaller of the peer's \(1024\)"
    ):
        client.send_ping(b"p" * 513)  # its echo would be too long for us
    with pytest.raises(ValueError, match=r"exceeds 512, the smaller of the peer's \(512\)"):
        server.send_ping(b"p" * 513)
    client.send_ping(b"p" * 512)
    assert pump(client, server) == [PingReceived(b"p" * 512)]
    assert pump(server, client) == [PongReceived(b"p" * 512)]


def test_ping_whose_echo_the_peer_cannot_accept_fails() -> None:
    # The client announced 512 but sends a 600-octet PING: the PONG cannot be sent.
    _, server = open_pair(client_max=512, server_max=1024)
    events = server.receive_data(frame(1, b"p" * 600) + frame(0, b"later"))
    assert events == [ProtocolViolation(server.error)]  # type: ignore[arg-type]
    assert_failed(server, events, "PING of 600 octets cannot be echoed")
    assert server.data_to_send() == b""
    # At exactly the client's maximum the echo still fits; one more octet does not.
    _, server = open_pair(client_max=512, server_max=1024)
    assert server.receive_data(frame(1, b"e" * 512)) == [PingReceived(b"e" * 512)]
    assert server.data_to_send() == frame(2, b"e" * 512)
    assert_failed(server, server.receive_data(frame(1, b"e" * 513)), "PING of 513 octets")


# --- fragmentation --------------------------------------------------------------------


def test_many_frames_in_one_chunk_and_a_split_tail() -> None:
    _, server = open_pair()
    payloads = [b"m%d" % i for i in range(100)]
    wire = b"".join(frame(0, p) for p in payloads)
    events = server.receive_data(wire + frame(0, b"tail")[:6])
    assert events == [MessageReceived(p) for p in payloads]
    assert server.receive_data(b"") == []
    assert server.receive_data(b"il") == [MessageReceived(b"tail")]


def test_large_message_in_many_chunks() -> None:
    client, server = open_pair(server_max=2**20)
    payload = bytes(range(256)) * 4096  # 1 MiB
    client.send_message(payload)
    client.send_message(b"next")
    wire = client.data_to_send()
    events: list[rs.Event] = []
    for i in range(0, len(wire), 1000):
        events += server.receive_data(memoryview(wire)[i : i + 1000])
    assert events == [MessageReceived(payload), MessageReceived(b"next")]


def test_byte_at_a_time_frames() -> None:
    client, server = open_pair()
    client.send_message(b"[1,2]")
    client.send_ping(b"p")
    client.send_message(b"")
    wire = client.data_to_send()
    events: list[rs.Event] = []
    for i in range(len(wire)):
        events += server.receive_data(wire[i : i + 1])
    assert events == [MessageReceived(b"[1,2]"), PingReceived(b"p"), MessageReceived(b"")]
    assert pump(server, client) == [PongReceived(b"p")]


def test_module_does_no_io() -> None:
    tree = ast.parse(Path(rs.__file__).read_text())
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        )
    }
    assert imported
    assert not imported & {"asyncio", "socket", "ssl", "selectors", "time"}


# --- properties -----------------------------------------------------------------------


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


_frames = st.lists(
    st.tuples(st.sampled_from(["message", "ping"]), st.binary(max_size=512)),
    max_size=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    serializer_id=st.integers(1, 15),
    items=_frames,
    cuts=st.lists(st.integers(0, 10_000), max_size=20),
)
def test_any_messages_any_chunking_round_trip(
    serializer_id: int, items: list[tuple[str, bytes]], cuts: list[int]
) -> None:
    client = RawSocketClient(serializer_id, max_length=1024)
    server = RawSocketServer(range(1, 16), max_length=1024)
    client.start()
    request = client.data_to_send()
    for item_kind, payload in items:
        # The handshake happens first, so queue the frames by hand behind the request.
        request += frame(0 if item_kind == "message" else 1, payload)
    events: list[rs.Event] = []
    for chunk in split(request, cuts):
        events += server.receive_data(chunk)
    expected: list[rs.Event] = [HandshakeCompleted(serializer_id, 1024)]
    expected += [MessageReceived(p) if k == "message" else PingReceived(p) for k, p in items]
    assert events == expected
    # The reply and the PONGs, chunked the same way, reach the client.
    for payload in (p for k, p in items if k == "message"):
        server.send_message(payload)
    events = []
    for chunk in split(server.data_to_send(), cuts):
        events += client.receive_data(chunk)
    assert events[0] == HandshakeCompleted(serializer_id, 1024)
    pongs = [PongReceived(p) for k, p in items if k == "ping"]
    messages = [MessageReceived(p) for k, p in items if k == "message"]
    assert events[1:] == pongs + messages
    # Now through the public API, client to server, with the lengths at their limits.
    for kind, payload in items:
        if kind == "message":
            client.send_message(payload * 2)
        else:
            client.send_ping(payload)
    events = []
    for chunk in split(client.data_to_send(), cuts[::-1]):
        events += server.receive_data(chunk)
    assert events == [
        MessageReceived(p * 2) if k == "message" else PingReceived(p) for k, p in items
    ]
    assert client.state is server.state is OPEN


def check_never_raises(conn: RawSocketConnection, chunks: list[bytes]) -> None:
    events: list[rs.Event] = []
    for chunk in chunks:
        before = conn.state
        new = conn.receive_data(chunk)
        if before in (FAILED, RawSocketState.REFUSED):
            assert new == []
        events += new
    violations = [e for e in events if isinstance(e, ProtocolViolation)]
    if conn.state is FAILED:
        assert violations == [events[-1]]
        assert isinstance(conn.error, ProtocolError)
    else:
        assert violations == [] and conn.error is None
    conn.data_to_send()


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=10))
def test_arbitrary_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    client = RawSocketClient(1, max_length=512)
    client.start()
    check_never_raises(client, split(data, cuts))
    check_never_raises(RawSocketServer([1, 2], max_length=512), split(data, cuts))
    # And after a valid handshake, so the framing layer sees the random bytes.
    for conn in open_pair(client_max=512, server_max=512):
        check_never_raises(conn, split(data, cuts))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(min_size=2, max_size=40), cuts=st.lists(st.integers(0, 40), max_size=6))
def test_valid_magic_then_arbitrary_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    # Past the magic octet so the rest of the handshake parsing is explored too.
    data = b"\x7f" + data
    client = RawSocketClient(1, max_length=512)
    client.start()
    check_never_raises(client, split(data, cuts))
    check_never_raises(RawSocketServer([1, 2], max_length=512), split(data, cuts))
