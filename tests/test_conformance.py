"""The official WAMP conformance vectors, against our serializers and message parser.

The vectors are ``tests/vectors/singlemessage/**/*.json`` (see ``tests/vectors/SOURCE.md``).

* A *serialization sample* lists byte variants per serializer and the attributes the
  decoded message must have. For JSON, MessagePack and CBOR (UBJSON and FlatBuffers
  are not supported): every variant decodes to those attributes, and encoding the
  decoded message gives one of the listed variants. JSON runs on both backends, and
  every variant is also decoded inside a one-message batch.
* A *validation sample* is a decoded message (``wmsg``) that must be rejected with an
  error mentioning ``expected_error["contains"]``, or accepted when there is no
  ``expected_error``; through :func:`autostrada.messages.parse` and through every
  serializer (``encode_obj`` then ``decode``).

``test_vector_inventory`` prints the counts (run with ``-s`` to see them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autostrada import messages
from autostrada.exceptions import ProtocolError
from autostrada.serializers import (
    CBOR,
    CBOR_BATCHED,
    MSGPACK,
    MSGPACK_BATCHED,
    Serializer,
    json_serializer,
)
from autostrada.serializers.json_codec import BACKENDS

VECTORS = Path(__file__).resolve().parent / "vectors" / "singlemessage"
SUPPORTED_FORMATS = ("json", "msgpack", "cbor")

# (plain, batched) serializers per format; JSON once per backend.
SERIALIZERS: dict[str, list[tuple[str, Serializer, Serializer]]] = {
    "json": [
        (
            f"json-{backend}",
            json_serializer(backend),
            json_serializer(backend, batched=True),
        )
        for backend in sorted(BACKENDS)
    ],
    "msgpack": [("msgpack", MSGPACK, MSGPACK_BATCHED)],
    "cbor": [("cbor", CBOR, CBOR_BATCHED)],
}
ALL_SERIALIZERS = [
    pytest.param(serializer, id=label + (".batched" if serializer.batched else ""))
    for variants in SERIALIZERS.values()
    for label, plain, batched in variants
    for serializer in (plain, batched)
]

# Vector attribute names that differ from ours.
RENAMED = {"subscription": "subscription_id", "publication": "publication_id"}


def _samples() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(VECTORS.rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        name = f"{path.parent.name}/{path.stem}"
        for index, sample in enumerate(document["samples"]):
            found.append((f"{name}[{index}]", sample))
    return found


SAMPLES = _samples()


def _variant_bytes(fmt: str, variant: dict[str, Any]) -> bytes:
    data = bytes.fromhex(variant["bytes_hex"])
    if fmt == "json":  # the readable form must say the same thing
        assert variant["bytes"].encode("utf-8") == data
    return data


def _serialization_cases() -> list[Any]:
    cases = []
    for sample_id, sample in SAMPLES:
        if "expected_attributes" not in sample:
            continue
        for fmt in SUPPORTED_FORMATS:
            variants = [_variant_bytes(fmt, v) for v in sample["serializers"].get(fmt, [])]
            for index, data in enumerate(variants):
                for label, plain, batched in SERIALIZERS[fmt]:
                    cases.append(
                        pytest.param(
                            plain,
                            batched,
                            data,
                            variants,
                            sample["expected_attributes"],
                            id=f"{sample_id}-{label}-v{index}",
                        )
                    )
    return cases


def _validation_cases() -> list[Any]:
    return [
        pytest.param(sample["wmsg"], sample.get("expected_error"), id=sample_id)
        for sample_id, sample in SAMPLES
        if "wmsg" in sample
    ]


def check_attributes(message: messages.Message, expected: dict[str, Any]) -> None:
    """Assert that ``message`` has the vector's ``expected_attributes``."""
    for key, want in expected.items():
        if key == "message_type":
            assert want == message.TYPE
        elif key == "roles":  # HELLO/WELCOME: a key of Details
            assert message.details["roles"] == want  # type: ignore[attr-defined]
        elif key == "payload":  # transparent payload, given as hex
            want_payload = None if want is None else bytes.fromhex(want)
            assert message.payload == want_payload  # type: ignore[attr-defined]
        elif key in ("args", "kwargs") and want is None:  # null means absent
            assert not getattr(message, key), f"{key} should be absent"
        else:
            assert getattr(message, RENAMED.get(key, key)) == want, key


@pytest.mark.parametrize(
    ("serializer", "batched", "data", "variants", "expected"), _serialization_cases()
)
def test_serialization_sample(
    serializer: Serializer,
    batched: Serializer,
    data: bytes,
    variants: list[bytes],
    expected: dict[str, Any],
) -> None:
    [message] = serializer.decode(data)
    check_attributes(message, expected)
    assert serializer.encode(message) in variants
    # The same bytes as a batch of one decode to the same message.
    framed = data + b"\x1e" if batched.name == "json" else len(data).to_bytes(4, "big") + data
    assert batched.decode(framed) == [message]
    assert batched.encode(message) in {
        v + b"\x1e" if batched.name == "json" else len(v).to_bytes(4, "big") + v for v in variants
    }


@pytest.mark.parametrize(("wmsg", "expected_error"), _validation_cases())
def test_validation_sample_parse(wmsg: list[Any], expected_error: dict[str, str] | None) -> None:
    if expected_error is None:
        message = messages.parse(wmsg)
        assert message.to_list() == wmsg
    else:
        assert expected_error["type"] == "protocol_violation"
        with pytest.raises(ProtocolError, match=expected_error["contains"]):
            messages.parse(wmsg)


@pytest.mark.parametrize("serializer", ALL_SERIALIZERS)
@pytest.mark.parametrize(("wmsg", "expected_error"), _validation_cases())
def test_validation_sample_through_serializer(
    wmsg: list[Any], expected_error: dict[str, str] | None, serializer: Serializer
) -> None:
    data = serializer.encode_obj(wmsg)
    if expected_error is None:
        assert serializer.decode(data) == [messages.parse(wmsg)]
    else:
        with pytest.raises(ProtocolError, match=expected_error["contains"]):
            serializer.decode(data)


def test_vector_inventory() -> None:
    """Count what the vectors hold, so that a change in them is noticed."""
    serialization = [s for _, s in SAMPLES if "expected_attributes" in s]
    validation = [s for _, s in SAMPLES if "wmsg" in s]
    variants = {
        fmt: sum(len(s["serializers"].get(fmt, [])) for s in serialization)
        for fmt in SUPPORTED_FORMATS
    }
    rejected = sum(1 for s in validation if "expected_error" in s)
    message_types = {s["expected_attributes"]["message_type"] for s in serialization}
    print(
        f"\nconformance vectors: {len(SAMPLES)} samples in "
        f"{len(list(VECTORS.rglob('*.json')))} files; {len(serialization)} serialization "
        f"samples covering {len(message_types)} message types, byte variants {variants} "
        f"(x2 JSON backends); {len(validation)} validation cases ({rejected} to reject)"
    )
    assert len(serialization) == 35
    assert variants == {"json": 59, "msgpack": 35, "cbor": 35}
    assert len(validation) == 67
    assert rejected == 28
    assert len(message_types) == 25  # every message type has a sample
    assert len(_serialization_cases()) == (59 * len(BACKENDS)) + 35 + 35
