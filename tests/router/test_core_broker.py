"""Router core: the broker (subscriptions, publications, fan-out, retention)."""

from __future__ import annotations

from typing import Any

import pytest
from router_harness import ALL_FEATURES, BASIC_ROLES, Harness, Peer

from autostrada.exceptions import ApplicationError
from autostrada.messages import (
    Error,
    Event,
    Publish,
    Published,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
)
from autostrada.router.core import (
    LIMIT_EXCEEDED,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    RouterLimits,
)


def one_event(peer: Peer) -> Event:
    (event,) = peer.events()
    return event


def test_publish_reaches_subscribers_but_not_the_publisher() -> None:
    h = Harness()
    a, b, publisher = h.join(), h.join(), h.join()
    sub_a = a.subscribe("com.topic")
    sub_b = b.subscribe("com.topic")
    assert sub_a == sub_b  # spec: one subscription per (topic, match)
    publisher.subscribe("com.topic")
    publisher.take()
    publisher.publish("com.topic", [1], acknowledge=False)
    event_a, event_b = one_event(a), one_event(b)
    assert event_a is event_b  # the same object, serialized once per serializer
    assert event_a.subscription_id == sub_a
    assert event_a.args == [1]
    assert event_a.details == {}
    assert publisher.take() == []


def test_shared_event_object_in_router_output() -> None:
    h = Harness()
    subscribers = [h.join() for _ in range(3)]
    for peer in subscribers:
        peer.subscribe("com.t")
    publisher = h.join()
    out = h.router.receive(publisher.session, Publish(1, {}, "com.t", [1]), h.now)
    assert len(out) == 3
    assert len({id(message) for _, message in out}) == 1


def test_acknowledge_publication_id_matches_events() -> None:
    h = Harness()
    subscriber, publisher = h.join(roles=BASIC_ROLES), h.join()
    subscriber.subscribe("com.t")
    request = publisher.publish("com.t", acknowledge=True)
    (published,) = publisher.take()
    assert isinstance(published, Published)
    assert published.request_id == request
    assert one_event(subscriber).publication_id == published.publication_id


def test_exclude_me_false_delivers_to_the_publisher() -> None:
    h = Harness()
    peer = h.join()
    peer.subscribe("com.t")
    peer.publish("com.t", exclude_me=False)
    assert one_event(peer).args is None


def test_repeated_subscribe_gets_the_same_id_and_no_duplicate_events() -> None:
    h = Harness()
    subscriber, publisher = h.join(), h.join()
    first = subscriber.subscribe("com.t")
    assert subscriber.subscribe("com.t") == first
    publisher.publish("com.t")
    assert len(subscriber.events()) == 1


def test_unsubscribe() -> None:
    h = Harness()
    subscriber, other, publisher = h.join(), h.join(), h.join()
    sub = subscriber.subscribe("com.t")
    (error,) = other.send(Unsubscribe(1, sub))
    assert isinstance(error, Error) and error.error == ApplicationError.NO_SUCH_SUBSCRIPTION
    (done,) = subscriber.send(Unsubscribe(2, sub))
    assert isinstance(done, Unsubscribed) and done.request_id == 2
    subscriber.take()
    publisher.publish("com.t")
    assert subscriber.take() == []
    assert h.router.realms["realm1"].broker.by_id == {}


def test_pattern_subscriptions_get_every_match_with_the_topic() -> None:
    h = Harness()
    peer, publisher = h.join(), h.join()
    exact = peer.subscribe("com.a.b")
    prefix = peer.subscribe("com.a", match="prefix")
    wildcard = peer.subscribe("com..b", match="wildcard")
    other = peer.subscribe("com..c", match="wildcard")
    assert len({exact, prefix, wildcard, other}) == 4
    publisher.publish("com.a.b", ["x"])
    events = {e.subscription_id: e for e in peer.events()}
    assert set(events) == {exact, prefix, wildcard}
    assert events[exact].details == {}
    assert events[prefix].details == {"topic": "com.a.b"}
    assert events[wildcard].details == {"topic": "com.a.b"}
    assert len({e.publication_id for e in events.values()}) == 1


# --------------------------------------------------------------------------------------
# Black- and whitelisting


@pytest.mark.parametrize(
    ("options", "receivers"),
    [
        ({"exclude": "ID1"}, {"b", "c"}),
        ({"eligible": "ID1"}, {"a"}),
        ({"eligible_authid": ["joe"]}, {"a", "b"}),
        ({"exclude_authid": ["joe"]}, {"c"}),
        ({"eligible_authrole": ["admin"]}, {"c"}),
        ({"exclude_authrole": ["admin"]}, {"a", "b"}),
        ({"eligible_authid": ["joe"], "exclude": "ID1"}, {"b"}),
    ],
)
def test_black_and_white_listing(options: dict[str, Any], receivers: set[str]) -> None:
    h = Harness()
    peers = {name: h.join() for name in "abc"}
    for peer in peers.values():
        peer.subscribe("com.t")
    # identities are set directly: authentication is tested elsewhere
    peers["a"].session.authid = peers["b"].session.authid = "joe"
    peers["c"].session.authrole = "admin"
    options = {k: ([peers["a"].id] if v == "ID1" else v) for k, v in options.items()}
    publisher = h.join()
    publisher.publish("com.t", **options)
    got = {name for name, peer in peers.items() if peer.events()}
    assert got == receivers


# --------------------------------------------------------------------------------------
# Publisher identification


def config(disclose: bool = False, **limits: Any) -> RouterConfig:
    role = RoleConfig("anonymous", [Permission.allow_all(disclose=disclose)])
    realm = RealmConfig("realm1", roles=[role])
    return RouterConfig([realm], limits=RouterLimits(**limits))


@pytest.mark.parametrize(
    ("disclose_role", "options", "disclosed"),
    [(False, {}, False), (True, {}, True), (False, {"disclose_me": True}, True)],
)
def test_publisher_disclosure(
    disclose_role: bool, options: dict[str, Any], disclosed: bool
) -> None:
    h = Harness(config(disclose=disclose_role))
    subscriber, publisher = h.join(), h.join()
    subscriber.subscribe("com.t")
    publisher.publish("com.t", **options)
    details = one_event(subscriber).details
    if disclosed:
        assert details == {
            "publisher": publisher.id,
            "publisher_authid": publisher.session.authid,
            "publisher_authrole": "anonymous",
        }
    else:
        assert details == {}


def test_passthru_keys_reach_the_event() -> None:
    h = Harness()
    subscriber, publisher = h.join(), h.join()
    subscriber.subscribe("com.t")
    options = {"enc_algo": "cryptobox", "enc_key": "k"}
    publisher.send(Publish(1, options, "com.t", payload=b"opaque"))
    event = one_event(subscriber)
    assert event.details == options
    assert event.payload == b"opaque"


def test_publishing_to_wamp_topics_is_refused() -> None:
    h = Harness()
    watcher, publisher = h.join(), h.join()
    watcher.subscribe("wamp.session.on_join")
    (error,) = publisher.send(Publish(1, {"acknowledge": True}, "wamp.session.on_join"))
    assert isinstance(error, Error) and error.error == ApplicationError.INVALID_URI
    assert publisher.send(Publish(2, {}, "wamp.session.on_join")) == []
    assert watcher.events() == []


# --------------------------------------------------------------------------------------
# Event retention


def test_retained_event_on_subscribe() -> None:
    h = Harness(config(disclose=True))
    publisher = h.join()
    publisher.publish("com.sensor", [20], retain=True)
    publisher.publish("com.sensor", [21], retain=True)
    publisher.publish("com.sensor", [99])  # not retained
    late = h.join()
    got = late.send(Subscribe(1, {"get_retained": True}, "com.sensor"))
    assert isinstance(got[0], Subscribed)
    (event,) = got[1:]
    assert isinstance(event, Event)
    assert event.args == [21]
    assert event.details["retained"] is True
    assert event.details["publisher"] == publisher.id
    # without get_retained nothing is replayed
    other = h.join()
    assert len(other.send(Subscribe(1, {}, "com.sensor"))) == 1
    # a repeated subscribe with get_retained replays it again
    assert len(late.send(Subscribe(2, {"get_retained": True}, "com.sensor"))) == 2


def test_retained_events_for_pattern_subscriptions() -> None:
    h = Harness()
    publisher = h.join()
    publisher.publish("com.room.1.temp", [1], retain=True)
    publisher.publish("com.room.2.temp", [2], retain=True)
    publisher.publish("com.hall.temp", [3], retain=True)
    late = h.join()
    got = late.send(Subscribe(1, {"get_retained": True, "match": "wildcard"}, "com.room..temp"))
    events = [m for m in got if isinstance(m, Event)]
    assert sorted(e.args[0] for e in events) == [1, 2]
    assert {e.details["topic"] for e in events} == {"com.room.1.temp", "com.room.2.temp"}


def test_retained_event_respects_eligibility() -> None:
    h = Harness()
    publisher = h.join()
    publisher.subscribe("com.t")
    publisher.publish("com.t", [1], retain=True, exclude_authrole=["anonymous"])
    assert publisher.events() == []
    late = h.join()
    got = late.send(Subscribe(1, {"get_retained": True}, "com.t"))
    assert len(got) == 1  # not eligible
    # the publisher excluded itself, so it does not get it either
    got = publisher.send(Subscribe(2, {"get_retained": True}, "com.t"))
    assert not any(isinstance(m, Event) for m in got)


def test_retained_topics_are_bounded() -> None:
    h = Harness(config(max_retained_topics=2))
    publisher = h.join()
    for index in range(3):
        publisher.publish(f"com.t{index}", [index], retain=True)
    assert list(h.router.realms["realm1"].broker.retained) == ["com.t1", "com.t2"]
    late = h.join()
    assert len(late.send(Subscribe(1, {"get_retained": True}, "com.t0"))) == 1


# --------------------------------------------------------------------------------------
# Acknowledged event delivery (Autobahn's x_acknowledged_delivery)


def test_acknowledged_delivery_flag_only_for_subscribers_that_support_it() -> None:
    h = Harness()
    capable = h.join(roles=ALL_FEATURES)  # announces it under publisher, as Autobahn
    plain = h.join(roles=BASIC_ROLES)
    explicit = h.join(roles={"subscriber": {"features": {"x_acknowledged_event_delivery": True}}})
    for peer in (capable, plain, explicit):
        peer.subscribe("com.t")
    publisher = h.join()
    publisher.publish("com.t", acknowledge=True)
    acked = one_event(capable)
    assert acked.details == {"x_acknowledged_delivery": True}
    assert one_event(explicit) is acked
    assert one_event(plain).details == {}
    publisher.publish("com.t")  # not acknowledged: no flag for anyone
    assert one_event(capable).details == {}


# --------------------------------------------------------------------------------------
# Limits


def test_subscription_limit() -> None:
    h = Harness(config(max_subscriptions_per_session=2))
    peer = h.join()
    peer.subscribe("com.a")
    peer.subscribe("com.b")
    assert peer.subscribe("com.a")  # already held: fine
    (error,) = peer.send(Subscribe(9, {}, "com.c"))
    assert isinstance(error, Error) and error.error == LIMIT_EXCEEDED
