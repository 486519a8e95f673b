"""RouterServer listeners over real sockets: transports, serializers, handshakes, limits, bad peers.

Clients are autostrada sessions, hand-driven peers on our client channels, the
``websockets`` library's own client, and plain TCP connections.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
from pathlib import Path
from typing import Any

import pytest
from server_kit import (
    async_test,
    eventually,
    listener,
    peer,
    running,
    server_config,
    session_count,
    sessions,
    still_works,
    tcp_client,
    url_of,
    within,
)
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

import autostrada
from autostrada.exceptions import TransportError
from autostrada.messages import (
    Abort,
    Event,
    Hello,
    Publish,
    Published,
    Subscribe,
    Subscribed,
    Welcome,
)
from autostrada.router.server import RouterServer
from autostrada.serializers import get_serializer
from autostrada.types import PublishOptions

PLAIN = ("json", "msgpack", "cbor")
BATCHED = ("json.batched", "msgpack.batched", "cbor.batched")
ROLES: dict[str, Any] = {"publisher": {}, "subscriber": {}}


def raw_websocket(url: str, subprotocols: list[str] | None = None, **options: Any) -> Any:
    """The websockets library's client; no proxy from the environment, no compression."""
    offered = [Subprotocol(s) for s in subprotocols] if subprotocols is not None else None
    return ws_connect(url, subprotocols=offered, proxy=None, compression=None, **options)


# ------------------------------------------------------------------ transports, serializers


@pytest.mark.parametrize("serializer", PLAIN)
@async_test
async def test_one_port_serves_websocket_and_rawsocket(serializer: str) -> None:
    async with running(listener("universal")) as server:
        port = server.port_of("universal")
        assert server.urls == [f"ws://127.0.0.1:{port}/ws", f"rs://127.0.0.1:{port}"]
        async with (
            sessions(url_of(server, "ws"), serializers=[serializer]) as [ws],
            sessions(url_of(server, "rs"), serializers=[serializer]) as [rs],
        ):
            received: asyncio.Queue[Any] = asyncio.Queue()
            await within(rs.subscribe(lambda *args: received.put_nowait(args), "com.t"))
            payload = ["héllo", 2**40, {"nested": [1.5, None, True]}, b"\x00\x01bytes"]
            ack = ws.publish("com.t", *payload, options=PublishOptions(acknowledge=True))
            await within(ack)
            assert await within(received.get()) == tuple(payload)
            assert await session_count(ws) == 2


@pytest.mark.parametrize("batched", BATCHED)
@async_test
async def test_batched_serializers_over_websocket(batched: str) -> None:
    """wamp.2.<format>.batched: several messages per WebSocket message, both ways."""
    serializer = get_serializer(batched)
    config = listener("websocket", serializers=(*PLAIN, *BATCHED))
    async with (
        running(config) as server,
        raw_websocket(url_of(server, "ws"), [serializer.subprotocol]) as ws,
    ):
        assert ws.subprotocol == serializer.subprotocol

        async def receive() -> list[Any]:
            frame = await within(ws.recv())
            # JSON batches travel as text, the binary formats as binary messages.
            assert isinstance(frame, str) is (not serializer.binary)
            data = frame.encode() if isinstance(frame, str) else frame
            if batched == "json.batched":
                assert data.endswith(b"\x1e")
            return serializer.decode(data)

        await ws.send(
            _as_frame(serializer, serializer.encode_batch([Hello("realm1", {"roles": ROLES})]))
        )
        [welcome] = await receive()
        assert isinstance(welcome, Welcome)
        # Two messages in one WebSocket message: the router must handle both, in order.
        batch = serializer.encode_batch(
            [
                Subscribe(1, {}, "com.batch"),
                Publish(2, {"acknowledge": True, "exclude_me": False}, "com.batch", ["x", 1]),
            ]
        )
        await ws.send(_as_frame(serializer, batch))
        got: list[Any] = []
        while len(got) < 3:
            got.extend(await receive())
        assert isinstance(got[0], Subscribed)
        assert sorted(type(m).__name__ for m in got[1:]) == ["Event", "Published"]
        [event] = [m for m in got if isinstance(m, Event)]
        assert event.args == ["x", 1]


def _as_frame(serializer: Any, data: bytes) -> str | bytes:
    return data if serializer.binary else data.decode()


@async_test
async def test_one_event_reaches_every_serializer_correctly() -> None:
    """Fan-out caches one encoding per serializer: json and json.batched share a name only."""
    config = listener("universal", serializers=(*PLAIN, *BATCHED))
    async with running(config) as server:
        url = url_of(server, "ws")
        async with sessions(url, serializers=["cbor"]) as [publisher]:
            subscribers = []
            # Two of a kind: the second gets the cached encoding of the first.
            for name in ("json", *PLAIN, *BATCHED, "json.batched"):
                subscribers.append(await within(autostrada.connect(url, serializers=[name])))
            try:
                queues: list[asyncio.Queue[Any]] = []
                for subscriber in subscribers:
                    queue: asyncio.Queue[Any] = asyncio.Queue()
                    queues.append(queue)
                    await within(subscriber.subscribe(queue.put_nowait, "com.fanout"))
                await within(
                    publisher.publish("com.fanout", "hi", options=PublishOptions(acknowledge=True))
                )
                for queue in queues:
                    assert await within(queue.get()) == "hi"
                assert all(s.is_connected() for s in subscribers)
            finally:
                for subscriber in subscribers:
                    subscriber.disconnect()
                    await within(subscriber.wait_disconnected())


# ------------------------------------------------------------------ WebSocket handshake


@async_test
async def test_wrong_websocket_path_gets_404_with_a_clear_body() -> None:
    async with running(listener("websocket", path="/ws")) as server:
        port = server.port_of("websocket")
        with pytest.raises(InvalidStatus) as refused:
            async with raw_websocket(f"ws://127.0.0.1:{port}/nope", ["wamp.2.json"]):
                pass
        response = refused.value.response
        assert response.status_code == 404
        assert response.body == b"no WAMP endpoint at /nope (try /ws)\n"
        assert response.headers["Content-Type"].startswith("text/plain")
        # Our client passes the explanation on.
        with pytest.raises(TransportError, match=r"404.*no WAMP endpoint at /nope \(try /ws\)"):
            await within(autostrada.connect(f"ws://127.0.0.1:{port}/nope"))
        # A query string is not part of the path.
        async with sessions(f"ws://127.0.0.1:{port}/ws?token=abc") as [session]:
            assert session.is_attached()


@async_test
async def test_root_path_accepts_any_path() -> None:
    async with running(listener("websocket", path="/")) as server:
        port = server.port_of("websocket")
        assert server.urls == [f"ws://127.0.0.1:{port}/"]
        for path in ("/", "/ws", "/any/thing"):
            async with sessions(f"ws://127.0.0.1:{port}{path}") as [session]:
                assert session.is_attached()


@pytest.mark.parametrize(
    ("offered", "status"),
    [(None, 400), (["wamp.2.ubjson"], 400), (["wamp.2.json.batched"], 400)],
)
@async_test
async def test_websocket_without_a_wamp_subprotocol_we_serve_is_refused(
    offered: list[str] | None, status: int
) -> None:
    async with running(listener("websocket", serializers=PLAIN)) as server:
        with pytest.raises(InvalidStatus) as refused:
            async with raw_websocket(url_of(server, "ws"), offered):
                pass
        assert refused.value.response.status_code == status
        assert b"subprotocol" in refused.value.response.body
        await still_works(url_of(server, "ws"))


@async_test
async def test_plain_http_and_garbage_on_a_universal_port() -> None:
    async with running(listener("universal")) as server:
        port = server.port_of("universal")
        async with tcp_client(port) as (reader, writer):
            writer.write(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = await within(reader.read())  # until the router closes
        assert answer.startswith(b"HTTP/1.1 426 Upgrade Required\r\n")
        async with tcp_client(port) as (reader, writer):
            writer.write(b"HELLO THERE\r\n\r\n")
            # Not HTTP at all: websockets closes without an answer.
            assert await within(reader.read()) == b""
        await still_works(url_of(server, "ws"))


# ------------------------------------------------------------------ RawSocket handshake


@async_test
async def test_rawsocket_unsupported_serializer_gets_the_handshake_error_code() -> None:
    async with running(listener("rawsocket", serializers=("msgpack",))) as server:
        port = server.port_of("rawsocket")
        async with tcp_client(port) as (reader, writer):
            writer.write(bytes([0x7F, 0xF1, 0, 0]))  # json, max length 2**24
            reply = await within(reader.read())  # then the router closes
        # 0x7F, error 1 ("serializer unsupported") in the high nibble, two zero octets.
        assert reply == bytes([0x7F, 0x10, 0, 0])
        with pytest.raises(TransportError, match="serializer unsupported"):
            await within(autostrada.connect(f"rs://127.0.0.1:{port}", serializers=["json"]))
        async with sessions(f"rs://127.0.0.1:{port}", serializers=["msgpack"]) as [session]:
            assert session.is_attached()


@async_test
async def test_a_universal_port_with_only_batched_serializers_refuses_rawsocket() -> None:
    """Batched serializers do not exist on RawSocket: nothing to offer, say so."""
    async with running(listener("universal", serializers=("json.batched",))) as server:
        async with tcp_client(server.port_of("universal")) as (reader, writer):
            writer.write(bytes([0x7F, 0xF1, 0, 0]))
            assert await within(reader.read()) == bytes([0x7F, 0x10, 0, 0])
        async with sessions(url_of(server, "ws"), serializers=["json.batched"]) as [session]:
            assert session.is_attached()


@async_test
async def test_rawsocket_handshake_announces_the_max_message_size() -> None:
    async with running(listener("rawsocket", max_message_size=4096)) as server:
        async with tcp_client(server.port_of("rawsocket")) as (reader, writer):
            writer.write(bytes([0x7F, 0xF2, 0, 0]))  # msgpack
            reply = await within(reader.readexactly(4))
        # LENGTH nibble: 2**(9+3) = 4096; serializer 2 echoed.
        assert reply == bytes([0x7F, 0x32, 0, 0])


# ------------------------------------------------------------------ open timeout


@pytest.mark.parametrize(
    ("kind", "first_bytes"),
    [
        ("websocket", b""),
        ("rawsocket", b""),
        ("universal", b""),
        ("websocket", b"GET /ws HTTP/1.1\r\n"),
        ("rawsocket", b"\x7f\xf1"),
        ("universal", b"\x7f"),
    ],
)
@async_test
async def test_a_client_that_does_not_finish_its_handshake_is_dropped(
    kind: str, first_bytes: bytes
) -> None:
    async with running(listener(kind, open_timeout=0.3)) as server:
        loop = asyncio.get_running_loop()
        url = server.urls[0]
        # A proper client that connected first must survive the same deadline.
        async with sessions(url) as [good], tcp_client(server.port_of(kind)) as (reader, writer):
            started = loop.time()
            writer.write(first_bytes)
            assert await within(reader.read()) == b""  # closed by the router
            elapsed = loop.time() - started
            assert 0.25 <= elapsed < 2.5
            assert good.is_connected()
            assert await session_count(good) == 1


@async_test
async def test_a_client_that_hangs_up_without_a_word_is_closed_at_once() -> None:
    async with running(listener("universal")) as server:  # open_timeout: 10 s
        async with tcp_client(server.port_of("universal")) as (reader, writer):
            writer.write_eof()
            assert await within(reader.read(), 2) == b""
        await still_works(url_of(server, "ws"))


@async_test
async def test_config_warnings_are_logged_at_start(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="autostrada.router"):
        async with running(listener(), warnings=("mind the gap", "and the step")):
            pass
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warned == ["mind the gap", "and the step"]


# ------------------------------------------------------------------ limits and bad input


@pytest.mark.parametrize("kind", ["ws", "rs"])
@async_test
async def test_oversize_message_closes_only_that_connection(kind: str) -> None:
    async with running(listener("universal", max_message_size=4096)) as server:
        url = url_of(server, kind)
        async with sessions(url) as [bystander], peer(url) as offender:
            await offender.join()
            fits = Publish(1, {"acknowledge": True}, "com.size", ["x" * 3900])
            offender.send(fits)
            assert isinstance(await offender.receive(), Published)
            data = offender.serializer.encode(Publish(2, {}, "com.size", ["x" * 10_000]))
            if kind == "ws":
                offender.channel.send(data)  # the client does not know the router's limit
            else:
                # Our RawSocket client refuses to break the announced limit: write by hand.
                transport = offender.channel.transport
                assert transport is not None
                transport.write(struct.pack(">I", len(data)) + data)
            error = await offender.closed()
            if kind == "ws":
                assert "1009" in str(error)  # "message too big"
            assert bystander.is_connected()
            assert await session_count(bystander) == 1
            await still_works(url)


@pytest.mark.parametrize("serializer", PLAIN)
@pytest.mark.parametrize("kind", ["ws", "rs"])
@async_test
async def test_garbage_message_gets_abort_and_close(kind: str, serializer: str) -> None:
    async with running(listener("universal")) as server:
        url = url_of(server, kind)
        async with sessions(url) as [bystander], peer(url, serializer) as offender:
            await offender.join()
            offender.channel.send(b"\xc1 this is no message \xff")
            abort = await offender.receive()
            assert isinstance(abort, Abort)
            assert abort.reason == "wamp.error.protocol_violation"
            await offender.closed()
            assert await session_count(bystander) == 1
            await still_works(url)


@async_test
async def test_garbage_before_hello_and_unknown_message_type() -> None:
    async with running(listener("universal")) as server:
        url = url_of(server, "ws")
        async with peer(url) as early:
            early.channel.send(b"[1, 2")  # truncated JSON, no session yet
            abort = await early.receive()
            assert isinstance(abort, Abort)
            assert abort.reason == "wamp.error.protocol_violation"
            await early.closed()
        async with peer(url) as unknown:
            await unknown.join()
            unknown.channel.send(b'[999, "what"]')
            abort = await unknown.receive()
            assert isinstance(abort, Abort)
            assert abort.reason == "wamp.error.protocol_violation"
            await unknown.closed()
        await still_works(url)


@async_test
async def test_rawsocket_frame_of_a_reserved_type_closes_the_connection() -> None:
    async with running(listener("rawsocket")) as server:
        url = url_of(server, "rs")
        async with sessions(url) as [bystander], peer(url) as offender:
            await offender.join()
            transport = offender.channel.transport
            assert transport is not None
            transport.write(bytes([0x05, 0, 0, 2]) + b"[]")  # frame type 5 is reserved
            await offender.closed()
            assert await session_count(bystander) == 1


# ------------------------------------------------------------------ Unix sockets, URLs, ports


@async_test
async def test_unix_socket_listeners(tmp_path: Path) -> None:
    both = tmp_path / "router.sock"
    ws_only = tmp_path / "ws.sock"
    async with running(
        listener("universal", unix_path=str(both)),
        listener("websocket", unix_path=str(ws_only), path="/ws"),
    ) as server:
        assert server.urls == [
            f"ws+unix://{both}",
            f"rs+unix://{both}",
            f"ws+unix://{ws_only}",
        ]
        for url in server.urls:
            async with sessions(url, serializers=["msgpack"]) as [session]:
                assert session.is_attached()
        # The configured path over a Unix socket, the way Autobahn connects.
        async with sessions("ws://localhost/ws", unix_path=str(ws_only)) as [session]:
            assert session.is_attached()
        with pytest.raises(TransportError, match="404"):
            await within(autostrada.connect("ws://localhost/other", unix_path=str(ws_only)))
        with pytest.raises(LookupError, match="no universal TCP listener"):
            server.port_of("universal")


@async_test
async def test_urls_and_ports_of_every_kind() -> None:
    async with running(
        listener("websocket", path="/wamp"),
        listener("rawsocket"),
        listener("universal"),
        listener("websocket", host="::1"),
    ) as server:
        ws, rs, universal = (server.port_of(k) for k in ("websocket", "rawsocket", "universal"))
        *ipv4, ipv6 = server.urls
        assert ipv4 == [
            f"ws://127.0.0.1:{ws}/wamp",
            f"rs://127.0.0.1:{rs}",
            f"ws://127.0.0.1:{universal}/ws",
            f"rs://127.0.0.1:{universal}",
        ]
        assert re.fullmatch(r"ws://\[::1\]:\d+/ws", ipv6)
        assert len({ws, rs, universal}) == 3
        for url in server.urls:
            async with sessions(url) as [session]:
                assert session.is_attached()
    assert server.urls == []


@async_test
async def test_a_listener_that_cannot_bind_names_its_address_and_frees_the_others() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = RouterServer(
            server_config(listener("universal"), listener("websocket", port=port))
        )
        with pytest.raises(OSError, match=rf"cannot listen on 127\.0\.0\.1:{port}: "):
            await server.start()
        assert server.urls == []
        await server.stop()  # harmless after a failed start


@async_test
async def test_start_twice_is_refused() -> None:
    async with running(listener()) as server:
        with pytest.raises(RuntimeError, match="already started"):
            await server.start()


@async_test
async def test_router_logs_name_the_peer_by_address(caplog: pytest.LogCaptureFixture) -> None:
    async with running(listener("websocket", path="/ws")) as server:
        port = server.port_of("websocket")
        with caplog.at_level("DEBUG", logger="autostrada.router"):
            with pytest.raises(TransportError):
                await within(autostrada.connect(f"ws://127.0.0.1:{port}/elsewhere"))
            await eventually(lambda: "refused WebSocket upgrade" in caplog.text)
        assert "refused WebSocket upgrade from 127.0.0.1:" in caplog.text
