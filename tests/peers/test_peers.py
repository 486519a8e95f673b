"""Autobahn|Python and Autobahn|JS against our router, with autostrada sessions as the other side.

Every test runs one peer scenario (``autobahn_py/scenarios_*.py``, ``autobahn_js/peer.js``:
the same scenario names and JSON-line protocol) in a subprocess, and drives it from an
autostrada :class:`~autostrada.Session` in this process. The peer reports what it saw as
JSON events; the assertions are here. The router (``peer_router.py``) runs in a thread.

Which peer supports what (``conftest.py`` fills in a ``peer_env.PeerKind`` for each):
Autobahn|JS speaks RawSocket only with JSON, has no SCRAM, and its callee gets no
INTERRUPT (it does not announce call canceling); its caller cancels with ``mode: "kill"``
(see ``test_cancel``).

Peer bugs found on the way are asserted where they show (so that a fixed peer is noticed):
Autobahn|Python's Component fails after a clean leave on RawSocket (``test_basic``), and
its SCRAM with pbkdf2 cannot work (``PEER_AUTH_BUGS``); Autobahn|JS sends a thrown
``Error`` as ``{}`` (``test_errors``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from peer_env import PeerKind
from peer_router import REALM, Credentials

import autostrada
from autostrada import (
    ApplicationError,
    CallOptions,
    CallResult,
    PublishOptions,
    RegisterOptions,
    Session,
    SubscribeOptions,
)
from autostrada.testing import RouterThread

TEST_TIMEOUT = 60.0


def run(main: Callable[[], Awaitable[None]]) -> None:
    """Run one test's async body, bounded."""

    async def bounded() -> None:
        async with asyncio.timeout(TEST_TIMEOUT):
            await main()

    asyncio.run(bounded())


def echo(*args: Any, **kwargs: Any) -> CallResult:
    return CallResult(*args, **kwargs)


def wire(value: Any) -> Any:
    """What a peer reports for ``value`` (bytes as {"$bytes": base64})."""
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wire(v) for v in value]
    return value


def payload(peer: PeerKind, serializer: str | None) -> tuple[list[Any], dict[str, Any]]:
    """Arguments that every serializer must carry unchanged between the peer and us."""
    args: list[Any] = [
        1,
        -2,
        2**53 - 1,  # the largest integer a JS number holds exactly
        1.5,
        "ü€𝄞 text",
        "",
        None,
        True,
        False,
        {"a": [1, {"b": None}]},
        [],
    ]
    if peer.name == "autobahn-python":
        args += [2**63 - 1, -(2**63)]
    if peer.name == "autobahn-python" or serializer in ("msgpack", "cbor"):
        # Autobahn|JS's JSON serializer has no binary convention ("\u0000" + base64).
        args.append(b"\x00\x01binary\xff")
    kwargs = {"x": "y", "nested": {"list": [1, 2, 3], "empty": {}}, "t": True}
    return args, kwargs


async def connect(router: RouterThread, authentication: dict[str, Any] | None = None) -> Session:
    return await autostrada.connect(router.url, REALM, authentication=authentication)


class Inbox:
    """Events delivered to an autostrada handler, awaited with a bound."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[list[Any], dict[str, Any], Any]] = asyncio.Queue()

    def handler(self, *args: Any, details: Any = None, **kwargs: Any) -> None:
        self.queue.put_nowait((list(args), kwargs, details))

    async def next(self, timeout: float = 10.0) -> tuple[list[Any], dict[str, Any], Any]:
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def until(self, marker: str) -> list[str]:
        """First args of the events up to and including ``marker``."""
        seen: list[str] = []
        while not seen or seen[-1] != marker:
            args, _, _ = await self.next()
            seen.append(args[0])
        return seen


DETAILS = SubscribeOptions(details_arg="details")
ACK = PublishOptions(acknowledge=True)


# --- transports x serializers ----------------------------------------------------------

BASIC = [
    pytest.param("autobahn-python", transport, serializer, id=f"py-{transport}-{serializer}")
    for transport in ("websocket", "rawsocket")
    for serializer in ("json", "msgpack", "cbor")
] + [
    pytest.param("autobahn-js", "websocket", serializer, id=f"js-websocket-{serializer}")
    for serializer in ("json", "msgpack", "cbor")
]
BASIC.append(pytest.param("autobahn-js", "rawsocket", "json", id="js-rawsocket-json"))


@pytest.mark.parametrize(("peer", "transport", "serializer"), BASIC, indirect=["peer"])
def test_basic(peer: PeerKind, router: RouterThread, transport: str, serializer: str) -> None:
    """Call and publish both ways: the peer's echo and topic, then ours.

    Peer: joins, registers ``peer.echo``, subscribes ``peer.topic``, prints ``ready``;
    prints ``event`` for each event; on ``go`` calls ``test.echo`` and publishes
    ``test.topic`` (acknowledged), prints ``called``, leaves.
    """
    args, kwargs = payload(peer, serializer)

    async def main() -> None:
        async with peer.start("basic", transport=transport, serializer=serializer) as p:
            ready = await p.expect("ready")
            assert ready["serializer"] == serializer
            assert (ready["realm"], ready["authrole"], ready["authmethod"]) == (
                REALM,
                "anonymous",
                "anonymous",
            )
            async with await connect(router) as a:
                result = await a.call("peer.echo", *args, **kwargs)
                assert result == CallResult(*args, **kwargs)
                await a.publish("peer.topic", *args, options=ACK, **kwargs)
                event = await p.expect("event")
                assert event["args"] == wire(args)
                assert event["kwargs"] == wire(kwargs)
                assert event["publisher"] == a.session_id  # the anonymous role discloses

                inbox = Inbox()
                await a.register(echo, "test.echo")
                await a.subscribe(inbox.handler, "test.topic", options=DETAILS)
                p.send({"cmd": "go", "args": wire(args), "kwargs": wire(kwargs)})
                called = await p.expect("called")
                assert called["result"] == {"args": wire(args), "kwargs": wire(kwargs)}
                got_args, got_kwargs, details = await inbox.next()
                assert (got_args, got_kwargs) == (args, kwargs)
                assert details.publisher == ready["session"]
                assert details.publication == called["publication"]
                done = await p.finish()
        if peer.name == "autobahn-python" and transport == "rawsocket":
            # Autobahn's bug, seen against Crossbar too (autobahn_py/peer.py Peer.leave).
            assert len(done["notes"]) == 1
            assert "Exhausted all transport connect attempts" in done["notes"][0]
        else:
            assert done["notes"] == []

    run(main)


def test_default_serializers(peer: PeerKind) -> None:
    """Offered its default list of WebSocket serializers, the peer gets one of them.

    Peer: joins with its defaults, prints ``ready`` (with the serializer), leaves.
    """

    async def main() -> None:
        async with peer.start("hello", serializer=None) as p:
            ready = await p.expect("ready")
            assert ready["serializer"] in peer.default_serializers
            await p.finish()

    run(main)


# --- RPC features ------------------------------------------------------------------------


def test_errors(peer: PeerKind, router: RouterThread) -> None:
    """ERROR payloads both ways, and the router's own errors as the peer sees them.

    Peer: registers ``peer.fail`` (an application error with args and kwargs) and
    ``peer.crash`` (a plain exception); calls ours and three failing URIs; prints
    ``ready`` with the errors it caught; leaves on the next command.
    """

    def fail(*args: Any, **kwargs: Any) -> None:
        raise ApplicationError("com.test.error.custom", "test says no", 42, reason="why")

    def crash(*args: Any, **kwargs: Any) -> None:
        raise ValueError("boom")

    async def main() -> None:
        async with await connect(router) as a:
            await a.register(fail, "test.fail")
            await a.register(crash, "test.crash")
            async with peer.start("errors") as p:
                errors = (await p.expect("ready"))["errors"]
                custom = errors["custom"]
                assert (custom["error"], custom["args"], custom["kwargs"]) == (
                    "com.test.error.custom",
                    ["test says no", 42],
                    {"reason": "why"},
                )
                runtime = errors["runtime"]
                assert (runtime["error"], runtime["args"]) == ("wamp.error.runtime_error", ["boom"])
                assert errors["missing"]["error"] == "wamp.error.no_such_procedure"
                assert errors["denied"]["error"] == "wamp.error.not_authorized"

                with pytest.raises(ApplicationError) as caught:
                    await a.call("peer.fail", 1)
                assert caught.value.error == "com.peer.error.custom"
                assert caught.value.args_ == ["peer says no", 7]
                assert caught.value.kwargs == {"detail": {"k": "v"}}
                with pytest.raises(ApplicationError) as caught:
                    await a.call("peer.crash")
                assert caught.value.error == "wamp.error.runtime_error"
                if peer.name == "autobahn-python":
                    assert caught.value.args_ == ["kaput"]
                else:
                    # Autobahn|JS sends the Error object itself, which serializes as {}.
                    assert caught.value.args_ == [{}]
                p.send({"cmd": "leave"})
                await p.finish()

    run(main)


def test_progressive_results(peer: PeerKind, router: RouterThread) -> None:
    """Progressive results both ways, in order, then the final result.

    Peer: registers ``peer.progress`` (``count`` progress results, then "peer-final");
    calls our ``test.progress`` with an on-progress handler; prints ``ready`` with the
    updates and the result.
    """

    async def progressive(count: int, details: Any) -> str:
        for index in range(count):
            details.progress(index, of=count)
        return "test-final"

    async def main() -> None:
        async with await connect(router) as a:
            await a.register(
                progressive, "test.progress", options=RegisterOptions(details_arg="details")
            )
            async with peer.start("progress") as p:
                ready = await p.expect("ready")
                assert ready["updates"] == [{"args": [i], "kwargs": {"of": 3}} for i in range(3)]
                assert ready["result"] == {"args": ["test-final"], "kwargs": {}}

                updates: list[Any] = []
                options = CallOptions(on_progress=lambda *x, **kw: updates.append((x, kw)))
                assert await a.call("peer.progress", 3, options=options) == "peer-final"
                assert updates == [((i,), {"of": 3}) for i in range(3)]
                p.send({"cmd": "leave"})
                await p.finish()

    run(main)


def _slow_procedure() -> tuple[
    Callable[[], Awaitable[str]], asyncio.Future[bool], asyncio.Future[bool]
]:
    """A procedure that never returns; futures for "invoked" and "interrupted"."""
    loop = asyncio.get_running_loop()
    invoked: asyncio.Future[bool] = loop.create_future()
    interrupted: asyncio.Future[bool] = loop.create_future()

    async def slow() -> str:
        invoked.set_result(True)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            interrupted.set_result(True)
            raise
        return "never"

    return slow, invoked, interrupted


def test_cancel(peer: PeerKind, router: RouterThread) -> None:
    """The peer cancels its call to us (we get INTERRUPT), then we cancel ours to it.

    Peer: registers ``peer.slow`` (prints ``invoked``, and ``interrupted`` if canceled)
    and ``peer.ping``; calls our ``test.slow``, prints ``calling``; on ``cancel``
    cancels it, calls ``test.ping`` and prints ``canceled``; leaves on the next command.
    Autobahn|Python cancels without a mode (the router then uses killnowait);
    Autobahn|JS with ``mode: "kill"``: without it, it drops the call at once and takes
    the router's ERROR for a protocol violation (an Autobahn|JS bug).
    """

    async def main() -> None:
        slow, invoked, interrupted = _slow_procedure()
        async with await connect(router) as a:
            await a.register(slow, "test.slow")
            await a.register(lambda: "pong", "test.ping")
            async with peer.start("cancel") as p:
                await p.expect("ready")
                await p.expect("calling")
                await asyncio.wait_for(invoked, 10)
                p.send({"cmd": "cancel"})
                canceled = await p.expect("canceled")
                if peer.name == "autobahn-python":
                    assert canceled["outcome"] == {"exception": "CancelledError"}
                else:
                    assert canceled["outcome"]["error"] == "wamp.error.canceled"
                assert canceled["ping"] == "pong"
                await asyncio.wait_for(interrupted, 10)

                task = asyncio.ensure_future(a.call("peer.slow"))
                await p.expect("invoked")
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                if peer.callee_canceling:
                    await p.expect("interrupted")
                # Either way the peer is still fine.
                assert await a.call("peer.ping") == "pong"
                p.send({"cmd": "leave"})
                await p.finish()

    run(main)


def test_call_timeout(peer: PeerKind, router: RouterThread) -> None:
    """CALL.Options.timeout (ms on the wire): the router times out calls both ways.

    Peer: registers ``peer.slow``; calls our ``test.slow`` with a 300 ms timeout and
    prints ``ready`` with the error; leaves on the next command.
    """

    async def main() -> None:
        slow, invoked, interrupted = _slow_procedure()
        async with await connect(router) as a:
            await a.register(slow, "test.slow")
            async with peer.start("timeout", timeout_ms=300) as p:
                outcome = (await p.expect("ready"))["outcome"]
                assert outcome["error"] == "wamp.error.timeout"
                await asyncio.wait_for(invoked, 10)
                await asyncio.wait_for(interrupted, 10)  # the router interrupted us

                with pytest.raises(ApplicationError) as caught:
                    await a.call("peer.slow", options=CallOptions(timeout=0.3))
                assert caught.value.error == "wamp.error.timeout"
                await p.expect("invoked")
                if peer.callee_canceling:
                    await p.expect("interrupted")
                p.send({"cmd": "leave"})
                await p.finish()

    run(main)


def test_pattern_registrations_and_subscriptions(peer: PeerKind, router: RouterThread) -> None:
    """Prefix and wildcard registrations and subscriptions see the concrete URI.

    Peer: registers ``com.peer.pfx.`` (prefix) and ``com.peer..wild`` (wildcard), each
    returning [details.procedure, match]; subscribes ``com.peer.tpfx.`` (prefix) and
    ``com.peer..twild`` (wildcard), printing ``event`` with details.topic; prints
    ``ready``; on ``go`` calls our prefix registration; leaves on the next command.
    """

    async def which(*args: Any, details: Any) -> str | None:
        return details.procedure

    async def main() -> None:
        async with await connect(router) as a:
            await a.register(
                which, "test.pfx.", options=RegisterOptions(match="prefix", details_arg="details")
            )
            async with peer.start("patterns") as p:
                await p.expect("ready")
                result = await a.call("com.peer.pfx.a.b", 1)
                assert result == CallResult("com.peer.pfx.a.b", "prefix")
                result = await a.call("com.peer.x.wild")
                assert result == CallResult("com.peer.x.wild", "wildcard")
                with pytest.raises(ApplicationError) as caught:
                    await a.call("com.peer.x.y.wild")  # a wildcard matches one component
                assert caught.value.error == "wamp.error.no_such_procedure"

                await a.publish("com.peer.tpfx.one.two", "p", options=ACK)
                await a.publish("com.peer.y.twild", "w", options=ACK)
                assert await p.expect("event") == {
                    "event": "event",
                    "args": ["p"],
                    "topic": "com.peer.tpfx.one.two",
                }
                assert await p.expect("event") == {
                    "event": "event",
                    "args": ["w"],
                    "topic": "com.peer.y.twild",
                }
                p.send({"cmd": "go"})
                called = await p.expect("called")
                assert called["result"] == {"args": ["test.pfx.deep.name"], "kwargs": {}}
                p.send({"cmd": "leave"})
                await p.finish()

    run(main)


def test_shared_registration(peer: PeerKind, router: RouterThread) -> None:
    """Two peer sessions share ``com.peer.shared`` round-robin; a third policy conflicts.

    Peer: sessions "first" and "second" register with invoke=roundrobin, a third tries
    invoke=random; prints ``ready`` with that error; on a command "first" leaves and it
    prints ``first_left``; leaves on the next command.
    """

    async def main() -> None:
        async with peer.start("shared") as p:
            conflict = (await p.expect("ready"))["conflict"]
            assert (
                conflict["error"] == "wamp.error.procedure_exists_with_different_invocation_policy"
            )
            async with await connect(router) as a:
                results = [await a.call("com.peer.shared") for _ in range(4)]
                assert results == ["first", "second", "first", "second"]
                p.send({"cmd": "leave first"})
                await p.expect("first_left")
                assert [await a.call("com.peer.shared") for _ in range(2)] == ["second"] * 2
                p.send({"cmd": "leave"})
                await p.finish()

    run(main)


def test_caller_and_publisher_disclosure(
    peer: PeerKind, router: RouterThread, creds: Credentials
) -> None:
    """Roles that disclose show the caller/publisher; the backend role does not.

    Peer: registers ``peer.who`` (returns the caller details) and subscribes
    ``peer.whotopic`` (prints ``event`` with the publisher details); prints ``ready``;
    on ``go`` calls our ``test.who`` and publishes ``test.whotopic``, as itself
    (anonymous) and as a second, cryptosign session (role backend); prints ``called``.
    """

    def who(details: Any) -> dict[str, Any]:
        return {
            "caller": details.caller,
            "caller_authid": details.caller_authid,
            "caller_authrole": details.caller_authrole,
        }

    ticket = {"ticket": {"authid": creds.ticket_authid, "ticket": creds.ticket}}

    async def main() -> None:
        async with peer.start("disclosure") as p:
            ready = await p.expect("ready")
            async with await connect(router, ticket) as a:
                assert await a.call("peer.who") == {
                    "caller": a.session_id,
                    "caller_authid": creds.ticket_authid,
                    "caller_authrole": "user",
                }
                await a.publish("peer.whotopic", options=ACK)
                event = await p.expect("event")
                assert (
                    event["publisher"],
                    event["publisher_authid"],
                    event["publisher_authrole"],
                ) == (a.session_id, creds.ticket_authid, "user")

                inbox = Inbox()
                await a.register(who, "test.who", options=RegisterOptions(details_arg="details"))
                await a.subscribe(inbox.handler, "test.whotopic", options=DETAILS)
                p.send({"cmd": "go"})
                called = await p.expect("called")
                assert called["anonymous"] == {
                    "caller": ready["session"],
                    "caller_authid": ready["authid"],
                    "caller_authrole": "anonymous",
                }
                no_one = {"caller": None, "caller_authid": None, "caller_authrole": None}
                assert called["backend"] == no_one
                _, _, details = await inbox.next()
                assert (details.publisher, details.publisher_authrole) == (
                    ready["session"],
                    "anonymous",
                )
                _, _, details = await inbox.next()
                assert (details.publisher, details.publisher_authid) == (None, None)
                p.send({"cmd": "leave"})
                await p.finish()

    run(main)


# --- PubSub features ----------------------------------------------------------------------


def test_publisher_exclusion(peer: PeerKind, router: RouterThread) -> None:
    """A publisher gets its own event only with exclude_me=false; others get both.

    Peer: subscribes ``peer.excl``, prints ``ready``; on ``go`` publishes "excluded"
    (default options) then "included" (exclude_me=false), acknowledged; prints
    ``received`` with the first event it got.
    """

    async def main() -> None:
        async with await connect(router) as a, peer.start("exclusion") as p:
            await p.expect("ready")
            inbox = Inbox()
            await a.subscribe(inbox.handler, "peer.excl")
            p.send({"cmd": "go"})
            assert (await p.expect("received"))["first"] == ["included"]
            assert await inbox.until("included") == ["excluded", "included"]
            await p.finish()

    run(main)


def test_subscriber_black_and_white_listing(
    peer: PeerKind, router: RouterThread, creds: Credentials
) -> None:
    """exclude/eligible by session id, authid and authrole, as the peer publishes them.

    Three autostrada subscribers: ticket (user), wampcra (user), cryptosign (backend).
    Peer: prints ``ready``; gets their session ids; publishes one event per filter,
    then "end" to everyone; prints ``published``.
    """
    auths = {
        "ticket": {"ticket": {"authid": creds.ticket_authid, "ticket": creds.ticket}},
        "wampcra": {"wampcra": {"authid": creds.cra_authid, "secret": creds.cra_secret}},
        "cryptosign": {
            "cryptosign": {"authid": creds.cryptosign_authid, "privkey": creds.cryptosign_seed}
        },
    }
    expected = {
        "ticket": ["exclude_authid", "eligible_authid", "eligible_and_exclude", "end"],
        "wampcra": ["exclude", "eligible", "end"],
        "cryptosign": [
            "exclude",
            "exclude_authid",
            "exclude_authrole",
            "eligible_authrole",
            "eligible_and_exclude",
            "end",
        ],
    }

    async def main() -> None:
        async with contextlib.AsyncExitStack() as stack:
            sessions = {
                name: await stack.enter_async_context(await connect(router, auth))
                for name, auth in auths.items()
            }
            inboxes = {name: Inbox() for name in sessions}
            for name, session in sessions.items():
                await session.subscribe(inboxes[name].handler, "com.test.bw")
            async with peer.start("blackwhite") as p:
                await p.expect("ready")
                ids = {name: session.session_id for name, session in sessions.items()}
                p.send({"cmd": "go", "sessions": ids})
                await p.expect("published")
                for name, inbox in inboxes.items():
                    assert await inbox.until("end") == expected[name], name
                await p.finish()

    run(main)


def test_event_retention(peer: PeerKind, router: RouterThread) -> None:
    """retain=true publications reach later subscribers that ask with get_retained.

    Peer: publishes ``peer.retained`` with retain=true, prints ``ready``; on ``go``
    subscribes ``test.retained`` with get_retained=true and prints the ``event``.
    """

    async def main() -> None:
        async with peer.start("retention") as p:
            await p.expect("ready")
            async with await connect(router) as a:
                inbox = Inbox()
                await a.subscribe(
                    inbox.handler,
                    "peer.retained",
                    options=SubscribeOptions(get_retained=True, details_arg="details"),
                )
                args, kwargs, details = await inbox.next()
                assert (args, kwargs) == (["kept", 1], {"note": "retained by the peer"})
                assert details.retained is True
                await a.publish(
                    "test.retained", "ours", options=PublishOptions(acknowledge=True, retain=True)
                )
                p.send({"cmd": "go"})
                event = await p.expect("event")
                assert (event["args"], event["kwargs"], event["retained"]) == (["ours"], {}, True)
                await p.finish()

    run(main)


# --- meta API and authentication -------------------------------------------------------------


def about(session_id: int) -> Callable[[dict[str, Any]], bool]:
    """Is a ``meta`` event about ``session_id``? (Its first argument is the session's id,
    or for on_join its details.)"""

    def check(event: dict[str, Any]) -> bool:
        first = event["args"][0]
        return (first["session"] if isinstance(first, dict) else first) == session_id

    return check


def test_meta_api(peer: PeerKind, router: RouterThread) -> None:
    """Session, registration and subscription meta procedures and events, as a peer sees them.

    Peer: subscribes the on_join/on_leave/on_create/on_register/on_subscribe meta
    topics (prints ``meta`` for each event), prints ``ready``; on a command with our
    session id, calls the meta procedures and prints ``answers``.
    """

    async def main() -> None:
        async with peer.start("meta") as p:
            ready = await p.expect("ready")
            peer_id = ready["session"]
            a = await connect(router)
            ours = a.session_id
            try:
                joined = await p.expect_matching("meta", about(ours))
                assert joined["topic"] == "wamp.session.on_join"
                assert joined["args"][0]["authrole"] == "anonymous"
                registration = await a.register(lambda: None, "test.meta.proc")
                subscription = await a.subscribe(lambda: None, "test.meta.topic")
                topics = [(await p.expect_matching("meta", about(ours)))["topic"] for _ in range(4)]
                assert topics == [
                    "wamp.registration.on_create",
                    "wamp.registration.on_register",
                    "wamp.subscription.on_create",
                    "wamp.subscription.on_subscribe",
                ]
                p.send({"cmd": "query", "session": ours})
                answers = await p.expect("answers")
            finally:
                await a.leave()
                a.disconnect()
                await a.wait_disconnected()
            left = await p.expect_matching("meta", about(ours))
            assert (left["topic"], left["args"]) == ("wamp.session.on_leave", [ours])
            p.send({"cmd": "leave"})
            await p.finish()

        assert answers["count"] >= 2
        assert {ours, peer_id} <= set(answers["list"])
        assert answers["get"]["session"] == ours
        assert answers["get"]["authrole"] == "anonymous"
        assert answers["get_missing"]["error"] == "wamp.error.no_such_session"
        assert answers["reg_lookup"] == registration.id
        assert answers["reg_match"] == registration.id
        assert answers["reg_get"]["uri"] == "test.meta.proc"
        assert answers["reg_get"]["match"] == "exact"
        assert answers["reg_callees"] == [ours]
        assert answers["sub_lookup"] == subscription.id
        assert answers["sub_match"] == [subscription.id]
        assert answers["sub_get"]["uri"] == "test.meta.topic"
        assert answers["sub_subscribers"] == [ours]
        assert answers["sub_count"] == 1

    run(main)


AUTH_EXPECTED = {
    # method: (authid, authrole, authmethod of the good join; reason of the bad one)
    "anonymous": (None, "anonymous", "anonymous", "wamp.error.no_such_realm"),
    "ticket": ("ticket-user", "user", "ticket", "wamp.error.not_authorized"),
    "wampcra": ("cra-user", "user", "wampcra", "wamp.error.not_authorized"),
    "wampcra_salted": ("cra-salted-user", "user", "wampcra", "wamp.error.not_authorized"),
    "cryptosign": ("cryptosign-user", "backend", "cryptosign", "wamp.error.not_authorized"),
    "scram": ("scram-user", "user", "scram", "wamp.error.not_authorized"),
    "scram_pbkdf2": ("scram-pbkdf2-user", "user", "scram", "wamp.error.not_authorized"),
}


# Where the peer itself fails (the router is not involved), and the error it raises.
PEER_AUTH_BUGS = {
    # Autobahn|Python 26.10.2 hands the challenge's base64 salt, a str, to its pbkdf2(),
    # which wants bytes: SCRAM with pbkdf2 cannot work with any router. It ABORTs with
    # wamp.error.cannot_authenticate.
    ("autobahn-python", "scram_pbkdf2"): "Invalid argument types",
}

# Autobahn|JS has no SCRAM (its lib/auth holds cra, cryptosign and persona).
AUTH_CASES = [
    pytest.param(name, method, id=f"{name.removeprefix('autobahn-')[:2]}-{method}")
    for name, methods in (
        ("autobahn-python", list(AUTH_EXPECTED)),
        ("autobahn-js", [m for m in AUTH_EXPECTED if not m.startswith("scram")]),
    )
    for method in methods
]


@pytest.mark.parametrize(("peer", "method"), AUTH_CASES, indirect=["peer"])
def test_authentication(peer: PeerKind, router: RouterThread, method: str) -> None:
    """Each method the peer implements: right credentials join, wrong ones are refused.

    Peer: joins with the right credentials (prints ``joined``), leaves, then tries the
    wrong ones (prints ``refused`` with the router's reason). Then the router still
    serves a new session.
    """
    authid, authrole, authmethod, reason = AUTH_EXPECTED[method]
    peer_bug = PEER_AUTH_BUGS.get((peer.name, method))

    async def main() -> None:
        async with peer.start("auth", method=method) as p:
            if peer_bug is not None:
                failed = await p.expect("join_failed")
                assert peer_bug in failed["message"], failed
            else:
                joined = await p.expect("joined")
                if authid is not None:
                    assert joined["authid"] == authid
                assert (joined["authrole"], joined["authmethod"]) == (authrole, authmethod)
                refused = await p.expect("refused")
                assert refused["reason"] == reason, refused
            await p.finish()
        async with await connect(router) as a:
            assert await a.call("wamp.session.count") >= 1

    run(main)
