"""The router core under random traffic with hostile sessions, and the bytes-to-router path
fuzzed (hypothesis; bounded by ``max_examples``).

``HostileRouterMachine`` extends the core's state machine (tests/router/test_core_stateful.py:
sessions join, register, subscribe, call, publish, answer, cancel, leave, crash) with
sessions that send what a client must never send, newcomers that skip HELLO, and floods of
calls over the pending-call limit. On top of that machine's invariants (nothing of a gone
session remains, every call gets exactly one final answer):

* the offender gets ABORT ``wamp.error.protocol_violation`` and is closed; no other
  session is closed by it;
* the router never logs an internal error (it logs one for any exception it catches).

The fuzz tests feed arbitrary and mutated bytes through a serializer's decoder into
``Router.receive`` / ``Router.protocol_violation``, as the listeners do.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from autostrada.exceptions import ProtocolError
from autostrada.messages import (
    Abort,
    Authenticate,
    Call,
    Challenge,
    Event,
    Hello,
    Interrupt,
    Invocation,
    Message,
    Publish,
    Published,
    Registered,
    Result,
    Subscribe,
    Subscribed,
    Unregistered,
    Unsubscribed,
    Welcome,
)
from autostrada.router.core import Router, RouterConfig
from autostrada.serializers import get_serializer

ROUTER_TESTS = Path(__file__).resolve().parent.parent / "router"


def _load(name: str) -> ModuleType:
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, ROUTER_TESTS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


_load("router_harness")  # imported by name by the state machine's module
stateful = _load("test_core_stateful")

HOSTILE: list[Message] = [
    Welcome(1, {"roles": {"broker": {}}}),
    Challenge("ticket", {}),
    Published(1, 2),
    Subscribed(1, 2),
    Unsubscribed(1),
    Event(1, 2, {}, [1]),
    Result(1, {}),
    Registered(1, 2),
    Unregistered(1),
    Invocation(1, 2, {}),
    Interrupt(1, {}),
    Hello("realm1", {"roles": {"caller": {}}}),
    Authenticate("x", {}),
]
NOT_HELLO: list[Message] = [
    Call(1, {}, "p.a"),
    Publish(1, {}, "t.a"),
    Subscribe(1, {}, "t.a"),
    Authenticate("x", {}),
    Welcome(1, {"roles": {"broker": {}}}),
]


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class HostileRouterMachine(stateful.RouterMachine):  # type: ignore[misc,name-defined]
    def __init__(self) -> None:
        super().__init__()
        self.errors = _Errors()
        logging.getLogger("autostrada.router").addHandler(self.errors)

    def teardown(self) -> None:
        logging.getLogger("autostrada.router").removeHandler(self.errors)
        super().teardown()

    @precondition(lambda self: len(self.live) > 1)
    @rule(data=st.data(), message=st.sampled_from(HOSTILE))
    def misbehave(self, data: st.DataObject, message: Message) -> None:
        peer = self.pick(data)
        bystanders = [p for p in self.live if p is not peer]
        got = peer.send(message)
        assert isinstance(got[-1], Abort), got
        assert got[-1].reason == "wamp.error.protocol_violation"
        assert peer.session.closing
        assert not any(p.session.closing for p in bystanders)
        for message_to_peer in got[:-1]:  # what the end of its own calls caused
            assert not isinstance(message_to_peer, Abort)
        self.drain()

    @rule(message=st.sampled_from(NOT_HELLO))
    def newcomer_skips_hello(self, message: Message) -> None:
        newcomer = self.h.connect()
        got = newcomer.send(message)
        assert len(got) == 1 and isinstance(got[0], Abort), got
        assert got[0].reason == "wamp.error.protocol_violation"
        assert newcomer.session.closing
        assert all(not p.session.closing for p in self.live)

    @precondition(lambda self: self.live)
    @rule(data=st.data(), count=st.integers(5, 12))
    def flood_of_calls(self, data: st.DataObject, count: int) -> None:
        peer = self.pick(data)
        for _ in range(count):  # the pending-call limit is 4 here
            request_id = peer.next_id()
            self.answers[peer, request_id] = 0
            peer.send(Call(request_id, {}, "p.a", [request_id]))
        assert len(peer.session.calls) <= 4
        self.drain()

    @stateful.invariant()  # type: ignore[misc]
    def no_internal_error(self) -> None:
        assert not self.errors.records, [r.getMessage() for r in self.errors.records]


HostileRouterMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestHostileRouterMachine = HostileRouterMachine.TestCase


# ------------------------------------------------------------------ bytes into the router


def _fresh_joined(router: Router) -> Any:
    session = router.attach({"type": "websocket", "peer": "fuzz"})
    out = router.receive(session, Hello("realm1", {"roles": {"caller": {}, "callee": {}}}), 1.0)
    assert isinstance(out[0][1], Welcome)
    return session


def _feed(router: Router, session: Any, serializer: str, data: bytes) -> None:
    """What a listener does with one frame: decode, then the core (never raises)."""
    try:
        messages = get_serializer(serializer).decode(data)
    except ProtocolError as exc:
        out = router.protocol_violation(session, exc, 2.0)
        assert isinstance(out[0][1], Abort) and session.closing
        return
    for message in messages:
        router.receive(session, message, 2.0)
        if session.closing:
            break


SERIALIZERS = ["json", "msgpack", "cbor", "json.batched", "msgpack.batched", "cbor.batched"]
VALID = {
    name: [get_serializer(name).encode(m) for m in (*HOSTILE, *NOT_HELLO)] for name in SERIALIZERS
}


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(serializer=st.sampled_from(SERIALIZERS), data=st.binary(max_size=200))
def test_arbitrary_bytes_into_a_joined_session(serializer: str, data: bytes) -> None:
    router = Router(RouterConfig.development())
    bystander = _fresh_joined(router)
    session = _fresh_joined(router)
    _feed(router, session, serializer, data)
    assert not bystander.closing
    realm = router.realms["realm1"]
    if session.closing:
        assert session.session_id not in realm.sessions


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    serializer=st.sampled_from(SERIALIZERS),
    pick=st.integers(0, 100),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
    cut=st.integers(0, 10_000),
)
def test_mutated_messages_into_a_joined_session(
    serializer: str, pick: int, flips: list[tuple[int, int]], cut: int
) -> None:
    valid = VALID[serializer]
    data = bytearray(valid[pick % len(valid)])
    for where, value in flips:
        data[where % len(data)] = value
    data = data[: max(1, cut % (len(data) + 1))]
    router = Router(RouterConfig.development())
    bystander = _fresh_joined(router)
    session = _fresh_joined(router)
    _feed(router, session, serializer, bytes(data))
    assert not bystander.closing
