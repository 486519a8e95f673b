"""Unit tests of autostrada.serializers: formats, backends, framing, registry, errors."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from typing import Any

import cbor2
import msgpack
import pytest

from autostrada import messages as m
from autostrada.exceptions import ProtocolError
from autostrada.serializers import (
    CBOR,
    CBOR_BATCHED,
    DEFAULT_SUBPROTOCOLS,
    JSON,
    JSON_BATCHED,
    MSGPACK,
    MSGPACK_BATCHED,
    SERIALIZERS,
    BatchedSerializer,
    Serializer,
    by_rawsocket_id,
    by_subprotocol,
    cbor_codec,
    datamodel,
    framing,
    get_serializer,
    json_codec,
    json_serializer,
    msgpack_codec,
    negotiate,
    subprotocols,
)

JSON_ORJSON = json_serializer("orjson")
JSON_STDLIB = json_serializer("stdlib")
JSON_BACKENDS = [pytest.param(JSON_ORJSON, id="orjson"), pytest.param(JSON_STDLIB, id="stdlib")]
BINARY = [pytest.param(MSGPACK, id="msgpack"), pytest.param(CBOR, id="cbor")]
PLAIN = [*JSON_BACKENDS, *BINARY]
EVERY = [
    *PLAIN,
    pytest.param(json_serializer("orjson", batched=True), id="json-orjson.batched"),
    pytest.param(json_serializer("stdlib", batched=True), id="json-stdlib.batched"),
    pytest.param(MSGPACK_BATCHED, id="msgpack.batched"),
    pytest.param(CBOR_BATCHED, id="cbor.batched"),
]

CALL = m.Call(7814135, {}, "com.myapp.add", [1, 2], {"k": "v"})


def deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


# --------------------------------------------------------------------------------------
# Registry and negotiation


def test_plain_serializers_know_their_names() -> None:
    assert (JSON.name, JSON.subprotocol, JSON.rawsocket_id, JSON.binary) == (
        "json",
        "wamp.2.json",
        1,
        False,
    )
    assert (MSGPACK.subprotocol, MSGPACK.rawsocket_id, MSGPACK.binary) == (
        "wamp.2.msgpack",
        2,
        True,
    )
    assert (CBOR.subprotocol, CBOR.rawsocket_id, CBOR.binary) == ("wamp.2.cbor", 3, True)
    assert not any(s.batched for s in (JSON, MSGPACK, CBOR))
    assert repr(CBOR) == "<Serializer wamp.2.cbor>"


def test_batched_serializers_know_their_names() -> None:
    for serializer in (JSON_BATCHED, MSGPACK_BATCHED, CBOR_BATCHED):
        assert isinstance(serializer, BatchedSerializer)
        assert serializer.batched
        assert serializer.rawsocket_id is None  # RawSocket has no batched mode
        assert serializer.subprotocol == f"wamp.2.{serializer.name}.batched"
    assert not JSON_BATCHED.binary
    assert MSGPACK_BATCHED.binary and CBOR_BATCHED.binary


def test_lookup_by_subprotocol() -> None:
    assert set(SERIALIZERS) == {
        "wamp.2.json",
        "wamp.2.msgpack",
        "wamp.2.cbor",
        "wamp.2.json.batched",
        "wamp.2.msgpack.batched",
        "wamp.2.cbor.batched",
    }
    for subprotocol, serializer in SERIALIZERS.items():
        assert by_subprotocol(subprotocol) is serializer


@pytest.mark.parametrize("bad", ["wamp.2.ubjson", "json", "", None, 3])
def test_unknown_subprotocol_is_a_value_error_naming_it(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"unknown WAMP subprotocol .*supported: wamp\.2\.json"):
        by_subprotocol(bad)
    with pytest.raises(ValueError, match=repr(bad)):
        by_subprotocol(bad)


def test_lookup_by_rawsocket_id() -> None:
    assert by_rawsocket_id(1) is JSON
    assert by_rawsocket_id(2) is MSGPACK
    assert by_rawsocket_id(3) is CBOR


@pytest.mark.parametrize(
    ("bad", "text"),
    [(4, "4 (ubjson)"), (5, "5 (flatbuffers)"), (0, "0 (undefined)"), ("1", "not an integer")],
)
def test_unknown_rawsocket_id_is_a_value_error_naming_it(bad: Any, text: str) -> None:
    with pytest.raises(
        ValueError, match=rf"unsupported RawSocket serializer id .*{re.escape(text)}"
    ):
        by_rawsocket_id(bad)


def test_get_serializer_by_name() -> None:
    assert get_serializer("json") is JSON
    assert get_serializer("msgpack") is MSGPACK
    assert get_serializer("cbor") is CBOR
    assert get_serializer("cbor.batched") is CBOR_BATCHED
    assert get_serializer("wamp.2.msgpack.batched") is MSGPACK_BATCHED
    with pytest.raises(ValueError, match=r"unknown WAMP serializer 'ubjson' \(supported: json, "):
        get_serializer("ubjson")
    with pytest.raises(ValueError, match="unknown WAMP serializer None"):
        get_serializer(None)  # type: ignore[arg-type]


def test_subprotocols_to_offer() -> None:
    assert (
        subprotocols()
        == list(DEFAULT_SUBPROTOCOLS)
        == ["wamp.2.json", "wamp.2.msgpack", "wamp.2.cbor"]
    )
    assert subprotocols(["cbor", "json.batched", "wamp.2.cbor"]) == [
        "wamp.2.cbor",
        "wamp.2.json.batched",
    ]
    with pytest.raises(ValueError, match="must be a list of names"):
        subprotocols("json")
    with pytest.raises(ValueError, match="'xml'"):
        subprotocols(["json", "xml"])


def test_negotiate_takes_the_clients_first_supported_choice() -> None:
    assert negotiate(["wamp.2.ubjson", "wamp.2.cbor", "wamp.2.json"]) is CBOR
    assert negotiate(["wamp.2.cbor", "wamp.2.json"], supported=["json"]) is JSON
    assert negotiate(["wamp.2.ubjson"]) is None
    assert negotiate([]) is None
    with pytest.raises(ValueError, match="'yaml'"):
        negotiate(["wamp.2.json"], supported=["yaml"])


def test_json_serializer_backends() -> None:
    assert json_codec.BACKEND == "orjson"
    assert set(json_codec.BACKENDS) == {"orjson", "stdlib"}
    assert JSON.encode(CALL) == JSON_STDLIB.encode(CALL) == JSON_ORJSON.encode(CALL)
    with pytest.raises(
        ValueError, match=r"unknown JSON backend 'ujson' \(available: orjson, stdlib\)"
    ):
        json_serializer("ujson")


WITHOUT_ORJSON = r"""
import sys
sys.modules["orjson"] = None  # as if the "fast" extra were not installed
from autostrada.exceptions import ProtocolError
from autostrada.messages import Call
from autostrada.serializers import JSON, MSGPACK, datamodel, json_codec

assert json_codec.BACKEND == "stdlib" and set(json_codec.BACKENDS) == {"stdlib"}
assert datamodel._orjson is None
call = Call(1, {}, "a.b", [b"\x01", 2**70, 1.5])
data = JSON.encode(call)
assert data == b'[48,1,{},"a.b",["\\u0000AQ==",1180591620717411303424,1.5]]', data
assert JSON.decode(data) == [call]
small = Call(1, {}, "a.b", [b"x"])
assert MSGPACK.decode(MSGPACK.encode(small)) == [small]
try:
    MSGPACK.decode(bytes.fromhex("95300180a161d6ff00000000"))  # a Timestamp in args
except ProtocolError as exc:
    assert "Timestamp" in str(exc), exc
else:
    raise AssertionError("timestamp accepted")
print("ok")
"""


def test_without_orjson_the_stdlib_backend_gives_the_same_results() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_ORJSON],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# --------------------------------------------------------------------------------------
# Round trips, encode_obj/decode_obj


@pytest.mark.parametrize("serializer", EVERY)
def test_round_trip_and_plain_values(serializer: Serializer) -> None:
    data = serializer.encode(CALL)
    assert isinstance(data, bytes)
    assert serializer.decode(data) == [CALL]
    assert serializer.decode_obj(data) == [CALL.to_list()]
    assert serializer.decode_obj(serializer.encode_obj([1, "x", None])) == [[1, "x", None]]


@pytest.mark.parametrize("serializer", EVERY)
def test_bytes_like_input_is_accepted(serializer: Serializer) -> None:
    data = serializer.encode(CALL)
    assert serializer.decode(bytearray(data)) == [CALL]
    assert serializer.decode(memoryview(data)) == [CALL]  # type: ignore[arg-type]


@pytest.mark.parametrize("serializer", EVERY)
def test_non_bytes_input_is_the_callers_type_error(serializer: Serializer) -> None:
    with pytest.raises(TypeError, match="can only decode bytes"):
        serializer.decode(12)  # type: ignore[arg-type]


@pytest.mark.parametrize("serializer", [*JSON_BACKENDS, pytest.param(JSON_BATCHED, id="batched")])
def test_json_accepts_text(serializer: Serializer) -> None:
    data = serializer.encode(CALL).decode("utf-8")
    assert serializer.decode(data) == [CALL]  # type: ignore[arg-type]
    with pytest.raises(ProtocolError, match="not valid Unicode"):
        serializer.decode('[1,"\ud800"]')  # type: ignore[arg-type]


@pytest.mark.parametrize("serializer", [*BINARY, pytest.param(MSGPACK_BATCHED, id="batched")])
def test_binary_formats_refuse_text(serializer: Serializer) -> None:
    with pytest.raises(ProtocolError, match="must be binary, got text"):
        serializer.decode("[48]")  # type: ignore[arg-type]


def test_encodings_are_the_usual_ones() -> None:
    message = m.Publish(5, {"acknowledge": True}, "com.t", ["é", b"\x00\xff"])
    assert (
        JSON.encode(message) == '[16,5,{"acknowledge":true},"com.t",["é","\\u0000AP8="]]'.encode()
    )
    assert MSGPACK.encode(message) == msgpack.packb(message.to_list(), use_bin_type=True)
    assert CBOR.encode(message) == cbor2.dumps(message.to_list())


# --------------------------------------------------------------------------------------
# JSON: binary values, backends, numbers


SPEC_BYTES = bytes.fromhex("10e3ff9053075c526f5fc06d4fe37cdb")  # serialization_binary_json.md
SPEC_TEXT = b'"\\u0000EOP/kFMHXFJvX8BtT+N82w=="'


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
def test_json_binary_follows_the_spec_example(serializer: Serializer) -> None:
    assert serializer.encode_obj(SPEC_BYTES) == SPEC_TEXT
    assert serializer.encode_obj(bytearray(SPEC_BYTES)) == SPEC_TEXT
    assert serializer.decode_obj(SPEC_TEXT) == [SPEC_BYTES]
    assert serializer.encode_obj(b"") == b'"\\u0000"'
    assert serializer.decode_obj(b'"\\u0000"') == [b""]


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
def test_json_binary_nested_everywhere(serializer: Serializer) -> None:
    blob = bytes(range(256))
    message = m.Call(
        1,
        {"x_blob": blob, "x_list": [blob, {"deep": [b"\x01"]}]},
        "com.app.proc",
        [blob, [b"", "text", {"k": b"\xff"}]],
        {"data": blob, "nested": {"more": [b"\x00"]}, "\x00key": "keys stay strings"},
    )
    data = serializer.encode(message)
    assert data.count(b"\\u0000") == 9  # eight byte values and the key
    [decoded] = serializer.decode(data)
    assert decoded == message
    assert decoded.kwargs == message.kwargs  # type: ignore[attr-defined]
    assert type(decoded.options["x_list"][0]) is bytes  # type: ignore[attr-defined]


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
def test_json_transparent_payload_is_binary(serializer: Serializer) -> None:
    message = m.Event(1, 2, {"enc_algo": "cryptobox"}, payload=b"\x83\xa5")
    data = serializer.encode(message)
    assert data == b'[36,1,2,{"enc_algo":"cryptobox"},"\\u0000g6U="]'
    assert serializer.decode(data) == [message]


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
@pytest.mark.parametrize(
    ("text", "error"),
    [
        (b'["\\u0000AQI"]', "invalid base64.*padding"),
        (b'["\\u0000AQ=="x]', "invalid message"),
        (b'["\\u0000A*=="]', "invalid base64"),
        (b'["\\u0000\xc3\xa9"]', "invalid base64.*ASCII"),
        (b'[48,1,{},"a",["\\u0000AQ==="]]', "invalid base64"),
    ],
)
def test_json_bad_binary_is_a_protocol_error(
    serializer: Serializer, text: bytes, error: str
) -> None:
    with pytest.raises(ProtocolError, match=error):
        serializer.decode(text)


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
def test_json_other_escapes_need_no_conversion(serializer: Serializer) -> None:
    assert serializer.decode_obj(b'["a\\nb", "\\u00e9", {"q": "\\""}]') == [
        ["a\nb", "é", {"q": '"'}]
    ]


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
def test_json_escaped_backslash_u0000_is_text(serializer: Serializer) -> None:
    # The six characters \u0000 (escaped backslash) are not a NUL: the string stays text.
    assert serializer.decode_obj(b'["\\\\u0000AQ=="]') == [["\\u0000AQ=="]]


VALUES_BOTH_BACKENDS_AGREE: list[Any] = [
    [48, 1, {}, "com.a", ["x"], {"k": None}],
    {"unicode": "é漢😀\u2028\x7f", "controls": 'a\x00\x01\x1f"\\/\n\t'},
    [0, -1, 2**53, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1, 10**40, -(10**40)],
    [0.0, -0.0, 1.5, 1e300, 2.5e-300, 123456789.125],
    [True, False, None, [], {}, [[]], {"a": {}}],
    {"nested": deep_list(300)},  # beyond orjson's 254 levels
    {1: "int key", 2.5: "float key", False: "bool key", None: "none key"},
]


@pytest.mark.parametrize("value", VALUES_BOTH_BACKENDS_AGREE)
def test_json_backends_agree(value: Any) -> None:
    encoded = json_codec.dumps_orjson(value)
    assert encoded == json_codec.dumps_stdlib(value)
    assert json_codec.loads_orjson(encoded) == json_codec.loads_stdlib(encoded)


def test_json_backends_agree_on_floats_up_to_formatting() -> None:
    value = [1e16, 1e-5, 0.1, 1e22, 5e-324, 1.7976931348623157e308]
    for encoded in (json_codec.dumps_orjson(value), json_codec.dumps_stdlib(value)):
        assert json_codec.loads_orjson(encoded) == value
        assert json_codec.loads_stdlib(encoded) == value


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
@pytest.mark.parametrize(
    "number",
    [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, -(2**64) - 1, 3**200, -(7**300)],
)
def test_json_big_integers_are_exact(serializer: Serializer, number: int) -> None:
    message = m.Result(1, {}, [number, {"n": number}])
    data = serializer.encode(message)
    assert str(number).encode() in data
    [decoded] = serializer.decode(data)
    assert decoded.args == [number, {"n": number}]  # type: ignore[attr-defined]
    assert type(decoded.args[0]) is int  # type: ignore[attr-defined]


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
def test_json_long_digit_runs_that_are_not_integers(serializer: Serializer) -> None:
    value = ["12345678901234567890", 0.12345678901234567890, 1234567890123456789.5]
    assert serializer.decode_obj(serializer.encode_obj(value)) == [value]


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), -float("inf"), [1, {"x": [float("nan")]}], (float("inf"),)]
)
def test_json_refuses_to_encode_nan_and_infinity(serializer: Serializer, bad: Any) -> None:
    with pytest.raises(ValueError, match="cannot serialize to JSON"):
        serializer.encode_obj(bad)


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
def test_json_null_without_nan_is_fine(serializer: Serializer) -> None:
    assert serializer.encode_obj([None, 1.5, "null"]) == b'[null,1.5,"null"]'


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
@pytest.mark.parametrize(
    "text",
    [b"[NaN]", b"[Infinity]", b"[-Infinity]", b"[1e400]", b"[-1e400]", b"[1" + b"0" * 400 + b".0]"],
)
def test_json_decoding_refuses_nan_and_infinity(serializer: Serializer, text: bytes) -> None:
    with pytest.raises(ProtocolError, match="json: invalid message"):
        serializer.decode_obj(text)


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
@pytest.mark.parametrize(
    ("text", "error"),
    [
        (b"", "invalid message"),
        (b"[1", "invalid message"),
        (b"[1]]", "invalid message"),
        (b"[1] x", "invalid message"),
        (b"\xef\xbb\xbf[1]", "invalid message"),  # UTF-8 BOM
        (b'["\xff"]', "invalid message"),  # not UTF-8
        (b'["\xed\xa0\x80"]', "invalid message"),  # an encoded surrogate
        (b'["\\ud800"]', "surrogate"),  # unpaired escapes
        (b'["\\uDC00x"]', "surrogate"),
        (b'{"\\ud800":1}', "surrogate"),
        (b'["a\x01b"]', "invalid message"),  # raw control character
        (b"[1]\x1e", "invalid message"),
        (b"[" * 5000 + b"]" * 5000, "invalid message"),  # beyond ~1000 levels
        (b"[" + b"9" * 5000 + b"]", "invalid message"),  # beyond Python's 4300 digits
        (b"[01]", "invalid message"),
        (b"{'a': 1}", "invalid message"),
    ],
)
def test_json_malformed_input_is_a_protocol_error(
    serializer: Serializer, text: bytes, error: str
) -> None:
    with pytest.raises(ProtocolError, match=error):
        serializer.decode(text)


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
def test_json_surrogate_pairs_are_fine(serializer: Serializer) -> None:
    assert serializer.decode_obj(b'["\\ud83d\\ude00", {"\\uD83D\\uDE00": "\\u00e9"}]') == [
        ["😀", {"😀": "é"}]
    ]


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
@pytest.mark.parametrize(
    ("value", "error"),
    [
        (object(), "type object cannot be serialized"),
        (["\ud800"], "surrogates not allowed"),
        ({b"k": 1}, "keys must be"),
        ({(1, 2): 1}, "keys must be"),
    ],
)
def test_json_encode_errors_are_value_errors(
    serializer: Serializer, value: Any, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        serializer.encode_obj(value)


@pytest.mark.parametrize("serializer", JSON_BACKENDS)
def test_json_encode_cycles_and_depth_are_value_errors(serializer: Serializer) -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="cannot serialize to JSON"):
        serializer.encode_obj(cycle)
    with pytest.raises(ValueError, match="cannot serialize to JSON"):
        serializer.encode_obj(deep_list(100_000))


def test_json_dates_fail_on_both_backends() -> None:
    import dataclasses
    import datetime

    @dataclasses.dataclass
    class Point:
        x: int

    for value in (datetime.datetime(2020, 1, 1), datetime.date(2020, 1, 1), Point(1)):
        for serializer in (JSON_ORJSON, JSON_STDLIB):
            with pytest.raises(ValueError, match="cannot be serialized to JSON"):
                serializer.encode_obj([value])


# --------------------------------------------------------------------------------------
# MessagePack


def test_msgpack_bytes_stay_bytes_and_strings_stay_strings() -> None:
    message = m.Call(1, {}, "com.a", [b"\x00\x01", "text", {"b": b""}])
    data = MSGPACK.encode(message)
    assert b"\xc4\x02\x00\x01" in data  # bin 8
    [decoded] = MSGPACK.decode(data)
    assert decoded.args == [b"\x00\x01", "text", {"b": b""}]  # type: ignore[attr-defined]


@pytest.mark.parametrize("number", [2**64 - 1, -(2**63), 0, -1])
def test_msgpack_64_bit_integers(number: int) -> None:
    assert MSGPACK.decode_obj(MSGPACK.encode_obj([number])) == [[number]]


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**30])
def test_msgpack_cannot_encode_bigger_integers(number: int) -> None:
    with pytest.raises(ValueError, match="an integer does not fit in 64 bits"):
        MSGPACK.encode(m.Call(1, {}, "com.a", [number]))


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (object(), "can not serialize 'object'"),
        ({1, 2}, "can not serialize 'set'"),
        (deep_list(2000), "recursion limit"),
    ],
)
def test_msgpack_encode_errors_are_value_errors(value: Any, error: str) -> None:
    with pytest.raises(ValueError, match=f"cannot serialize to msgpack: {error}"):
        MSGPACK.encode_obj(value)


def test_msgpack_nan_is_a_float() -> None:
    [value] = MSGPACK.decode_obj(MSGPACK.encode_obj([float("nan"), float("inf")]))
    assert math.isnan(value[0]) and value[1] == float("inf")


@pytest.mark.parametrize(
    ("hex_data", "error"),
    [
        ("", "invalid message"),
        ("c1", "invalid message: FormatError"),  # never used
        ("9301", "invalid message"),  # truncated
        ("0102", "extra data"),
        ("d40101", "extension type 1 is not allowed"),
        ("c70301010203", "extension type 1 is not allowed"),
        ("d6ff00000000", "Timestamp"),  # ext -1, decoded by msgpack itself
        ("91d7ff0000000000000000", "Timestamp"),
        ("81c4016101", "map key must be a string, got bytes"),
        ("91810101", "int is not allowed for map key"),
        ("a2c328", "invalid message: 'utf-8' codec"),
        ("dfffffffff", "exceeds max_map_len"),  # a map claiming 4 billion entries
        ("ddffffffff", "exceeds max_array_len"),
        ("dbffffffff", "invalid message"),  # a str claiming 4 GiB
        ("c6ffffffff", "invalid message"),  # a bin claiming 4 GiB
        ("91" * 1025 + "00", "StackError"),
    ],
)
def test_msgpack_bad_input_is_a_protocol_error(hex_data: str, error: str) -> None:
    with pytest.raises(ProtocolError, match=error):
        MSGPACK.decode(bytes.fromhex(hex_data))


def test_msgpack_deep_but_allowed_nesting_is_still_a_protocol_error_in_a_message() -> None:
    # 1000 levels decode (msgpack allows 1024) but are not a valid Request id; the
    # parser's error message must not blow the stack.
    data = msgpack.packb([48, deep_list(1000), {}, "com.a"])
    with pytest.raises(ProtocolError):
        MSGPACK.decode(data)


# --------------------------------------------------------------------------------------
# CBOR


@pytest.mark.parametrize(
    "number",
    [
        2**64 - 1,
        2**64,
        -(2**64),
        -(2**64) - 1,
        2**200,
        -(3**300),
        256**cbor_codec.MAX_BIGNUM_BYTES - 1,
    ],
)
def test_cbor_big_integers_are_exact(number: int) -> None:
    data = CBOR.encode(m.Result(1, {}, [number]))
    [decoded] = CBOR.decode(data)
    assert decoded.args == [number]  # type: ignore[attr-defined]


def test_cbor_bytes_and_nan() -> None:
    [value] = CBOR.decode_obj(CBOR.encode_obj([b"\x00", "s", float("nan")]))
    assert value[:2] == [b"\x00", "s"] and math.isnan(value[2])


@pytest.mark.parametrize(
    ("hex_data", "error"),
    [
        ("", "invalid message: premature end"),
        ("8301", "invalid message"),
        ("c074323031332d30332d32315432303a30343a30305a", "tag 0 is not allowed"),  # datetime
        ("c11a514b67b0", "tag 1 is not allowed"),
        ("c48221196ab3", "tag 4 is not allowed"),  # decimal fraction
        ("d825500000000000000000000000000000000000", "tag 37 is not allowed"),  # UUID
        ("d9010281 01", "tag 258 is not allowed"),  # set
        ("d81c8181d81d00", "tag 28 is not allowed"),  # shared value (could form cycles)
        ("d9d9f780", "tag 55799 is not allowed"),  # self-described CBOR
        ("d8ff00", "tag 255 is not allowed"),  # unknown tag
        ("c28101", "bignum \\(tag 2\\) must hold a byte string"),
        ("c3c24101", "bignum \\(tag 3\\) must hold a byte string"),
        ("c259040100" + "00" * 1024, "bignum of 1025 bytes"),
        ("f7", "UndefinedType"),
        ("81f0", "CBORSimpleValue"),
        ("81f820", "CBORSimpleValue"),
        ("a10101", "map key must be a string, got int"),
        ("81a1a001", "map key must be a string, got frozendict"),
        ("a1820102 01", "map key must be a string, got tuple"),
        ("62c328", "invalid message: error decoding text string"),
        ("5bffffffffffffffff", "invalid message"),  # a byte string claiming 2**64 bytes
        ("9bffffffffffffffff", "invalid message"),
        ("81" * 1025 + "00", "nesting depth"),
        ("1c", "invalid message"),  # reserved additional information
    ],
)
def test_cbor_bad_input_is_a_protocol_error(hex_data: str, error: str) -> None:
    with pytest.raises(ProtocolError, match=error):
        CBOR.decode(bytes.fromhex(hex_data.replace(" ", "")))


def test_cbor_ignores_bytes_after_the_message() -> None:
    # Documented leniency (as cbor2.loads, Autobahn and Crossbar): see cbor_codec.
    assert CBOR.decode(CBOR.encode(CALL) + b"\x01\xff") == [CALL]
    assert CBOR_BATCHED.decode_obj(b"\x00\x00\x00\x02\x01\x02") == [1]


def test_cbor_allowed_forms() -> None:
    # indefinite lengths, half floats and a bignum tag are plain CBOR
    assert CBOR.decode_obj(bytes.fromhex("9f01f93e00c24101ff")) == [[1, 1.5, 1]]


@pytest.mark.parametrize(
    ("value", "error"),
    [(object(), "cannot encode type"), (1j, None)],
)
def test_cbor_encode_errors_are_value_errors(value: Any, error: str | None) -> None:
    if error is None:  # cbor2 encodes some non-WAMP types as tags; our decoder refuses them
        with pytest.raises(ProtocolError, match="tag"):
            CBOR.decode_obj(CBOR.encode_obj(value))
        return
    with pytest.raises(ValueError, match=f"cannot serialize to CBOR: {error}"):
        CBOR.encode_obj(value)


def test_cbor_encode_cycle_is_a_value_error() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="cannot serialize to CBOR: cyclic"):
        CBOR.encode_obj(cycle)


# --------------------------------------------------------------------------------------
# Data model check: orjson fast path and the Python walk agree


FOREIGN = [
    cbor2.undefined,
    cbor2.CBORSimpleValue(1),
    msgpack.Timestamp(0),
    {1, 2},
    frozenset(),
    bytearray(b"x"),
    1j,
]


@pytest.mark.parametrize("fast", [True, False], ids=["orjson", "walk"])
@pytest.mark.parametrize("bad", FOREIGN, ids=lambda v: type(v).__name__)
def test_data_model_refuses_foreign_types(
    fast: bool, bad: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not fast:
        monkeypatch.setattr(datamodel, "_orjson", None)
    for value in (bad, [1, bad], {"k": [bad]}):
        with pytest.raises(ProtocolError, match=f"values of type {type(bad).__name__}"):
            datamodel.check_decoded(value, "test")


@pytest.mark.parametrize("fast", [True, False], ids=["orjson", "walk"])
def test_data_model_keys_and_fine_values(fast: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not fast:
        monkeypatch.setattr(datamodel, "_orjson", None)
    fine = [None, True, 1, 2**100, -(2**100), 1.5, float("nan"), "s", b"b", [], {"k": {"j": [b""]}}]
    fine.append((1, [b""]))  # no decoder makes tuples; both checks take them as lists
    datamodel.check_decoded(fine, "test")
    datamodel.check_decoded(deep_list(1000), "test")  # deeper than orjson goes
    for key in (1, b"k", None, (1,)):
        with pytest.raises(ProtocolError, match="test: a map key must be a string"):
            datamodel.check_decoded([{"ok": 1}, {key: 1}], "test")


def test_find_nonfinite_float() -> None:
    assert datamodel.find_nonfinite_float([1.0, {"a": (2.0, None)}]) is None
    assert math.isnan(datamodel.find_nonfinite_float({"a": [(0.5, float("nan"))]}))  # type: ignore[arg-type]
    assert datamodel.find_nonfinite_float(float("-inf")) == float("-inf")


def test_reason_is_bounded() -> None:
    assert datamodel.reason(ValueError("x" * 1000)).endswith("...")
    assert len(datamodel.reason(ValueError("x" * 1000))) == 200
    assert datamodel.reason(KeyError()) == "KeyError"


# --------------------------------------------------------------------------------------
# Batched framing


MESSAGES = [
    m.Call(1, {}, "com.a", [1]),
    m.Publish(2, {"acknowledge": True}, "com.t", [b"\x1e\x00"], {"k": "\x1e"}),
    m.Goodbye({}, "wamp.close.normal"),
]
BATCHED = [
    pytest.param(json_serializer("orjson", batched=True), id="json-orjson"),
    pytest.param(json_serializer("stdlib", batched=True), id="json-stdlib"),
    pytest.param(MSGPACK_BATCHED, id="msgpack"),
    pytest.param(CBOR_BATCHED, id="cbor"),
]


@pytest.mark.parametrize("serializer", BATCHED)
def test_batch_of_several_messages(serializer: BatchedSerializer) -> None:
    batch = serializer.encode_batch(MESSAGES)
    assert serializer.decode(batch) == MESSAGES
    assert batch == b"".join(serializer.encode(message) for message in MESSAGES)
    assert serializer.decode_obj(batch) == [message.to_list() for message in MESSAGES]


@pytest.mark.parametrize("serializer", BATCHED)
def test_empty_batch_is_refused_both_ways(serializer: BatchedSerializer) -> None:
    with pytest.raises(ValueError, match="a batch needs at least one message"):
        serializer.encode_batch([])
    with pytest.raises(ProtocolError, match="an empty batch is not allowed"):
        serializer.decode(b"")


def test_json_batch_framing() -> None:
    [one] = MESSAGES[:1]
    assert JSON_BATCHED.encode(one) == JSON.encode(one) + b"\x1e"
    good = JSON_BATCHED.encode(one)
    for bad, error in [
        (good[:-1], "must be followed by 0x1E"),  # no separator after the last message
        (good + b" ", "must be followed by 0x1E"),
        (b"\x1e", "empty message in batch"),
        (good + b"\x1e", "empty message in batch"),
        (b"\x1e" + good, "empty message in batch"),
        (good + b"[1,2\x1e", "invalid message"),
        (good + b"[]\x1e", "non-empty list"),
    ]:
        with pytest.raises(ProtocolError, match=error):
            JSON_BATCHED.decode(bad)


@pytest.mark.parametrize("serializer", [MSGPACK_BATCHED, CBOR_BATCHED], ids=["msgpack", "cbor"])
def test_length_prefixed_batch_framing(serializer: BatchedSerializer) -> None:
    one = serializer.encode(MESSAGES[0])
    plain = by_subprotocol(f"wamp.2.{serializer.name}").encode(MESSAGES[0])
    assert one == len(plain).to_bytes(4, "big") + plain
    name = serializer.name
    truncated = b"\x93" if name == "msgpack" else b"\x83"  # an array missing its items
    for bad, error in [
        (one[:3], f"{name}.batched: truncated length prefix at byte 0"),
        (one + one[:2], f"truncated length prefix at byte {len(one)}"),
        (one[:-1], f"message length {len(plain)} exceeds the {len(plain) - 1} bytes left"),
        (b"\xff\xff\xff\xff" + plain, "message length 4294967295 exceeds"),
        (b"\x00\x00\x00\x00" + one, "empty message in batch"),
        (one + b"\x00\x00\x00\x01" + truncated, "invalid message"),
        (b"\x00\x00\x00\x01\x01", "non-empty list"),
    ]:
        with pytest.raises(ProtocolError, match=error):
            serializer.decode(bad)


def test_frame_length_prefixed_refuses_4_gib() -> None:
    class Huge(bytes):
        def __len__(self) -> int:
            return 2**32

    with pytest.raises(ValueError, match="shorter than 4 GiB, got 4294967296 bytes"):
        framing.frame_length_prefixed(Huge())


# --------------------------------------------------------------------------------------
# Parsing errors reach the caller as ProtocolError through every serializer


@pytest.mark.parametrize("serializer", EVERY)
@pytest.mark.parametrize(
    ("value", "error"),
    [
        ([], "non-empty list"),
        ({"a": 1}, "non-empty list"),
        ("text", "non-empty list"),
        ([999], "unknown WAMP message type"),
        ([48, 0, {}, "com.a"], "CALL.Request"),
        ([48, 1, {"timeout": "soon"}, "com.a"], "CALL.Options.timeout"),
        ([48, 1, {}, "com a"], "CALL.Procedure"),
        ([1, "realm", {}], "roles"),
    ],
)
def test_invalid_messages_are_protocol_errors(
    serializer: Serializer, value: Any, error: str
) -> None:
    with pytest.raises(ProtocolError, match=error):
        serializer.decode(serializer.encode_obj(value))


@pytest.mark.parametrize("serializer", EVERY)
def test_deeply_nested_message_is_a_protocol_error(serializer: Serializer) -> None:
    # Deep, but within what every decoder accepts: the failure must still be a
    # ProtocolError, whatever code path prints the offending value.
    value = [48, deep_list(900), {}, "com.a"]
    with pytest.raises(ProtocolError):
        serializer.decode(serializer.encode_obj(value))


def test_decode_guards_recursion_in_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    from autostrada import serializers

    def exploding_parse(value: Any) -> m.Message:
        raise RecursionError

    monkeypatch.setattr(serializers, "parse", exploding_parse)
    for serializer in (MSGPACK, MSGPACK_BATCHED):
        with pytest.raises(ProtocolError, match="nested too deeply"):
            serializer.decode(serializer.encode(CALL))


def test_module_exports() -> None:
    from autostrada import serializers

    for name in serializers.__all__:
        assert hasattr(serializers, name), name
    assert msgpack_codec.__all__ == ["dumps", "loads"]
