"""Router core: a new session over the transport of one the client closed with GOODBYE.

WAMP lets a client end its session with GOODBYE and then say HELLO again on the same
transport; Crossbar allows it, and so do we. The old session is cleaned up completely
first (registrations, subscriptions, calls on both ends, testaments, meta events); the
new one gets a new session id and starts from nothing. Only the client's GOODBYE leaves
the transport open: an ABORT, a protocol violation and the router's own GOODBYE (kill,
shutdown) still close it.
"""

from __future__ import annotations

from typing import Any

import pytest
from router_harness import BASIC_ROLES, Harness, Peer

from autostrada.exceptions import ApplicationError
from autostrada.messages import (
    Abort,
    Authenticate,
    Call,
    Challenge,
    Error,
    Event,
    Goodbye,
    Hello,
    Interrupt,
    Publish,
    Register,
    Registered,
    Result,
    Subscribe,
    Subscribed,
    Welcome,
    Yield,
)
from autostrada.router.core import (
    AnonymousAuth,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    RouterLimits,
    SessionState,
    TicketAuth,
    TicketPrincipal,
)

PROTOCOL_VIOLATION = ApplicationError.PROTOCOL_VIOLATION


def leave(peer: Peer) -> int:
    """GOODBYE from the client; check the echo; return the id the session had."""
    session_id = peer.id
    (reply,) = peer.send(Goodbye({}, ApplicationError.CLOSE_REALM))
    assert isinstance(reply, Goodbye) and reply.reason == ApplicationError.GOODBYE_AND_OUT
    assert peer.session.state is SessionState.NEW and not peer.session.closing
    peer.take()
    return session_id


def hello(peer: Peer, roles: dict[str, Any] | None = None, **details: Any) -> Welcome:
    (welcome,) = peer.send(Hello("realm1", {"roles": roles or BASIC_ROLES, **details}))
    assert isinstance(welcome, Welcome), welcome
    peer.take()
    return welcome


def test_a_new_session_over_the_same_transport() -> None:
    h = Harness()
    peer = h.join(agent="first")
    handle = peer.session
    first = leave(peer)
    assert handle.session_id == 0 and handle.realm is None and handle.authid == ""
    welcome = hello(peer, agent="second")
    assert peer.session is handle  # the same transport's handle
    assert welcome.session_id == handle.session_id != first
    assert handle.established and handle.hello_details["agent"] == "second"
    realm = h.router.realms["realm1"]
    assert set(realm.sessions) == {welcome.session_id}
    assert realm.sessions[welcome.session_id] is handle
    # It works as any session does.
    registration = peer.register("com.again")
    peer.call("com.again")
    (invocation,) = peer.invocations()
    assert invocation.registration_id == registration
    peer.answer(invocation, ["ok"])
    (result,) = peer.results()
    assert isinstance(result, Result) and result.args == ["ok"]


def test_the_old_session_is_cleaned_up_before_the_new_one_starts() -> None:
    h = Harness()
    watcher, caller, callee = h.join(), h.join(), h.join()
    watcher.subscribe("wamp.session.on_leave")
    watcher.subscribe("wamp.registration.on_delete")
    watcher.subscribe("com.testament")
    peer = h.join()
    registration = peer.register("com.peer.proc")
    peer.subscribe("com.topic")
    callee.register("com.callee.proc")
    add = Call(peer.next_id(), {}, "wamp.session.add_testament", ["com.testament", ["bye"], {}])
    assert isinstance(peer.send(add)[0], Result)
    # A call in flight on each end: peer as caller, peer as callee.
    peer.call("com.callee.proc")
    (to_callee,) = callee.invocations()
    waiting = caller.call("com.peer.proc")
    (to_peer,) = peer.invocations()
    watcher.take()

    first = leave(peer)
    realm = h.router.realms["realm1"]
    assert first not in realm.sessions
    assert set(realm.dealer.by_id) == {next(iter(callee.session.registrations))}
    assert all(peer.session not in s.subscribers for s in realm.broker.by_id.values())
    (interrupt,) = callee.take()  # the call it made is withdrawn
    assert isinstance(interrupt, Interrupt) and interrupt.request_id == to_callee.request_id
    (canceled,) = caller.results()  # the call it had to answer fails at once
    assert isinstance(canceled, Error) and canceled.request_id == waiting
    assert canceled.error == ApplicationError.CANCELED
    published = [e.args for e in watcher.events()]
    # The registration's end, the testament, then the session's end (realm.leave).
    assert published == [[first, registration], ["bye"], [first]]

    # The new session inherits nothing: no registration, subscription, call, testament.
    hello(peer)
    session = peer.session
    assert not (session.registrations or session.subscriptions)
    assert not (session.calls or session.invocations)
    assert session.testaments == {"detached": [], "destroyed": []}
    assert caller.call("com.peer.proc") and isinstance(caller.results()[0], Error)
    caller.publish("com.topic", ["nobody"])
    assert peer.take() == []
    # A late answer to the old session's invocation is discarded, never taken for a
    # new invocation's answer (invocation ids go on across the transport's sessions).
    peer.register("com.peer.proc")
    again = caller.call("com.peer.proc")
    (new_invocation,) = peer.invocations()
    assert new_invocation.request_id > to_peer.request_id
    assert peer.send(Yield(to_peer.request_id, {}, ["late"])) == []
    assert caller.results() == []
    peer.answer(new_invocation, ["fresh"])
    (result,) = caller.results()
    assert isinstance(result, Result) and (result.request_id, result.args) == (again, ["fresh"])


def test_identity_and_roles_come_from_the_new_hello() -> None:
    realm = RealmConfig(
        "realm1",
        roles=[RoleConfig("user", [Permission.allow_all()]), RoleConfig("backend", [])],
        auth=[
            TicketAuth(principals={"joe": TicketPrincipal("s3cret", "user")}),
            AnonymousAuth("backend"),
        ],
    )
    h = Harness(RouterConfig([realm]))
    peer = h.connect()
    first = hello(peer, roles={"subscriber": {}})
    assert (peer.session.authmethod, peer.session.authrole) == ("anonymous", "backend")
    assert set(peer.session.features) == {"subscriber"}
    leave(peer)
    (challenge,) = peer.send(
        Hello("realm1", {"roles": BASIC_ROLES, "authmethods": ["ticket"], "authid": "joe"})
    )
    assert isinstance(challenge, Challenge)
    (welcome,) = peer.send(Authenticate("s3cret", {}))
    assert isinstance(welcome, Welcome) and welcome.session_id != first.session_id
    session = peer.session
    assert (session.authid, session.authrole, session.authmethod) == ("joe", "user", "ticket")
    assert set(session.features) == {"caller", "callee", "publisher", "subscriber"}
    # A refused HELLO after GOODBYE ends the transport, as on a new connection.
    leave(peer)
    (abort,) = peer.send(
        Hello("realm1", {"roles": BASIC_ROLES, "authmethods": ["ticket"], "authid": "eve"})
    )
    assert isinstance(abort, Abort) and abort.reason == ApplicationError.NOT_AUTHORIZED
    assert peer.session.closing


def test_many_rounds_and_the_session_limit() -> None:
    # The old session's id is freed at GOODBYE: max_sessions counts it no more.
    h = Harness(RouterConfig([RealmConfig.development()], limits=RouterLimits(max_sessions=1)))
    peer = h.join()
    seen = {peer.id}
    for _ in range(5):
        leave(peer)
        seen.add(hello(peer).session_id)
    assert len(seen) == 6
    assert h.router._session_ids == {peer.id}
    other = h.connect()
    (abort,) = other.send(Hello("realm1", {"roles": BASIC_ROLES}))
    assert isinstance(abort, Abort) and abort.reason == "autostrada.error.limit_exceeded"


def test_request_ids_start_again_for_the_new_session() -> None:
    limits = RouterLimits(strict_request_ids=True)
    h = Harness(RouterConfig([RealmConfig.development()], limits=limits))
    peer = h.join()
    assert isinstance(peer.send(Subscribe(1, {}, "com.a"))[0], Subscribed)
    assert isinstance(peer.send(Register(2, {}, "com.p"))[0], Registered)
    leave(peer)
    hello(peer)
    assert isinstance(peer.send(Subscribe(1, {}, "com.a"))[0], Subscribed)
    assert isinstance(peer.send(Register(2, {}, "com.p"))[0], Registered)


@pytest.mark.parametrize(
    "message",
    [
        Call(1, {}, "com.x"),
        Publish(1, {}, "com.x"),
        Goodbye({}, ApplicationError.CLOSE_REALM),
        Authenticate("x", {}),
        Yield(1, {}),
    ],
)
def test_after_goodbye_only_hello_may_come(message: Any) -> None:
    h = Harness()
    other = h.join()
    peer = h.join()
    leave(peer)
    (abort,) = peer.send(message)
    assert isinstance(abort, Abort) and abort.reason == PROTOCOL_VIOLATION
    assert peer.session.closing and not other.session.closing
    assert peer.send(Hello("realm1", {"roles": BASIC_ROLES})) == []  # closed for good


def test_an_abort_after_goodbye_closes_without_reply() -> None:
    h = Harness()
    peer = h.join()
    leave(peer)
    assert peer.send(Abort({}, "wamp.close.normal")) == []
    assert peer.session.closing


def test_a_transport_lost_after_goodbye_is_a_no_op() -> None:
    h = Harness()
    watcher = h.join()
    watcher.subscribe("wamp.session.on_leave")
    peer = h.join()
    first = leave(peer)
    assert [e.args for e in watcher.events()] == [[first]]
    assert h.router.detach(peer.session, h.now) == []
    assert peer.session.closing
    assert watcher.take() == []


@pytest.mark.parametrize("how", ["kill", "shutdown", "abort", "violation"])
def test_everything_else_still_closes_the_transport(how: str) -> None:
    h = Harness()
    killer = h.join()
    peer = h.join()
    if how == "kill":
        killer.send(Call(killer.next_id(), {}, "wamp.session.kill", [peer.id]))
        (goodbye,) = peer.take()
        assert isinstance(goodbye, Goodbye) and goodbye.reason == ApplicationError.KILLED
    elif how == "shutdown":
        h.deliver(h.router.shutdown(h.now))
        (goodbye,) = peer.take()
        assert isinstance(goodbye, Goodbye)
    elif how == "abort":
        assert peer.send(Abort({}, "wamp.close.normal")) == []
    else:
        (abort,) = peer.send(Hello("realm1", {"roles": BASIC_ROLES}))
        assert isinstance(abort, Abort) and abort.reason == PROTOCOL_VIOLATION
    assert peer.session.closing
    # The client's GOODBYE in reply to the router's, or a HELLO: ignored, closed for good.
    assert peer.send(Goodbye({}, ApplicationError.GOODBYE_AND_OUT)) == []
    assert peer.send(Hello("realm1", {"roles": BASIC_ROLES})) == []
    assert peer.session.closing


def test_events_of_the_old_session_do_not_reach_the_new_one() -> None:
    h = Harness()
    publisher = h.join()
    peer = h.join()
    peer.subscribe("com.topic")
    peer.take()
    publisher.publish("com.topic", [1])
    assert [type(m) for m in peer.take()] == [Event]
    leave(peer)
    hello(peer)
    publisher.publish("com.topic", [2])
    assert peer.take() == []
