"""Router core: the meta API (sessions, registrations, subscriptions, testaments)."""

from __future__ import annotations

from typing import Any

import pytest
from router_harness import Harness, Peer

from autostrada.exceptions import ApplicationError
from autostrada.messages import Call, Error, Event, Goodbye, Result, Subscribe, Unsubscribe
from autostrada.router.core import (
    LIMIT_EXCEEDED,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    RouterLimits,
)


def meta(peer: Peer, procedure: str, *args: Any, **kwargs: Any) -> Result | Error:
    request = peer.next_id()
    got = peer.send(Call(request, {}, procedure, list(args), kwargs))
    answer = got[0]
    assert isinstance(answer, (Result, Error)) and answer.request_id == request, got
    return answer


def value(peer: Peer, procedure: str, *args: Any, **kwargs: Any) -> Any:
    answer = meta(peer, procedure, *args, **kwargs)
    assert isinstance(answer, Result), answer
    return answer.args[0] if answer.args else None


def failure(peer: Peer, procedure: str, *args: Any, **kwargs: Any) -> str:
    answer = meta(peer, procedure, *args, **kwargs)
    assert isinstance(answer, Error), answer
    return answer.error


# --------------------------------------------------------------------------------------
# Sessions


def test_session_count_list_get() -> None:
    h = Harness()
    a, b = h.join(), h.join()
    b.session.authrole = "other"  # set directly; authentication is tested elsewhere
    assert value(a, "wamp.session.count") == 2
    assert value(a, "wamp.session.count", ["other"]) == 1
    assert value(a, "wamp.session.count", None) == 2
    assert sorted(value(a, "wamp.session.list")) == sorted([a.id, b.id])
    assert value(a, "wamp.session.list", filter_authroles=["anonymous"]) == [a.id]
    details = value(a, "wamp.session.get", b.id)
    assert details["session"] == b.id
    assert details["realm"] == "realm1"
    assert details["authmethod"] == "anonymous"
    assert details["authprovider"] == "static"
    assert details["transport"] == {"type": "websocket", "peer": "tcp4:127.0.0.1:50000"}
    assert failure(a, "wamp.session.get", 12345) == ApplicationError.NO_SUCH_SESSION


def test_session_get_shows_only_scalar_transport_items() -> None:
    h = Harness()
    peer = h.connect(is_secure=True, channel_binding=b"\x00" * 32, nested={"a": 1})
    from autostrada.messages import Hello

    peer.send(Hello("realm1", {"roles": {"caller": {}}}))
    details = value(peer, "wamp.session.get", peer.id)
    assert details["transport"] == {
        "type": "websocket",
        "peer": "tcp4:127.0.0.1:50000",
        "is_secure": True,
    }


@pytest.mark.parametrize(
    ("args", "kwargs", "text"),
    [((), {}, "missing argument 'session_id'"), (("x",), {}, "must be int, got str")],
)
def test_meta_argument_errors(args: tuple[Any, ...], kwargs: dict[str, Any], text: str) -> None:
    h = Harness()
    peer = h.join()
    answer = meta(peer, "wamp.session.get", *args, **kwargs)
    assert isinstance(answer, Error)
    assert answer.error == ApplicationError.INVALID_ARGUMENT
    assert text in answer.args[0]


def test_on_join_and_on_leave_events() -> None:
    h = Harness()
    watcher = h.join()
    watcher.subscribe("wamp.session.on_join")
    watcher.subscribe("wamp.session.on_leave")
    watcher.take()
    peer = h.join()
    (joined,) = watcher.events()
    assert joined.args is not None
    assert joined.args[0]["session"] == peer.id
    assert joined.args[0]["authrole"] == "anonymous"
    session_id = peer.id
    peer.send(Goodbye({}, ApplicationError.CLOSE_REALM))
    (left,) = watcher.events()
    assert left.args == [session_id]  # session id only, as Crossbar


def test_kill() -> None:
    h = Harness()
    admin, victim, watcher = h.join(), h.join(), h.join()
    watcher.subscribe("wamp.session.on_leave")
    watcher.take()
    assert value(admin, "wamp.session.kill", victim.id, message="go away") is None
    (goodbye,) = victim.take()
    assert isinstance(goodbye, Goodbye)
    assert goodbye.reason == ApplicationError.KILLED
    assert goodbye.details == {"message": "go away"}
    assert victim.session.closing
    assert [e.args for e in watcher.events()] == [[victim.id]]
    assert failure(admin, "wamp.session.kill", victim.id) == ApplicationError.NO_SUCH_SESSION
    assert failure(admin, "wamp.session.kill", admin.id) == ApplicationError.NO_SUCH_SESSION
    other = h.join()
    assert (
        failure(admin, "wamp.session.kill", other.id, reason="not a uri!")
        == ApplicationError.INVALID_URI
    )
    value(admin, "wamp.session.kill", other.id, reason="com.example.bye")
    (goodbye,) = other.take()
    assert isinstance(goodbye, Goodbye)
    assert (goodbye.reason, goodbye.details) == ("com.example.bye", {})


def test_kill_by_authid_authrole_and_all() -> None:
    h = Harness()
    admin = h.join()
    joes = [h.join(), h.join()]
    for joe in joes:
        joe.session.authid = "joe"
    admin.session.authid = "joe"  # the caller itself is never killed
    killed = value(admin, "wamp.session.kill_by_authid", "joe")
    assert sorted(killed) == sorted(p.id for p in joes)
    assert all(p.session.closing for p in joes)
    admins = [h.join(), h.join()]
    for peer in admins:
        peer.session.authrole = "admin"
    assert value(admin, "wamp.session.kill_by_authrole", "admin") == 2
    rest = [h.join(), h.join(), h.join()]
    assert value(admin, "wamp.session.kill_all", reason="wamp.close.system_shutdown") == 3
    assert all(p.session.closing for p in rest)
    assert not admin.session.closing
    assert value(admin, "wamp.session.count") == 1


def test_meta_procedures_need_call_permission() -> None:
    role = RoleConfig(
        "anonymous",
        [Permission("com.", "prefix", call=True), Permission("wamp.session.count", call=True)],
    )
    h = Harness(RouterConfig([RealmConfig("realm1", roles=[role])]))
    peer = h.join()
    assert value(peer, "wamp.session.count") == 1
    assert failure(peer, "wamp.session.list") == ApplicationError.NOT_AUTHORIZED
    assert failure(peer, "wamp.session.kill_all") == ApplicationError.NOT_AUTHORIZED


# --------------------------------------------------------------------------------------
# Registrations


def test_registration_meta_events_and_procedures() -> None:
    h = Harness(wall_clock_offset=1_700_000_000.0)
    watcher = h.join()
    for topic in ("on_create", "on_register", "on_unregister", "on_delete"):
        watcher.subscribe(f"wamp.registration.{topic}")
    watcher.take()
    callee, second = h.join(), h.join()
    exact = callee.register("com.exact", invoke="roundrobin")
    second.register("com.exact", invoke="roundrobin")
    prefix = callee.register("com.pre", match="prefix")
    wildcard = callee.register("com..card", match="wildcard")
    events = watcher.events()
    created = events[0].args
    assert created is not None
    assert created[0] == callee.id
    assert created[1]["id"] == exact
    assert created[1]["uri"] == "com.exact"
    assert created[1]["match"] == "exact"
    assert created[1]["invoke"] == "roundrobin"
    assert created[1]["created"].startswith("2023-11-14T22:")
    assert created[1]["created"].endswith("Z")
    assert events[1].args == [callee.id, exact]
    assert events[2].args == [second.id, exact]  # on_register only: already created
    assert len(events) == 7

    lists = value(watcher, "wamp.registration.list")
    assert lists == {"exact": [exact], "prefix": [prefix], "wildcard": [wildcard]}
    assert value(watcher, "wamp.registration.list", second.id) == {
        "exact": [exact],
        "prefix": [],
        "wildcard": [],
    }
    assert failure(watcher, "wamp.registration.list", 1) == ApplicationError.NO_SUCH_SESSION
    assert value(watcher, "wamp.registration.lookup", "com.exact") == exact
    assert value(watcher, "wamp.registration.lookup", "com.pre", {"match": "prefix"}) == prefix
    assert value(watcher, "wamp.registration.lookup", "com.pre") is None
    assert (
        failure(watcher, "wamp.registration.lookup", "com.pre", {"match": "regex"})
        == ApplicationError.INVALID_ARGUMENT
    )
    assert value(watcher, "wamp.registration.match", "com.prefixed.x") == prefix
    assert value(watcher, "wamp.registration.match", "com.x.card") == wildcard
    assert value(watcher, "wamp.registration.match", "org.none") is None
    assert value(watcher, "wamp.registration.get", exact)["uri"] == "com.exact"
    assert sorted(value(watcher, "wamp.registration.list_callees", exact)) == sorted(
        [callee.id, second.id]
    )
    assert value(watcher, "wamp.registration.count_callees", exact) == 2
    assert failure(watcher, "wamp.registration.get", 1) == ApplicationError.NO_SUCH_REGISTRATION

    h.detach(second)
    assert [e.args for e in watcher.events()] == [[second.id, exact]]  # on_unregister
    h.detach(callee)
    events = watcher.events()
    assert {e.args[1] for e in events if e.args} == {exact, prefix, wildcard}
    assert len(events) == 6  # on_unregister + on_delete for each


# --------------------------------------------------------------------------------------
# Subscriptions


def test_subscription_meta_events_and_procedures() -> None:
    h = Harness()
    watcher = h.join()
    for topic in ("on_create", "on_subscribe", "on_unsubscribe", "on_delete"):
        watcher.subscribe(f"wamp.subscription.{topic}")
    watcher.take()
    a, b = h.join(), h.join()
    sub = a.subscribe("com.t")
    b.subscribe("com.t")
    pattern = a.subscribe("com", match="prefix")
    events = watcher.events()
    assert events[0].args == [
        a.id,
        {"id": sub, "created": events[0].args[1]["created"], "uri": "com.t", "match": "exact"},
    ]
    assert events[1].args == [a.id, sub]
    assert events[2].args == [b.id, sub]
    assert len(events) == 5

    # meta-topic subscriptions themselves produce no meta events
    meta_sub = value(watcher, "wamp.subscription.lookup", "wamp.subscription.on_create")
    other_watcher = h.join()
    other_watcher.subscribe("wamp.subscription.on_create")
    other_watcher.send(Unsubscribe(99, meta_sub))
    assert watcher.events() == []
    assert value(watcher, "wamp.subscription.list")["exact"].count(sub) == 1
    assert value(watcher, "wamp.subscription.list", b.id) == {
        "exact": [sub],
        "prefix": [],
        "wildcard": [],
    }
    assert value(watcher, "wamp.subscription.lookup", "com.t") == sub
    assert value(watcher, "wamp.subscription.lookup", "com", {"match": "prefix"}) == pattern
    assert sorted(value(watcher, "wamp.subscription.match", "com.t")) == sorted([sub, pattern])
    assert value(watcher, "wamp.subscription.match", "org.t") is None
    assert value(watcher, "wamp.subscription.get", sub)["uri"] == "com.t"
    assert sorted(value(watcher, "wamp.subscription.list_subscribers", sub)) == sorted([a.id, b.id])
    assert value(watcher, "wamp.subscription.count_subscribers", sub) == 2
    assert failure(watcher, "wamp.subscription.get", 3) == ApplicationError.NO_SUCH_SUBSCRIPTION

    h.detach(a)
    events = watcher.events()
    # on_unsubscribe (sub), on_unsubscribe + on_delete (pattern)
    assert [e.args for e in events] == [[a.id, sub], [a.id, pattern], [a.id, pattern]]


# --------------------------------------------------------------------------------------
# Testaments


def add_testament(peer: Peer, topic: str, *args: Any, **kwargs: Any) -> Result | Error:
    return meta(peer, "wamp.session.add_testament", topic, list(args), {}, **kwargs)


def test_testaments_are_published_when_the_session_is_lost() -> None:
    h = Harness()
    watcher, peer = h.join(), h.join()
    watcher.subscribe("com.gone")
    assert isinstance(add_testament(peer, "com.gone", "destroyed-1"), Result)
    assert isinstance(add_testament(peer, "com.gone", "detached-1", scope="detached"), Result)
    assert isinstance(add_testament(peer, "com.gone", "destroyed-2", scope="destroyed"), Result)
    watcher.take()
    h.detach(peer)
    got = [e.args for e in watcher.events()]
    # spec: detached scope first, then destroyed, each in order of addition
    assert got == [["detached-1"], ["destroyed-1"], ["destroyed-2"]]


def test_testaments_are_published_after_goodbye_too() -> None:
    h = Harness()
    watcher, peer = h.join(), h.join()
    watcher.subscribe("com.gone")
    add_testament(
        peer, "com.gone", "bye", publish_options={"acknowledge": True, "disclose_me": True}
    )
    watcher.take()
    session_id = peer.id
    peer.send(Goodbye({}, ApplicationError.CLOSE_REALM))
    (event,) = watcher.events()
    assert event.args == ["bye"]
    assert event.details["publisher"] == session_id


def test_flush_testaments() -> None:
    h = Harness()
    watcher, peer = h.join(), h.join()
    watcher.subscribe("com.gone")
    add_testament(peer, "com.gone", "a")
    add_testament(peer, "com.gone", "b")
    add_testament(peer, "com.gone", "c", scope="detached")
    assert value(peer, "wamp.session.flush_testaments") == 2
    assert value(peer, "wamp.session.flush_testaments", scope="destroyed") == 0
    watcher.take()
    h.detach(peer)
    assert [e.args for e in watcher.events()] == [["c"]]


def test_testament_publish_options_are_honoured() -> None:
    h = Harness()
    a, b, peer = h.join(), h.join(), h.join()
    a.subscribe("com.gone")
    b.subscribe("com.gone")
    add_testament(peer, "com.gone", "x", publish_options={"exclude": [a.id], "retain": True})
    a.take()
    b.take()
    h.detach(peer)
    assert a.events() == []
    assert len(b.events()) == 1
    late = h.join()
    got = late.send(Subscribe(1, {"get_retained": True}, "com.gone"))
    assert isinstance(got[-1], Event) and got[-1].args == ["x"]


@pytest.mark.parametrize(
    ("topic", "options", "error"),
    [
        ("com.gone", {"scope": "forever"}, "wamp.error.testament_error"),
        ("not valid!", {}, ApplicationError.INVALID_URI),
        ("wamp.session.on_leave", {}, ApplicationError.INVALID_URI),
        ("com.gone", {"publish_options": {"exclude": "me"}}, ApplicationError.INVALID_ARGUMENT),
        ("org.secret", {}, ApplicationError.NOT_AUTHORIZED),
    ],
)
def test_testament_errors(topic: str, options: dict[str, Any], error: str) -> None:
    role = RoleConfig(
        "anonymous",
        [Permission("com.", "prefix", publish=True), Permission("wamp.", "prefix", call=True)],
    )
    h = Harness(RouterConfig([RealmConfig("realm1", roles=[role])]))
    peer = h.join()
    answer = add_testament(peer, topic, **options)
    assert isinstance(answer, Error) and answer.error == error
    if options.get("scope"):
        assert failure(peer, "wamp.session.flush_testaments", scope="x") == error


def test_testament_limit() -> None:
    limits = RouterLimits(max_testaments_per_session=2)
    h = Harness(RouterConfig([RealmConfig.development()], limits=limits))
    peer = h.join()
    add_testament(peer, "com.a")
    add_testament(peer, "com.b", scope="detached")
    answer = add_testament(peer, "com.c")
    assert isinstance(answer, Error) and answer.error == LIMIT_EXCEEDED
