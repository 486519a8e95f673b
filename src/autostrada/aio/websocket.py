"""WAMP over WebSocket: a :class:`~autostrada.aio.channel.Channel` on websockets' sans-I/O protocol.

We drive ``websockets.client.ClientProtocol`` / ``websockets.server.ServerProtocol``
(the library's documented sans-I/O layer) from our own :class:`asyncio.Protocol`
rather than its asyncio API: one code path for client and router, no task or queue
per connection, and the router can sniff the first byte of a connection to serve
RawSocket and WebSocket on one port.

Spec: Basic Profile "WebSocket Transport" — the WAMP serializer is negotiated as the
WebSocket subprotocol ``wamp.2.<serializer>``; JSON travels in text frames, binary
serializers in binary frames.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Callable, Sequence
from typing import Any

from websockets.client import ClientProtocol
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus, InvalidURI, NegotiationError
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.streams import StreamReader
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

try:  # websockets' C helper (a pure-Python fallback when built without it)
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - depends on how websockets was installed
    from websockets.utils import apply_mask

from autostrada.exceptions import TransportError
from autostrada.serializers import by_subprotocol, negotiate, subprotocols

from .channel import CORK_LIMIT, Channel

__all__ = ["WebSocketChannel"]

log = logging.getLogger("autostrada.transport")
# websockets logs every connection open/close at INFO: useful when debugging, noise in
# a router serving many clients. Its own child logger, WARNING unless configured.
_protocol_log = logging.getLogger("autostrada.transport.websockets")
if _protocol_log.level == logging.NOTSET:
    _protocol_log.setLevel(logging.WARNING)

# Close codes that end a connection normally (RFC 6455 §7.4.1): 1000 normal,
# 1001 going away.
_CLEAN_CODES = frozenset({1000, 1001})

# Headers of unmasked (server) frames, RFC 6455 §5.2: FIN + opcode, then the payload
# length in 7 bits, or 126 + 16 bits, or 127 + 64 bits.
_FIN_TEXT = 0x80 | Opcode.TEXT
_FIN_BINARY = 0x80 | Opcode.BINARY
_HEADER_16 = struct.Struct("!BBH")
_HEADER_64 = struct.Struct("!BBQ")
# Headers of masked (client) frames: the same, then the 4-octet masking key.
_MASKED_7 = struct.Struct("!BB4s")
_MASKED_16 = struct.Struct("!BBH4s")
_MASKED_64 = struct.Struct("!BBQ4s")
_UNPACK_16 = struct.Struct("!H").unpack_from
_UNPACK_64 = struct.Struct("!Q").unpack_from

# Masking keys (RFC 6455 §5.3: "a fresh masking key ... derived from a strong source
# of entropy") are read from os.urandom this many octets at a time, rather than with
# one system call per frame; every key is used once.
_KEY_BLOCK = 4096
# The first octet of a whole, unfragmented data frame without reserved bits.
_WHOLE_DATA = frozenset({_FIN_TEXT, _FIN_BINARY})

# Where websockets' parser waits between frames (see WebSocketChannel._parser_idle).
_AT_EOF = StreamReader.at_eof.__code__


def _client_preference(
    protocol: ServerProtocol, offered: Sequence[Subprotocol]
) -> Subprotocol | None:
    supported = protocol.available_subprotocols
    if not supported:
        return None  # nothing configured: the WAMP check after the handshake refuses
    serializer = negotiate(offered, supported)
    if serializer is None:
        raise NegotiationError(
            "no supported WAMP subprotocol offered; expected one of " + ", ".join(supported)
        )
    return Subprotocol(serializer.subprotocol)


# A server-side hook: inspect the upgrade request; return a Response to refuse it.
RequestCheck = Callable[[Request], Response | None]


class WebSocketChannel(Channel):
    """A WAMP connection over WebSocket, client or server side.

    Build with :meth:`client` or :meth:`server`; pass the instance as the protocol
    to ``loop.create_connection`` / ``loop.create_server`` (or hand it a transport
    with :meth:`connection_made`).
    """

    def __init__(
        self,
        endpoint: str,
        protocol: ClientProtocol | ServerProtocol,
        *,
        headers: dict[str, str] | None = None,
        check_request: RequestCheck | None = None,
        **options: Any,
    ) -> None:
        super().__init__(endpoint, **options)
        self.protocol = protocol
        self._headers = headers or {}
        self._check_request = check_request
        self._text = False
        self._shareable = False  # see frame()
        self._parts: list[bytes] = []
        self._parts_size = 0
        self.request: Request | None = None
        # Client frames are masked (RFC 6455 §5.3): built here, like the server's
        # unmasked ones (see frame()), once open without extensions.
        self._masking = False
        self._keys = b""
        self._key_position = _KEY_BLOCK
        # Once open, we parse the incoming data frames ourselves (see
        # _receive_frames); websockets' parser gets every other frame, whole.
        self._owned = False
        self._inbuf = bytearray()  # the start of a data frame, while _owned
        self._peer_masks = isinstance(protocol, ServerProtocol)

    @classmethod
    def client(
        cls,
        url: str,
        serializers: Sequence[str],
        *,
        headers: dict[str, str] | None = None,
        max_message_size: int = 1 << 20,
        endpoint: str | None = None,
        **options: Any,
    ) -> WebSocketChannel:
        """A client channel for ``url`` offering ``serializers`` (e.g. ``["json", "msgpack"]``).

        Args:
            url: the ``ws://`` or ``wss://`` URL the handshake names (Host header, path).
            serializers: serializer names, in the client's order of preference.
            headers: extra HTTP headers for the upgrade request; a name the request
                already has (e.g. ``Origin``) replaces that header.
            max_message_size: the largest message accepted from the server, in bytes.
            endpoint: the name used in error messages (default: ``url``), e.g. the
                ``ws+unix://`` URL the caller gave when ``url`` is synthesized.
            **options: keepalive and close timeouts, see :class:`Channel`.

        Raises:
            ValueError: ``url`` is not a ``ws://`` or ``wss://`` URL.
        """
        try:
            uri = parse_uri(url)
        except InvalidURI as exc:  # not an InvalidHandshake since websockets 14
            raise ValueError(f"not a WebSocket URL: {url!r} ({exc})") from None
        protocol = ClientProtocol(
            uri,
            subprotocols=[Subprotocol(name) for name in subprotocols(serializers)],
            max_size=max_message_size,
            logger=_protocol_log,
        )
        return cls(
            endpoint or url,
            protocol,
            headers=headers,
            max_message_size=max_message_size,
            **options,
        )

    @classmethod
    def server(
        cls,
        endpoint: str,
        serializers: Sequence[str],
        *,
        max_message_size: int = 1 << 20,
        check_request: RequestCheck | None = None,
        **options: Any,
    ) -> WebSocketChannel:
        """A server channel accepting ``serializers``.

        The client's order of preference decides among the serializers both sides
        speak (RFC 6455 §4.2.2 leaves it to the server; Crossbar takes the client's
        first choice, and so do we, so that one config behaves the same on both).
        """
        protocol = ServerProtocol(
            subprotocols=[Subprotocol(name) for name in subprotocols(serializers)],
            select_subprotocol=_client_preference,
            max_size=max_message_size,
            logger=_protocol_log,
        )
        return cls(
            endpoint,
            protocol,
            check_request=check_request,
            max_message_size=max_message_size,
            **options,
        )

    # ------------------------------------------------------------------ Channel API

    def start(self) -> None:
        protocol = self.protocol
        if isinstance(protocol, ClientProtocol):
            request = protocol.connect()
            for name, value in self._headers.items():
                # websockets' Headers is a multidict: assignment appends, so a
                # caller's Origin or Authorization would go out twice.
                if name in request.headers:
                    del request.headers[name]
                request.headers[name] = value
            protocol.send_request(request)
            self._flush()

    def send(self, data: bytes) -> None:
        protocol = self.protocol
        if protocol.state is not State.OPEN:
            raise self._error or TransportError(f"connection to {self.endpoint} is not open")
        if self._masking:
            # The client's hot path: websockets' send_binary() builds a Frame, checks
            # it and serializes it through a BytesIO; the bytes are the same.
            position = self._key_position
            if position >= _KEY_BLOCK:
                self._keys = os.urandom(_KEY_BLOCK)
                position = 0
            self._key_position = position + 4
            key = self._keys[position : position + 4]
            head = _FIN_TEXT if self._text else _FIN_BINARY
            length = len(data)
            if length < 126:
                header = _MASKED_7.pack(head, 0x80 | length, key)
            elif length < 65536:
                header = _MASKED_16.pack(head, 0xFE, length, key)
            else:
                header = _MASKED_64.pack(head, 0xFF, length, key)
            frame = header + apply_mask(data, key)
            corked = self._corked
            size = len(frame)
            if corked is not None and self._corked_size + size <= CORK_LIMIT:
                corked.append(frame)  # what _write does, without its call
                self._corked_size += size
            else:
                self._write(frame)
            return
        if self._shareable:
            self._write(self.frame(data))
            return
        if self._text:
            protocol.send_text(data)
        else:
            protocol.send_binary(data)
        for chunk in protocol.data_to_send():
            self._write(chunk)

    @property
    def framing(self) -> object:
        # Server frames are not masked, so their bytes depend on the frame type only
        # (text for JSON) -- unless an extension (e.g. permessage-deflate, with its
        # per-connection compression context) was negotiated. Our server offers none.
        return ("websocket", self._text) if self._shareable else None

    def frame(self, data: bytes) -> bytes:
        """An unmasked data frame (server side): text for JSON, else binary.

        Written around websockets' protocol object, which tracks no state for the
        data frames it sends (only the fragmentation of a message, and we send none).
        """
        if not self._shareable:
            raise RuntimeError(f"{self!r}: only an open server channel frames messages")
        head = _FIN_TEXT if self._text else _FIN_BINARY
        length = len(data)
        if length < 126:
            return bytes((head, length)) + data
        if length < 65536:
            return _HEADER_16.pack(head, 126, length) + data
        return _HEADER_64.pack(head, 127, length) + data

    def send_framed(self, frame: bytes) -> None:
        if self.protocol.state is not State.OPEN:
            raise self._error or TransportError(f"connection to {self.endpoint} is not open")
        self._write(frame)

    def close(self, code: int = 1000, reason: str = "") -> None:
        protocol = self.protocol
        if protocol.state is State.OPEN:
            protocol.send_close(code, reason)
            self._flush()
            self._schedule_close_timeout()
        elif self.transport is not None and protocol.state is State.CONNECTING:
            self.transport.close()

    def _is_open(self) -> bool:
        return self.protocol.state is State.OPEN

    def _send_ping(self, payload: bytes) -> None:
        self.protocol.send_ping(payload)
        self._flush()

    # -------------------------------------------------------- asyncio.Protocol API

    def data_received(self, data: bytes) -> None:
        try:
            if self._owned and self.protocol.state is State.OPEN:
                self._receive_frames(data)
            else:
                self._receive_through_protocol(data)
        finally:
            self._batch_done()

    def eof_received(self) -> bool | None:
        if self._inbuf:  # an incomplete frame: websockets' parser reports it
            data = bytes(self._inbuf)
            self._inbuf.clear()
            self.protocol.receive_data(data)
        self._owned = False
        self.protocol.receive_eof()
        # Not only for symmetry: an HTTP response without Content-Length (a
        # refusal such as 403) has its body read to EOF, so the Response event
        # only comes out now.
        try:
            self._handle_events()
        finally:
            self._batch_done()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is None and self.opened.done() and not self._error and not self._aborted:
            self._check_close_codes()
        super().connection_lost(exc)

    # ------------------------------------------------------------------ internals

    def _receive_frames(self, chunk: bytes) -> None:
        """Deliver the complete data frames of ``chunk``; hand anything else to websockets.

        websockets' parser costs a generator step, a ``Frame`` and a copy per frame
        (its ``read_exact`` slices a bytearray). Here a whole, unfragmented data
        frame (FIN set, no reserved bits, no extension, masked exactly when the peer
        is a client, within ``max_message_size``) goes straight to the receiver.
        Anything else -- a control frame, a fragment, a frame to refuse -- and all
        the bytes after it go to websockets' parser, which sits between two frames:
        it enforces the rules (and answers PINGs, closes) exactly as before.
        """
        buffer = self._inbuf
        data: bytes | bytearray = chunk
        if buffer:
            buffer += chunk
            data = buffer
        whole = type(data) is bytes
        masked = self._peer_masks
        mask_bit = 0x80 if masked else 0
        limit = self.max_message_size
        end = len(data)
        position = 0
        rest: bytes | None = None
        while end - position >= 2:
            first = data[position]
            second = data[position + 1]
            length = second & 0x7F
            start = position + 2
            if length == 126:
                if end - start < 2:
                    break
                (length,) = _UNPACK_16(data, start)
                start += 2
            elif length == 127:
                if end - start < 8:
                    break
                (length,) = _UNPACK_64(data, start)
                start += 8
            if (
                first in _WHOLE_DATA
                and second & 0x80 == mask_bit
                and length <= limit
                and not self._parts  # else websockets reports the missing continuation
            ):
                if masked:
                    start += 4
                stop = start + length
                if stop > end:
                    break  # wait for the rest (at most max_message_size octets)
                payload: bytes
                if masked:
                    payload = apply_mask(data[start:stop], data[start - 4 : start])
                elif whole:
                    payload = data[start:stop]  # type: ignore[assignment]  # bytes
                else:
                    payload = bytes(data[start:stop])
                position = stop
                receiver = self._receiver
                if receiver is not None:
                    receiver(payload)
                else:
                    self._early_frames.append(payload)
                continue
            rest = bytes(data[position:])
            position = end
            break
        if data is buffer:
            del buffer[:position]
        elif position < end:
            buffer += data[position:]
        if rest is not None:
            self._receive_through_protocol(rest)

    def _receive_through_protocol(self, data: bytes) -> None:
        protocol = self.protocol
        if self._inbuf:  # a data frame begun while we parsed them: websockets takes over
            data = bytes(self._inbuf) + data
            self._inbuf.clear()
        self._owned = False
        protocol.receive_data(data)
        self._handle_events()
        if protocol.state is State.OPEN and not protocol.extensions and self._parser_idle():
            self._owned = True

    def _parser_idle(self) -> bool:
        """Whether websockets' parser waits for the start of a frame, holding no bytes.

        Only then may we parse frames ourselves (and hand it whole frames). Read from
        its generators: if a websockets release parses differently, this says no
        and every frame goes through websockets, as it always did.
        """
        protocol = self.protocol
        if protocol.reader.buffer:
            return False
        generator: Any = protocol.parser
        while True:
            inner = getattr(generator, "gi_yieldfrom", None)
            if inner is None:
                break
            generator = inner
        return getattr(generator, "gi_code", None) is _AT_EOF

    def _handle_events(self) -> None:
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                self._on_frame(event)
            elif isinstance(event, Request):
                self._on_request(event)
            else:
                self._on_response(event)
        error = self.protocol.handshake_exc
        if error is not None and not self.opened.done():
            # Not even an HTTP message (no Request/Response event came out):
            # say so now rather than "closed" once the peer hangs up.
            failure = TransportError(f"WebSocket handshake with {self.endpoint} failed: {error}")
            failure.__cause__ = error
            self._fail(failure)
        self._flush()

    def _flush(self) -> None:
        transport = self.transport
        if transport is None:
            return
        self.uncork()  # what the protocol queued goes after the messages held
        for chunk in self.protocol.data_to_send():
            if chunk:
                transport.write(chunk)
            elif transport.can_write_eof():
                transport.write_eof()
            else:
                transport.close()
        if self.protocol.close_expected():
            self._schedule_close_timeout()

    def _on_request(self, request: Request) -> None:
        protocol = self.protocol
        assert isinstance(protocol, ServerProtocol)
        self.request = request
        response = self._check_request(request) if self._check_request else None
        if response is None:
            response = protocol.accept(request)
        protocol.send_response(response)
        self._flush()
        if response.status_code != 101:
            error = protocol.handshake_exc
            reason = (
                str(error) if error else f"HTTP {response.status_code} {response.reason_phrase}"
            )
            self._fail(TransportError(f"refused WebSocket upgrade from {self.endpoint}: {reason}"))
            return
        self._opened_with(response.headers)

    def _on_response(self, response: Response) -> None:
        error = self.protocol.handshake_exc
        if error is not None:
            if isinstance(error, InvalidStatus):
                status = error.response
                message = f"HTTP {status.status_code} {status.reason_phrase}"
                # A websockets or Crossbar server explains a refusal in the body
                # ("invalid subprotocol; expected one of ..."): worth showing.
                body = _first_line(status.body)
                if body:
                    message += f" ({body})"
            else:
                message = str(error)
            failure = TransportError(f"WebSocket handshake with {self.endpoint} failed: {message}")
            failure.__cause__ = error
            self._fail(failure)
            return
        self._opened_with(response.headers)

    def _opened_with(self, headers: Headers) -> None:
        subprotocol = headers.get("Sec-WebSocket-Protocol")
        try:
            serializer = by_subprotocol(subprotocol) if subprotocol else None
        except ValueError:
            serializer = None
        if serializer is None:
            self._fail(
                TransportError(f"{self.endpoint} did not agree on a WAMP serializer subprotocol")
            )
            # fail(), not send_close(): the peer's own close frame may have come in
            # the same packet as its response and already moved us to CLOSING.
            self.protocol.fail(1002, "no WAMP subprotocol")
            self._flush()
            return
        self._text = not serializer.binary
        # Frames are ours to build (see frame()) on the server side without extensions.
        self._shareable = isinstance(self.protocol, ServerProtocol) and not self.protocol.extensions
        self._masking = isinstance(self.protocol, ClientProtocol) and not self.protocol.extensions
        self._handshake_done(serializer)

    def _on_frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if frame.fin:
                self._deliver(bytes(frame.data))
            else:
                self._parts = [bytes(frame.data)]
                self._parts_size = len(frame.data)
        elif opcode is Opcode.CONT:
            # Fragmented message (RFC 6455 §5.4): websockets checks the total
            # against max_size; we only reassemble.
            self._parts.append(bytes(frame.data))
            self._parts_size += len(frame.data)
            if frame.fin:
                data = b"".join(self._parts)
                self._parts = []
                self._parts_size = 0
                self._deliver(data)
        elif opcode is Opcode.PONG:
            self._pong_received(bytes(frame.data))

    def _check_close_codes(self) -> None:
        protocol = self.protocol
        received = protocol.close_rcvd
        sent = protocol.close_sent
        if received is not None and received.code in _CLEAN_CODES:
            return
        if received is None and sent is not None and sent.code in _CLEAN_CODES:
            return  # we were closing anyway; the peer just did not echo
        code = received or sent
        detail = f"close code {code.code} {code.reason!r}" if code else "no close frame"
        error = TransportError(f"WebSocket connection to {self.endpoint} failed: {detail}")
        # What our parser objected to (a message over max_size, a bad frame...).
        error.__cause__ = protocol.parser_exc
        self._fail(error)


def _first_line(body: bytes | bytearray) -> str:
    """The first line of an HTTP error body, printable and short, for error messages."""
    text = bytes(body[:200]).decode("utf-8", "replace").strip()
    line = "".join(c if c.isprintable() else "?" for c in text.split("\n", 1)[0].strip())
    return line if len(line) <= 120 else line[:117] + "..."
