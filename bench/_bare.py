"""``BareSession``: the least a Python asyncio WAMP client does, for the benchmarks.

Not a client: a floor. One WAMP session over RawSocket with nothing but what a round
trip needs, written from the spec for ``client.py`` and ``router.py``: one
``asyncio.Protocol`` per session, the RawSocket handshake and 4-byte frame headers
(PING answered with PONG), ``msgpack.packb``/``unpackb`` or orjson (the JSON autostrada
uses when installed), dispatch on ``msg[0]`` without any validation, one
``transport.write`` per message, a future per call; the callee answers INVOCATION
inline. Nothing is checked, there are no errors worth the name, no options, no
WebSocket. What it costs is what any Python asyncio client pays (event-loop turns,
epoll, send/recv syscalls, loopback TCP, the serializer) and no WAMP library can avoid.

``client.py`` measures it as a third "library" (the floor under autostrada and
Autobahn); ``router.py --load bare`` uses it as a cheap load generator. Importing this
module has no side effects; third-party modules (msgpack, orjson) are imported on use.
Both scripts run with ``bench/`` on ``sys.path``; the Autobahn venv imports it too.
"""

from __future__ import annotations

import asyncio
import json
import struct
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
    """One WAMP session over RawSocket, with nothing but what a round trip needs."""

    transport: asyncio.Transport

    def __init__(self, serializer: str) -> None:
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

    @classmethod
    async def open(cls, serializer: str, port: int) -> BareSession:
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(lambda: cls(serializer), "127.0.0.1", port)
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

    def connection_lost(self, exc: Exception | None) -> None:
        error = ConnectionError(f"connection lost ({exc})")
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
