"""WAMP over RawSocket: a :class:`~autostrada.aio.channel.Channel` on our sans-I/O framer.

Spec: Advanced Profile "RawSocket Transport". The framing, handshake and PING/PONG
live in :mod:`autostrada.rawsocket`; this module only moves its bytes. (asyncio sets
TCP_NODELAY on every TCP transport, so there are none of the 40 ms Nagle stalls seen
with Crossbar's RawSocket listener.)
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from autostrada.aio.channel import CORK_LIMIT, Channel
from autostrada.exceptions import TransportError
from autostrada.rawsocket import (
    DEFAULT_MAX_LENGTH,
    MAX_MAX_LENGTH,
    HandshakeCompleted,
    HandshakeErrorCode,
    HandshakeRefused,
    PongReceived,
    ProtocolViolation,
    RawSocketClient,
    RawSocketConnection,
    RawSocketServer,
    RawSocketState,
)
from autostrada.serializers import by_rawsocket_id, get_serializer

__all__ = ["RawSocketChannel"]

# "Framing": a 4-octet header, frame type 0 (a WAMP message) and the length in 24 bits;
# the X bit stands for a length of exactly 2**24.
_HEADER = struct.Struct(">I")
_HEADER_MAX = _HEADER.pack(1 << 27)
_HEADER_SIZE = 4
_OPEN = RawSocketState.OPEN


class RawSocketChannel(Channel):
    """A WAMP connection over RawSocket (TCP, TLS or Unix socket), client or server side."""

    def __init__(self, endpoint: str, framer: RawSocketConnection, **options: Any) -> None:
        super().__init__(endpoint, **options)
        self.framer = framer
        # The longest frame (header included) the peer accepts; known at the handshake.
        self._frame_limit = 0
        self._on_event: dict[type, Callable[[Any], None]] = {
            HandshakeCompleted: self._on_handshake,
            HandshakeRefused: self._on_refused,
            PongReceived: self._on_pong,
            ProtocolViolation: self._on_violation,
        }

    @classmethod
    def client(
        cls,
        endpoint: str,
        serializer: str,
        *,
        max_message_size: int = DEFAULT_MAX_LENGTH,
        **options: Any,
    ) -> RawSocketChannel:
        """A client channel asking for ``serializer`` (``"json"``, ``"msgpack"``, ``"cbor"``)."""
        framer = RawSocketClient(_rawsocket_id(serializer), max_message_size)
        return cls(endpoint, framer, max_message_size=framer.max_length, **options)

    @classmethod
    def server(
        cls,
        endpoint: str,
        serializers: Sequence[str],
        *,
        max_message_size: int = DEFAULT_MAX_LENGTH,
        refuse: HandshakeErrorCode | None = None,
        **options: Any,
    ) -> RawSocketChannel:
        """A server channel accepting ``serializers``; ``refuse`` answers every client with it."""
        ids = [_rawsocket_id(name) for name in serializers]
        framer = RawSocketServer(ids, max_message_size)
        if refuse is not None:
            framer.refuse(refuse)
        return cls(endpoint, framer, max_message_size=framer.max_length, **options)

    # ------------------------------------------------------------------ Channel API

    def start(self) -> None:
        if isinstance(self.framer, RawSocketClient):
            self.framer.start()
            self._flush()

    def send(self, data: bytes) -> None:
        # The client's hot path: the framer's send_message() + data_to_send() +
        # _write(), in one call. Same checks: the state, the peer's maximum length.
        if self.framer.state is not _OPEN:
            raise self._error or TransportError(f"connection to {self.endpoint} is not open")
        length = len(data)
        size = length + _HEADER_SIZE
        if size > self._frame_limit:
            raise ValueError(
                f"message of {length} octets exceeds the peer's maximum message length of "
                f"{self._frame_limit - _HEADER_SIZE}"
            )
        # The peer accepts at most 2**24 octets: that one length sets X ("Framing").
        frame = (_HEADER.pack(length) if length < MAX_MAX_LENGTH else _HEADER_MAX) + data
        corked = self._corked
        if corked is not None and self._corked_size + size <= CORK_LIMIT:
            corked.append(frame)  # what _write does, without its call
            self._corked_size += size
        else:
            self._write(frame)

    @property
    def framing(self) -> object:
        return "rawsocket"  # the same bytes on every connection, either side

    def frame(self, data: bytes) -> bytes:
        """A RawSocket message frame: the 4-octet header, then ``data``.

        A message longer than 2**24 octets gets a header no peer would accept;
        :meth:`send_framed` refuses it like any message longer than the peer's maximum.
        """
        length = len(data)
        return (_HEADER.pack(length) if length < MAX_MAX_LENGTH else _HEADER_MAX) + data

    def send_framed(self, frame: bytes) -> None:
        # The router's hot path: one call per message sent.
        if self.framer.state is not _OPEN:
            raise self._error or TransportError(f"connection to {self.endpoint} is not open")
        size = len(frame)
        if size > self._frame_limit:
            length = size - _HEADER_SIZE
            raise ValueError(
                f"message of {length} octets exceeds the peer's maximum message length of "
                f"{self._frame_limit - _HEADER_SIZE}"
            )
        corked = self._corked
        if corked is not None and self._corked_size + size <= CORK_LIMIT:
            corked.append(frame)  # what _write does, without its call
            self._corked_size += size
        else:
            self._write(frame)

    def close(self, code: int = 1000, reason: str = "") -> None:
        # RawSocket has no closing handshake: flush what is queued and close the stream.
        self.framer.close()
        self.uncork()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
            self._schedule_close_timeout()

    def _is_open(self) -> bool:
        return self.framer.state is RawSocketState.OPEN

    def _send_ping(self, payload: bytes) -> None:
        self.framer.send_ping(payload)
        self._flush()

    # -------------------------------------------------------- asyncio.Protocol API

    def data_received(self, data: bytes) -> None:
        on_event = self._on_event
        try:
            for event in self.framer.receive_messages(data):
                if type(event) is bytes:
                    # A message: most events, often dozens per read. Straight to the
                    # receiver (what Channel._deliver does, without its call).
                    receiver = self._receiver
                    if receiver is not None:
                        receiver(event)
                    else:
                        self._early_frames.append(event)
                    continue
                handler = on_event.get(type(event))
                if handler is not None:  # PingReceived: the PONG is already queued
                    handler(event)
            self._flush()
        finally:
            self._batch_done()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    # ------------------------------------------------------------------ internals

    def _flush(self) -> None:
        data = self.framer.data_to_send()
        if data:  # the handshake, a PONG, a PING: rare
            # What the framer queued goes after the messages held. With nothing
            # queued, the cork stays: its owner (the session's turn, the router's
            # batch) writes it at once, not one write per read.
            self.uncork()
            if self.transport is not None:
                self.transport.write(data)

    def _on_handshake(self, event: HandshakeCompleted) -> None:
        self._frame_limit = event.peer_max_length + _HEADER_SIZE
        self._handshake_done(by_rawsocket_id(event.serializer_id))

    def _on_refused(self, event: HandshakeRefused) -> None:
        if isinstance(self.framer, RawSocketServer):
            error = TransportError(f"refused RawSocket client {self.endpoint}: {event.reason}")
        else:
            error = TransportError(
                f"{self.endpoint} refused the RawSocket handshake: {event.reason}"
            )
        self._fail(error)
        self._flush()
        self.close()

    def _on_pong(self, event: PongReceived) -> None:
        self._pong_received(event.payload)

    def _on_violation(self, event: ProtocolViolation) -> None:
        error = TransportError(f"RawSocket connection to {self.endpoint} failed: {event.error}")
        error.__cause__ = event.error
        self._fail(error)
        self._flush()
        # close() arms the close timer: a peer that stops reading cannot keep
        # the socket (and its unsent buffer) alive.
        self.close()


def _rawsocket_id(name: str) -> int:
    serializer_id = get_serializer(name).rawsocket_id
    if serializer_id is None:
        raise ValueError(f"serializer {name!r} cannot be used over RawSocket")
    return serializer_id
