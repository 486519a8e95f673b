"""WAMP-over-RawSocket as a sans-I/O state machine: handshake, framing, PING/PONG.

Spec: Advanced Profile, "RawSocket Transport" (advanced/transport_rawsocket.md).

Nothing here does I/O. A driver feeds the bytes it read to :meth:`receive_data`,
acts on the events it gets back, and writes whatever :meth:`data_to_send` returns::

    conn = RawSocketClient(serializer_id=2, max_length=2**20)  # msgpack
    conn.start()
    transport.write(conn.data_to_send())
    ...
    for event in conn.receive_data(chunk):  # on every chunk read
        if isinstance(event, MessageReceived):
            handle(serializer.decode(event.payload))
        elif isinstance(event, (HandshakeRefused, ProtocolViolation)):
            close_after_flush = True
    transport.write(conn.data_to_send())  # e.g. the PONG answering a PING

Errors come in two kinds, never mixed (DESIGN.md §3):

* local misuse (sending before the handshake completed, a message longer than the
  peer accepts, a bad argument) raises :class:`~autostrada.exceptions.InvalidState`,
  :class:`ValueError` or :class:`TypeError` at once;
* anything the peer sent that the spec forbids is returned as a
  :class:`ProtocolViolation` event, stored in :attr:`RawSocketConnection.error`, and
  the connection goes to :attr:`RawSocketState.FAILED`; later input is ignored.
  :meth:`receive_data` never raises for peer input.

One TCP port may serve both WebSocket and RawSocket: the first octet of a RawSocket
connection is ``0x7F``, which no HTTP request can start with (see :func:`is_rawsocket`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Final, TypeAlias, cast

from .exceptions import InvalidState, ProtocolError

__all__ = [
    "MAGIC",
    "MIN_MAX_LENGTH",
    "MAX_MAX_LENGTH",
    "DEFAULT_MAX_LENGTH",
    "FrameType",
    "HandshakeErrorCode",
    "RawSocketState",
    "HandshakeCompleted",
    "HandshakeRefused",
    "MessageReceived",
    "PingReceived",
    "PongReceived",
    "ProtocolViolation",
    "Event",
    "RawSocketConnection",
    "RawSocketClient",
    "RawSocketServer",
    "is_rawsocket",
    "refusal_reason",
]

MAGIC: Final = 0x7F
"""First octet of every handshake request and reply (chosen so no HTTP request matches)."""

MIN_MAX_LENGTH: Final = 2**9
"""Smallest maximum message length a peer can announce (``LENGTH`` field 0)."""

MAX_MAX_LENGTH: Final = 2**24
"""Largest maximum message length a peer can announce (``LENGTH`` field 15)."""

DEFAULT_MAX_LENGTH: Final = 2**24
"""The maximum message length we announce unless told otherwise."""

# The spec's serializer ids, used only to make messages readable; any id 1..15 works.
_SERIALIZER_NAMES: Final = {1: "json", 2: "msgpack", 3: "cbor", 4: "ubjson", 5: "flatbuffers"}

# "Framing": a 4-octet big-endian prefix RRRR XTTT LLLL... . The X bit (0x08 in the
# first octet) is the 25th length bit, set only for a payload of exactly 2**24 octets.
_HEADER: Final = struct.Struct(">I")
_LENGTH_MASK: Final = 0xFFFFFF
_X_BIT: Final = 0x08
_RESERVED_BITS: Final = 0xF0


class FrameType(IntEnum):
    """The ``TTT`` field of a frame prefix ("Framing"); 3-7 are reserved."""

    MESSAGE = 0
    PING = 1
    PONG = 2


class HandshakeErrorCode(IntEnum):
    """Error codes of a refusing handshake reply (``EEEE``; "Router-to-Client Reply").

    Codes 5-15 are reserved for future errors; a reply carrying one is still reported
    as a refusal, with the bare int as its code.
    """

    ILLEGAL = 0
    """Must not be used (0 means "no error" in implementations)."""
    SERIALIZER_UNSUPPORTED = 1
    MAX_LENGTH_UNACCEPTABLE = 2
    RESERVED_BITS_USED = 3
    MAX_CONNECTION_COUNT_REACHED = 4

    @property
    def reason(self) -> str:
        """The spec's wording for this code."""
        return _ERROR_REASONS[self]


_ERROR_REASONS: Final = {
    HandshakeErrorCode.ILLEGAL: "illegal (must not be used)",
    HandshakeErrorCode.SERIALIZER_UNSUPPORTED: "serializer unsupported",
    HandshakeErrorCode.MAX_LENGTH_UNACCEPTABLE: "maximum message length unacceptable",
    HandshakeErrorCode.RESERVED_BITS_USED: "use of reserved bits (unsupported feature)",
    HandshakeErrorCode.MAX_CONNECTION_COUNT_REACHED: "maximum connection count reached",
}


def refusal_reason(code: int) -> str:
    """Return a readable reason for a handshake error code, including reserved ones."""
    if code in _ERROR_REASONS:
        return HandshakeErrorCode(code).reason
    return f"reserved error code {code} (not defined by the spec)"


class RawSocketState(Enum):
    """Where a RawSocket connection stands."""

    IDLE = "idle"
    """Client only: :meth:`RawSocketClient.start` not called yet."""
    HANDSHAKE = "handshake"
    """Waiting for the peer's handshake (client: the reply; server: the request)."""
    OPEN = "open"
    """Handshake done: messages and PING/PONG flow both ways."""
    REFUSED = "refused"
    """The router refused the handshake (the server sent, or the client got, an error)."""
    CLOSED = "closed"
    """Closed locally by :meth:`RawSocketConnection.close`."""
    FAILED = "failed"
    """The peer broke the protocol; :attr:`RawSocketConnection.error` says how."""


class _Trigger(Enum):
    START = "start"
    ACCEPT = "accept"
    REFUSE = "refuse"
    VIOLATION = "violation"
    CLOSE = "close"


_S = RawSocketState
# Every state change, in one place. A pair missing here is a bug (or, for the
# public methods, a misuse checked before the transition is attempted).
_TRANSITIONS: Final[dict[tuple[RawSocketState, _Trigger], RawSocketState]] = {
    (_S.IDLE, _Trigger.START): _S.HANDSHAKE,
    (_S.IDLE, _Trigger.CLOSE): _S.CLOSED,
    (_S.HANDSHAKE, _Trigger.ACCEPT): _S.OPEN,
    (_S.HANDSHAKE, _Trigger.REFUSE): _S.REFUSED,
    (_S.HANDSHAKE, _Trigger.VIOLATION): _S.FAILED,
    (_S.HANDSHAKE, _Trigger.CLOSE): _S.CLOSED,
    (_S.OPEN, _Trigger.VIOLATION): _S.FAILED,
    (_S.OPEN, _Trigger.CLOSE): _S.CLOSED,
}
_TERMINAL: Final = frozenset({_S.REFUSED, _S.CLOSED, _S.FAILED})


# --- events -----------------------------------------------------------------
# Plain slotted dataclasses (not frozen): one is built per received frame, and a
# frozen dataclass costs about twice as much to construct.


@dataclass(slots=True)
class HandshakeCompleted:
    """The handshake succeeded.

    Attributes:
        serializer_id: the serializer both sides now use (1 JSON, 2 MessagePack, 3 CBOR, ...).
        peer_max_length: the longest message the peer accepts; longer ones cannot be sent.
    """

    serializer_id: int
    peer_max_length: int


@dataclass(slots=True)
class HandshakeRefused:
    """The router refused the handshake: the client got, or the server sent, an error reply.

    The connection is over; a server's driver should flush :meth:`data_to_send`
    (the error reply) and then close.

    Attributes:
        code: a :class:`HandshakeErrorCode`, or a bare int for a reserved code (5-15).
        reason: readable text for the code.
    """

    code: int
    reason: str


@dataclass(slots=True)
class MessageReceived:
    """A complete WAMP message arrived.

    Attributes:
        payload: the serialized message, to be decoded by the negotiated serializer.
    """

    payload: bytes


@dataclass(slots=True)
class PingReceived:
    """The peer sent a PING; the PONG echoing it is already queued in :meth:`data_to_send`.

    Attributes:
        payload: the PING's payload.
    """

    payload: bytes


@dataclass(slots=True)
class PongReceived:
    """The peer answered a PING.

    Attributes:
        payload: the PONG's payload, which echoes the PING it answers.
    """

    payload: bytes


@dataclass(slots=True)
class ProtocolViolation:
    """The peer broke the RawSocket protocol; the connection has failed and must be closed.

    Attributes:
        error: the exception describing what was wrong (also stored in ``conn.error``).
    """

    error: ProtocolError


Event: TypeAlias = (
    HandshakeCompleted
    | HandshakeRefused
    | MessageReceived
    | PingReceived
    | PongReceived
    | ProtocolViolation
)
"""Anything :meth:`RawSocketConnection.receive_data` returns."""


# --- helpers -----------------------------------------------------------------


def is_rawsocket(prefix: bytes | bytearray | memoryview) -> bool:
    """Tell from the first octet(s) a client sent whether it speaks RawSocket.

    For a port serving both WebSocket and RawSocket ("Handshake: Client-to-Router
    Request"): ``0x7F`` cannot start an HTTP request. Feed the same bytes, unchanged,
    to :meth:`RawSocketServer.receive_data` afterwards.

    Args:
        prefix: at least the first octet received on the connection.

    Raises:
        ValueError: ``prefix`` is empty, so nothing can be told yet.
    """
    if len(prefix) == 0:
        raise ValueError("is_rawsocket: prefix is empty; need at least one octet")
    return bool(prefix[0] == MAGIC)


def _length_exponent(name: str, max_length: int) -> int:
    """Return the ``LENGTH`` field announcing the largest 2**(9+x) <= ``max_length``."""
    if type(max_length) is not int or not MIN_MAX_LENGTH <= max_length <= MAX_MAX_LENGTH:
        raise ValueError(
            f"{name} must be an int in {MIN_MAX_LENGTH}..{MAX_MAX_LENGTH}, got {max_length!r}"
        )
    return max_length.bit_length() - 10


def _check_serializer_id(name: str, value: object) -> int:
    if type(value) is not int or not 1 <= value <= 15:
        raise ValueError(f"{name} must be a serializer id in 1..15, got {value!r}")
    return value


def _serializer_name(serializer_id: int) -> str:
    name = _SERIALIZER_NAMES.get(serializer_id, "undefined")
    return f"{serializer_id} ({name})"


def _frame_header(frame_type: int, length: int) -> bytes:
    # "Framing": a length of exactly 2**24 sets X and leaves the 24 L bits clear.
    return _HEADER.pack((frame_type << 24) | ((length >> 24) << 27) | (length & _LENGTH_MASK))


def _as_bytes(method: str, payload: object) -> bytes:
    if type(payload) is bytes:
        return payload
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)  # a copy: the caller may reuse its buffer
    raise TypeError(f"{method}: payload must be bytes, got {type(payload).__name__}")


# --- the state machine ---------------------------------------------------------


class RawSocketConnection:
    """What client and server share: state, framing, PING/PONG, the output queue.

    Use :class:`RawSocketClient` or :class:`RawSocketServer`; they differ only in
    the handshake.

    Args:
        max_length: the longest message we accept, announced to the peer. Rounded
            down to a power of two (the handshake can only express 2**9 .. 2**24).
            A frame announcing more fails the connection before any of its payload
            is buffered, so this bounds the memory one connection can make us hold.
    """

    __slots__ = (
        "_buffer",
        "_error",
        "_length_exponent",
        "_max_length",
        "_outgoing",
        "_peer_max_length",
        "_serializer_id",
        "state",
    )

    def __init__(self, max_length: int, initial_state: RawSocketState) -> None:
        self._length_exponent = _length_exponent("max_length", max_length)
        self._max_length = 1 << (self._length_exponent + 9)
        # The current state (read it; the connection's methods change it). A plain
        # attribute: drivers read it once per message sent.
        self.state = initial_state
        self._buffer = bytearray()  # received octets not yet consumed
        self._outgoing: list[bytes] = []
        self._serializer_id: int | None = None
        self._peer_max_length = 0  # 0 until the handshake completes
        self._error: ProtocolError | None = None

    # --- introspection ---

    @property
    def max_length(self) -> int:
        """The longest message we accept (what we announce in the handshake)."""
        return self._max_length

    @property
    def peer_max_length(self) -> int | None:
        """The longest message the peer accepts; ``None`` until the handshake completes."""
        return self._peer_max_length or None

    @property
    def serializer_id(self) -> int | None:
        """The serializer id requested (client) or negotiated (server, once known)."""
        return self._serializer_id

    @property
    def error(self) -> ProtocolError | None:
        """What the peer did wrong, once the connection has failed; else ``None``."""
        return self._error

    # --- state changes ---

    def _transition(self, trigger: _Trigger) -> None:
        self.state = _TRANSITIONS[self.state, trigger]

    def _fail(self, message: str) -> ProtocolViolation:
        """Record a peer violation: store the error, enter FAILED, return the event."""
        error = ProtocolError(f"RawSocket: {message}")
        self._error = error
        self._transition(_Trigger.VIOLATION)
        return ProtocolViolation(error)

    def close(self) -> None:
        """Mark the connection closed locally; later input is ignored, sending raises.

        RawSocket has no closing handshake: the driver just closes the stream
        (after writing what :meth:`data_to_send` still holds). Idempotent, and a
        no-op once the connection was refused or failed.
        """
        if self.state not in _TERMINAL:
            self._transition(_Trigger.CLOSE)
            self._buffer.clear()

    # --- bytes out ---

    def data_to_send(self) -> bytes:
        """Return (and forget) all bytes queued for the peer; ``b""`` when there are none."""
        outgoing = self._outgoing
        if not outgoing:
            return b""
        data = outgoing[0] if len(outgoing) == 1 else b"".join(outgoing)
        outgoing.clear()
        return data

    def _not_open(self, method: str) -> InvalidState:
        return InvalidState(f"{method}: the RawSocket connection is {self.state.value}, not open")

    def send_message(self, payload: bytes | bytearray | memoryview) -> None:
        """Queue a serialized WAMP message for sending.

        Args:
            payload: the message as the negotiated serializer produced it.

        Raises:
            InvalidState: the handshake has not completed, or the connection is over.
            ValueError: the payload is longer than the peer accepts ("Serialization":
                such a message cannot be sent; what to do instead is the caller's call).
            TypeError: the payload is not bytes-like.
        """
        # The hot path: kept free of helper calls for the common bytes payload.
        if self.state is not RawSocketState.OPEN:
            raise self._not_open("send_message")
        data = payload if type(payload) is bytes else _as_bytes("send_message", payload)
        length = len(data)
        if length > self._peer_max_length:
            raise ValueError(
                f"send_message: payload of {length} octets exceeds the peer's "
                f"maximum message length of {self._peer_max_length}"
            )
        header = _HEADER.pack(length) if length <= _LENGTH_MASK else _frame_header(0, length)
        self._outgoing += (header, data)

    def send_ping(self, payload: bytes | bytearray | memoryview = b"") -> None:
        """Queue a PING; the peer must answer with a PONG echoing ``payload``.

        Keepalive timing belongs to the driver: it sends a PING (an opaque payload,
        e.g. a counter, lets it match the answer) and waits for the
        :class:`PongReceived` event carrying the same payload.

        Raises:
            InvalidState: the handshake has not completed, or the connection is over.
            ValueError: the payload is longer than the peer accepts, or longer than we
                accept (its echo would then fail our own connection).
            TypeError: the payload is not bytes-like.
        """
        if self.state is not RawSocketState.OPEN:
            raise self._not_open("send_ping")
        peer_max = self._peer_max_length
        data = _as_bytes("send_ping", payload)
        limit = min(peer_max, self._max_length)
        if len(data) > limit:
            raise ValueError(
                f"send_ping: payload of {len(data)} octets exceeds {limit}, the smaller "
                f"of the peer's ({peer_max}) and our ({self._max_length}) maximum length"
            )
        self._outgoing += (_frame_header(FrameType.PING, len(data)), data)

    # --- bytes in ---

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[Event]:
        """Consume bytes read from the peer; return the events they complete.

        Input may be split anywhere and several frames may come in one chunk. After
        the connection has been refused, failed or closed, input is ignored.
        Anything queued meanwhile (the handshake reply, PONGs) is in :meth:`data_to_send`.

        Args:
            data: the next bytes read from the stream (copied as needed, never kept).

        Returns:
            The events, in wire order; a :class:`ProtocolViolation`, if any, is last.

        Raises:
            InvalidState: called on a client before :meth:`RawSocketClient.start`
                (a driver bug; peer input never makes this method raise).
        """
        return cast("list[Event]", self._receive(data, "receive_data", raw=False))

    def receive_messages(self, data: bytes | bytearray | memoryview) -> list[bytes | Event]:
        """Like :meth:`receive_data`, but a WAMP message comes as its payload itself.

        The fast path for drivers: each complete message is the ``bytes`` the
        :class:`MessageReceived` event would carry, without the event object; every
        other event is as :meth:`receive_data` returns it. Tell them apart with
        ``type(item) is bytes``.

        Raises:
            InvalidState: as :meth:`receive_data`.
        """
        return self._receive(data, "receive_messages", raw=True)

    def _receive(
        self, data: bytes | bytearray | memoryview, method: str, *, raw: bool
    ) -> list[bytes | Event]:
        state = self.state
        if state is RawSocketState.OPEN:
            return self._receive_frames(data, raw)
        if state is RawSocketState.HANDSHAKE:
            return self._receive_handshake(data, raw)
        if state is RawSocketState.IDLE:
            raise InvalidState(f"{method}: call start() before feeding data")
        return []

    def _receive_handshake(
        self, data: bytes | bytearray | memoryview, raw: bool
    ) -> list[bytes | Event]:
        buffer = self._buffer
        buffer += data
        # Fail at once on a wrong first octet, rather than waiting for four.
        if buffer and buffer[0] != MAGIC:
            first = buffer[0]
            buffer.clear()
            return [self._fail(f"handshake starts with 0x{first:02x}, not the magic 0x7f")]
        if len(buffer) < 4:
            return []
        octets = bytes(buffer[:4])
        del buffer[:4]
        events: list[bytes | Event] = list(self._handle_handshake(octets))
        if self.state is RawSocketState.OPEN:
            if buffer:  # frames pipelined right behind the handshake
                events += self._receive_frames(b"", raw)
        else:
            buffer.clear()
        return events

    def _handle_handshake(self, octets: bytes) -> list[Event]:
        """Act on the peer's complete 4-octet handshake (role-specific)."""
        raise NotImplementedError

    def _receive_frames(
        self, data: bytes | bytearray | memoryview, raw: bool
    ) -> list[bytes | Event]:
        """Parse as many complete frames as the buffered and new bytes hold ("Framing").

        ``raw``: a WAMP message is its payload, not a :class:`MessageReceived`.
        """
        buffer = self._buffer
        if buffer:
            buffer += data
            data = buffer
        events: list[bytes | Event] = []
        max_length = self._max_length
        position = 0
        # A slice of bytes is bytes (one copy); a slice of the buffer (or of a caller's
        # bytearray or memoryview) goes through the view, never through a bytearray.
        whole = type(data) is bytes
        chunk = cast(bytes, data) if whole else b""
        unpack = _HEADER.unpack_from
        with memoryview(data) as view:
            end = len(view)
            while end - position >= 4:
                (word,) = unpack(view, position)
                frame_type = word >> 24
                length = word & _LENGTH_MASK
                if frame_type > 7:  # a reserved bit or X is set: the rare, slow path
                    violation = self._check_flags(frame_type, length)
                    if violation is not None:
                        events.append(violation)
                        break
                    frame_type &= 7
                    length |= 1 << 24
                # Check the header before buffering the payload: a huge announced
                # length must never make us hold it ("If a message received ...
                # exceeds the limit requested, a Peer MUST fail the connection").
                if length > max_length:
                    events.append(
                        self._fail(f"frame of {length} octets exceeds our maximum of {max_length}")
                    )
                    break
                if frame_type > 2:
                    events.append(self._fail(f"frame type {frame_type} is reserved"))
                    break
                start = position + 4
                stop = start + length
                if stop > end:
                    break
                payload = chunk[start:stop] if whole else view[start:stop].tobytes()
                position = stop
                if frame_type == 0:  # FrameType.MESSAGE, by far the most common
                    events.append(payload if raw else MessageReceived(payload))
                elif frame_type == 1:  # FrameType.PING
                    events.append(self._answer_ping(payload))
                    if self.state is not RawSocketState.OPEN:
                        break
                else:
                    events.append(PongReceived(payload))
        if self.state is not RawSocketState.OPEN:
            buffer.clear()
        elif data is buffer:
            del buffer[:position]
        elif position < end:
            buffer += data[position:]
        return events

    def _check_flags(self, flags: int, length: int) -> ProtocolViolation | None:
        """Validate a first octet with any of its upper four bits or X set."""
        if flags & _RESERVED_BITS:
            return self._fail(f"reserved bits set in frame prefix (first octet 0x{flags:02x})")
        if length:  # X stands only for exactly 2**24, with the 24 length bits clear
            return self._fail(f"frame prefix sets X with a nonzero length ({length})")
        return None

    def _answer_ping(self, payload: bytes) -> Event:
        # "A Peer MUST reply to each PING by sending exactly one PONG immediately,
        # and the PONG MUST echo back the payload of the PING exactly."
        peer_max = self._peer_max_length
        if len(payload) > peer_max:
            return self._fail(
                f"PING of {len(payload)} octets cannot be echoed: the peer accepts at most "
                f"{peer_max}"
            )
        self._outgoing += (_frame_header(FrameType.PONG, len(payload)), payload)
        return PingReceived(payload)


class RawSocketClient(RawSocketConnection):
    """The connecting side: sends the handshake request and checks the router's reply.

    Args:
        serializer_id: the serializer to request (1 JSON, 2 MessagePack, 3 CBOR, ...).
        max_length: the longest message we accept (rounded down to a power of two,
            2**9 .. 2**24).

    Raises:
        ValueError: an argument is out of range (its name is in the message).
    """

    __slots__ = ()

    def __init__(self, serializer_id: int, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        super().__init__(max_length, RawSocketState.IDLE)
        self._serializer_id = _check_serializer_id("serializer_id", serializer_id)

    def start(self) -> None:
        """Queue the 4-octet handshake request ("Handshake: Client-to-Router Request").

        Raises:
            InvalidState: already started, or closed.
        """
        if self.state is not RawSocketState.IDLE:
            raise InvalidState(f"start: the RawSocket connection is {self.state.value}")
        assert self._serializer_id is not None
        self._outgoing.append(
            bytes((MAGIC, (self._length_exponent << 4) | self._serializer_id, 0, 0))
        )
        self._transition(_Trigger.START)

    def _handle_handshake(self, octets: bytes) -> list[Event]:
        # "Handshake: Router-to-Client Reply"; octets[0] is already known to be MAGIC.
        if octets[2] or octets[3]:
            return [self._fail(f"handshake reply has reserved octets set: {octets.hex()}")]
        second = octets[1]
        serializer_id = second & 0x0F
        if serializer_id == 0:  # an error reply: EEEE 0000
            code = second >> 4
            if code == HandshakeErrorCode.ILLEGAL:
                return [self._fail("handshake reply carries the illegal error code 0")]
            self._transition(_Trigger.REFUSE)
            if code in _ERROR_REASONS:
                code = HandshakeErrorCode(code)
            return [HandshakeRefused(code, refusal_reason(code))]
        if serializer_id != self._serializer_id:
            # "verify the serializer is the one we requested! if not, fail the connection!"
            assert self._serializer_id is not None
            return [
                self._fail(
                    f"handshake reply names serializer {_serializer_name(serializer_id)}, "
                    f"not the requested {_serializer_name(self._serializer_id)}"
                )
            ]
        self._peer_max_length = 1 << ((second >> 4) + 9)
        self._transition(_Trigger.ACCEPT)
        return [HandshakeCompleted(serializer_id, self._peer_max_length)]


class RawSocketServer(RawSocketConnection):
    """The accepting side (a router): reads the request, then accepts or refuses.

    The answer is decided, in this order, when the client's 4-octet request is
    complete: a refusal set with :meth:`refuse`; reserved octets set (error 3);
    a serializer not in ``serializer_ids`` (error 1); a client maximum length
    below ``min_peer_max_length`` (error 2). Otherwise the reply echoes the
    serializer and announces our ``max_length``.

    Args:
        serializer_ids: the serializer ids we speak (1 JSON, 2 MessagePack, 3 CBOR, ...).
        max_length: the longest message we accept (rounded down to a power of two,
            2**9 .. 2**24).
        min_peer_max_length: the smallest maximum length a client may announce;
            below it the request is refused with error 2. The default accepts all.

    Raises:
        ValueError: an argument is out of range (its name is in the message).
    """

    __slots__ = ("_min_peer_max_length", "_refusal", "_serializer_ids")

    def __init__(
        self,
        serializer_ids: Iterable[int],
        max_length: int = DEFAULT_MAX_LENGTH,
        min_peer_max_length: int = MIN_MAX_LENGTH,
    ) -> None:
        super().__init__(max_length, RawSocketState.HANDSHAKE)
        ids = frozenset(_check_serializer_id("serializer_ids", s) for s in serializer_ids)
        if not ids:
            raise ValueError("serializer_ids must name at least one serializer")
        self._serializer_ids = ids
        _length_exponent("min_peer_max_length", min_peer_max_length)
        self._min_peer_max_length = min_peer_max_length
        self._refusal: HandshakeErrorCode | None = None

    def refuse(self, code: HandshakeErrorCode) -> None:
        """Refuse this client whatever it asks, e.g. when too many are connected.

        The spec has the router read the request first, so the error reply is
        queued once the request has arrived (a :class:`HandshakeRefused` event
        tells the driver to flush and close).

        Args:
            code: one of the defined codes 1-4, typically
                :attr:`HandshakeErrorCode.MAX_CONNECTION_COUNT_REACHED`.

        Raises:
            InvalidState: the handshake has already been answered.
            ValueError: ``code`` is 0 (illegal) or not a defined code.
        """
        if self.state is not RawSocketState.HANDSHAKE:
            raise InvalidState(f"refuse: the RawSocket connection is {self.state.value}")
        if code not in _ERROR_REASONS or code == HandshakeErrorCode.ILLEGAL:
            raise ValueError(f"refuse: code must be a handshake error code 1..4, got {code!r}")
        self._refusal = HandshakeErrorCode(code)

    def _refusal_for(self, octets: bytes) -> HandshakeErrorCode | None:
        if self._refusal is not None:
            return self._refusal
        if octets[2] or octets[3]:  # "MUST be all zeros for now"
            return HandshakeErrorCode.RESERVED_BITS_USED
        # Serializer 0 is illegal; answering "unsupported" tells the client why.
        if (octets[1] & 0x0F) not in self._serializer_ids:
            return HandshakeErrorCode.SERIALIZER_UNSUPPORTED
        if 1 << ((octets[1] >> 4) + 9) < self._min_peer_max_length:
            return HandshakeErrorCode.MAX_LENGTH_UNACCEPTABLE
        return None

    def _handle_handshake(self, octets: bytes) -> list[Event]:
        # "Handshake: Router-to-Client Reply"; octets[0] is already known to be MAGIC.
        code = self._refusal_for(octets)
        if code is not None:
            # Error reply: EEEE 0000; the lower bits at zero mark it as an error.
            self._outgoing.append(bytes((MAGIC, code << 4, 0, 0)))
            self._transition(_Trigger.REFUSE)
            return [HandshakeRefused(code, code.reason)]
        serializer_id = octets[1] & 0x0F
        self._serializer_id = serializer_id
        self._peer_max_length = 1 << ((octets[1] >> 4) + 9)
        self._outgoing.append(bytes((MAGIC, (self._length_exponent << 4) | serializer_id, 0, 0)))
        self._transition(_Trigger.ACCEPT)
        return [HandshakeCompleted(serializer_id, self._peer_max_length)]
