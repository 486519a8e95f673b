"""Test harness for the router core: fake peers that join and collect what they receive.

Every message the router emits is checked to survive ``to_list()`` -> ``parse()``
unchanged, so the tests also prove the router only sends valid WAMP messages.
"""

from __future__ import annotations

import random
from typing import Any

from autostrada.messages import (
    Call,
    Error,
    Event,
    Hello,
    Invocation,
    Message,
    Publish,
    Register,
    Registered,
    Result,
    Subscribe,
    Subscribed,
    Welcome,
    Yield,
    parse,
)
from autostrada.router.core import Outgoing, Router, RouterConfig, RouterSession

ALL_FEATURES: dict[str, Any] = {
    "caller": {
        "features": {
            "caller_identification": True,
            "call_canceling": True,
            "progressive_call_results": True,
            "progressive_call_invocations": True,
        }
    },
    "callee": {
        "features": {
            "caller_identification": True,
            "call_canceling": True,
            "progressive_call_results": True,
            "progressive_call_invocations": True,
            "pattern_based_registration": True,
            "shared_registration": True,
            "registration_revocation": True,
        }
    },
    "publisher": {"features": {"publisher_exclusion": True, "x_acknowledged_event_delivery": True}},
    "subscriber": {"features": {"pattern_based_subscription": True}},
}
"""Roles of a capable client (Autobahn-like, plus progressive call invocations)."""

BASIC_ROLES: dict[str, Any] = {"caller": {}, "callee": {}, "publisher": {}, "subscriber": {}}
"""Roles of a Basic Profile client: no advanced feature at all."""


class Peer:
    """One fake client connection."""

    def __init__(self, harness: Harness, session: RouterSession) -> None:
        self.harness = harness
        self.session = session
        self.inbox: list[Message] = []
        self._request = 0

    @property
    def id(self) -> int:
        return self.session.session_id

    def next_id(self) -> int:
        self._request += 1
        return self._request

    def send(self, message: Message) -> list[Message]:
        """Send ``message``; return what this peer received as a result (and keep it)."""
        before = len(self.inbox)
        self.harness.deliver(self.harness.router.receive(self.session, message, self.harness.now))
        return self.inbox[before:]

    def take(self) -> list[Message]:
        """Return and forget everything received so far."""
        received, self.inbox = self.inbox, []
        return received

    def last(self) -> Message:
        assert self.inbox, "nothing received"
        return self.inbox[-1]

    # -- convenience -------------------------------------------------------------------

    def register(self, procedure: str, **options: Any) -> int:
        got = self.send(Register(self.next_id(), options, procedure))
        assert isinstance(got[0], Registered), got
        return got[0].registration_id

    def subscribe(self, topic: str, **options: Any) -> int:
        got = self.send(Subscribe(self.next_id(), options, topic))
        assert isinstance(got[0], Subscribed), got
        return got[0].subscription_id

    def call(
        self,
        procedure: str,
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> int:
        request_id = self.next_id()
        self.send(Call(request_id, options, procedure, args, kwargs))
        return request_id

    def publish(self, topic: str, args: list[Any] | None = None, **options: Any) -> int:
        request_id = self.next_id()
        self.send(Publish(request_id, options, topic, args))
        return request_id

    def invocations(self) -> list[Invocation]:
        return [m for m in self.take() if isinstance(m, Invocation)]

    def events(self) -> list[Event]:
        return [m for m in self.take() if isinstance(m, Event)]

    def answer(self, invocation: Invocation, args: list[Any] | None = None, **options: Any) -> None:
        self.send(Yield(invocation.request_id, options, args))

    def results(self) -> list[Result | Error]:
        return [m for m in self.take() if isinstance(m, (Result, Error))]


class Harness:
    """A router plus fake peers; time is ``self.now``, advanced by hand."""

    def __init__(self, config: RouterConfig | None = None, **router_args: Any) -> None:
        router_args.setdefault("rng", random.Random(7))
        self.router = Router(config or RouterConfig.development(), **router_args)
        self.now = 100.0
        self.peers: dict[RouterSession, Peer] = {}
        self.closed: list[Peer] = []

    def deliver(self, out: Outgoing) -> None:
        for session, message in out:
            assert parse(message.to_list()) == message, message
            self.peers[session].inbox.append(message)
        for peer in list(self.peers.values()):
            if peer.session.closing and peer not in self.closed:
                self.closed.append(peer)

    def connect(self, **transport: Any) -> Peer:
        transport.setdefault("type", "websocket")
        transport.setdefault("peer", "tcp4:127.0.0.1:50000")
        peer = Peer(self, self.router.attach(transport))
        self.peers[peer.session] = peer
        return peer

    def join(
        self, realm: str = "realm1", roles: dict[str, Any] | None = None, **details: Any
    ) -> Peer:
        peer = self.connect()
        got = peer.send(Hello(realm, {"roles": roles or ALL_FEATURES, **details}))
        assert len(got) == 1 and isinstance(got[0], Welcome), got
        peer.take()
        return peer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.deliver(self.router.tick(self.now))

    def detach(self, peer: Peer) -> None:
        self.deliver(self.router.detach(peer.session, self.now))
