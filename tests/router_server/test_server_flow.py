"""Bounded memory and no lost replies: slow consumers, messages a receiver cannot take.

The slow-consumer test measures the router's user-space write buffer of the client
that stops reading (``RouterServer`` keeps it in ``channel.write_buffer_size()``);
the kernel's socket buffers come on top and are bounded by the OS.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from server_kit import (
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

from autostrada.exceptions import ApplicationError, SessionClosed
from autostrada.messages import Subscribe, Subscribed
from autostrada.router.server import RouterServer
from autostrada.types import PublishOptions

LIMIT = 256 * 1024
PAYLOAD = b"x" * 16 * 1024
MAX_PUBLICATIONS = 1500  # 24 MiB: far more than the kernel buffers plus LIMIT


def _router_side(server: RouterServer, client: Peer) -> Any:
    """The router's connection object of ``client`` (matched by the client's address)."""
    transport = client.channel.transport
    assert transport is not None
    host, port = transport.get_extra_info("sockname")[:2]
    for connection in server._connections:
        if connection.channel.endpoint == f"{host}:{port}":
            return connection
    return None


@pytest.mark.parametrize("kind", ["rs", "ws"])
@async_test
async def test_a_client_that_stops_reading_is_disconnected_with_bounded_memory(
    kind: str,
) -> None:
    async with running(listener("universal", max_write_buffer=LIMIT)) as server:
        url = url_of(server, kind)
        slow = await Peer.connect_slow_reader(url, server.port_of("universal"), "msgpack")
        try:
            await slow.join()
            slow.send(Subscribe(1, {}, "com.flood"))
            assert isinstance(await slow.receive(), Subscribed)
            connection = _router_side(server, slow)
            assert connection is not None
            assert slow.channel.transport is not None
            slow.channel.transport.pause_reading()  # from now on it reads nothing

            async with sessions(url_of(server, "ws"), 2, serializers=["msgpack"]) as [
                publisher,
                fast,
            ]:
                received = 0

                def count(_payload: bytes) -> None:
                    nonlocal received
                    received += 1

                await within(fast.subscribe(count, "com.flood"))
                peak = published = 0
                acknowledged = PublishOptions(acknowledge=True)
                while connection in server._connections and published < MAX_PUBLICATIONS:
                    await within(publisher.publish("com.flood", PAYLOAD, options=acknowledged))
                    published += 1
                    # Right after a batch is the buffer's high point: it only drains later.
                    peak = max(peak, connection.channel.write_buffer_size())
                assert connection not in server._connections, f"still there after {published}"
                # The policy: dropped once over the limit, so at most one message more.
                assert LIMIT - len(PAYLOAD) < peak <= LIMIT + 2 * len(PAYLOAD)
                print(f"slow {kind} consumer: dropped after {published} publications, peak {peak}")
                # Publisher and the other subscriber went on unhindered.
                await eventually(lambda: received == published)
                assert publisher.is_connected() and fast.is_connected()
                assert await session_count(publisher) == 2
            # The slow client, once it reads again, finds the connection closed.
            slow.channel.transport.resume_reading()
            await slow.closed(10)
        finally:
            await slow.aclose()
        await still_works(url)


@async_test
async def test_a_reading_subscriber_under_load_is_not_dropped() -> None:
    """The limit bounds a queue that grows, not traffic: a reader keeps up and stays."""
    async with running(listener("universal", max_write_buffer=64 * 1024)) as server:
        url = url_of(server, "rs")
        async with sessions(url, 2) as [publisher, subscriber]:
            received: asyncio.Queue[Any] = asyncio.Queue()
            await within(subscriber.subscribe(lambda i, _pad: received.put_nowait(i), "com.load"))
            for i in range(200):
                publisher.publish("com.load", i, "y" * 1000)
            for i in range(200):
                assert await within(received.get()) == i
            assert subscriber.is_connected()


@pytest.mark.parametrize("kind", ["rs", "ws"])
@async_test
async def test_keepalive_drops_a_peer_that_does_not_answer_pings(kind: str) -> None:
    config = listener("universal", keepalive_interval=0.1, keepalive_timeout=0.2)
    async with running(config) as server:
        url = url_of(server, kind)
        async with sessions(url) as [healthy], peer(url) as deaf:
            await deaf.join()
            connection = _router_side(server, deaf)
            assert connection is not None
            assert deaf.channel.transport is not None
            deaf.channel.transport.pause_reading()  # it answers no ping from now on
            loop = asyncio.get_running_loop()
            started = loop.time()
            await eventually(lambda: connection not in server._connections)
            assert loop.time() - started >= 0.2
            # The healthy session answered every ping meanwhile.
            assert healthy.is_connected()
            assert await session_count(healthy) == 1


# ---------------------------------------------------------------- undeliverable messages


@async_test
async def test_an_event_the_subscriber_cannot_decode_is_skipped_for_it_only() -> None:
    """A NaN (CBOR) cannot go to a JSON subscriber: skipped for it, nobody disconnected."""
    async with running(listener("universal")) as server:
        url = url_of(server, "ws")
        async with (
            sessions(url, serializers=["cbor"]) as [publisher],
            sessions(url, serializers=["json"]) as [json_subscriber],
            sessions(url, serializers=["cbor"]) as [cbor_subscriber],
            sessions(url, serializers=["msgpack"]) as [msgpack_subscriber],
        ):
            queues: list[asyncio.Queue[Any]] = []
            for subscriber in (json_subscriber, cbor_subscriber, msgpack_subscriber):
                queue: asyncio.Queue[Any] = asyncio.Queue()
                queues.append(queue)
                await within(subscriber.subscribe(queue.put_nowait, "com.odd"))
            json_q, cbor_q, msgpack_q = queues
            ack = PublishOptions(acknowledge=True)
            await within(publisher.publish("com.odd", math.nan, options=ack))
            await within(publisher.publish("com.odd", 2**70, options=ack))  # not for msgpack
            await within(publisher.publish("com.odd", "plain", options=ack))
            assert math.isnan(await within(cbor_q.get()))
            assert await within(cbor_q.get()) == 2**70
            assert await within(cbor_q.get()) == "plain"
            assert await within(json_q.get()) == 2**70
            assert await within(json_q.get()) == "plain"
            assert math.isnan(await within(msgpack_q.get()))
            assert await within(msgpack_q.get()) == "plain"
            assert json_q.empty() and msgpack_q.empty()
            assert await session_count(publisher) == 4


@async_test
async def test_a_call_the_callee_cannot_decode_fails_at_once_for_the_caller() -> None:
    async with running(listener("universal")) as server:
        url = url_of(server, "ws")
        async with (
            sessions(url, serializers=["json"]) as [callee],
            sessions(url, serializers=["cbor"]) as [caller],
        ):
            await within(callee.register(lambda x: ["echo", x], "com.echo"))
            with pytest.raises(ApplicationError) as failed:
                await within(caller.call("com.echo", math.inf))
            assert failed.value.error == ApplicationError.INVALID_ARGUMENT
            assert "INVOCATION" in str(failed.value.args)
            assert await within(caller.call("com.echo", 1)) == ["echo", 1]


@async_test
async def test_a_result_or_error_the_caller_cannot_decode_becomes_an_error() -> None:
    async with running(listener("universal")) as server:
        url = url_of(server, "ws")
        async with (
            sessions(url, serializers=["cbor"]) as [callee],
            sessions(url, serializers=["json"]) as [caller],
        ):

            def odd(kind: str) -> float:
                if kind == "error":
                    raise ApplicationError("com.example.odd", math.nan)
                return math.nan

            await within(callee.register(odd, "com.odd"))
            with pytest.raises(ApplicationError) as failed:
                await within(caller.call("com.odd", "result"))
            assert failed.value.error == ApplicationError.INVALID_ARGUMENT
            with pytest.raises(ApplicationError) as failed:
                await within(caller.call("com.odd", "error"))
            # The callee's error URI stays; only the payload the caller cannot take goes.
            assert failed.value.error == "com.example.odd"
            assert "cannot serialize to JSON" in str(failed.value.args)
            assert caller.is_connected() and callee.is_connected()


@async_test
async def test_messages_longer_than_a_rawsocket_client_accepts() -> None:
    """A RawSocket client announced 1 KiB: what is longer is never written to it."""
    async with running(listener("universal")) as server:
        rs, ws = url_of(server, "rs"), url_of(server, "ws")
        async with (
            sessions(rs, max_message_size=1024) as [small],
            sessions(ws) as [other],
        ):
            events: asyncio.Queue[Any] = asyncio.Queue()
            await within(small.subscribe(events.put_nowait, "com.size"))
            ack = PublishOptions(acknowledge=True)
            await within(other.publish("com.size", "x" * 2000, options=ack))
            await within(other.publish("com.size", "small", options=ack))
            assert await within(events.get()) == "small"  # the long one was skipped
            # An INVOCATION too long for the callee: the caller gets an ERROR at once.
            await within(small.register(len, "com.len"))
            assert await within(other.call("com.len", "x" * 100)) == 100
            with pytest.raises(ApplicationError) as failed:
                await within(other.call("com.len", "x" * 2000))
            assert failed.value.error == ApplicationError.PAYLOAD_SIZE_EXCEEDED
            # A RESULT too long for the caller: an ERROR instead.
            await within(other.register(lambda n: "y" * n, "com.make"))
            assert await within(small.call("com.make", 10)) == "y" * 10
            with pytest.raises(ApplicationError) as failed:
                await within(small.call("com.make", 5000))
            assert failed.value.error == ApplicationError.PAYLOAD_SIZE_EXCEEDED
            assert small.is_connected() and other.is_connected()


@async_test
async def test_a_welcome_too_long_for_the_client_aborts_instead_of_hanging() -> None:
    """512 bytes (the RawSocket minimum) do not hold our WELCOME: say so, do not hang."""
    async with running(listener("universal")) as server:
        url = url_of(server, "rs")
        with pytest.raises(SessionClosed) as failed:
            async with sessions(url, max_message_size=512):
                pass
        assert failed.value.reason == ApplicationError.PAYLOAD_SIZE_EXCEEDED
        assert "cannot send WELCOME" in str(failed.value)
        await still_works(url)
