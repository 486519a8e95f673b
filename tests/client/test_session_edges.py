"""What no well-behaved router does, and what no payload should do, to a session.

A :class:`~clientkit.ScriptedRouter` plays the router message by message: protocol
violations, a router-initiated GOODBYE, CHALLENGEs we cannot or must not answer, a
forged SCRAM proof, acknowledged event delivery. Against Crossbar: payloads that cannot
be serialized, in every place a payload goes, never leave anything hanging.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import secrets
import socket
from typing import Any

import pytest
from clientkit import (
    ROUTER_ROLES,
    Gate,
    LogWatch,
    RawPeer,
    Relay,
    ScriptedRouter,
    async_test,
    close_session,
    disconnect,
    joined,
    open_session,
    sessions,
    within,
)

import autostrada
from autostrada import (
    ApplicationError,
    AuthenticationFailed,
    CallDetails,
    CallOptions,
    CloseDetails,
    ComponentConfig,
    InvalidState,
    ProtocolError,
    PublishOptions,
    RegisterOptions,
    Session,
    SessionClosed,
    SubscribeOptions,
    TransportError,
)
from autostrada.aio.connect import connect as connect_channel
from autostrada.auth import ScramCredential, ScramServer
from autostrada.messages import (
    Abort,
    Authenticate,
    Call,
    Challenge,
    Event,
    EventReceived,
    Goodbye,
    Hello,
    Result,
    Subscribe,
    Subscribed,
    Welcome,
)
from autostrada.testing import RouterThread


def unique(uri: str) -> str:
    return f"{uri}.{secrets.token_hex(4)}"


async def scripted_join(
    router: ScriptedRouter, **options: Any
) -> tuple[Session, RawPeer, asyncio.Task[Session]]:
    """Connect a client to the scripted router and welcome it."""
    connecting = asyncio.ensure_future(autostrada.connect(router.url, "realm1", **options))
    peer = await router.accept()
    hello = await peer.recv()
    assert isinstance(hello, Hello)
    peer.send(Welcome(1234, {"roles": ROUTER_ROLES, "authid": "me", "authrole": "tester"}))
    session = await within(connecting)
    return session, peer, connecting


# ------------------------------------------------------------------- router misbehaves


@async_test
async def test_undecodable_frame_aborts_the_session() -> None:
    async with ScriptedRouter() as router:
        session, peer, _ = await scripted_join(router)
        try:
            pending = asyncio.ensure_future(session.call("com.test.proc"))
            assert isinstance(await peer.recv(), Call)
            with LogWatch("autostrada.session") as log:
                peer.channel.send(b"this is not json")
                abort = await peer.recv()
                assert isinstance(abort, Abort)
                assert abort.reason == ApplicationError.PROTOCOL_VIOLATION
                assert any("protocol violation" in m for m in log.messages())
            with pytest.raises(SessionClosed) as caught:
                await within(pending)
            assert caught.value.reason == ApplicationError.PROTOCOL_VIOLATION
            await within(session.wait_disconnected())
        finally:
            await disconnect(session)


@async_test
async def test_unexpected_message_aborts_the_session() -> None:
    async with ScriptedRouter() as router:
        session, peer, _ = await scripted_join(router)
        try:
            left: asyncio.Future[CloseDetails] = asyncio.get_running_loop().create_future()
            session.on("leave", lambda _s, details: left.set_result(details))
            with LogWatch("autostrada.session") as log:
                peer.send(Result(77, {}, ["for a request we never made"]))
                abort = await peer.recv()
                assert isinstance(abort, Abort)
                assert abort.reason == ApplicationError.PROTOCOL_VIOLATION
                assert "77" in abort.details["message"]
                assert any("RESULT for request 77" in m for m in log.messages())
            details = await within(left)
            assert details.reason == ApplicationError.PROTOCOL_VIOLATION
        finally:
            await disconnect(session)


@async_test
async def test_welcome_without_roles_fails_the_join() -> None:
    async with ScriptedRouter() as router:
        connecting = asyncio.ensure_future(autostrada.connect(router.url, "realm1"))
        peer = await router.accept()
        assert isinstance(await peer.recv(), Hello)
        peer.send(Welcome(1, {}))
        with pytest.raises(ProtocolError, match="roles"):
            await within(connecting)
        assert isinstance(await peer.recv(), Abort)


@async_test
async def test_router_says_goodbye() -> None:
    async with ScriptedRouter() as router:
        session, peer, _ = await scripted_join(router)
        try:
            left: asyncio.Future[CloseDetails] = asyncio.get_running_loop().create_future()
            session.on("leave", lambda _s, details: left.set_result(details))
            pending = asyncio.ensure_future(session.call("com.test.proc"))
            assert isinstance(await peer.recv(), Call)
            peer.send(Goodbye({"message": "maintenance"}, "wamp.close.system_shutdown"))
            echo = await peer.recv()
            assert isinstance(echo, Goodbye) and echo.reason == "wamp.close.goodbye_and_out"
            details = await within(left)
            assert (details.reason, details.message) == (
                "wamp.close.system_shutdown",
                "maintenance",
            )
            with pytest.raises(SessionClosed, match="system_shutdown"):
                await within(pending)
            await within(session.wait_disconnected())  # the default on_leave disconnects
        finally:
            await disconnect(session)


@async_test
async def test_leave_without_goodbye_echo_is_bounded() -> None:
    async with ScriptedRouter() as router:
        session, peer, _ = await scripted_join(router, close_timeout=0.2)
        try:
            details = await within(session.leave("com.test.bye"))
            assert isinstance(await peer.recv(), Goodbye)
            assert (details.reason, details.message) == ("com.test.bye", "no GOODBYE echo")
            await within(session.wait_disconnected())
        finally:
            await disconnect(session)


# ------------------------------------------------------------------- authentication


@async_test
async def test_challenge_for_a_method_we_have_no_credentials_for() -> None:
    async with ScriptedRouter() as router:
        authentication = {"ticket": {"authid": "joe", "ticket": "secret"}}
        connecting = asyncio.ensure_future(
            autostrada.connect(router.url, "realm1", authentication=authentication)
        )
        peer = await router.accept()
        hello = await peer.recv()
        assert isinstance(hello, Hello) and hello.details["authmethods"] == ["ticket"]
        peer.send(Challenge("wampcra", {"challenge": "{}"}))
        with pytest.raises(AuthenticationFailed, match="has no credentials for"):
            await within(connecting)
        abort = await peer.recv()
        assert isinstance(abort, Abort) and abort.reason == "wamp.error.authentication_failed"


@async_test
async def test_cryptosign_binding_refused_without_tls() -> None:
    async with ScriptedRouter() as router:
        authentication = {"cryptosign": {"privkey": "11" * 32, "channel_binding": "tls-unique"}}
        connecting = asyncio.ensure_future(
            autostrada.connect(router.url, "realm1", authentication=authentication)
        )
        peer = await router.accept()
        hello = await peer.recv()
        assert isinstance(hello, Hello)
        assert hello.details["authextra"]["channel_binding"] == "tls-unique"
        peer.send(
            Challenge("cryptosign", {"challenge": "00" * 32, "channel_binding": "tls-unique"})
        )
        with pytest.raises(AuthenticationFailed, match="is it TLS"):
            await within(connecting)
        assert isinstance(await peer.recv(), Abort)


@pytest.mark.parametrize("forged", [True, False])
@async_test
async def test_scram_router_proof_is_checked(forged: bool) -> None:
    credential = ScramCredential.from_password("pw", kdf="pbkdf2", iterations=1000)
    async with ScriptedRouter() as router:
        authentication = {"scram": {"authid": "joe", "password": "pw"}}
        connecting = asyncio.ensure_future(
            autostrada.connect(router.url, "realm1", authentication=authentication)
        )
        peer = await router.accept()
        hello = await peer.recv()
        assert isinstance(hello, Hello)
        server = ScramServer(hello.details["authid"], hello.details["authextra"], credential)
        peer.send(Challenge("scram", server.challenge_extra))
        answer = await peer.recv()
        assert isinstance(answer, Authenticate)
        assert server.verify(answer.signature, answer.extra)
        authextra = server.welcome_authextra()
        if forged:
            authextra = {"scram_server_signature": base64.b64encode(bytes(32)).decode()}
        peer.send(
            Welcome(5, {"roles": ROUTER_ROLES, "authmethod": "scram", "authextra": authextra})
        )
        if forged:
            with pytest.raises(AuthenticationFailed):
                await within(connecting)
            assert isinstance(await peer.recv(), Abort)
        else:
            session = await within(connecting)
            assert session.details is not None and session.details.authmethod == "scram"
            session.disconnect()
            await within(session.wait_disconnected())


# ----------------------------------------------------------- acknowledged event delivery


@async_test
async def test_event_received_is_sent_after_the_handlers_ran() -> None:
    async with ScriptedRouter(("msgpack",)) as router:
        session, peer, _ = await scripted_join(router, serializers=["msgpack"])
        try:
            gate = Gate()
            subscribing = asyncio.ensure_future(
                session.subscribe(gate, "com.test.acked", SubscribeOptions(details=False))
            )
            request = await peer.recv()
            assert isinstance(request, Subscribe)
            peer.send(Subscribed(request.request_id, 99))
            await within(subscribing)
            peer.send(Event(99, 500, {"x_acknowledged_delivery": True}, ["payload"]))
            peer.send(Event(99, 501, {}, ["not acknowledged"]))
            await within(gate.started.wait())
            assert peer.inbox.empty()  # not before the handler has finished
            gate.release.set()
            received = await peer.recv()
            assert isinstance(received, EventReceived) and received.publication_id == 500
        finally:
            await disconnect(session)


# -------------------------------------------------------------- unsendable payloads


@async_test
async def test_unserializable_payloads_never_hang(crossbar: Any) -> None:
    async with sessions(crossbar.ws_url, 2) as [caller, callee]:
        returns_set = unique("com.test.set")
        await callee.register(lambda: {1, 2}, returns_set)
        with LogWatch("autostrada.session") as log:
            # The callee's YIELD cannot be serialized: the caller gets an ERROR at once.
            with pytest.raises(ApplicationError) as caught:
                await within(caller.call(returns_set))
            assert caught.value.error == ApplicationError.RUNTIME_ERROR
            assert "cannot be serialized" in str(caught.value)
            assert any("was not sent" in m for m in log.messages())

        async def bad_progress(details: CallDetails) -> str:
            assert details.progress is not None
            try:
                details.progress(object())
            except ValueError as exc:
                return f"progress refused: {'cannot be serialized' in str(exc)}"
            return "sent?!"

        progress = unique("com.test.progress")
        await callee.register(bad_progress, progress, RegisterOptions(details=True))
        result = await within(caller.call(progress, options=CallOptions(on_progress=print)))
        assert result == "progress refused: True"

        raises_bad = unique("com.test.raise")

        def raise_unserializable() -> None:
            raise ApplicationError("com.test.error.weird", object())

        await callee.register(raise_unserializable, raises_bad)
        with pytest.raises(ApplicationError) as error:
            await within(caller.call(raises_bad))
        assert error.value.error == ApplicationError.RUNTIME_ERROR

        # Our own CALL or PUBLISH: the caller gets the error, nothing stays pending.
        with pytest.raises(ValueError, match="CALL cannot be serialized"):
            await caller.call(returns_set, {1})
        with pytest.raises(ValueError, match="PUBLISH cannot be serialized"):
            caller.publish("com.test.topic", {1})
        assert caller._core.pending_requests == {}
        assert caller.is_attached() and callee.is_attached()
        assert await caller.call("wamp.session.count") >= 2


@async_test
async def test_unserializable_stream_chunk_cancels_the_call(client_router: RouterThread) -> None:
    async with sessions(client_router.url, 2) as [caller, callee]:
        gate = Gate()
        procedure = unique("com.test.stream")
        await callee.register(gate, procedure)
        stream = await caller.call_stream(procedure, "first")
        await within(gate.started.wait())
        with pytest.raises(ValueError, match="CALL cannot be serialized"):
            stream.send({1, 2})
        with pytest.raises(InvalidState, match="the call has ended"):
            stream.send("more")
        with pytest.raises(ValueError, match="CALL cannot be serialized"):
            await stream.finish()  # the call failed with that error
        await within(gate.cancelled.wait())  # and was cancelled at the callee
        assert caller._core.pending_requests == {}


# ------------------------------------------------------------------------ misuse


@async_test
async def test_misuse_is_reported(crossbar: Any) -> None:
    session = Session(ComponentConfig())
    with pytest.raises(ValueError, match="unknown session event"):
        session.on("joined", print)
    with pytest.raises(ValueError, match="no realm"):
        await session.join()
    with pytest.raises(InvalidState, match="attach a transport first"):
        await session.join("realm1")
    with pytest.raises(InvalidState, match="not joined"):
        session.publish("com.test.topic")
    assert session.session_id is None and session.details is None
    assert session.transport_details.peer is None
    session.disconnect()  # no transport: nothing to do
    await session.wait_disconnected()

    channel = await within(connect_channel(crossbar.ws_url))
    channel.close()
    await within(channel.wait_closed())
    await session.attach(channel)
    with pytest.raises(TransportError, match="is closed"):
        await session.join("realm1")

    async with joined(crossbar.ws_url) as live:
        with pytest.raises(ValueError, match="no topic"):
            await live.subscribe(print)
        with pytest.raises(ValueError, match="no procedure"):
            await live.register(print)


@async_test
async def test_session_as_async_context_manager(crossbar: Any) -> None:
    events: list[str] = []

    class Hooked(Session):
        async def on_connect(self) -> None:
            events.append("connect")

        async def on_join(self, details: Any) -> None:
            events.append(f"join {details.realm}")

        def on_leave(self, details: CloseDetails) -> None:
            events.append(f"leave {details.reason}")
            super().on_leave(details)

        def on_disconnect(self) -> None:
            events.append("disconnect")

    session = await open_session(crossbar.ws_url, session_factory=Hooked)
    disconnected = asyncio.Event()
    session.on("disconnect", lambda _s: disconnected.set())
    session.on("join", lambda _s, _d: 1 / 0)  # a failing observer is logged, nothing more
    async with session as same:
        assert same is session and session.is_attached()
    await within(disconnected.wait())
    async with session:  # not joined any more: nothing to leave
        pass
    assert events == ["connect", "join realm1", "leave wamp.close.normal", "disconnect"]
    assert not session.is_connected()


# ------------------------------------------------------------------ lifecycle edges


@async_test
async def test_call_right_after_disconnect_fails_promptly(crossbar: Any) -> None:
    session = await open_session(crossbar.ws_url)
    session.disconnect()  # the close handshake has started; the session is still joined
    with pytest.raises(SessionClosed, match="transport_lost"):
        await within(session.call("wamp.session.count"))
    await close_session(session)


@async_test
async def test_transport_lost_during_join(crossbar: Any) -> None:
    async with Relay(("127.0.0.1", crossbar.ws_port)) as relay:
        channel = await within(connect_channel(f"ws://{relay.address}/ws"))
        session = Session()
        await session.attach(channel)
        relay.hold_downstream = True  # our HELLO goes out; WELCOME never comes in
        joining = asyncio.ensure_future(session.join("realm1"))
        await asyncio.sleep(0)  # HELLO sent
        relay.sever()
        with pytest.raises(TransportError):
            await within(joining)
        await within(session.wait_disconnected())
        assert not session.is_attached() and session.details is None


@async_test
async def test_stream_endpoint_error_fails_the_call(client_router: RouterThread) -> None:
    async with sessions(client_router.url, 2) as [caller, callee]:

        def picky(chunk: int) -> int:
            if chunk < 0:
                raise ApplicationError("com.test.error.negative", chunk)
            return chunk

        procedure = unique("com.test.picky")
        await callee.register(picky, procedure)
        stream = await caller.call_stream(procedure, 1)
        stream.send(-5)
        with pytest.raises(ApplicationError) as caught:
            await within(stream.finish(2))
        assert (caught.value.error, caught.value.args_) == ("com.test.error.negative", [-5])


class Rejoining(Session):
    def on_leave(self, details: CloseDetails) -> None:
        pass  # keep the transport: join again on it


@async_test
async def test_many_sessions_leave_nothing_behind(crossbar: Any) -> None:
    def futures() -> int:
        gc.collect()
        return sum(isinstance(o, asyncio.Future) for o in gc.get_objects())

    async def workout(session: Session) -> None:
        got = asyncio.Event()
        await session.register(lambda x: x, "com.test.leak.echo")
        await session.subscribe(lambda _: got.set(), "com.test.leak.topic")
        assert await session.call("com.test.leak.echo", 1) == 1
        options = PublishOptions(acknowledge=True, exclude_me=False)
        await session.publish("com.test.leak.topic", 1, options=options)
        await within(got.wait())
        with pytest.raises(ApplicationError):
            await session.call("com.test.leak.none", options=CallOptions(timeout=0.05))
        assert [r async for r in session.call_iter("com.test.leak.echo", 2)] == [2]

    tasks, before = len(asyncio.all_tasks()), futures()
    for _ in range(20):
        async with joined(crossbar.ws_url) as session:
            await workout(session)
    channel = await within(connect_channel(crossbar.ws_url))
    session = Rejoining()
    await session.attach(channel)
    try:
        for _ in range(20):
            await within(session.join("realm1"))
            await workout(session)
            await within(session.leave())
            assert session._calls == session._requests == session._invocations == {}
            assert session._subscriptions == session._registrations == session._chunks == {}
            assert session._core.pending_requests == {}
            assert not session._core.subscriptions and not session._core.registrations
    finally:
        await close_session(session)
    await asyncio.sleep(0)  # the last disconnect hook
    assert len(asyncio.all_tasks()) == tasks
    assert futures() - before < 10


# ------------------------------------------------------------------------ writes


@async_test
async def test_a_burst_of_publishes_goes_out_in_one_write(client_router: RouterThread) -> None:
    """Unacknowledged PUBLISHes of one turn of the loop share a write (not one send
    syscall each); every event still arrives, in order."""
    async with sessions(client_router.url, 2) as [publisher, subscriber]:
        topic = unique("com.test.burst")
        got: list[int] = []
        all_in = asyncio.Event()

        def on_event(n: int) -> None:
            got.append(n)
            if len(got) == 50:
                all_in.set()

        await subscriber.subscribe(on_event, topic)
        transport = publisher.transport.transport  # type: ignore[union-attr]
        assert transport is not None
        writes: list[bytes] = []
        write = transport.write
        transport.write = lambda data: (writes.append(data), write(data))  # type: ignore[method-assign]
        for n in range(50):
            publisher.publish(topic, n)
        assert writes == []  # held until the end of this turn of the loop
        await within(all_in.wait())
        assert got == list(range(50))
        assert len(writes) == 1


@async_test
async def test_the_answers_to_the_invocations_of_one_read_go_out_in_one_write(
    client_router: RouterThread,
) -> None:
    """A callee answers every invocation of one read (sync procedures, run inline) with
    one write at the end of the read, not one send syscall per YIELD."""
    async with sessions(client_router.url, 2) as [caller, callee]:
        procedure = unique("com.test.batch")
        await callee.register(lambda n: n, procedure)
        channel = callee.transport
        assert channel is not None and channel.transport is not None
        transport = channel.transport
        reads: list[bytes] = []
        writes: list[bytes] = []
        receive, write = channel.data_received, transport.write
        channel.data_received = lambda data: (reads.append(data), receive(data))  # type: ignore[method-assign]
        transport.write = lambda data: (writes.append(data), write(data))  # type: ignore[method-assign]
        results = await within(asyncio.gather(*(caller.call(procedure, n) for n in range(40))))
        assert results == list(range(40))
        # At most one write per read; and the router's 40 INVOCATIONs came in fewer reads.
        assert len(writes) <= len(reads) < 40, (len(writes), len(reads))


@async_test
async def test_a_read_of_events_is_acknowledged_at_once_a_result_is_not(
    client_router: RouterThread,
) -> None:
    """Events get no reply, so their read is acknowledged at once (TCP_QUICKACK): a
    router that leaves Nagle's algorithm on (Crossbar) would otherwise hold its next
    message for our delayed ACK. A RESULT's read is not: the caller's next request
    carries the ACK, and a lone ACK costs as much as a small write."""
    async with sessions(client_router.url, 2) as [one, other]:
        channel = one.transport
        assert channel is not None
        ack = channel._ack_now  # TCP_QUICKACK: Linux only; elsewhere acknowledge() is a no-op
        assert (ack is not None) == hasattr(socket, "TCP_QUICKACK")
        acks: list[int] = []  # the ACKs sent (counted where there is none to send too)
        channel._ack_now = lambda: (acks.append(1), ack and ack())  # type: ignore[func-returns-value]
        topic, procedure = unique("com.test.acked"), unique("com.test.echo")
        got = asyncio.Event()
        await one.subscribe(got.set, topic)
        await other.register(lambda: None, procedure)
        acks.clear()  # the SUBSCRIBED read, if any
        for _ in range(3):
            assert await within(one.call(procedure)) is None
        assert acks == []  # the RESULTs: the next CALL carried the ACK
        other.publish(topic)
        await within(got.wait())
        assert acks == [1]


@async_test
async def test_channels_over_unix_sockets_have_no_acks_to_hurry(crossbar: Any) -> None:
    async with sessions(f"rs+unix://{crossbar.rs_unix_path}", 1) as [session]:
        assert session.transport is not None and session.transport._ack_now is None
        session.transport.acknowledge()  # a no-op
