"""Router core under random traffic: a hypothesis state machine.

Random sessions join, register, subscribe, call, publish, answer, cancel, leave, crash
and misbehave while time passes; a transport whose session left with GOODBYE may carry
a new session (HELLO again), be lost, or misbehave. Invariants checked after every step:

* ``receive``/``detach``/``tick`` never raise and every message sent is valid WAMP;
* no state of a session that is gone remains anywhere (realm, registrations,
  subscriptions, calls in flight on either end), and what the realm holds agrees with
  each session's own bookkeeping (so a transport's new session inherits nothing);
* every call gets at most one final answer (RESULT or ERROR), and a call of a live
  caller is either still in flight in the router or has had exactly one final answer.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from router_harness import ALL_FEATURES, BASIC_ROLES, Harness, Peer

from autostrada.messages import (
    Abort,
    Call,
    Cancel,
    Error,
    Goodbye,
    Hello,
    Invocation,
    Publish,
    Register,
    Result,
    Subscribe,
    Unregister,
    Unsubscribe,
    Welcome,
    Yield,
)
from autostrada.router.core import RealmConfig, RouterConfig, RouterLimits, SessionState

PROCEDURES = ["p.a", "p.b", "p.a.sub"]
TOPICS = ["t.a", "t.b", "t.a.x"]
ROLES = [ALL_FEATURES, BASIC_ROLES, {**ALL_FEATURES, "callee": {}}]


class RouterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        limits = RouterLimits(max_pending_calls_per_session=4, max_testaments_per_session=2)
        self.h = Harness(RouterConfig([RealmConfig.development()], limits=limits))
        self.live: list[Peer] = []
        self.idle: list[Peer] = []  # left with GOODBYE, transport open: may HELLO again
        self.gone: list[Peer] = []  # transport closed
        self.todo: dict[Peer, list[Invocation]] = {}
        self.answers: dict[tuple[Peer, int], int] = {}  # final answers per call

    # -- bookkeeping -------------------------------------------------------------------

    def drain(self) -> None:
        for peer in list(self.live):
            for message in peer.take():
                if isinstance(message, Invocation):
                    self.todo[peer].append(message)
                elif self.final(message):
                    self.answers[peer, message.request_id] += 1
                elif isinstance(message, Abort):
                    assert peer.session.closing
                elif isinstance(message, Goodbye):
                    # The router's GOODBYE closes; its echo of ours leaves the transport open.
                    assert peer.session.closing or peer.session.state is SessionState.NEW
            if not peer.session.established:
                self.live.remove(peer)
                (self.gone if peer.session.closing else self.idle).append(peer)
                self.todo.pop(peer, None)

    @staticmethod
    def final(message: object) -> TypeGuard[Result | Error]:
        """A final answer to a CALL: RESULT without progress, or ERROR for a CALL."""
        if isinstance(message, Result):
            return not message.details.get("progress")
        return isinstance(message, Error) and message.request_type == 48

    def pick(self, data: st.DataObject, peers: list[Peer] | None = None) -> Peer:
        return data.draw(st.sampled_from(peers if peers is not None else self.live))

    # -- rules -------------------------------------------------------------------------

    @initialize(roles=st.lists(st.sampled_from(ROLES), min_size=2, max_size=3))
    def start(self, roles: list[dict[str, Any]]) -> None:
        for peer_roles in roles:
            self.join(peer_roles)

    @precondition(lambda self: len(self.live) < 6)
    @rule(roles=st.sampled_from(ROLES))
    def join(self, roles: dict[str, Any]) -> None:
        peer = self.h.connect()
        got = peer.send(Hello("realm1", {"roles": roles}))
        assert isinstance(got[0], Welcome)
        peer.take()
        self.live.append(peer)
        self.todo[peer] = []

    @precondition(lambda self: self.live)
    @rule(
        data=st.data(),
        procedure=st.sampled_from(PROCEDURES),
        match=st.sampled_from(["exact", "prefix"]),
        invoke=st.sampled_from(["single", "roundrobin", "random"]),
        concurrency=st.sampled_from([None, 1, 2]),
    )
    def register(
        self, data: st.DataObject, procedure: str, match: str, invoke: str, concurrency: int | None
    ) -> None:
        peer = self.pick(data)
        options: dict[str, Any] = {"match": match, "invoke": invoke}
        if concurrency:
            options["concurrency"] = concurrency
        peer.send(Register(peer.next_id(), options, procedure))
        self.drain()

    @precondition(lambda self: any(p.session.registrations for p in self.live))
    @rule(data=st.data())
    def unregister(self, data: st.DataObject) -> None:
        peer = self.pick(data, [p for p in self.live if p.session.registrations])
        registration_id = data.draw(st.sampled_from(list(peer.session.registrations)))
        peer.send(Unregister(peer.next_id(), registration_id))
        self.drain()

    @precondition(lambda self: self.live)
    @rule(data=st.data(), topic=st.sampled_from(TOPICS), prefix=st.booleans())
    def subscribe(self, data: st.DataObject, topic: str, prefix: bool) -> None:
        peer = self.pick(data)
        options = {"match": "prefix"} if prefix else {}
        peer.send(Subscribe(peer.next_id(), options, topic))
        self.drain()

    @precondition(lambda self: any(p.session.subscriptions for p in self.live))
    @rule(data=st.data())
    def unsubscribe(self, data: st.DataObject) -> None:
        peer = self.pick(data, [p for p in self.live if p.session.subscriptions])
        subscription_id = data.draw(st.sampled_from(list(peer.session.subscriptions)))
        peer.send(Unsubscribe(peer.next_id(), subscription_id))
        self.drain()

    @precondition(lambda self: self.live)
    @rule(
        data=st.data(),
        topic=st.sampled_from(TOPICS),
        acknowledge=st.booleans(),
        retain=st.booleans(),
    )
    def publish(self, data: st.DataObject, topic: str, acknowledge: bool, retain: bool) -> None:
        peer = self.pick(data)
        peer.send(Publish(peer.next_id(), {"acknowledge": acknowledge, "retain": retain}, topic))
        self.drain()

    @precondition(lambda self: self.live)
    @rule(
        data=st.data(),
        procedure=st.sampled_from([*PROCEDURES, "wamp.session.count", "p.none"]),
        timeout=st.sampled_from([0, 500, 2000]),
        progress=st.booleans(),
    )
    def call(self, data: st.DataObject, procedure: str, timeout: int, progress: bool) -> None:
        peer = self.pick(data)
        request_id = peer.next_id()
        self.answers[peer, request_id] = 0
        options = {"timeout": timeout, "receive_progress": progress}
        peer.send(Call(request_id, options, procedure, [request_id]))
        self.drain()

    @precondition(lambda self: any(p.session.calls for p in self.live))
    @rule(data=st.data(), mode=st.sampled_from(["skip", "kill", "killnowait"]))
    def cancel(self, data: st.DataObject, mode: str) -> None:
        peer = self.pick(data, [p for p in self.live if p.session.calls])
        request_id = data.draw(st.sampled_from(list(peer.session.calls)))
        peer.send(Cancel(request_id, {"mode": mode}))
        self.drain()

    @precondition(lambda self: any(self.todo.get(p) for p in self.live))
    @rule(data=st.data(), how=st.sampled_from(["result", "progress", "error"]))
    def answer(self, data: st.DataObject, how: str) -> None:
        peer = self.pick(data, [p for p in self.live if self.todo.get(p)])
        invocation = data.draw(st.sampled_from(self.todo[peer]))
        if how == "progress":
            peer.send(Yield(invocation.request_id, {"progress": True}, ["partial"]))
        else:
            self.todo[peer].remove(invocation)
            if how == "result":
                peer.send(Yield(invocation.request_id, {}, ["done"]))
            else:
                peer.send(Error(68, invocation.request_id, {}, "com.failed"))
        self.drain()

    @precondition(lambda self: self.live)
    @rule(data=st.data(), scope=st.sampled_from(["destroyed", "detached"]))
    def add_testament(self, data: st.DataObject, scope: str) -> None:
        peer = self.pick(data)
        request_id = peer.next_id()
        self.answers[peer, request_id] = 0
        args = ["t.a", ["bye"], {}]
        peer.send(Call(request_id, {}, "wamp.session.add_testament", args, {"scope": scope}))
        self.drain()

    @precondition(lambda self: self.live)
    @rule(data=st.data(), how=st.sampled_from(["goodbye", "crash", "garbage", "kill"]))
    def leave(self, data: st.DataObject, how: str) -> None:
        peer = self.pick(data)
        if how == "goodbye":
            peer.send(Goodbye({}, "wamp.close.close_realm"))
        elif how == "crash":
            self.h.detach(peer)
        elif how == "garbage":
            peer.send(Yield(10**9, {}))  # an INVOCATION never sent: protocol violation
        else:
            killer = self.pick(data)
            request_id = killer.next_id()
            self.answers[killer, request_id] = 0
            killer.send(Call(request_id, {}, "wamp.session.kill", [peer.id]))
        self.drain()

    @precondition(lambda self: self.idle and len(self.live) < 6)
    @rule(data=st.data(), roles=st.sampled_from(ROLES))
    def rejoin(self, data: st.DataObject, roles: dict[str, Any]) -> None:
        """A new session over the transport of one that left with GOODBYE."""
        old = self.pick(data, self.idle)
        self.idle.remove(old)
        peer = Peer(self.h, old.session)  # the same transport, a fresh view of it
        self.h.peers[old.session] = peer
        got = peer.send(Hello("realm1", {"roles": roles}))
        assert isinstance(got[0], Welcome)
        assert got[0].session_id not in self.ended_ids
        peer.take()
        self.live.append(peer)
        self.todo[peer] = []

    @precondition(lambda self: self.idle)
    @rule(data=st.data(), how=st.sampled_from(["lost", "garbage"]))
    def idle_transport_ends(self, data: st.DataObject, how: str) -> None:
        peer = self.pick(data, self.idle)
        if how == "lost":
            self.h.detach(peer)
        else:  # no session: only HELLO (or ABORT) may come
            (abort,) = peer.send(Call(peer.next_id(), {}, "p.a"))
            assert isinstance(abort, Abort) and abort.reason == "wamp.error.protocol_violation"
        assert peer.session.closing
        self.idle.remove(peer)
        self.gone.append(peer)

    @rule(seconds=st.sampled_from([0.1, 0.6, 2.5]))
    def advance(self, seconds: float) -> None:
        self.h.advance(seconds)
        self.drain()

    # -- invariants --------------------------------------------------------------------

    @property
    def ended_ids(self) -> set[int]:
        """Ids of the sessions that ended (a transport after GOODBYE has none: 0)."""
        return {p.id for p in self.gone} - {0}

    @invariant()
    def nothing_of_gone_sessions_remains(self) -> None:
        realm = self.h.router.realms["realm1"]
        live = {p.session for p in self.live}
        assert set(realm.sessions.values()) == live
        assert set(realm.sessions) == {p.id for p in self.live}
        # Both ways: the realm's records name live sessions, and each session's own
        # bookkeeping holds the same objects (a renewed transport inherits nothing).
        for registration in realm.dealer.by_id.values():
            assert registration.callees
            for callee in registration.callees:
                assert callee.session in live
                assert callee.session.registrations.get(registration.id) is registration
        for subscription in realm.broker.by_id.values():
            assert subscription.subscribers
            for subscriber in subscription.subscribers:
                assert subscriber in live
                assert subscriber.subscriptions.get(subscription.id) is subscription
        for peer in (*self.gone, *self.idle):
            session = peer.session
            assert not (session.calls or session.invocations)
            assert not (session.registrations or session.subscriptions)
        for peer in self.idle:
            assert peer.session.state is SessionState.NEW and peer.id == 0
        for peer in self.live:
            for call in peer.session.calls.values():
                assert call.callee in live
                assert call.callee.invocations.get(call.invocation_id) is call
            for call in peer.session.invocations.values():
                assert call.caller is None or call.caller in live
                if call.caller is not None:
                    assert call.caller.calls.get(call.request_id) is call

    @invariant()
    def every_call_gets_exactly_one_final_answer(self) -> None:
        for (peer, request_id), count in self.answers.items():
            assert count <= 1, (request_id, count)
            if peer in self.live:
                in_flight = request_id in peer.session.calls
                assert in_flight != (count == 1), (request_id, in_flight, count)


RouterMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRouterMachine = RouterMachine.TestCase
