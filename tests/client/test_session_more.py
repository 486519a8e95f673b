"""A join that never gets its WELCOME, event handlers outliving their session, and
requests that could not be sent.

* ``join()`` is bounded (by the channel's ``open_timeout``, or its ``timeout``
  argument): it fails with a :class:`TransportError` naming the router, aborts the
  half-joined session and closes the transport; an ``on_challenge`` still running is
  cancelled.
* When a session ends, event handler tasks still running are cancelled, like
  invocation tasks; handlers of the same event that had not started yet never run
  (and leave no "never awaited" noise). A handler that ends the session itself with
  ``await session.leave()`` is spared, and goes on.
* A request whose message cannot be sent (CALL, acknowledged PUBLISH, SUBSCRIBE,
  REGISTER) raises to its caller and leaves nothing pending in the core: nothing
  reaches the router, and no CANCEL follows.
* Callee edges: an INVOCATION for a registration whose ``register()`` was given up
  is answered at once; unregistering twice is harmless.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from clientkit import (
    ROUTER_ROLES,
    Gate,
    LogWatch,
    ScriptedRouter,
    async_test,
    close_session,
    disconnect,
    sessions,
    within,
)

import autostrada
from autostrada import (
    ApplicationError,
    Challenge,
    PublishOptions,
    Session,
    TransportError,
)
from autostrada.aio.connect import connect as connect_channel
from autostrada.messages import (
    Abort,
    Call,
    Error,
    Hello,
    Invocation,
    Register,
    Registered,
    Result,
    Welcome,
)
from autostrada.messages import Challenge as ChallengeMessage
from autostrada.request import Registration
from autostrada.testing import RouterThread

UNSERIALIZABLE_URI = "com.test.\ud800"  # a valid URI no serializer can encode (lone surrogate)


def unique(uri: str) -> str:
    return f"{uri}.{secrets.token_hex(4)}"


async def publish_acknowledged(session: Session, topic: str, *args: Any) -> None:
    acknowledged = session.publish(topic, *args, options=PublishOptions(acknowledge=True))
    assert acknowledged is not None
    await within(acknowledged)


class Later:
    """An awaitable that is neither a coroutine nor a future."""

    def __await__(self) -> Any:
        return asyncio.sleep(0).__await__()


# ------------------------------------------------------------------------ join timeout


@async_test
async def test_join_times_out_without_welcome() -> None:
    loop = asyncio.get_running_loop()
    async with ScriptedRouter() as router:
        started = loop.time()
        connecting = asyncio.ensure_future(
            autostrada.connect(router.url, "realm1", open_timeout=0.5)
        )
        peer = await router.accept()
        assert isinstance(await peer.recv(), Hello)  # ... and never a WELCOME
        with pytest.raises(TransportError) as caught:
            await within(connecting)
        assert str(caught.value) == f"join: no WELCOME from {router.url} within 0.5 s"
        assert loop.time() - started < 3.0
        abort = await peer.recv()  # the half-joined session is aborted
        assert isinstance(abort, Abort) and abort.reason == ApplicationError.TIMEOUT
        assert "no WELCOME" in abort.details["message"]
        await within(peer.channel.wait_closed())  # and the transport closed


@async_test
async def test_join_timeout_argument() -> None:
    async with ScriptedRouter() as router:
        channel = await within(connect_channel(router.url, open_timeout=7.5))
        assert channel.open_timeout == 7.5
        peer = await router.accept()
        session = Session()
        await session.attach(channel)
        for bad in (0, -1.0):
            with pytest.raises(ValueError, match="timeout must be a positive number"):
                await session.join("realm1", timeout=bad)
        joining = asyncio.ensure_future(session.join("realm1", timeout=0.2))
        assert isinstance(await peer.recv(), Hello)
        with pytest.raises(TransportError, match=r"no WELCOME from .* within 0.2 s"):
            await within(joining, 2.0)  # well before the channel's 7.5 s
        assert not session.is_attached()
        assert isinstance(await peer.recv(), Abort)
        await within(session.wait_disconnected())


@async_test
async def test_join_timeout_cancels_a_pending_on_challenge() -> None:
    cancelled = asyncio.Event()

    class SlowToAnswer(Session):
        async def on_challenge(self, challenge: Challenge) -> str:
            try:
                await asyncio.Event().wait()  # e.g. waiting for a human
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return "never"

    async with ScriptedRouter() as router:
        connecting = asyncio.ensure_future(
            autostrada.connect(
                router.url,
                "realm1",
                authentication={"ticket": {"authid": "joe", "ticket": "secret"}},
                session_factory=SlowToAnswer,
                open_timeout=0.5,
            )
        )
        peer = await router.accept()
        assert isinstance(await peer.recv(), Hello)
        peer.send(ChallengeMessage("ticket", {}))
        with pytest.raises(TransportError, match="no WELCOME"):
            await within(connecting)
        await within(cancelled.wait())
        assert isinstance(await peer.recv(), Abort)


# -------------------------------------------------------------- event handler tasks


@pytest.mark.parametrize("end", ["leave", "transport_lost"])
@async_test
async def test_event_handler_tasks_are_cancelled_when_the_session_ends(
    client_router: RouterThread, end: str
) -> None:
    async with sessions(client_router.url, 2) as [publisher, subscriber]:
        topic = unique("com.test.slow_handlers")
        gate = Gate()  # runs first, and is still running when the session ends
        not_started: list[Any] = []
        returned: list[asyncio.Task[Any]] = []

        async def never_started(*args: Any) -> None:
            not_started.append(args)

        def returns_a_task(*args: Any) -> asyncio.Task[Any]:
            returned.append(asyncio.ensure_future(asyncio.Event().wait()))
            return returned[-1]

        def returns_an_awaitable(*args: Any) -> Any:
            return Later()

        for handler in (gate, never_started, returns_a_task, returns_an_awaitable):
            await subscriber.subscribe(handler, topic)
        await publish_acknowledged(publisher, topic, "x")
        await within(gate.started.wait())
        with LogWatch("autostrada.session") as log:
            if end == "leave":
                await within(subscriber.leave())
            else:
                await disconnect(subscriber)
            await within(gate.cancelled.wait())
            await within(asyncio.wait(returned))
            assert any("cancelling 1 event handler task(s)" in m for m in log.messages())
        assert returned[0].cancelled()
        assert not_started == []
        assert not gate.finished.is_set()


@async_test
async def test_event_handlers_that_finish_in_time_are_not_disturbed(
    client_router: RouterThread,
) -> None:
    async with sessions(client_router.url, 2) as [publisher, subscriber]:
        topic = unique("com.test.quick_handlers")
        seen: list[Any] = []

        async def quick(value: Any) -> None:
            await asyncio.sleep(0)
            seen.append(value)

        await subscriber.subscribe(quick, topic)
        for value in range(3):
            await publish_acknowledged(publisher, topic, value)
        while len(seen) < 3:
            await within(asyncio.sleep(0.01))
        await close_session(subscriber)
        assert sorted(seen) == [0, 1, 2]


# -------------------------------------------------------------- unsendable requests


@async_test
async def test_unsendable_requests_leave_nothing_pending() -> None:
    async with ScriptedRouter() as router:
        connecting = asyncio.ensure_future(autostrada.connect(router.url, "realm1"))
        peer = await router.accept()
        assert isinstance(await peer.recv(), Hello)
        peer.send(Welcome(1234, {"roles": ROUTER_ROLES}))
        session = await within(connecting)
        try:
            with pytest.raises(ValueError, match="SUBSCRIBE cannot be serialized"):
                await session.subscribe(print, UNSERIALIZABLE_URI)
            with pytest.raises(ValueError, match="REGISTER cannot be serialized"):
                await session.register(print, UNSERIALIZABLE_URI)
            acknowledged = PublishOptions(acknowledge=True)
            with pytest.raises(ValueError, match="PUBLISH cannot be serialized"):
                session.publish("com.test.topic", {1}, options=acknowledged)
            with pytest.raises(ValueError, match="CALL cannot be serialized"):
                await session.call("com.test.proc", {1})
            assert session._core.pending_requests == {}
            # Nothing of them reached the router, and no CANCEL followed the CALL.
            calling = asyncio.ensure_future(session.call("com.test.proc", 2))
            call = await peer.recv()
            assert isinstance(call, Call) and call.args == [2]
            peer.send(Result(call.request_id, {}, ["done"]))
            assert await within(calling) == "done"
            assert peer.inbox.empty() and session.is_attached()
        finally:
            await disconnect(session)


# ------------------------------------------------------------------------ callee edges


@async_test
async def test_invocation_for_a_registration_given_up_is_answered() -> None:
    async with ScriptedRouter() as router:
        connecting = asyncio.ensure_future(autostrada.connect(router.url, "realm1"))
        peer = await router.accept()
        assert isinstance(await peer.recv(), Hello)
        peer.send(Welcome(1234, {"roles": ROUTER_ROLES}))
        session = await within(connecting)
        try:
            registering = asyncio.ensure_future(session.register(print, "com.test.proc"))
            request = await peer.recv()
            assert isinstance(request, Register)
            registering.cancel()  # the caller gave up before REGISTERED came
            peer.send(Registered(request.request_id, 77))
            peer.send(Invocation(5, 77, {}, ["x"]))
            error = await peer.recv()  # answered at once: nobody would ever answer it
            assert isinstance(error, Error) and error.request_id == 5
            assert error.error == ApplicationError.NO_SUCH_REGISTRATION
            with pytest.raises(asyncio.CancelledError):
                await registering
        finally:
            await disconnect(session)


@async_test
async def test_unregister_twice(client_router: RouterThread) -> None:
    async with sessions(client_router.url, 1) as [session]:
        registration = await session.register(print, unique("com.test.proc"))
        assert isinstance(registration, Registration)
        await within(registration.unregister())
        await within(registration.unregister())  # a no-op
        assert not registration.active


@async_test
async def test_an_event_handler_that_leaves_is_not_cancelled(client_router: RouterThread) -> None:
    async with sessions(client_router.url, 2) as [publisher, subscriber]:
        topic = unique("com.test.shutdown")
        after: list[str] = []

        async def shutdown() -> None:
            details = await subscriber.leave()  # the handler ends its own session ...
            after.append(details.reason)  # ... and goes on once it has ended

        await subscriber.subscribe(shutdown, topic)
        await publish_acknowledged(publisher, topic)
        await within(subscriber.wait_disconnected())
        while not after:
            await within(asyncio.sleep(0.01))
        assert after == ["wamp.close.goodbye_and_out"]
