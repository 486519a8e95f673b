"""Property tests of the serializers (hypothesis).

* Every one of the 25 message types, with generated fields and payloads, round-trips
  through every serializer, plain and batched: ``decode(encode(m))`` gives back
  ``m.to_list()`` exactly (same types, not just equal values).
* Any bytes fed to any decoder give messages or a ProtocolError, nothing else; so do
  valid encodings with bytes flipped, and well-formed values that are not valid
  messages.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autostrada import messages as m
from autostrada.exceptions import ProtocolError
from autostrada.ids import MAX_ID
from autostrada.serializers import (
    CBOR,
    CBOR_BATCHED,
    MSGPACK,
    MSGPACK_BATCHED,
    BatchedSerializer,
    Serializer,
    json_serializer,
)
from autostrada.serializers.json_codec import BACKENDS

SERIALIZERS: list[Serializer] = [
    *(json_serializer(backend) for backend in sorted(BACKENDS)),
    *(json_serializer(backend, batched=True) for backend in sorted(BACKENDS)),
    MSGPACK,
    MSGPACK_BATCHED,
    CBOR,
    CBOR_BATCHED,
]
IDS = [f"{s.subprotocol}-{i}" for i, s in enumerate(SERIALIZERS)]

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------------------
# Strategies: valid values for every field

ids = st.integers(min_value=1, max_value=MAX_ID)
_component = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-é", min_size=1, max_size=6)
uris = st.lists(_component, min_size=1, max_size=4).map(".".join)
wildcard_uris = st.lists(_component | st.just(""), min_size=2, max_size=4).map(".".join)

# Integers every format carries (msgpack: 64-bit); JSON and CBOR get bigger ones apart.
ints = st.integers(min_value=-(2**63), max_value=2**64 - 1)
floats = st.floats(allow_nan=False, allow_infinity=False)
# A string starting with U+0000 is a byte string in JSON (the spec's convention).
texts = st.text(max_size=12).filter(lambda s: not s.startswith("\x00"))
keys = st.text(max_size=8)
scalars = st.none() | st.booleans() | ints | floats | texts | st.binary(max_size=12)
payload_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=12,
)
args = st.none() | st.lists(payload_values, max_size=4)
kwargs = st.none() | st.dictionaries(keys, payload_values, max_size=4)
# Implementation-specific keys (spec: "_[a-z0-9_]{3,}") with any payload value.
custom = st.dictionaries(
    st.from_regex(r"_[a-z0-9_]{3,8}", fullmatch=True), payload_values, max_size=2
)
passthru = st.fixed_dictionaries(
    {"enc_algo": st.sampled_from(["cryptobox", "mqtt", "xbr", "x_custom"])},
    optional={"enc_serializer": st.sampled_from(["json", "msgpack", "cbor"]), "enc_key": texts},
)
transparent = st.binary(max_size=40) | texts


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {**a, **b}


def _with(known: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Options/details: some known keys with valid values, plus custom keys."""
    return st.builds(_merge, st.fixed_dictionaries({}, optional=known), custom)


forward_for = st.lists(
    st.fixed_dictionaries({"session": ids, "authid": texts, "authrole": texts}), max_size=2
)
call_options = _with({"timeout": st.integers(0, 10**9), "receive_progress": st.booleans()})
publish_options = _with({"acknowledge": st.booleans(), "exclude": st.lists(ids, max_size=3)})
event_details = _with({"publisher": ids, "topic": uris, "forward_for": forward_for})
result_details = _with({"progress": st.booleans()})
invocation_details = _with({"caller": ids, "procedure": uris, "timeout": st.integers(0, 99)})
roles = st.dictionaries(st.sampled_from(["caller", "callee", "publisher", "subscriber"]), custom)


def _payload(
    cls: Any,
    head: tuple[Any, ...],
    meta: st.SearchStrategy[dict[str, Any]],
    tail: tuple[Any, ...] = (),
) -> st.SearchStrategy[m.Message]:
    """``cls(*head, meta, *tail, ...)`` with args/kwargs, or with a transparent payload."""
    plain = st.builds(
        lambda h, o, t, a, k: cls(*h, o, *t, args=a, kwargs=k),
        st.tuples(*head),
        meta,
        st.tuples(*tail),
        args,
        kwargs,
    )
    opaque = st.builds(
        lambda h, o, t, p: cls(*h, o, *t, payload=p),
        st.tuples(*head),
        st.builds(_merge, meta, passthru),
        st.tuples(*tail),
        transparent,
    )
    return plain | opaque


error_types = st.sampled_from([16, 32, 34, 48, 64, 66, 68])
hello_details = st.builds(lambda r, c: {"roles": r, "authmethods": ["ticket"], **c}, roles, custom)
subscribe = (
    st.builds(m.Subscribe, ids, custom, uris)
    | st.builds(m.Subscribe, ids, st.just({"match": "wildcard"}), wildcard_uris)
    | st.builds(m.Subscribe, ids, st.just({"match": "prefix"}), uris.map(lambda u: u + "."))
)
register = st.builds(
    m.Register, ids, _with({"invoke": st.sampled_from(["single", "roundrobin"])}), uris
) | st.builds(m.Register, ids, st.just({"match": "wildcard"}), wildcard_uris)

MESSAGE_STRATEGIES: dict[type[m.Message], st.SearchStrategy[Any]] = {
    m.Hello: st.builds(m.Hello, uris, hello_details),
    m.Welcome: st.builds(m.Welcome, ids, st.builds(lambda r: {"roles": r, "authid": "joe"}, roles)),
    m.Abort: st.builds(m.Abort, _with({"message": texts}), uris, args, kwargs),
    m.Challenge: st.builds(m.Challenge, texts, custom),
    m.Authenticate: st.builds(m.Authenticate, texts, custom),
    m.Goodbye: st.builds(m.Goodbye, _with({"message": texts}), uris),
    m.Error: _payload(m.Error, (error_types, ids), custom, (uris,)),
    m.Publish: _payload(m.Publish, (ids,), publish_options, (uris,)),
    m.Published: st.builds(m.Published, ids, ids),
    m.Subscribe: subscribe,
    m.Subscribed: st.builds(m.Subscribed, ids, ids),
    m.Unsubscribe: st.builds(m.Unsubscribe, ids, ids),
    m.Unsubscribed: st.builds(m.Unsubscribed, ids)
    | st.builds(
        m.Unsubscribed, st.just(0), st.fixed_dictionaries({"subscription": ids, "reason": texts})
    ),
    m.Event: _payload(m.Event, (ids, ids), event_details),
    m.EventReceived: st.builds(m.EventReceived, ids),
    m.Call: _payload(m.Call, (ids,), call_options, (uris,)),
    m.Cancel: st.builds(
        m.Cancel, ids, _with({"mode": st.sampled_from(["skip", "kill", "killnowait"])})
    ),
    m.Result: _payload(m.Result, (ids,), result_details),
    m.Register: register,
    m.Registered: st.builds(m.Registered, ids, ids),
    m.Unregister: st.builds(m.Unregister, ids, ids),
    m.Unregistered: st.builds(m.Unregistered, ids)
    | st.builds(m.Unregistered, st.just(0), st.fixed_dictionaries({"registration": ids})),
    m.Invocation: _payload(m.Invocation, (ids, ids), invocation_details),
    m.Interrupt: st.builds(
        m.Interrupt, ids, _with({"mode": st.sampled_from(["kill", "killnowait"])})
    ),
    m.Yield: _payload(m.Yield, (ids,), result_details),
}


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (1 is not 1.0 nor True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b) and (not isinstance(a, float) or math.copysign(1, a) == math.copysign(1, b))


def test_every_message_type_has_a_strategy() -> None:
    assert set(MESSAGE_STRATEGIES) == set(m.MESSAGE_CLASSES.values())


# --------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("cls", list(MESSAGE_STRATEGIES), ids=lambda c: c.__name__)
@FAST
@given(data=st.data())
def test_every_message_round_trips_through_every_serializer(
    cls: type[m.Message], data: st.DataObject
) -> None:
    message = data.draw(MESSAGE_STRATEGIES[cls])
    wire = message.to_list()
    assert same(m.parse(wire).to_list(), wire)  # the strategy made a valid message
    for serializer in SERIALIZERS:
        [decoded] = serializer.decode(serializer.encode(message))
        assert type(decoded) is cls
        assert same(decoded.to_list(), wire), serializer


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(list(MESSAGE_STRATEGIES)), min_size=1, max_size=5), st.data())
def test_batches_round_trip(classes: list[type[m.Message]], data: st.DataObject) -> None:
    batch = [data.draw(MESSAGE_STRATEGIES[cls]) for cls in classes]
    for serializer in SERIALIZERS:
        if isinstance(serializer, BatchedSerializer):
            decoded = serializer.decode(serializer.encode_batch(batch))
            assert [d.to_list() for d in decoded] == [b.to_list() for b in batch]


big_ints = st.integers(min_value=-(2**300), max_value=2**300)


@settings(max_examples=100, deadline=None)
@given(st.lists(big_ints | payload_values, max_size=5))
def test_json_and_cbor_keep_integers_of_any_size(values: list[Any]) -> None:
    message = m.Result(1, {}, values)
    for serializer in SERIALIZERS:
        if serializer.name == "msgpack":
            continue
        [decoded] = serializer.decode(serializer.encode(message))
        assert same(decoded.to_list(), message.to_list())


@settings(max_examples=100, deadline=None)
@given(st.lists(payload_values, max_size=5))
def test_json_backends_agree(values: list[Any]) -> None:
    orjson_dumps, orjson_loads = BACKENDS["orjson"]
    stdlib_dumps, stdlib_loads = BACKENDS["stdlib"]
    for encoded in (orjson_dumps(values), stdlib_dumps(values)):
        assert same(orjson_loads(encoded), values)
        assert same(stdlib_loads(encoded), values)


# --------------------------------------------------------------------------------------
# Robustness: anything in, messages or ProtocolError out


def decode_or_protocol_error(serializer: Serializer, data: bytes) -> None:
    try:
        decoded = serializer.decode(data)
    except ProtocolError:
        return
    assert decoded, "a decoder returned no message"
    for message in decoded:
        assert isinstance(message, m.Message)


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=IDS)
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_give_messages_or_protocol_error(
    serializer: Serializer, data: bytes
) -> None:
    decode_or_protocol_error(serializer, data)


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=IDS)
@settings(max_examples=150, deadline=None)
@given(st.sampled_from(list(MESSAGE_STRATEGIES)), st.data())
def test_corrupted_messages_give_messages_or_protocol_error(
    serializer: Serializer, cls: type[m.Message], data: st.DataObject
) -> None:
    encoded = bytearray(serializer.encode(data.draw(MESSAGE_STRATEGIES[cls])))
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(encoded) - 1))
        encoded[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(encoded)))
    decode_or_protocol_error(
        serializer, bytes(encoded[:cut] if data.draw(st.booleans()) else encoded)
    )


type_codes = st.sampled_from([int(t) for t in m.MessageType]) | st.integers(-5, 400)
any_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**54) | texts | st.binary(max_size=4) | floats,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3),
    max_leaves=8,
)


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=IDS)
@settings(max_examples=150, deadline=None)
@given(type_codes, st.lists(any_values, max_size=6))
def test_wrong_values_give_messages_or_protocol_error(
    serializer: Serializer, code: int, rest: list[Any]
) -> None:
    decode_or_protocol_error(serializer, serializer.encode_obj([code, *rest]))
