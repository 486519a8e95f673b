"""The client's transports against Crossbar: what goes on below the WAMP session.

Subprotocol negotiation, custom HTTP headers, TCP_NODELAY, max message sizes in both
directions, keepalive, open and close timeouts, HTTP proxies (CONNECT), failures
that name the endpoint, and a connection lost with everything in flight. A
:class:`~clientkit.Relay` between client and Crossbar lets a test freeze or cut the
connection. TLS has no Crossbar listener here: tests/aio covers it locally.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from typing import Any

import pytest
from clientkit import (
    Gate,
    Relay,
    async_test,
    close_session,
    crossbar_url,
    joined,
    open_session,
    within,
)

import autostrada
from autostrada import (
    ApplicationError,
    CallOptions,
    CloseDetails,
    PublishOptions,
    Session,
    SessionClosed,
    TransportError,
)

KiB, MiB = 1 << 10, 1 << 20


def unique(uri: str) -> str:
    return f"{uri}.{secrets.token_hex(4)}"


def upstream_of(node: Any, transport: str) -> tuple[str, int] | str:
    if transport == "rs-unix":
        return str(node.rs_unix_path)
    return ("127.0.0.1", node.ws_port if transport == "ws" else node.rs_port)


def relay_url(relay: Relay, transport: str) -> str:
    return f"ws://{relay.address}/ws" if transport == "ws" else f"rs://{relay.address}"


class Observed:
    """Futures for a session's leave and disconnect events (observers, as Component uses)."""

    def __init__(self, session: Session) -> None:
        loop = asyncio.get_running_loop()
        self.left: asyncio.Future[CloseDetails] = loop.create_future()
        self.disconnected: asyncio.Future[None] = loop.create_future()
        session.on("leave", lambda _s, details: self.left.done() or self.left.set_result(details))
        session.on(
            "disconnect", lambda _s: self.disconnected.done() or self.disconnected.set_result(None)
        )


# ----------------------------------------------------------------- negotiation, headers


@async_test
async def test_websocket_subprotocol_follows_our_order(crossbar: Any) -> None:
    for offered in (["cbor", "json"], ["msgpack", "cbor", "json"], ["json", "cbor"]):
        async with joined(crossbar.ws_url, serializers=offered) as session:
            details = session.details
            assert details is not None and details.serializer == offered[0]
            assert session.transport_details.websocket_protocol == f"wamp.2.{offered[0]}"


@async_test
async def test_rawsocket_asks_for_the_first_serializer(crossbar: Any) -> None:
    url = crossbar_url(crossbar, "rs")
    async with joined(url, serializers=["cbor", "json"]) as session:
        assert session.details is not None and session.details.serializer == "cbor"


@async_test
async def test_custom_http_headers_reach_crossbar(crossbar: Any) -> None:
    headers = {"X-Autostrada-Test": "hello", "User-Agent": "autostrada-test/1"}
    async with joined(crossbar.ws_url, headers=headers) as session:
        info = await session.call("wamp.session.get", session.session_id)
        received = info["transport"]["http_headers_received"]
        assert received["x-autostrada-test"] == "hello"
        assert received["user-agent"] == "autostrada-test/1"
        assert "wamp.2.json" in received["sec-websocket-protocol"]


@pytest.mark.parametrize("transport", ["ws", "rs"])
@async_test
async def test_tcp_nodelay_on_our_side(crossbar: Any, transport: str) -> None:
    async with joined(crossbar_url(crossbar, transport)) as session:
        channel = session._channel
        assert channel is not None and channel.transport is not None
        sock = channel.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


# ---------------------------------------------------------------------- message sizes


@async_test
async def test_crossbar_honours_our_rawsocket_max_length(crossbar: Any) -> None:
    url = crossbar_url(crossbar, "rs")
    async with (
        joined(url, max_message_size=64 * KiB) as caller,
        joined(crossbar.ws_url) as callee,
    ):
        procedure = unique("com.test.sized")
        await callee.register(lambda n: "x" * n, procedure)
        assert len(await caller.call(procedure, 60 * KiB)) == 60 * KiB
        # A RESULT larger than we announced: Crossbar does not send it, it says why.
        with pytest.raises(ApplicationError) as caught:
            await within(caller.call(procedure, 100 * KiB))
        assert caught.value.error == ApplicationError.INVALID_ARGUMENT
        assert "exceeding payload limit of 65536" in str(caught.value)
        assert await caller.call(procedure, 1) == "x"  # the session goes on


@async_test
async def test_our_websocket_max_size_is_enforced(crossbar: Any) -> None:
    async with (
        joined(crossbar.ws_url) as caller,
        joined(crossbar.ws_url, max_message_size=64 * KiB) as callee,
    ):
        observed = Observed(callee)
        procedure = unique("com.test.len")
        await callee.register(len, procedure)
        assert await caller.call(procedure, "x" * (60 * KiB)) == 60 * KiB
        # An INVOCATION larger than the callee accepts: its WebSocket closes (1009).
        with pytest.raises(ApplicationError) as caught:
            await within(caller.call(procedure, "x" * (100 * KiB)))
        assert caught.value.error == ApplicationError.CANCELED  # "callee disconnected"
        details = await within(observed.left)
        assert details.reason == CloseDetails.REASON_TRANSPORT_LOST
        assert "1009" in str(details.message)
        await within(observed.disconnected)
        assert not callee.is_attached()


@async_test
async def test_message_larger_than_crossbar_accepts_is_refused_locally(crossbar: Any) -> None:
    # Crossbar's RawSocket announces 16 MiB: a bigger CALL, PUBLISH or YIELD never
    # leaves the client, and nothing is left pending or hanging.
    url = crossbar_url(crossbar, "rs")
    too_big = "x" * (16 * MiB + 1)
    options = {"max_message_size": 32 * MiB}
    async with joined(url, **options) as caller, joined(url, **options) as callee:
        procedure = unique("com.test.big")
        await callee.register(lambda what: too_big if what == "big" else what, procedure)
        with pytest.raises(ApplicationError) as caught:
            await caller.call(procedure, too_big)
        assert caught.value.error == ApplicationError.PAYLOAD_SIZE_EXCEEDED
        assert url in str(caught.value) and "16777216" in str(caught.value)
        assert caller._core.pending_requests == {}
        with pytest.raises(ApplicationError, match="payload_size_exceeded"):
            caller.publish(unique("com.test.topic"), too_big)
        # The callee's answer is too big: the caller gets an ERROR instead of waiting.
        with pytest.raises(ApplicationError) as answered:
            await within(caller.call(procedure, "big"))
        assert answered.value.error == ApplicationError.PAYLOAD_SIZE_EXCEEDED
        assert await caller.call(procedure, "small") == "small"
        assert caller.is_attached() and callee.is_attached()


@async_test
async def test_crossbar_drops_an_invocation_too_big_for_the_callee(crossbar: Any) -> None:
    # Crossbar divergence: an INVOCATION over the callee's RawSocket max length is
    # dropped and the call is never answered. Our local timeout ends it.
    url = crossbar_url(crossbar, "rs")
    async with joined(url) as caller, joined(url, max_message_size=64 * KiB) as callee:
        procedure = unique("com.test.len")
        await callee.register(len, procedure)
        started = asyncio.get_running_loop().time()
        with pytest.raises(ApplicationError) as caught:
            await within(
                caller.call(procedure, "x" * (100 * KiB), options=CallOptions(timeout=0.5))
            )
        assert caught.value.error == ApplicationError.TIMEOUT
        assert asyncio.get_running_loop().time() - started < 2.0
        assert await caller.call(procedure, "abc") == 3


# -------------------------------------------------------------------------- keepalive


@async_test
async def test_websocket_keepalive_with_crossbar(crossbar: Any) -> None:
    options = {"keepalive_interval": 0.1, "keepalive_timeout": 0.8}
    async with Relay(upstream_of(crossbar, "ws")) as relay:
        url = relay_url(relay, "ws")
        # Crossbar answers our pings: the session outlives many intervals.
        async with joined(url, **options) as session:
            observed = Observed(session)
            await asyncio.sleep(1.2)  # an observation window (~12 pings), not a synchronisation
            assert session.is_attached() and not observed.left.done()
            assert await session.call("wamp.session.count") >= 1
        # With the pongs held back, the keepalive timeout ends the connection.
        session = await open_session(url, **options)
        try:
            observed = Observed(session)
            relay.hold_downstream = True
            started = asyncio.get_running_loop().time()
            details = await within(observed.left)
            assert asyncio.get_running_loop().time() - started < 2.5
            assert details.reason == CloseDetails.REASON_TRANSPORT_LOST
            assert "did not answer a keepalive ping within 0.8 s" in str(details.message)
            assert url in str(details.message)
        finally:
            await close_session(session)


@async_test
async def test_rawsocket_ping_kills_a_crossbar_connection(crossbar: Any) -> None:
    # Crossbar divergence: its RawSocket (Autobahn's Twisted Int32StringReceiver) has
    # no PING/PONG; it reads our PING frame as a 16 MiB length and drops the
    # connection. The session ends promptly and says so; nothing hangs.
    url = crossbar_url(crossbar, "rs")
    session = await open_session(url, keepalive_interval=0.1, keepalive_timeout=2.0)
    try:
        observed = Observed(session)
        details = await within(observed.left, 2.0)
        assert details.reason == CloseDetails.REASON_TRANSPORT_LOST
        assert url in str(details.message)
        with pytest.raises(SessionClosed, match="has ended"):
            await session.call("wamp.session.count")
    finally:
        await close_session(session)


# --------------------------------------------------------------------------- timeouts


@pytest.mark.parametrize("transport", ["ws", "rs"])
@async_test
async def test_open_timeout(crossbar: Any, transport: str) -> None:
    async with Relay(upstream_of(crossbar, transport)) as relay:
        relay.hold_downstream = True  # the handshake answer never comes
        url = relay_url(relay, transport)
        started = asyncio.get_running_loop().time()
        with pytest.raises(TransportError) as caught:
            await within(autostrada.connect(url, open_timeout=0.3))
        assert asyncio.get_running_loop().time() - started < 1.5
        message = str(caught.value)
        assert "timed out after 0.3 s" in message and url in message
        assert ("WebSocket" if transport == "ws" else "RawSocket") in message


@pytest.mark.parametrize("transport", ["ws", "rs"])
@async_test
async def test_close_timeout_bounds_leave_and_disconnect(crossbar: Any, transport: str) -> None:
    async with Relay(upstream_of(crossbar, transport)) as relay:
        session = await open_session(relay_url(relay, transport), close_timeout=0.3)
        try:
            relay.hold_downstream = True  # no GOODBYE echo, no close frame
            loop = asyncio.get_running_loop()
            started = loop.time()
            details = await within(session.leave())
            assert details.message == "no GOODBYE echo"
            assert not session.is_attached()
            await within(session.wait_disconnected())
            assert loop.time() - started < 2.0
        finally:
            await close_session(session)


# ---------------------------------------------------------------------------- failures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@async_test
async def test_failures_name_the_endpoint(crossbar: Any, tmp_path: Any) -> None:
    port = free_port()
    cases = [
        (f"ws://127.0.0.1:{port}/ws", "refused"),
        (f"rs://127.0.0.1:{port}", "refused"),
        (f"rs+unix://{tmp_path}/none.sock", "No such file"),
        # A WebSocket client at Crossbar's RawSocket port: Crossbar resets.
        (f"ws://127.0.0.1:{crossbar.rs_port}/ws", "reset"),
        # A RawSocket client at Crossbar's WebSocket port: no answer, open_timeout.
        (f"rs://127.0.0.1:{crossbar.ws_port}", "timed out"),
    ]
    for url, expected in cases:
        with pytest.raises(TransportError) as caught:
            await within(autostrada.connect(url, open_timeout=0.5))
        assert url in str(caught.value), str(caught.value)
        assert expected in str(caught.value), str(caught.value)


@pytest.mark.parametrize("transport", ["ws", "rs"])
@async_test
async def test_http_proxy_connect(crossbar: Any, transport: str) -> None:
    target = crossbar_url(crossbar, transport)
    async with Relay(http_connect=True) as proxy:
        async with joined(target, proxy=f"http://{proxy.address}") as session:
            assert await session.call("wamp.session.count") >= 1
        port = crossbar.ws_port if transport == "ws" else crossbar.rs_port
        assert proxy.connect_requests[0].startswith(f"CONNECT 127.0.0.1:{port} ".encode())
        assert proxy.connections == 1


@async_test
async def test_transport_lost_fails_everything_at_once(crossbar: Any) -> None:
    async with Relay(upstream_of(crossbar, "ws")) as relay, joined(crossbar.ws_url) as other:
        session = await open_session(relay_url(relay, "ws"))
        try:
            observed = Observed(session)
            gate = Gate()
            slow = unique("com.test.slow")
            reg = await session.register(gate, slow)
            sub = await session.subscribe(lambda: None, unique("com.test.topic"))
            running = asyncio.ensure_future(other.call(slow))
            await within(gate.started.wait())  # our handler runs for `other`

            relay.hold_downstream = True  # requests go out; no reply comes back
            pending = [
                asyncio.ensure_future(session.call(slow)),
                asyncio.ensure_future(session.register(len, unique("com.test.reg"))),
                asyncio.ensure_future(session.subscribe(print, unique("com.test.topic"))),
                session.publish("com.test.topic", options=PublishOptions(acknowledge=True)),
            ]
            await asyncio.sleep(0)  # let the tasks send their requests
            relay.sever()
            results = await within(asyncio.gather(*pending, return_exceptions=True))
            for result in results:
                assert isinstance(result, SessionClosed), result
                assert result.reason == CloseDetails.REASON_TRANSPORT_LOST
                assert "lost" in str(result)
            await within(gate.cancelled.wait())  # the handler task was cancelled
            details = await within(observed.left)
            assert details.reason == CloseDetails.REASON_TRANSPORT_LOST
            await within(observed.disconnected)
            assert not reg.active and not sub.active
            with pytest.raises(ApplicationError) as caught:
                await within(running)
            assert caught.value.error == ApplicationError.CANCELED
            with pytest.raises(SessionClosed, match="has ended"):
                await session.call(slow)
        finally:
            await close_session(session)
