"""Strict parsing and building of the 25 WAMP message types (autostrada.messages)."""

from __future__ import annotations

from typing import Any

import pytest

from autostrada import messages as m
from autostrada.exceptions import ProtocolError
from autostrada.ids import MAX_ID

# One valid wire list per message type, with every optional element present.
FULL: dict[type[m.Message], list[Any]] = {
    m.Hello: [1, "realm1", {"roles": {"caller": {}}, "authmethods": ["ticket"]}],
    m.Welcome: [2, 123, {"roles": {"dealer": {}}, "authid": "joe"}],
    m.Abort: [3, {"message": "no"}, "wamp.error.no_such_realm", ["a"], {"k": 1}],
    m.Challenge: [4, "wampcra", {"challenge": "{}"}],
    m.Authenticate: [5, "c2lnbmF0dXJl", {}],
    m.Goodbye: [6, {"message": "bye"}, "wamp.close.close_realm"],
    m.Error: [8, 48, 7, {}, "com.app.error", [1, 2], {"x": "y"}],
    m.Publish: [16, 1, {"acknowledge": True}, "com.app.topic", [1], {"a": b"\x00"}],
    m.Published: [17, 1, 99],
    m.Subscribe: [32, 2, {"match": "wildcard"}, "com..topic"],
    m.Subscribed: [33, 2, 77],
    m.Unsubscribe: [34, 3, 77],
    m.Unsubscribed: [35, 3],
    m.Event: [36, 77, 99, {"publisher": 5}, ["hi"], {"n": 1}],
    m.EventReceived: [337, 99],
    m.Call: [48, 4, {"timeout": 1000, "receive_progress": True}, "com.app.proc", [1], {"b": 2}],
    m.Cancel: [49, 4, {"mode": "kill"}],
    m.Result: [50, 4, {"progress": True}, [3], {"c": 4}],
    m.Register: [64, 5, {"match": "prefix", "invoke": "roundrobin"}, "com.app."],
    m.Registered: [65, 5, 88],
    m.Unregister: [66, 6, 88],
    m.Unregistered: [67, 6],
    m.Invocation: [68, 9, 88, {"caller": 5, "procedure": "com.app.x"}, [1], {"d": 5}],
    m.Interrupt: [69, 9, {"mode": "killnowait"}],
    m.Yield: [70, 9, {"progress": False}, [7], {"e": 6}],
}

# The minimal form of each type that has optional trailing elements.
MINIMAL: list[list[Any]] = [
    [3, {}, "wamp.error.no_such_realm"],
    [8, 16, 7, {}, "com.app.error"],
    [16, 1, {}, "com.app.topic"],
    [36, 77, 99, {}],
    [48, 4, {}, "com.app.proc"],
    [50, 4, {}],
    [68, 9, 88, {}],
    [70, 9, {}],
]


def test_all_25_message_types_are_known() -> None:
    assert len(m.MessageType) == 25
    assert set(FULL) == set(m.MESSAGE_CLASSES.values())
    assert m.MessageType.EVENT_RECEIVED == 337


@pytest.mark.parametrize("cls", list(FULL), ids=lambda c: c.__name__)
def test_full_form_round_trips(cls: type[m.Message]) -> None:
    wmsg = FULL[cls]
    msg = m.parse(wmsg)
    assert type(msg) is cls
    assert msg.to_list() == wmsg
    assert m.parse(msg.to_list()) == msg


@pytest.mark.parametrize("wmsg", MINIMAL, ids=lambda w: str(w[0]))
def test_minimal_form_round_trips_with_no_payload(wmsg: list[Any]) -> None:
    msg = m.parse(wmsg)
    assert msg.to_list() == wmsg
    assert getattr(msg, "args", None) is None
    assert getattr(msg, "kwargs", None) is None


def test_payload_is_omitted_when_empty_and_args_filled_for_kwargs() -> None:
    assert m.Call(1, {}, "a.b", [], {}).to_list() == [48, 1, {}, "a.b"]
    assert m.Call(1, {}, "a.b", None, {"k": 1}).to_list() == [48, 1, {}, "a.b", [], {"k": 1}]
    assert m.Call(1, {}, "a.b", (1, 2)).to_list() == [48, 1, {}, "a.b", [1, 2]]  # type: ignore[arg-type]
    assert m.Yield(1, {}, (1,), {"k": 1}).to_list() == [70, 1, {}, [1], {"k": 1}]  # type: ignore[arg-type]


def test_transparent_payload_in_passthru_mode() -> None:
    wmsg = [16, 1, {"enc_algo": "cryptobox"}, "com.app.t", b"\x01\x02"]
    msg = m.parse(wmsg)
    assert isinstance(msg, m.Publish)
    assert msg.payload == b"\x01\x02"
    assert msg.args is None
    assert msg.to_list() == wmsg
    # Without enc_algo a non-list payload is an error.
    with pytest.raises(ProtocolError, match=r"PUBLISH\.Arguments must be a list"):
        m.parse([16, 1, {}, "com.app.t", b"\x01"])
    # A transparent payload is a single element: nothing may follow it.
    with pytest.raises(ProtocolError, match=r"PUBLISH\.Arguments must be a list"):
        m.parse([16, 1, {"enc_algo": "xbr"}, "com.app.t", b"\x01", {}])
    assert m.parse([16, 1, {"enc_algo": "x_custom_algo"}, "a.b", "text"]).payload == "text"  # type: ignore[attr-defined]


def test_unknown_option_keys_are_kept() -> None:
    msg = m.parse([48, 1, {"x_custom": [1, 2], "rkey": "abc"}, "com.app.proc"])
    assert isinstance(msg, m.Call)
    assert msg.options == {"x_custom": [1, 2], "rkey": "abc"}


def test_revocation_forms() -> None:
    msg = m.parse([35, 0, {"subscription": 77, "reason": "gone"}])
    assert isinstance(msg, m.Unsubscribed)
    assert (msg.request_id, msg.details["subscription"]) == (0, 77)
    assert msg.to_list() == [35, 0, {"subscription": 77, "reason": "gone"}]
    msg2 = m.parse([67, 0, {"registration": 88}])
    assert isinstance(msg2, m.Unregistered)
    assert msg2.to_list() == [67, 0, {"registration": 88}]
    # Request 0 is only valid with Details (a revocation).
    with pytest.raises(ProtocolError, match=r"UNSUBSCRIBED\.Request"):
        m.parse([35, 0])
    with pytest.raises(ProtocolError, match=r"UNREGISTERED\.Details\.registration"):
        m.parse([67, 0, {"registration": "x"}])


def test_defaults_for_optional_dicts() -> None:
    assert m.Cancel(3).to_list() == [49, 3, {}]
    assert m.Interrupt(3).to_list() == [69, 3, {}]
    assert m.Unsubscribed(3).to_list() == [35, 3]
    assert m.Unregistered(3).to_list() == [67, 3]


@pytest.mark.parametrize(
    ("wmsg", "field"),
    [
        # element counts
        ([1, "realm1"], "HELLO must have 3 elements, got 2"),
        ([2, 1, {"roles": {}}, 4], "WELCOME must have 3 elements, got 4"),
        ([48, 1, {}], "CALL must have 4 to 6 elements, got 3"),
        ([48, 1, {}, "a.b", [], {}, 7], "CALL must have 4 to 6 elements, got 7"),
        ([337, 1, {}], "EVENT_RECEIVED must have 2 elements"),
        ([36, 1, 2], "EVENT must have 4 to 6 elements, got 3"),
        ([36, 1, 2, {}, [], {}, 7], "EVENT must have 4 to 6 elements, got 7"),
        ([50, 1], "RESULT must have 3 to 5 elements, got 2"),
        ([50, 1, {}, [], {}, 6], "RESULT must have 3 to 5 elements, got 6"),
        ([68, 1, 2], "INVOCATION must have 4 to 6 elements, got 3"),
        ([68, 1, 2, {}, [], {}, 7], "INVOCATION must have 4 to 6 elements, got 7"),
        ([35], "UNSUBSCRIBED must have 2 to 3 elements"),
        # ids
        ([48, 0, {}, "a.b"], "CALL.Request"),
        ([48, MAX_ID + 1, {}, "a.b"], "CALL.Request"),
        ([48, True, {}, "a.b"], "CALL.Request"),
        ([48, "1", {}, "a.b"], "CALL.Request"),
        ([48, 1.0, {}, "a.b"], "CALL.Request"),
        ([2, -5, {"roles": {}}], "WELCOME.Session"),
        ([17, 1, 0], "PUBLISHED.Publication"),
        ([33, 1, None], "SUBSCRIBED.Subscription"),
        ([34, 1, "x"], "UNSUBSCRIBE.SUBSCRIBED.Subscription"),
        ([36, 1, 2**60, {}], "EVENT.PUBLISHED.Publication"),
        ([65, 1, 0], "REGISTERED.Registration"),
        ([66, 1, 0], "UNREGISTER.REGISTERED.Registration"),
        ([68, 1, 0, {}], "INVOCATION.REGISTERED.Registration"),
        ([68, 0, 1, {}], "INVOCATION.Request"),
        ([68, True, 1, {}], "INVOCATION.Request"),
        ([36, 2**53 + 1, 1, {}], "EVENT.SUBSCRIBED.Subscription"),
        ([36, 1.0, 1, {}], "EVENT.SUBSCRIBED.Subscription"),
        ([50, -1, {}], "RESULT.CALL.Request"),
        ([50, "1", {}], "RESULT.CALL.Request"),
        ([337, 0], "EVENT_RECEIVED.EVENT.Publication"),
        # URIs
        ([1, "bad realm", {"roles": {}}], "HELLO.Realm"),
        ([48, 1, {}, "a..b"], "CALL.Procedure"),
        ([48, 1, {}, ""], "CALL.Procedure"),
        ([16, 1, {}, "a.#"], "PUBLISH.Topic"),
        ([16, 1, {}, 5], "PUBLISH.Topic"),
        ([32, 1, {}, "a..b"], "SUBSCRIBE.Topic"),
        ([64, 1, {"match": "exact"}, "a."], "REGISTER.Procedure"),
        ([8, 48, 1, {}, "not a uri"], "ERROR.Error"),
        ([3, {}, " "], "ABORT.Reason"),
        ([6, {}, "x..y"], "GOODBYE.Reason"),
        # dicts
        ([1, "realm1", []], "HELLO.Details must be a dict"),
        ([48, 1, None, "a.b"], "CALL.Options must be a dict"),
        ([48, 1, {1: True}, "a.b"], "CALL.Options key must be a string"),
        ([4, "ticket", "x"], "CHALLENGE.Extra"),
        ([5, "sig", None], "AUTHENTICATE.Extra"),
        # required keys
        ([1, "realm1", {}], "HELLO.Details.roles is missing"),
        ([2, 1, {}], "WELCOME.Details.roles is missing"),
        # known keys with wrong types
        ([1, "realm1", {"roles": []}], "HELLO.Details.roles"),
        ([1, "realm1", {"roles": {}, "authmethods": "ticket"}], "HELLO.Details.authmethods"),
        ([48, 1, {"timeout": -1}, "a.b"], "CALL.Options.timeout"),
        ([48, 1, {"timeout": True}, "a.b"], "CALL.Options.timeout"),
        ([48, 1, {"timeout": 1.5}, "a.b"], "CALL.Options.timeout"),
        ([48, 1, {"receive_progress": 1}, "a.b"], "CALL.Options.receive_progress"),
        ([49, 1, {"mode": "abort"}], "CANCEL.Options.mode"),
        ([69, 1, {"mode": "skip"}], "INTERRUPT.Options.mode"),
        ([64, 1, {"invoke": "all"}, "a.b"], "REGISTER.Options.invoke"),
        ([64, 1, {"concurrency": 0}, "a.b"], "REGISTER.Options.concurrency"),
        ([16, 1, {"exclude": [1, True]}, "a.b"], "PUBLISH.Options.exclude"),
        ([16, 1, {"forward_for": [{"session": 1}]}, "a.b"], "PUBLISH.Options.forward_for"),
        ([16, 1, {"enc_algo": "rot13"}, "a.b", b"x"], "PUBLISH.Options.enc_algo"),
        ([36, 1, 2, {"publisher": "x"}], "EVENT.Details.publisher"),
        ([36, 1, 2, {"topic": "a b"}], "EVENT.Details.topic"),
        ([68, 1, 2, {"caller": 0}], "INVOCATION.Details.caller"),
        ([50, 1, {"progress": "yes"}], "RESULT.Details.progress"),
        ([70, 1, {"progress": 0}], "YIELD.Options.progress"),
        ([3, {"message": 5}, "a.b"], "ABORT.Details.message"),
        # strings
        ([4, 5, {}], "CHALLENGE.AuthMethod must be a string"),
        ([5, 5, {}], "AUTHENTICATE.Signature must be a string, got int"),
        # payload
        ([48, 1, {}, "a.b", {"k": 1}], "CALL.Arguments must be a list"),
        ([48, 1, {}, "a.b", [], []], "CALL.ArgumentsKw must be a dict"),
        ([48, 1, {}, "a.b", [], {1: 2}], "CALL.ArgumentsKw key must be a string"),
        ([3, {}, "a.b", "x"], "ABORT.Arguments must be a list"),
        # error request types
        ([8, 50, 1, {}, "a.b"], "ERROR.REQUEST.Type"),
        ([8, "48", 1, {}, "a.b"], "ERROR.REQUEST.Type"),
        ([8, 48, 0, {}, "a.b"], "ERROR.REQUEST.Request"),
    ],
)
def test_invalid_messages_name_message_and_field(wmsg: list[Any], field: str) -> None:
    with pytest.raises(ProtocolError) as info:
        m.parse(wmsg)
    assert field in str(info.value)


@pytest.mark.parametrize(
    "wmsg",
    [None, [], "hello", {"type": 1}, [0], [7], [999], [True, "realm1", {"roles": {}}], ["1"]],
    ids=repr,
)
def test_parse_rejects_non_messages(wmsg: Any) -> None:
    with pytest.raises(ProtocolError, match="WAMP message"):
        m.parse(wmsg)


def test_error_message_truncates_long_values() -> None:
    with pytest.raises(ProtocolError) as info:
        m.parse([48, "x" * 1000, {}, "a.b"])
    assert len(str(info.value)) < 200
    assert "..." in str(info.value)


def test_authenticate_never_shows_the_signature() -> None:
    msg = m.Authenticate("s3cr3t-ticket", {})
    assert "s3cr3t" not in repr(msg)
    with pytest.raises(ProtocolError) as info:
        m.parse([5, ["s3cr3t"], {}])
    assert "s3cr3t" not in str(info.value)


def test_equality_and_hashing() -> None:
    a = m.Call(1, {}, "a.b", [1])
    assert a == m.Call(1, {}, "a.b", [1])
    assert a != m.Call(2, {}, "a.b", [1])
    assert a != m.Publish(1, {}, "a.b", [1])
    assert a.__eq__(42) is NotImplemented
    with pytest.raises(TypeError):
        hash(a)
    assert repr(a).startswith("Call(")
    assert "procedure='a.b'" in repr(a)


def test_base_class_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        m.Message().to_list()
    with pytest.raises(NotImplementedError):
        m.Message.from_list([0])


def test_args_without_kwargs() -> None:
    msg = m.parse([48, 1, {}, "a.b", [1, "two"]])
    assert isinstance(msg, m.Call)
    assert (msg.args, msg.kwargs) == ([1, "two"], None)
    assert msg.to_list() == [48, 1, {}, "a.b", [1, "two"]]


def test_error_messages_are_bounded_for_hostile_values() -> None:
    deep: list[Any] = []
    node = deep
    for _ in range(5000):
        child: list[Any] = []
        node.append(child)
        node = child
    for bad in (deep, 10**5000, "x" * 10**6, {"k" * 1000: [1] * 10000}):
        with pytest.raises(ProtocolError, match=r"CALL\.Request") as info:
            m.parse([48, bad, {}, "a.b"])
        assert len(str(info.value)) < 200
