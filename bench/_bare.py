"""``BareSession``: the least a Python asyncio WAMP client does, for the benchmarks.

Not a client: a floor. One WAMP session over RawSocket or WebSocket with nothing but
what a round trip needs, written from the specs (WAMP Basic Profile, RFC 6455) for
``client.py`` and ``router.py``: one ``asyncio.Protocol`` per session on a plain TCP
connection; the RawSocket handshake and 4-byte frame headers (PING answered with PONG),
or the WebSocket opening handshake and RFC 6455 frames (see ``BareWebSocket``);
``msgpack.packb``/``unpackb`` or orjson (the JSON autostrada uses when installed),
dispatch on ``msg[0]`` without any validation, one ``transport.write`` per message, a
future per call; the callee answers INVOCATION inline. Nothing is checked, there are no
errors worth the name, no options. What it costs is what any Python asyncio client pays
(event-loop turns, epoll, send/recv syscalls, loopback TCP, framing, the serializer)
and no WAMP library can avoid.

``client.py`` measures it as a third "library" (the floor under autostrada and
Autobahn); ``router.py --load bare`` uses it as a cheap load generator. Importing this
module has no side effects; third-party modules (msgpack, orjson) are imported on use.
Both scripts run with ``bench/`` on ``sys.path``; the Autobahn venv imports it too.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import struct
import urllib.parse
from collections.abc import Callable
from typing import Any

import _common as c

HELLO, WELCOME, ABORT, GOODBYE, ERROR = 1, 2, 3, 6, 8
PUBLISH, SUBSCRIBE, SUBSCRIBED, EVENT = 16, 32, 33, 36
CALL, RESULT, REGISTER, REGISTERED, INVOCATION, YIELD = 48, 50, 64, 65, 68, 70
BARE_DETAILS: dict[str, Any] = {
    "roles": {"caller": {}, "callee": {}, "publisher": {}, "subscriber": {}}
}
BARE_TIMEOUT = 10.0  # every wait of the bare client's setup and teardown is bounded
BARE_CLOSE_TIMEOUT = 2.0  # for the server's end of the WebSocket closing handshake
_header = struct.Struct(">I")  # frame type (high octet) and 24-bit payload length


def bare_codec(serializer: str) -> tuple[int, Callable[[Any], bytes], Callable[[bytes], Any]]:
    """RawSocket serializer id, dumps, loads: msgpack, or the JSON autostrada uses."""
    if serializer == "msgpack":
        import msgpack

        return 2, msgpack.packb, msgpack.unpackb
    try:
        import orjson
    except ImportError:
        return 1, lambda value: json.dumps(value).encode(), json.loads
    return 1, orjson.dumps, orjson.loads


def bare_version() -> str:
    import msgpack

    try:
        import orjson
    except ImportError:
        json_name = "stdlib json"
    else:
        json_name = f"orjson {orjson.__version__}"
    return f"msgpack {'.'.join(map(str, msgpack.version))}, {json_name}"


class BareSession(asyncio.Protocol):
    """One WAMP session over RawSocket, with nothing but what a round trip needs.

    ``await BareSession.open(serializer, url)`` opens one: ``rs://host:port`` gives this
    class, ``ws://host:port/path`` its WebSocket subclass ``BareWebSocket``.
    """

    transport: asyncio.Transport

    def __init__(self, serializer: str, url: urllib.parse.SplitResult) -> None:
        self.serializer = serializer
        self.url = url
        self.serializer_id, self.dumps, self.loads = bare_codec(serializer)
        self.loop = asyncio.get_running_loop()
        self.buffer = bytearray()
        self.shaken = False
        self.opened: asyncio.Future[None] = self.loop.create_future()
        self.control: asyncio.Future[list[Any]] | None = None  # WELCOME, ABORT, GOODBYE
        self.pending: dict[int, asyncio.Future[Any]] = {}  # by request id
        self.request_id = 0
        self.procedures: dict[int, Callable[..., Any]] = {}  # by registration id
        self.handlers: dict[int, Callable[..., Any]] = {}  # by subscription id
        self.error: Exception | None = None  # why we dropped the connection, if we did
        self.closed: asyncio.Future[None] = self.loop.create_future()

    @staticmethod
    async def open(serializer: str, url: str) -> BareSession:
        """A joined session on ``realm1``: RawSocket for ``rs://``, WebSocket for ``ws://``."""
        parts = urllib.parse.urlsplit(url)
        kinds: dict[str, type[BareSession]] = {"rs": BareSession, "ws": BareWebSocket}
        kind = kinds[parts.scheme]
        host, port = parts.hostname or "127.0.0.1", parts.port
        assert port is not None, f"no port in {url!r}"
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(lambda: kind(serializer, parts), host, port)
        _, session = await asyncio.wait_for(connecting, BARE_TIMEOUT)
        await asyncio.wait_for(session.opened, BARE_TIMEOUT)
        reply = await session.exchange([HELLO, c.REALM, BARE_DETAILS])
        if reply[0] != WELCOME:
            raise RuntimeError(f"not welcomed: {reply}")
        return session

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        # 0x7F, max length we receive 2**24 (LLLL = 15), serializer, two reserved zeros.
        transport.write(bytes((0x7F, 0xF0 | self.serializer_id, 0, 0)))

    def data_received(self, data: bytes) -> None:
        if self.buffer:
            data = bytes(self.buffer + data)
            self.buffer.clear()
        if not self.shaken:
            data = self.handshake(data)
        pos, size = 0, len(data)
        while size - pos >= 4:
            header = _header.unpack_from(data, pos)[0]
            end = pos + 4 + (header & 0xFFFFFF)
            if end > size:
                break
            kind = header >> 24
            if kind == 0:  # a WAMP message
                self.dispatch(self.loads(data[pos + 4 : end]))
            elif kind == 1:  # PING: PONG with the same payload
                self.transport.write(b"\x02" + data[pos + 1 : end])
            pos = end
        if pos < size:
            self.buffer += data[pos:]

    def handshake(self, data: bytes) -> bytes:
        """The router's reply: 0x7F, its max length (ignored: ours are tiny), serializer."""
        if len(data) < 4:
            return data  # kept in the buffer, since no frame fits in it
        if data[0] != 0x7F or data[1] & 0x0F != self.serializer_id:
            self.opened.set_exception(RuntimeError(f"handshake refused: {data[:4]!r}"))
            self.transport.close()
            return b""
        self.shaken = True
        self.opened.set_result(None)
        return data[4:]

    def fail(self, error: Exception) -> None:
        """Drop the connection; every pending wait fails with ``error``."""
        self.error = error
        self.transport.abort()  # connection_lost follows, from the loop

    def connection_lost(self, exc: Exception | None) -> None:
        error = self.error or ConnectionError(f"connection lost ({exc})")
        if not self.closed.done():
            self.closed.set_result(None)
        for future in (self.opened, self.control, *self.pending.values()):
            if future is not None and not future.done():
                future.set_exception(error)
        self.pending.clear()

    # WAMP

    def dispatch(self, msg: list[Any]) -> None:
        code = msg[0]
        if code == RESULT:  # [RESULT, request, details, args]
            self.pending.pop(msg[1]).set_result(msg[3][0])
        elif code == INVOCATION:  # [INVOCATION, request, registration, details, args]
            result = self.procedures[msg[2]](*msg[4])
            self.send([YIELD, msg[1], {}, [result]])
        elif code == EVENT:  # [EVENT, subscription, publication, details, args]
            self.handlers[msg[1]](*msg[4])
        elif code in (REGISTERED, SUBSCRIBED):  # [REGISTERED, request, registration]
            self.pending.pop(msg[1]).set_result(msg[2])
        elif code == ERROR:  # [ERROR, type, request, details, error, ...]
            self.pending.pop(msg[2]).set_exception(RuntimeError(f"WAMP error {msg[4]}"))
        elif code in (WELCOME, ABORT, GOODBYE) and self.control and not self.control.done():
            self.control.set_result(msg)

    def send(self, msg: list[Any]) -> None:
        payload = self.dumps(msg)
        # Type 0 (regular message) in the high octet, the length below: one int.
        self.transport.write(len(payload).to_bytes(4, "big") + payload)

    def next_id(self) -> int:
        self.request_id += 1
        return self.request_id

    async def exchange(self, msg: list[Any]) -> list[Any]:
        """Send HELLO or GOODBYE and wait for the answer (WELCOME, ABORT, GOODBYE)."""
        self.control = self.loop.create_future()
        self.send(msg)
        return await asyncio.wait_for(self.control, BARE_TIMEOUT)

    async def request(self, msg: list[Any]) -> Any:
        """Send REGISTER or SUBSCRIBE (request id at msg[1]) and wait for its id."""
        future = self.pending[msg[1]] = self.loop.create_future()
        self.send(msg)
        return await asyncio.wait_for(future, BARE_TIMEOUT)

    async def register(self, endpoint: Callable[..., Any], procedure: str) -> None:
        registration = await self.request([REGISTER, self.next_id(), {}, procedure])
        self.procedures[registration] = endpoint

    async def subscribe(self, handler: Callable[..., Any], topic: str) -> None:
        subscription = await self.request([SUBSCRIBE, self.next_id(), {}, topic])
        self.handlers[subscription] = handler

    async def call(self, procedure: str, *args: Any) -> Any:
        request = self.next_id()
        future = self.pending[request] = self.loop.create_future()
        self.send([CALL, request, {}, procedure, list(args)])
        return await future

    def publish(self, topic: str, *args: Any) -> None:
        self.send([PUBLISH, self.next_id(), {}, topic, list(args)])

    async def leave(self) -> None:
        try:
            await self.exchange([GOODBYE, {}, "wamp.close.normal"])
        finally:
            self.transport.close()


# ======================================================================================
# WebSocket (RFC 6455)

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
_WS_MAX_HEAD = 16384  # an opening-handshake response larger than this is refused
_ws_len16 = struct.Struct(">BBH4x")  # client frame header: FIN+opcode, 0x80|126, length, mask
_ws_len64 = struct.Struct(">BBQ4x")  # the same with 127 and a 64-bit length
_u16 = struct.Struct(">H")
_u64 = struct.Struct(">Q")
FIN = 0x80
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class BareWebSocket(BareSession):
    """The same session over WebSocket: RFC 6455 framing under the same WAMP code.

    The opening handshake is one HTTP/1.1 GET (``Upgrade: websocket``, a random
    ``Sec-WebSocket-Key``, version 13, subprotocol ``wamp.2.json`` or
    ``wamp.2.msgpack``); the response is read up to its blank line and must be a 101
    with that subprotocol and the right ``Sec-WebSocket-Accept``. WAMP messages go in
    one frame each, FIN set, text for JSON and binary for MessagePack.

    **Masking, a benchmark shortcut.** Client frames must be masked (§5.3), and this
    client masks every frame with the all-zero key ``00 00 00 00``: XOR with zeros is
    the identity, so the payload goes out as the serializer made it, behind a header
    that says "masked, key 0". The RFC wants a fresh unpredictable key per frame (it
    protects intermediaries' caches from a hostile script in a browser, which has no
    part here); servers cannot tell a zero key from a random one and ours and Crossbar
    accept it. A compliant client pays for a random key and the XOR: measured here at
    about 0.4-0.7 µs per frame sent for a ~50-byte payload (``os.urandom(4)`` and
    websockets' C ``apply_mask``, or ``int.from_bytes`` XOR), i.e. a few percent of
    this client's CPU per message. The floor leaves that out and says so.

    Server frames are unmasked: parsed for the header, the 7/16/64-bit length and the
    payload, several per read or split across reads. PING is answered with a PONG
    (masked likewise); CLOSE is answered with CLOSE and the connection closed.
    Fragmented messages (FIN clear, or continuation frames) are not supported: the
    connection is dropped with a clear error rather than waited on. Nothing else is
    checked (reserved bits, UTF-8 of text frames, control frame sizes).
    """

    def __init__(self, serializer: str, url: urllib.parse.SplitResult) -> None:
        super().__init__(serializer, url)
        self.fin_opcode = FIN | (OP_TEXT if serializer == "json" else OP_BINARY)
        self.subprotocol = f"wamp.2.{serializer}"
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        url = self.url
        request = (
            f"GET {url.path or '/'}{'?' + url.query if url.query else ''} HTTP/1.1\r\n"
            f"Host: {url.netloc}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {self.key}\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {self.subprotocol}\r\n"
            "\r\n"
        )
        transport.write(request.encode("ascii"))

    def data_received(self, data: bytes) -> None:
        if self.buffer:
            data = bytes(self.buffer + data)
            self.buffer.clear()
        if not self.shaken:
            head_end = data.find(b"\r\n\r\n")
            if head_end < 0:
                if len(data) > _WS_MAX_HEAD:
                    self.refuse(f"no end of the HTTP response in {len(data)} bytes")
                else:
                    self.buffer += data
                return
            if not self.handshake_response(data[:head_end]):
                return
            data = data[head_end + 4 :]
        pos, size = 0, len(data)
        while size - pos >= 2:
            first, length = data[pos], data[pos + 1]
            if length < 126:  # the common case: a 7-bit length, no mask (server frame)
                start = pos + 2
            elif length == 126:
                start = pos + 4
                if start > size:
                    break
                length = _u16.unpack_from(data, pos + 2)[0]
            elif length == 127:
                start = pos + 10
                if start > size:
                    break
                length = _u64.unpack_from(data, pos + 2)[0]
            else:
                self.fail(ConnectionError("WebSocket: the server masked a frame (RFC 6455 §5.1)"))
                return
            end = start + length
            if end > size:
                break
            if first == self.fin_opcode:  # a whole WAMP message
                self.dispatch(self.loads(data[start:end]))
            elif not self.control_frame(first, data[start:end]):
                return
            pos = end
        if pos < size:
            self.buffer += data[pos:]

    def control_frame(self, first: int, payload: bytes) -> bool:
        """PING, PONG, CLOSE, or what the floor refuses; False once the connection is gone."""
        opcode = first & 0x0F
        if opcode == OP_PING:
            self.write_frame(FIN | OP_PONG, payload)
        elif opcode == OP_CLOSE:
            if not self.closing:
                self.closing = True
                self.write_frame(FIN | OP_CLOSE, payload[:2])  # echo the status code
            code = _u16.unpack_from(payload)[0] if len(payload) >= 2 else None
            self.error = ConnectionError(f"WebSocket closed by the server (code {code})")
            self.transport.close()
            return False
        elif opcode == OP_PONG:
            pass
        elif not first & FIN or opcode == OP_CONTINUATION:
            self.fail(
                ConnectionError(
                    "WebSocket: fragmented message (FIN clear or continuation frame); "
                    "the bare benchmark client does not reassemble fragments"
                )
            )
            return False
        else:  # a data frame of the other type, or a reserved opcode
            self.fail(ConnectionError(f"WebSocket: unexpected frame, first byte {first:#04x}"))
            return False
        return True

    def handshake_response(self, head: bytes) -> bool:
        """Check the 101, the subprotocol and the accept key; False if refused."""
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        parts = status_line.split(" ", 2)
        accept = base64.b64encode(hashlib.sha1(self.key.encode() + _WS_GUID).digest()).decode()
        if len(parts) < 2 or parts[1] != "101":
            self.refuse(f"HTTP status {status_line!r}, not 101")
        elif headers.get("sec-websocket-protocol") != self.subprotocol:
            found = headers.get("sec-websocket-protocol")
            self.refuse(f"subprotocol {found!r} accepted, not {self.subprotocol!r}")
        elif headers.get("sec-websocket-accept") != accept:
            self.refuse(f"Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}")
        else:
            self.shaken = True
            self.opened.set_result(None)
            return True
        return False

    def refuse(self, reason: str) -> None:
        self.fail(ConnectionError(f"WebSocket handshake refused: {reason}"))

    def send(self, msg: list[Any]) -> None:
        payload = self.dumps(msg)
        length = len(payload)
        # Header: FIN + opcode, "masked" + length, then the all-zero mask key (see the
        # class docstring) and the payload as it is, XOR with zeros being the identity.
        if length < 126:
            header = bytes((self.fin_opcode, 0x80 | length, 0, 0, 0, 0))
        elif length < 65536:
            header = _ws_len16.pack(self.fin_opcode, 0x80 | 126, length)
        else:
            header = _ws_len64.pack(self.fin_opcode, 0x80 | 127, length)
        self.transport.write(header + payload)

    def write_frame(self, first: int, payload: bytes) -> None:
        """A control frame (payload < 126 bytes), masked with the zero key."""
        self.transport.write(bytes((first, 0x80 | len(payload), 0, 0, 0, 0)) + payload)

    async def leave(self) -> None:
        """GOODBYE, then the closing handshake: CLOSE 1000, wait (bounded) for the
        server's CLOSE or its end of the connection, then close ours."""
        try:
            await self.exchange([GOODBYE, {}, "wamp.close.normal"])
        finally:
            if not self.closing and not self.transport.is_closing():
                self.closing = True
                self.write_frame(FIN | OP_CLOSE, _u16.pack(1000))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self.closed), BARE_CLOSE_TIMEOUT)
            self.transport.close()
