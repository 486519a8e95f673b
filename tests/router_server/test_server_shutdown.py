"""Graceful shutdown: GOODBYE ``wamp.close.system_shutdown`` to every session, bounded wait."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from server_kit import (
    Peer,
    async_test,
    eventually,
    listener,
    running,
    server_config,
    sessions,
    tcp_client,
    url_of,
    within,
)

import autostrada
from autostrada.exceptions import TransportError
from autostrada.messages import Goodbye
from autostrada.router.server import RouterServer

SHUTDOWN = "wamp.close.system_shutdown"


def leave_reasons(*joined: Any) -> list[asyncio.Future[str]]:
    """One future per session: the reason of its ``leave``."""
    futures: list[asyncio.Future[str]] = []
    for session in joined:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        futures.append(future)

        def on_leave(_session: Any, details: Any, future: asyncio.Future[str] = future) -> None:
            if not future.done():
                future.set_result(details.reason)

        session.on("leave", on_leave)
    return futures


@async_test
async def test_every_session_gets_goodbye_and_stop_does_not_wait_for_nothing() -> None:
    server = RouterServer(server_config(listener("universal"), shutdown_timeout=10))
    await server.start()
    try:
        async with (
            sessions(url_of(server, "ws"), serializers=["json"]) as [ws],
            sessions(url_of(server, "rs"), serializers=["cbor"]) as [rs],
        ):
            reasons = leave_reasons(ws, rs)
            loop = asyncio.get_running_loop()
            started = loop.time()
            await within(server.stop())
            # Cooperative clients: no reason to wait anywhere near shutdown_timeout.
            assert loop.time() - started < 2
            assert [await within(r) for r in reasons] == [SHUTDOWN, SHUTDOWN]
            await within(ws.wait_disconnected())
            await within(rs.wait_disconnected())
    finally:
        await server.stop()
    assert server.urls == []


@pytest.mark.parametrize("kind", ["ws", "rs"])
@async_test
async def test_stop_is_bounded_when_clients_ignore_it(kind: str) -> None:
    server = RouterServer(server_config(listener("universal"), shutdown_timeout=0.5))
    await server.start()
    port = server.port_of("universal")
    deaf = await Peer.connect_slow_reader(url_of(server, kind), port)
    try:
        async with (
            sessions(url_of(server, kind)) as [polite],
            tcp_client(port) as (silent_reader, _),  # connected, never says a word
        ):
            not_joined = await Peer.connect(url_of(server, kind))  # transport open, no HELLO
            await deaf.join()
            assert deaf.channel.transport is not None
            deaf.channel.transport.pause_reading()  # it will never read GOODBYE nor answer
            [reason] = leave_reasons(polite)
            loop = asyncio.get_running_loop()
            started = loop.time()
            await within(server.stop())
            elapsed = loop.time() - started
            # WebSocket waits for the closing handshake the deaf client never answers (up
            # to shutdown_timeout); RawSocket has none, and the GOODBYE fits in the kernel's
            # buffers, so nothing holds the router there.
            assert elapsed < 1.5, elapsed
            if kind == "ws":
                assert elapsed > 0.4, elapsed
            assert await within(reason) == SHUTDOWN
            assert await within(silent_reader.read()) == b""
            await not_joined.closed()
            deaf.channel.transport.resume_reading()
            goodbye = await deaf.receive()
            assert isinstance(goodbye, Goodbye)
            assert goodbye.reason == SHUTDOWN
            await deaf.closed()
    finally:
        await deaf.aclose()
        await server.stop()


@async_test
async def test_stop_is_idempotent_and_concurrent_calls_wait_for_it() -> None:
    server = RouterServer(server_config(listener("universal"), shutdown_timeout=5))
    await server.stop()  # before start: nothing to do
    server = RouterServer(server_config(listener("universal"), shutdown_timeout=5))
    await server.start()
    url = url_of(server, "ws")
    async with sessions(url) as [session]:
        [reason] = leave_reasons(session)
        await within(asyncio.gather(server.stop(), server.stop(), server.stop()))
        assert reason.done() and reason.result() == SHUTDOWN
    await within(server.stop())
    with pytest.raises(TransportError):
        await within(autostrada.connect(url))


@async_test
async def test_serve_forever_stops_gracefully_when_cancelled() -> None:
    server = RouterServer(server_config(listener("rawsocket")))
    await server.start()
    try:
        async with sessions(url_of(server, "rs")) as [session]:
            [reason] = leave_reasons(session)
            serving = asyncio.ensure_future(server.serve_forever())
            await asyncio.sleep(0)  # let it start waiting
            serving.cancel()
            with pytest.raises(asyncio.CancelledError):
                await within(serving)
            assert await within(reason) == SHUTDOWN
            assert server.urls == []
    finally:
        await server.stop()


@async_test
async def test_connections_still_in_their_handshake_are_closed_at_once() -> None:
    async with running(listener("universal"), shutdown_timeout=5) as server:
        port = server.port_of("universal")
        async with tcp_client(port) as (silent, _), tcp_client(port) as (halfway, writer):
            writer.write(b"\x7f\xf1")  # half a RawSocket handshake
            await eventually(lambda: len(server._accepted) == 1 and len(server._connections) == 1)
            loop = asyncio.get_running_loop()
            started = loop.time()
            await within(server.stop())
            assert loop.time() - started < 1
            assert await within(silent.read()) == b""
            assert await within(halfway.read()) == b""
