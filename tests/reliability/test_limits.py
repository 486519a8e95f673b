"""Slow consumers and limits: bounded router memory, clear errors.

* A subscriber that stops reading while a publisher publishes 48 MiB as fast as the
  router acknowledges: the router (a subprocess, so that its memory is its own) drops
  that subscriber once ``max_write_buffer`` is queued for it; its peak RSS grows by a
  fraction of what was published; the publisher and another subscriber get everything.
  (tests/router_server/test_server_flow.py measures the write buffer itself.)
* ``RouterLimits.max_sessions``: one HELLO too many gets ABORT with the limit named.
* Message size: a message larger than the router accepts is refused with a clear error
  (RawSocket: before it is sent; WebSocket: the router closes with 1009).
* Pending calls, registrations, subscriptions per session: test_hostile_input.py (floods).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rel_kit import RouterProcess, async_test, server_kit, within

import autostrada
from autostrada import ApplicationError, PublishOptions, SessionClosed
from autostrada.exceptions import TransportError
from autostrada.messages import Abort, Hello, Subscribe, Subscribed
from autostrada.router.config import ServerConfig
from autostrada.router.core import RealmConfig, RouterConfig, RouterLimits
from autostrada.router.server import RouterServer

LIMIT = 256 * 1024
PAYLOAD = b"x" * 16 * 1024
PUBLICATIONS = 3000  # 48 MiB


@pytest.mark.parametrize("scheme", ["rs", "ws"])
def test_a_subscriber_that_stops_reading_leaves_router_memory_bounded(
    tmp_path: Path, scheme: str
) -> None:
    router = RouterProcess(tmp_path, listener={"max_write_buffer": LIMIT})
    router.start()
    try:

        @async_test
        async def scenario() -> None:
            url = router.url if scheme == "ws" else router.rs_url
            slow = await server_kit.Peer.connect_slow_reader(url, router.port, "msgpack")
            try:
                await slow.join()
                slow.send(Subscribe(1, {}, "com.flood"))
                assert isinstance(await slow.receive(), Subscribed)
                assert slow.channel.transport is not None
                slow.channel.transport.pause_reading()  # from now on it reads nothing
                async with server_kit.sessions(url, 2, serializers=["msgpack"]) as [
                    publisher,
                    fast,
                ]:
                    received = 0
                    all_in = asyncio.Event()

                    def count(_payload: bytes) -> None:
                        nonlocal received
                        received += 1
                        if received == PUBLICATIONS:
                            all_in.set()

                    await within(fast.subscribe(count, "com.flood"))
                    assert await within(publisher.call("wamp.session.count")) == 3
                    before, _ = router.rss()
                    acknowledged = PublishOptions(acknowledge=True)
                    samples = []
                    for n in range(PUBLICATIONS):
                        await within(publisher.publish("com.flood", PAYLOAD, options=acknowledged))
                        if n % 100 == 0:
                            samples.append(router.rss()[0])
                    await within(all_in.wait(), 10.0)  # the other subscriber got every one
                    after, peak = router.rss()
                    # The slow subscriber was dropped: only the two readers are left.
                    assert await within(publisher.call("wamp.session.count")) == 2
                    assert publisher.is_connected() and fast.is_connected()
                growth = max([*samples, after]) - before
                published = PUBLICATIONS * len(PAYLOAD) // 1024
                print(
                    f"\nslow {scheme} consumer: router RSS {before} KiB before, "
                    f"max sampled {max(samples)} KiB, peak (VmHWM) {peak} KiB, after {after} "
                    f"KiB; growth {growth} KiB while {published} KiB were published"
                )
                # Buffering for the slow reader would have grown RSS by the whole flood.
                assert growth < published // 4
                slow.channel.transport.resume_reading()
                await slow.closed(10)
            finally:
                await slow.aclose()

        scenario()
    finally:
        router.stop()


def limited(**limits: Any) -> ServerConfig:
    return ServerConfig(
        RouterConfig((RealmConfig.development("realm1"),), RouterLimits(**limits)),
        (server_kit.listener("universal", max_message_size=64 * 1024),),
    )


@async_test
async def test_one_session_too_many_gets_abort_naming_the_limit() -> None:
    async with RouterServer(limited(max_sessions=3)) as server:
        url = server_kit.url_of(server, "ws")
        async with server_kit.sessions(url, 3) as joined:
            with pytest.raises(SessionClosed) as caught:
                await within(autostrada.connect(url))
            assert caught.value.reason == "autostrada.error.limit_exceeded"
            assert "maximum of 3 sessions" in str(caught.value)
            # A handshake that is not finished counts too (a CHALLENGE pending, say):
            async with server_kit.peer(url) as extra:
                extra.send(Hello("realm1", {"roles": {"caller": {}}}))
                abort = await extra.receive()
                assert isinstance(abort, Abort) and "max_sessions" in abort.details["message"]
            await within(joined[0].leave())
            # A place is free again.
            async with await within(autostrada.connect(url)) as again:
                assert again.is_attached()


@async_test
async def test_a_message_larger_than_the_router_accepts() -> None:
    async with RouterServer(limited()) as server:
        big = "y" * (100 * 1024)
        # RawSocket: the router announced its maximum; the client refuses to send.
        async with await within(autostrada.connect(server_kit.url_of(server, "rs"))) as session:
            with pytest.raises(ApplicationError) as caught:
                await within(session.call("wamp.session.count", big))
            assert caught.value.error == ApplicationError.PAYLOAD_SIZE_EXCEEDED
            assert session.is_attached()  # nothing was sent; the session goes on
            assert await within(session.call("wamp.session.count")) == 1
        # WebSocket has no such announcement: the router closes the connection (1009).
        async with server_kit.sessions(server_kit.url_of(server, "ws")) as [session]:
            call = session.call("wamp.session.count", big)
            with pytest.raises((SessionClosed, TransportError)) as lost:
                await within(call)
            assert "1009" in str(lost.value) or "too big" in str(lost.value), lost.value
        await server_kit.still_works(server_kit.url_of(server, "ws"))
