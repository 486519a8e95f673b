"""Router core: session lifecycle, handshake, protocol violations, detach, shutdown."""

from __future__ import annotations

from typing import Any

import pytest
from router_harness import ALL_FEATURES, BASIC_ROLES, Harness

from autostrada.exceptions import ApplicationError, ProtocolError
from autostrada.messages import (
    Abort,
    Authenticate,
    Call,
    Error,
    Event,
    EventReceived,
    Goodbye,
    Hello,
    Invocation,
    Publish,
    Published,
    Register,
    Registered,
    Result,
    Subscribe,
    Subscribed,
    Unregister,
    Welcome,
    Yield,
)
from autostrada.router.core import (
    ROUTER_ROLES,
    RealmConfig,
    RouterConfig,
    RouterLimits,
    SessionState,
)

PROTOCOL_VIOLATION = ApplicationError.PROTOCOL_VIOLATION


def aborted(peer: Any, reason: str = PROTOCOL_VIOLATION) -> Abort:
    message = peer.last()
    assert isinstance(message, Abort), peer.inbox
    assert message.reason == reason
    assert peer.session.closing
    return message


# --------------------------------------------------------------------------------------
# Joining


def test_welcome_announces_roles_identity_and_agent() -> None:
    h = Harness()
    peer = h.connect()
    (welcome,) = peer.send(Hello("realm1", {"roles": ALL_FEATURES}))
    assert isinstance(welcome, Welcome)
    assert welcome.session_id == peer.session.session_id
    details = welcome.details
    assert details["roles"] == ROUTER_ROLES
    assert details["roles"]["broker"]["features"]["x_acknowledged_event_delivery"] is True
    assert details["roles"]["dealer"]["features"]["progressive_call_invocations"] is True
    assert details["realm"] == "realm1"
    assert details["authmethod"] == "anonymous"
    assert details["authrole"] == "anonymous"
    assert details["authprovider"] == "static"
    assert details["agent"] == "autostrada"
    assert "authextra" not in details
    assert peer.session.state is SessionState.ESTABLISHED
    assert not peer.session.closing


def test_session_ids_are_unique_and_anonymous_authids_random() -> None:
    h = Harness()
    peers = [h.join(authid="chosen") for _ in range(20)]
    assert len({p.id for p in peers}) == 20
    authids = {p.session.authid for p in peers}
    assert len(authids) == 20
    assert "chosen" not in authids  # an anonymous session cannot pick its identity


def test_no_such_realm_aborts() -> None:
    h = Harness()
    peer = h.connect()
    peer.send(Hello("nowhere", {"roles": BASIC_ROLES}))
    abort = aborted(peer, ApplicationError.NO_SUCH_REALM)
    assert "nowhere" in abort.details["message"]


def test_no_matching_auth_method_aborts() -> None:
    h = Harness()
    peer = h.connect()
    peer.send(Hello("realm1", {"roles": BASIC_ROLES, "authmethods": ["ticket", "wampcra"]}))
    abort = aborted(peer, ApplicationError.NO_MATCHING_AUTH_METHOD)
    assert "ticket" in abort.details["message"]


def test_hello_without_a_known_role_is_a_protocol_violation() -> None:
    h = Harness()
    peer = h.connect()
    peer.send(Hello("realm1", {"roles": {"dealer": {}, "caller": "yes"}}))
    assert "roles" in aborted(peer).details["message"]


def test_roles_without_features_dict_count_as_no_features() -> None:
    h = Harness()
    peer = h.join(roles={"caller": {"features": "all"}})
    assert peer.session.features == {"caller": frozenset()}
    assert not peer.session.supports("caller", "call_canceling")


def test_client_abort_during_handshake_closes_silently() -> None:
    h = Harness()
    peer = h.connect()
    assert peer.send(Abort({}, "wamp.close.system_shutdown")) == []
    assert peer.session.closing
    # once closed, anything more is ignored
    assert peer.send(Hello("realm1", {"roles": BASIC_ROLES})) == []
    assert h.router.detach(peer.session, h.now) == []
    assert h.router.protocol_violation(peer.session, ProtocolError("x"), h.now) == []


# --------------------------------------------------------------------------------------
# Leaving


def test_goodbye_is_echoed_and_ends_the_session_not_the_transport() -> None:
    # More in test_core_rejoin.py: the transport may carry a new session.
    h = Harness()
    peer = h.join()
    session_id = peer.id
    (reply,) = peer.send(Goodbye({}, ApplicationError.CLOSE_REALM))
    assert isinstance(reply, Goodbye)
    assert reply.reason == ApplicationError.GOODBYE_AND_OUT
    assert not peer.session.closing and peer.session.state is SessionState.NEW
    assert session_id not in h.router.realms["realm1"].sessions
    # No session any more: anything but HELLO (or ABORT) is a protocol violation.
    (abort,) = peer.send(Publish(1, {}, "com.x"))
    assert isinstance(abort, Abort) and abort.reason == PROTOCOL_VIOLATION
    assert peer.session.closing


def test_client_abort_after_join_ends_session_like_a_lost_one() -> None:
    h = Harness()
    watcher = h.join()
    watcher.subscribe("wamp.session.on_leave")
    peer = h.join()
    assert peer.send(Abort({}, "wamp.close.system_shutdown")) == []
    assert peer.session.closing
    (event,) = watcher.events()
    assert event.args == [peer.id]


def test_detach_cleans_up_and_second_detach_is_noop() -> None:
    h = Harness()
    peer = h.join()
    peer.register("com.proc")
    peer.subscribe("com.topic")
    realm = h.router.realms["realm1"]
    h.detach(peer)
    assert peer.session.closing
    assert realm.sessions == {}
    assert realm.dealer.by_id == {}
    assert realm.broker.by_id == {}
    assert h.router.detach(peer.session, h.now) == []


def test_detach_before_welcome() -> None:
    h = Harness()
    peer = h.connect()
    assert h.router.detach(peer.session, h.now) == []
    assert peer.session.closing


def test_shutdown_says_goodbye_to_everyone() -> None:
    h = Harness()
    a, b = h.join(), h.join()
    h.deliver(h.router.shutdown(h.now, message="bye"))
    for peer in (a, b):
        (goodbye,) = peer.take()
        assert isinstance(goodbye, Goodbye)
        assert goodbye.reason == ApplicationError.SYSTEM_SHUTDOWN
        assert goodbye.details == {"message": "bye"}
        assert peer.session.closing
    assert h.router.realms["realm1"].sessions == {}


# --------------------------------------------------------------------------------------
# Protocol violations: ABORT to the offender, nobody else affected


@pytest.mark.parametrize(
    ("message", "text"),
    [
        (Call(1, {}, "com.x"), "CALL received before"),
        (Goodbye({}, "wamp.close.close_realm"), "GOODBYE received before"),
        (Authenticate("sig", {}), "without a CHALLENGE"),
        (Yield(1, {}), "YIELD received before"),
    ],
)
def test_messages_before_welcome_are_violations(message: Any, text: str) -> None:
    h = Harness()
    other = h.join()
    peer = h.connect()
    peer.send(message)
    assert text in aborted(peer).details["message"]
    assert other.session.established


def test_second_hello_is_a_violation_and_cleans_up() -> None:
    h = Harness()
    caller = h.join()
    peer = h.join()
    peer.register("com.proc")
    peer.send(Hello("realm1", {"roles": BASIC_ROLES}))
    assert "HELLO received after" in aborted(peer).details["message"]
    caller.call("com.proc")
    (error,) = caller.results()
    assert isinstance(error, Error)
    assert error.error == ApplicationError.NO_SUCH_PROCEDURE


def test_hello_while_challenged_is_a_violation() -> None:
    from autostrada.router.core import TicketAuth, TicketPrincipal

    realm = RealmConfig(
        "realm1",
        roles=RealmConfig.development().roles,
        auth=[TicketAuth(principals={"joe": TicketPrincipal("secret", "anonymous")})],
    )
    h = Harness(RouterConfig([realm]))
    peer = h.connect()
    peer.send(Hello("realm1", {"roles": BASIC_ROLES, "authmethods": ["ticket"], "authid": "joe"}))
    peer.send(Hello("realm1", {"roles": BASIC_ROLES}))
    assert "while authenticating" in aborted(peer).details["message"]


@pytest.mark.parametrize(
    ("message", "text"),
    [
        (Authenticate("x", {}), "AUTHENTICATE received after"),
        (Welcome(1, {"roles": {}}), "WELCOME is not a message a client sends"),
        (Invocation(1, 1, {}), "INVOCATION is not a message"),
        (Yield(5, {}), "YIELD for INVOCATION request 5, which was never sent"),
        (Error(68, 3, {}, "com.err"), "ERROR for INVOCATION request 3"),
        (Error(48, 3, {}, "com.err"), "ERROR only for an INVOCATION"),
        (Published(1, 2), "PUBLISHED is not a message"),
    ],
)
def test_established_violations(message: Any, text: str) -> None:
    h = Harness()
    other = h.join()
    other.subscribe("com.t")
    peer = h.join()
    peer.send(message)
    assert text in aborted(peer).details["message"]
    assert other.session.established
    peer2 = h.join()
    peer2.publish("com.t", [1])
    assert len(other.events()) == 1


def test_realm_dispatch_routes_like_the_router() -> None:
    # Router.receive calls Realm.handlers itself; Realm.dispatch is the same table for a
    # driver (or a test) that already holds the realm: a CALL, its YIELD, and a refusal.
    h = Harness()
    callee = h.join()
    callee.register("com.add")
    caller = h.join()
    realm = caller.session.realm
    assert realm is not None
    h.deliver(realm.dispatch(caller.session, Call(1, {}, "com.add", [1, 2]), h.now))
    [invocation] = callee.invocations()
    h.deliver(realm.dispatch(callee.session, Yield(invocation.request_id, {}, [3]), h.now))
    [result] = caller.results()
    assert isinstance(result, Result)
    assert result.request_id == 1
    assert result.args == [3]
    with pytest.raises(ProtocolError, match="WELCOME is not a message a client sends"):
        realm.dispatch(caller.session, Welcome(1, {"roles": {}}), h.now)


def test_decoding_errors_go_through_protocol_violation() -> None:
    h = Harness()
    peer = h.join()
    h.deliver(h.router.protocol_violation(peer.session, ProtocolError("bad frame"), h.now))
    assert aborted(peer).details == {"message": "bad frame"}
    fresh = h.connect()
    h.deliver(h.router.protocol_violation(fresh.session, ProtocolError("garbage"), h.now))
    assert aborted(fresh).details == {"message": "garbage"}


def test_event_received_is_accepted_and_dropped() -> None:
    h = Harness()
    peer = h.join()
    assert peer.send(EventReceived(12345)) == []
    assert peer.session.established


def test_internal_error_aborts_only_that_session(monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness()
    other = h.join()
    peer = h.join()
    realm = h.router.realms["realm1"]

    def broken(*args: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(realm.broker, "publish", broken)
    peer.send(Publish(1, {}, "com.t"))
    abort = aborted(peer, "wamp.error.runtime_error")
    assert abort.details == {"message": "internal router error"}
    assert other.session.established
    assert peer.id not in realm.sessions


# --------------------------------------------------------------------------------------
# Sequential request ids (opt-in)


def strict() -> Harness:
    limits = RouterLimits(strict_request_ids=True)
    return Harness(RouterConfig([RealmConfig.development()], limits=limits))


def test_strict_request_ids_accept_a_sequence_across_request_types() -> None:
    h = strict()
    peer = h.join()
    got = peer.send(Subscribe(1, {}, "com.t"))
    assert isinstance(got[0], Subscribed)
    got = peer.send(Register(2, {}, "com.p"))
    assert isinstance(got[0], Registered)
    peer.send(Publish(3, {}, "com.t"))
    peer.send(Call(4, {}, "com.p"))
    (invocation,) = peer.invocations()
    peer.send(Yield(invocation.request_id, {}))
    assert isinstance(peer.last(), Result)
    peer.send(Unregister(5, got[0].registration_id))
    assert peer.session.established


@pytest.mark.parametrize("message", [Publish(3, {}, "com.t"), Call(3, {}, "com.p")])
def test_strict_request_ids_reject_a_gap(message: Any) -> None:
    h = strict()
    peer = h.join()
    peer.send(Subscribe(1, {}, "com.t"))
    peer.send(message)
    assert "not sequential" in aborted(peer).details["message"]


def test_lenient_request_ids_by_default() -> None:
    h = Harness()
    peer = h.join()
    peer.send(Subscribe(977, {}, "com.t"))
    peer.send(Publish(5, {}, "com.t"))
    assert peer.session.established
    assert isinstance(peer.inbox[0], Subscribed)
    assert not any(isinstance(m, Event) for m in peer.inbox)
