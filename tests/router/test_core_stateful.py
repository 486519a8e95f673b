"""Router core under random traffic: a hypothesis state machine.

Random sessions join, register, subscribe, call, publish, answer, cancel, leave, crash
and misbehave while time passes. Invariants checked after every step:

* ``receive``/``detach``/``tick`` never raise and every message sent is valid WAMP;
* no state of a session that is gone remains anywhere (realm, registrations,
  subscriptions, calls in flight on either end);
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
from autostrada.router.core import RealmConfig, RouterConfig, RouterLimits

PROCEDURES = ["p.a", "p.b", "p.a.sub"]
TOPICS = ["t.a", "t.b", "t.a.x"]
ROLES = [ALL_FEATURES, BASIC_ROLES, {**ALL_FEATURES, "callee": {}}]


class RouterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        limits = RouterLimits(max_pending_calls_per_session=4, max_testaments_per_session=2)
        self.h = Harness(RouterConfig([RealmConfig.development()], limits=limits))
        self.live: list[Peer] = []
        self.gone: list[Peer] = []
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
                elif isinstance(message, (Abort, Goodbye)):
                    assert peer.session.closing
            if peer.session.closing:
                self.live.remove(peer)
                self.gone.append(peer)
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

    @rule(seconds=st.sampled_from([0.1, 0.6, 2.5]))
    def advance(self, seconds: float) -> None:
        self.h.advance(seconds)
        self.drain()

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def nothing_of_gone_sessions_remains(self) -> None:
        realm = self.h.router.realms["realm1"]
        assert set(realm.sessions.values()) == {p.session for p in self.live}
        gone = {p.session for p in self.gone}
        for registration in realm.dealer.by_id.values():
            assert registration.callees
            assert not {c.session for c in registration.callees} & gone
        for subscription in realm.broker.by_id.values():
            assert subscription.subscribers
            assert not set(subscription.subscribers) & gone
        for peer in self.gone:
            session = peer.session
            assert not (session.calls or session.invocations)
            assert not (session.registrations or session.subscriptions)
        for peer in self.live:
            for call in peer.session.calls.values():
                assert call.callee not in gone
            for call in peer.session.invocations.values():
                assert call.caller not in gone

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
