"""Listeners: a new session on the connection of one its client closed with GOODBYE.

The router echoes the client's GOODBYE and keeps the connection, which may carry a new
session (HELLO again), as Crossbar does; a connection left silent after its GOODBYE is
closed cleanly after ``open_timeout``. Also: the default keepalive of each transport.
"""

from __future__ import annotations

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

import autostrada
from autostrada.exceptions import ApplicationError
from autostrada.messages import Call, Error, Goodbye, Hello, Register, Registered, Welcome
from autostrada.router.config import DEFAULT_KEEPALIVE_INTERVAL, DEFAULT_KEEPALIVE_TIMEOUT

ROLES = {"caller": {}, "callee": {}}


async def leave(hand: Peer) -> None:
    hand.send(Goodbye({}, ApplicationError.CLOSE_REALM))
    goodbye = await hand.receive()
    assert isinstance(goodbye, Goodbye) and goodbye.reason == ApplicationError.GOODBYE_AND_OUT


@pytest.mark.parametrize("serializer", ["json", "msgpack", "cbor"])
@pytest.mark.parametrize("scheme", ["ws", "rs"])
@async_test
async def test_hello_again_after_goodbye(scheme: str, serializer: str) -> None:
    async with running(listener("universal")) as server:
        url = url_of(server, scheme)
        async with peer(url, serializer) as hand, sessions(url) as [other]:
            first = await hand.join(roles=ROLES)
            hand.send(Register(1, {}, "com.rejoin.proc"))
            assert isinstance(await hand.receive(), Registered)
            await leave(hand)
            # The old session is gone, with its registration.
            assert await session_count(other) == 1
            with pytest.raises(ApplicationError) as info:
                await within(other.call("com.rejoin.proc"))
            assert info.value.error == ApplicationError.NO_SUCH_PROCEDURE
            # A new session on the same connection, with a new id, that works.
            second = await hand.join(roles=ROLES)
            assert second.session_id != first.session_id
            assert await session_count(other) == 2
            hand.send(Call(1, {}, "wamp.session.count"))
            result = await hand.receive()
            assert not isinstance(result, Error) and result.args == [2]
        await still_works(url)


@pytest.mark.parametrize("scheme", ["ws", "rs"])
@async_test
async def test_a_connection_silent_after_goodbye_is_closed_cleanly(scheme: str) -> None:
    config = listener("universal", open_timeout=0.3)
    async with running(config) as server, peer(url_of(server, scheme)) as hand:
        await hand.join()
        await leave(hand)
        assert await hand.closed() is None  # a clean close, not an abort
        await eventually(lambda: not server._connections)


@async_test
async def test_a_hello_before_the_timer_keeps_the_connection() -> None:
    # The timer armed at GOODBYE is for that wait only: a joined session stays.
    async with running(listener("universal", open_timeout=0.3)) as server:
        url = url_of(server, "ws")
        async with peer(url) as hand, sessions(url) as [other]:
            await hand.join()
            await leave(hand)
            await hand.join()
            # Long enough for the timer to have fired (the other session's round trips
            # go through the same loop): the session is still there.
            for _ in range(20):
                assert await session_count(other) == 2
            assert not hand.channel.closed.done()


@pytest.mark.parametrize("scheme", ["ws", "rs"])
@async_test
async def test_a_client_session_leaves_and_joins_again(scheme: str) -> None:
    # autostrada's own Session: leave() keeps the transport (when on_leave does not
    # close it, as it does by default), join() starts anew on it.
    async with running(listener("universal")) as server:
        url = url_of(server, scheme)
        session = await within(autostrada.connect(url, "realm1"))
        session.on_leave = lambda details: None  # type: ignore[method-assign]
        try:
            first = session.session_id
            details = await within(session.leave())
            assert details.reason == ApplicationError.GOODBYE_AND_OUT
            assert not session.is_attached()
            await within(session.join("realm1"))
            assert session.is_attached() and session.session_id != first
            assert await session_count(session) == 1
        finally:
            session.disconnect()
            await within(session.wait_disconnected())


@async_test
async def test_a_refused_hello_after_goodbye_closes() -> None:
    async with running(listener("universal")) as server, peer(url_of(server, "ws")) as hand:
        await hand.join()
        await leave(hand)
        hand.send(Hello("no.such.realm", {"roles": ROLES}))
        abort = await hand.receive()
        assert not isinstance(abort, Welcome)
        assert abort.reason == ApplicationError.NO_SUCH_REALM
        await hand.closed()


def test_default_keepalive_per_transport() -> None:
    default = listener("universal")
    assert default.keepalive("websocket") == (DEFAULT_KEEPALIVE_INTERVAL, DEFAULT_KEEPALIVE_TIMEOUT)
    # RawSocket: no PING unless asked (Autobahn|Python's RawSocket fails on one).
    assert default.keepalive("rawsocket") == (None, DEFAULT_KEEPALIVE_TIMEOUT)
    assert listener(keepalive_interval=2.5).keepalive("rawsocket") == (2.5, 20.0)
    assert listener(keepalive_interval=0).keepalive("websocket") == (None, 20.0)
    assert listener(keepalive_interval=1, keepalive_timeout=0.5).keepalive("websocket") == (1, 0.5)


@pytest.mark.parametrize("scheme", ["ws", "rs"])
@async_test
async def test_router_side_channels_get_the_defaults(scheme: str) -> None:
    async with running(listener("universal")) as server, peer(url_of(server, scheme)) as hand:
        await hand.join()
        (connection,) = server._connections
        channel = connection.channel
        expected = DEFAULT_KEEPALIVE_INTERVAL if scheme == "ws" else None
        assert channel.keepalive_interval == expected
        assert channel.keepalive_timeout == DEFAULT_KEEPALIVE_TIMEOUT
