"""Router core: the dealer (registrations, calls, cancel, timeouts, progressive calls)."""

from __future__ import annotations

from typing import Any

import pytest
from router_harness import ALL_FEATURES, BASIC_ROLES, Harness, Peer

from autostrada.exceptions import ApplicationError
from autostrada.messages import (
    Abort,
    Call,
    Cancel,
    Error,
    Interrupt,
    Invocation,
    Register,
    Registered,
    Result,
    Unregister,
    Unregistered,
    Yield,
)
from autostrada.router.core import (
    LIMIT_EXCEEDED,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    RouterLimits,
)

NO_CANCEL = {
    **ALL_FEATURES,
    "callee": {"features": {"progressive_call_results": True}},
}


def error_of(peer: Peer) -> Error:
    (message,) = peer.results()
    assert isinstance(message, Error), message
    return message


def result_of(peer: Peer) -> Result:
    (message,) = peer.results()
    assert isinstance(message, Result), message
    return message


def one_invocation(peer: Peer) -> Invocation:
    (invocation,) = peer.invocations()
    return invocation


# --------------------------------------------------------------------------------------
# Basic RPC


def test_call_invocation_yield_result() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    registration_id = callee.register("com.add")
    request = caller.call("com.add", [2, 3], {"x": 1})
    invocation = one_invocation(callee)
    assert invocation.registration_id == registration_id
    assert invocation.details == {}
    assert invocation.args == [2, 3]
    assert invocation.kwargs == {"x": 1}
    callee.answer(invocation, [5])
    result = result_of(caller)
    assert result.request_id == request
    assert result.args == [5]
    assert result.details == {}
    assert caller.session.calls == {}
    assert callee.session.invocations == {}


def test_callee_error_goes_to_caller() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.fail")
    request = caller.call("com.fail")
    invocation = one_invocation(callee)
    callee.send(Error(68, invocation.request_id, {}, "com.error.bad", ["why"], {"k": 1}))
    error = error_of(caller)
    assert (error.request_type, error.request_id) == (48, request)
    assert (error.error, error.args, error.kwargs) == ("com.error.bad", ["why"], {"k": 1})


def test_no_such_procedure() -> None:
    h = Harness()
    caller = h.join()
    caller.call("com.nothing")
    error = error_of(caller)
    assert error.error == ApplicationError.NO_SUCH_PROCEDURE
    assert "com.nothing" in error.args[0]


def test_unknown_meta_procedure_is_no_such_procedure() -> None:
    h = Harness()
    caller = h.join()
    caller.call("wamp.session.frobnicate")
    assert error_of(caller).error == ApplicationError.NO_SUCH_PROCEDURE


def test_registering_wamp_uris_is_refused() -> None:
    h = Harness()
    peer = h.join()
    (error,) = peer.send(Register(1, {}, "wamp.session.count"))
    assert isinstance(error, Error)
    assert error.error == ApplicationError.INVALID_URI


def test_unregister() -> None:
    h = Harness()
    callee, other, caller = h.join(), h.join(), h.join()
    registration_id = callee.register("com.p")
    (error,) = other.send(Unregister(1, registration_id))
    assert isinstance(error, Error) and error.error == ApplicationError.NO_SUCH_REGISTRATION
    (done,) = callee.send(Unregister(9, registration_id))
    assert isinstance(done, Unregistered) and done.request_id == 9
    caller.call("com.p")
    assert error_of(caller).error == ApplicationError.NO_SUCH_PROCEDURE
    assert h.router.realms["realm1"].dealer.by_id == {}


def test_invocation_in_flight_survives_unregister() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    registration_id = callee.register("com.p")
    caller.call("com.p")
    invocation = one_invocation(callee)
    callee.send(Unregister(5, registration_id))
    callee.answer(invocation, ["late but fine"])
    assert result_of(caller).args == ["late but fine"]


def test_passthru_payload_keys_are_carried() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.e2e")
    enc = {"enc_algo": "cryptobox", "enc_serializer": "json", "enc_key": "k"}
    caller.send(Call(1, dict(enc), "com.e2e", payload=b"secret"))
    invocation = one_invocation(callee)
    assert invocation.details == enc
    assert invocation.payload == b"secret"
    callee.send(Yield(invocation.request_id, dict(enc), payload=b"answer"))
    result = result_of(caller)
    assert result.details == enc and result.payload == b"answer"
    caller.send(Call(2, {}, "com.e2e"))
    invocation = one_invocation(callee)
    callee.send(Error(68, invocation.request_id, dict(enc), "com.err", payload=b"x"))
    error = error_of(caller)
    assert error.details == enc and error.payload == b"x"


# --------------------------------------------------------------------------------------
# Pattern-based registrations: spec examples (rpc_pattern_based_registration.md)

SPEC_REGISTRATIONS = [
    ("a1.b2.c3.d4.e55", "exact"),
    ("a1.b2.c3", "prefix"),
    ("a1.b2.c3.d4", "prefix"),
    ("a1.b2..d4.e5", "wildcard"),
    ("a1.b2.c33..e5", "wildcard"),
    ("a1.b2..d4.e5..g7", "wildcard"),
    ("a1.b2..d4..f6.g7", "wildcard"),
]


@pytest.mark.parametrize(
    ("procedure", "expected"),
    [
        ("a1.b2.c3.d4.e55", 0),
        ("a1.b2.c3.d98.e74", 1),
        ("a1.b2.c3.d4.e325", 2),
        ("a1.b2.c55.d4.e5", 3),
        # The spec expects RPC 5 here, but its own prefix rule is a string prefix
        # ("com.myapp.myobject1" matches "com.myapp.myobject1-mysubobject1", and Crossbar
        # agrees), under which prefix 'a1.b2.c3' matches and wins over any wildcard.
        ("a1.b2.c33.d4.e5", 1),
        ("a1.b2.c88.d4.e5.f6.g7", 5),
        ("a2.b2.c2.d2.e2", None),
    ],
)
def test_pattern_precedence_spec_examples(procedure: str, expected: int | None) -> None:
    h = Harness()
    callees = []
    for uri, match in SPEC_REGISTRATIONS:
        peer = h.join()
        peer.register(uri, match=match)
        callees.append(peer)
    caller = h.join()
    caller.call(procedure)
    if expected is None:
        assert error_of(caller).error == ApplicationError.NO_SUCH_PROCEDURE
        return
    for index, peer in enumerate(callees):
        got = peer.invocations()
        assert len(got) == (1 if index == expected else 0), (index, procedure)
        if got:
            pattern = SPEC_REGISTRATIONS[index][1] != "exact"
            assert got[0].details.get("procedure") == (procedure if pattern else None)


def test_wildcard_with_longer_first_portion_wins() -> None:
    h = Harness()
    four, five = h.join(), h.join()
    four.register("a1.b2..d4.e5", match="wildcard")
    five.register("a1.b2.c33..e5", match="wildcard")
    caller = h.join()
    caller.call("a1.b2.c33.d4.e5")
    assert four.invocations() == []
    assert one_invocation(five).details == {"procedure": "a1.b2.c33.d4.e5"}


# --------------------------------------------------------------------------------------
# Shared registrations


def test_second_single_registration_is_refused() -> None:
    h = Harness()
    first, second = h.join(), h.join()
    first.register("com.p")
    (error,) = second.send(Register(1, {}, "com.p"))
    assert isinstance(error, Error) and error.error == ApplicationError.PROCEDURE_ALREADY_EXISTS
    (again,) = first.send(Register(7, {"invoke": "roundrobin"}, "com.p"))
    assert isinstance(again, Error) and again.error == ApplicationError.PROCEDURE_ALREADY_EXISTS
    # the same URI with another match policy is another registration
    assert second.register("com.p", match="prefix")


def test_invocation_policy_conflict() -> None:
    h = Harness()
    first, second = h.join(), h.join()
    first.register("com.p", invoke="roundrobin")
    (error,) = second.send(Register(1, {"invoke": "random"}, "com.p"))
    assert isinstance(error, Error)
    assert error.error == "wamp.error.procedure_exists_with_different_invocation_policy"
    assert "roundrobin" in error.args[0]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("roundrobin", [0, 1, 2, 0, 1]), ("first", [0] * 5), ("last", [2] * 5)],
)
def test_invocation_policies(policy: str, expected: list[int]) -> None:
    h = Harness()
    callees = [h.join() for _ in range(3)]
    ids = {peer.register("com.p", invoke=policy) for peer in callees}
    assert len(ids) == 1  # one registration shared by all
    caller = h.join()
    picked = []
    for _ in range(5):
        caller.call("com.p")
        for index, peer in enumerate(callees):
            for invocation in peer.invocations():
                picked.append(index)
                peer.answer(invocation)
    assert picked == expected


def test_random_policy_uses_the_routers_rng() -> None:
    h = Harness()
    callees = [h.join() for _ in range(3)]
    for peer in callees:
        peer.register("com.p", invoke="random")
    caller = h.join()
    counts = [0, 0, 0]
    for _ in range(60):
        caller.call("com.p")
        for index, peer in enumerate(callees):
            for invocation in peer.invocations():
                counts[index] += 1
                peer.answer(invocation)
    assert sum(counts) == 60
    assert all(count > 5 for count in counts)


def test_concurrency_limits_and_roundrobin_skips_busy_callees() -> None:
    h = Harness()
    busy, free = h.join(), h.join()
    busy.register("com.p", invoke="roundrobin", concurrency=1)
    free.register("com.p", invoke="roundrobin", concurrency=1)
    caller = h.join()
    caller.call("com.p")
    caller.call("com.p")
    first = one_invocation(busy)
    second = one_invocation(free)
    caller.call("com.p")  # both at their limit
    assert error_of(caller).error == ApplicationError.NO_AVAILABLE_CALLEE
    free.answer(second)
    caller.take()
    caller.call("com.p")  # busy is still busy: goes to free
    assert one_invocation(free)
    busy.answer(first)


@pytest.mark.parametrize("policy", ["single", "random"])
def test_concurrency_of_single_and_random(policy: str) -> None:
    h = Harness()
    callee = h.join()
    callee.register("com.p", invoke=policy, concurrency=1)
    caller = h.join()
    caller.call("com.p")
    invocation = one_invocation(callee)
    caller.call("com.p")
    assert error_of(caller).error == ApplicationError.NO_AVAILABLE_CALLEE
    callee.answer(invocation)
    caller.take()
    caller.call("com.p")
    assert one_invocation(callee)


def test_force_reregister_kicks_the_previous_callees() -> None:
    h = Harness()
    old_revocable = h.join()
    old_plain = h.join(roles=BASIC_ROLES)
    new = h.join()
    old_revocable.register("com.p", invoke="roundrobin")
    old_plain.register("com.p", invoke="roundrobin")
    got = new.send(Register(1, {"force_reregister": True}, "com.p"))
    assert isinstance(got[-1], Registered)
    (revoked,) = [m for m in old_revocable.take() if isinstance(m, Unregistered)]
    assert isinstance(revoked, Unregistered)
    assert revoked.request_id == 0
    assert revoked.details["reason"] == "wamp.error.unregistered"
    assert not any(isinstance(m, Unregistered) for m in old_plain.take())  # spec
    assert old_plain.session.registrations == {}
    caller = h.join()
    caller.call("com.p")
    assert one_invocation(new)


# --------------------------------------------------------------------------------------
# Caller identification


def disclosing_config(disclose: bool) -> RouterConfig:
    role = RoleConfig("anonymous", [Permission.allow_all(disclose=disclose)])
    return RouterConfig([RealmConfig("realm1", roles=[role])])


@pytest.mark.parametrize(
    ("disclose_role", "call_options", "register_options", "disclosed"),
    [
        (False, {}, {}, False),
        (True, {}, {}, True),
        (False, {"disclose_me": True}, {}, True),
        (False, {}, {"disclose_caller": True}, True),
    ],
)
def test_caller_disclosure(
    disclose_role: bool,
    call_options: dict[str, Any],
    register_options: dict[str, Any],
    disclosed: bool,
) -> None:
    h = Harness(disclosing_config(disclose_role))
    callee, caller = h.join(), h.join()
    callee.register("com.p", **register_options)
    caller.call("com.p", **call_options)
    details = one_invocation(callee).details
    if disclosed:
        assert details == {
            "caller": caller.id,
            "caller_authid": caller.session.authid,
            "caller_authrole": "anonymous",
        }
    else:
        assert details == {}


# --------------------------------------------------------------------------------------
# Progressive call results


def test_progressive_results() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.stream")
    request = caller.call("com.stream", receive_progress=True)
    invocation = one_invocation(callee)
    assert invocation.details == {"receive_progress": True}
    callee.answer(invocation, [1], progress=True)
    callee.answer(invocation, [2], progress=True)
    callee.answer(invocation, ["done"])
    results = caller.results()
    assert [r.details for r in results] == [{"progress": True}, {"progress": True}, {}]
    assert [r.args for r in results] == [[1], [2], ["done"]]
    assert {r.request_id for r in results} == {request}


def test_progressive_results_dropped_when_not_asked_for() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.stream")
    caller.call("com.stream")
    invocation = one_invocation(callee)
    callee.answer(invocation, [1], progress=True)
    assert caller.results() == []
    callee.answer(invocation, ["final"])
    assert result_of(caller).args == ["final"]


# --------------------------------------------------------------------------------------
# Progressive call invocations


def test_progressive_invocations_stream_to_the_same_callee() -> None:
    h = Harness()
    callees = [h.join(), h.join()]
    for peer in callees:
        peer.register("com.upload", invoke="roundrobin")
    caller = h.join()
    caller.send(Call(1, {"progress": True, "disclose_me": True}, "com.upload", ["a"]))
    caller.send(Call(1, {"progress": True}, "com.upload", ["b"]))
    caller.send(Call(1, {}, "com.upload", ["c"]))
    got = callees[0].invocations()
    assert callees[1].invocations() == []
    assert [i.args for i in got] == [["a"], ["b"], ["c"]]
    assert len({i.request_id for i in got}) == 1
    assert [i.details.get("progress") for i in got] == [True, True, None]
    assert all(i.details["caller"] == caller.id for i in got)  # options frozen
    callees[0].answer(got[0], ["stored"])
    assert result_of(caller).args == ["stored"]


def test_progressive_invocation_chunk_after_completion_is_discarded() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.upload")
    caller.send(Call(1, {"progress": True}, "com.upload", ["a"]))
    invocation = one_invocation(callee)
    callee.send(Error(68, invocation.request_id, {}, "com.full"))
    assert error_of(caller).error == "com.full"
    assert caller.send(Call(1, {"progress": True}, "com.upload", ["b"])) == []
    assert caller.send(Call(1, {}, "com.upload", ["c"])) == []
    assert callee.invocations() == []
    assert caller.session.established


def test_progressive_invocation_needs_caller_feature() -> None:
    h = Harness()
    callee = h.join()
    callee.register("com.upload")
    caller = h.join(roles=BASIC_ROLES)
    caller.send(Call(1, {"progress": True}, "com.upload"))
    abort = caller.last()
    assert isinstance(abort, Abort)
    assert "progressive_call_invocations" in abort.details["message"]


def test_progressive_invocation_needs_callee_feature() -> None:
    h = Harness()
    callee = h.join(roles=BASIC_ROLES)
    callee.register("com.upload")
    caller = h.join()
    caller.send(Call(1, {"progress": True}, "com.upload"))
    assert error_of(caller).error == ApplicationError.FEATURE_NOT_SUPPORTED
    caller.send(Call(2, {"progress": True}, "wamp.session.count"))
    assert error_of(caller).error == ApplicationError.FEATURE_NOT_SUPPORTED


def test_reusing_the_id_of_a_pending_call_is_a_violation() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.p")
    caller.send(Call(1, {}, "com.p"))
    caller.send(Call(1, {}, "com.p"))
    abort = caller.last()
    assert isinstance(abort, Abort)
    assert "reuses request id 1" in abort.details["message"]
    # the callee learns the caller is gone
    (interrupt,) = [m for m in callee.take() if isinstance(m, Interrupt)]
    assert interrupt.options["mode"] == "killnowait"


# --------------------------------------------------------------------------------------
# Canceling


def test_cancel_killnowait_by_default() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.slow")
    request = caller.call("com.slow")
    invocation = one_invocation(callee)
    caller.send(Cancel(request, {}))
    error = error_of(caller)
    assert (error.request_id, error.error) == (request, ApplicationError.CANCELED)
    (interrupt,) = callee.take()
    assert isinstance(interrupt, Interrupt)
    assert interrupt.request_id == invocation.request_id
    assert interrupt.options == {"mode": "killnowait", "reason": ApplicationError.CANCELED}
    # the callee's late answer is discarded
    callee.send(Error(68, invocation.request_id, {}, ApplicationError.CANCELED))
    callee.answer(invocation, ["late"])
    assert caller.results() == []
    assert callee.session.established


def test_cancel_kill_waits_for_the_callee() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.slow")
    request = caller.call("com.slow", receive_progress=True)
    invocation = one_invocation(callee)
    caller.send(Cancel(request, {"mode": "kill"}))
    assert caller.results() == []
    (interrupt,) = callee.take()
    assert isinstance(interrupt, Interrupt) and interrupt.options["mode"] == "kill"
    assert caller.send(Cancel(request, {"mode": "kill"})) == []  # repeated: ignored
    assert callee.take() == []
    callee.answer(invocation, [1], progress=True)  # dropped while being killed
    callee.send(Error(68, invocation.request_id, {}, ApplicationError.CANCELED))
    assert error_of(caller).error == ApplicationError.CANCELED


def test_cancel_kill_may_still_get_a_result() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.slow")
    request = caller.call("com.slow")
    invocation = one_invocation(callee)
    caller.send(Cancel(request, {"mode": "kill"}))
    callee.answer(invocation, ["won the race"])
    assert result_of(caller).args == ["won the race"]


def test_cancel_skip_when_the_callee_cannot_cancel() -> None:
    h = Harness()
    callee, caller = h.join(roles=NO_CANCEL), h.join()
    callee.register("com.slow")
    request = caller.call("com.slow")
    invocation = one_invocation(callee)
    caller.send(Cancel(request, {"mode": "kill"}))
    assert error_of(caller).error == ApplicationError.CANCELED
    assert callee.take() == []  # skip: no INTERRUPT
    callee.answer(invocation, ["ignored"])
    assert caller.results() == []


def test_cancel_of_unknown_call_is_ignored() -> None:
    h = Harness()
    caller = h.join()
    assert caller.send(Cancel(42, {"mode": "skip"})) == []
    assert caller.session.established


def test_cancel_progressive_invocation_discards_later_chunks() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.upload")
    caller.send(Call(1, {"progress": True}, "com.upload", ["a"]))
    one_invocation(callee)
    caller.send(Cancel(1, {"mode": "kill"}))
    callee.take()
    assert caller.send(Call(1, {"progress": True}, "com.upload", ["b"])) == []
    assert callee.take() == []


# --------------------------------------------------------------------------------------
# Timeouts


def test_call_timeout_fires_via_tick() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.slow")
    assert h.router.next_deadline() is None
    request = caller.call("com.slow", timeout=1500)
    invocation = one_invocation(callee)
    assert "timeout" not in invocation.details
    assert h.router.next_deadline() == pytest.approx(h.now + 1.5)
    h.advance(1.0)
    assert caller.results() == []
    h.advance(0.5)
    error = error_of(caller)
    assert (error.request_id, error.error) == (request, ApplicationError.TIMEOUT)
    (interrupt,) = callee.take()
    assert isinstance(interrupt, Interrupt)
    assert interrupt.options == {"mode": "killnowait", "reason": ApplicationError.TIMEOUT}
    callee.answer(invocation, ["too late"])
    assert caller.results() == []
    assert h.router.next_deadline() is None


def test_timeout_without_cancel_support_sends_no_interrupt() -> None:
    h = Harness()
    callee, caller = h.join(roles=NO_CANCEL), h.join()
    callee.register("com.slow")
    caller.call("com.slow", timeout=10)
    one_invocation(callee)
    h.advance(1)
    assert error_of(caller).error == ApplicationError.TIMEOUT
    assert callee.take() == []


def test_answered_call_timer_is_forgotten() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.p")
    caller.call("com.p", timeout=1000)
    callee.answer(one_invocation(callee))
    assert isinstance(result_of(caller), Result)
    assert h.router.next_deadline() is None
    h.advance(5)
    assert caller.take() == []


def test_progressive_results_restart_the_timeout() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.stream")
    caller.call("com.stream", timeout=1000, receive_progress=True)
    invocation = one_invocation(callee)
    h.advance(0.8)
    callee.answer(invocation, [1], progress=True)
    h.advance(0.8)  # 1.6 s after the call, 0.8 s after the last result
    assert [r.details for r in caller.results()] == [{"progress": True}]
    h.advance(0.3)
    assert error_of(caller).error == ApplicationError.TIMEOUT


def test_forward_timeout_lets_the_callee_handle_it() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.p", forward_timeout=True)
    caller.call("com.p", timeout=250)
    assert one_invocation(callee).details == {"timeout": 250}
    assert h.router.next_deadline() is None


def test_kill_pending_call_still_times_out() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.slow")
    request = caller.call("com.slow", timeout=1000)
    one_invocation(callee)
    caller.send(Cancel(request, {"mode": "kill"}))
    callee.take()
    h.advance(2)
    assert error_of(caller).error == ApplicationError.TIMEOUT
    assert callee.take() == []  # already interrupted once


def test_deadline_heap_stays_bounded() -> None:
    h = Harness()
    callee, caller = h.join(), h.join()
    callee.register("com.p")
    dealer = h.router.realms["realm1"].dealer
    for _ in range(500):
        caller.call("com.p", timeout=60000)
        callee.answer(one_invocation(callee))
    assert len(caller.results()) == 500
    assert len(dealer._deadlines) <= 64 + 2
    assert h.router.next_deadline() is None


# --------------------------------------------------------------------------------------
# Sessions leaving


def test_callee_leaving_fails_its_invocations_at_once() -> None:
    h = Harness()
    callee, caller1, caller2 = h.join(), h.join(), h.join()
    callee.register("com.p")
    r1 = caller1.call("com.p")
    r2 = caller2.call("com.p", timeout=5000)
    h.detach(callee)
    for peer, request in ((caller1, r1), (caller2, r2)):
        error = error_of(peer)
        assert (error.request_id, error.error) == (request, ApplicationError.CANCELED)
        assert "callee left" in error.args[0]
    assert h.router.next_deadline() is None


def test_caller_leaving_interrupts_callees_that_can_cancel() -> None:
    h = Harness()
    cancelable, plain = h.join(), h.join(roles=NO_CANCEL)
    cancelable.register("com.a")
    plain.register("com.b")
    caller = h.join()
    caller.call("com.a")
    caller.call("com.b")
    invocation_a = one_invocation(cancelable)
    invocation_b = one_invocation(plain)
    h.detach(caller)
    (interrupt,) = cancelable.take()
    assert isinstance(interrupt, Interrupt)
    assert interrupt.request_id == invocation_a.request_id
    assert interrupt.options["mode"] == "killnowait"
    assert plain.take() == []
    plain.answer(invocation_b, ["nobody listens"])  # discarded
    assert plain.session.established
    assert cancelable.session.invocations == {} and plain.session.invocations == {}


def test_calling_oneself_and_leaving() -> None:
    h = Harness()
    peer = h.join()
    peer.register("com.self")
    peer.call("com.self")
    one_invocation(peer)
    out = h.router.detach(peer.session, h.now)
    assert [m for s, m in out if s is peer.session] == []


# --------------------------------------------------------------------------------------
# Limits


def limited(**limits: Any) -> Harness:
    return Harness(RouterConfig([RealmConfig.development()], limits=RouterLimits(**limits)))


def test_pending_call_limit() -> None:
    h = limited(max_pending_calls_per_session=2)
    callee, caller = h.join(), h.join()
    callee.register("com.p")
    caller.call("com.p")
    caller.call("com.p")
    caller.call("com.p")
    error = error_of(caller)
    assert error.error == LIMIT_EXCEEDED
    assert "max_pending_calls_per_session" in error.args[0]
    callee.answer(callee.invocations()[0])
    caller.take()
    caller.call("com.p")
    assert one_invocation(callee)


def test_registration_limit() -> None:
    h = limited(max_registrations_per_session=1)
    callee = h.join()
    callee.register("com.a")
    (error,) = callee.send(Register(9, {}, "com.b"))
    assert isinstance(error, Error) and error.error == LIMIT_EXCEEDED
