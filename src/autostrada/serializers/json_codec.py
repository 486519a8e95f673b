"""JSON for WAMP: compact UTF-8 text, binary values as ``"\\u0000"`` + base64.

Spec: Basic Profile building_blocks.md "Serializers" (JSON per RFC 7159) and Advanced
Profile serialization_binary_json.md "Binary support in JSON": a byte string travels
as a JSON string made of U+0000 followed by its standard base64 (RFC 4648 section 4,
padded); a decoded string that starts with U+0000 is a byte string.

Two backends, one behaviour (the tests run both on the same inputs):

* ``orjson`` (the optional extra ``autostrada[fast]``), several times faster;
* the standard library's ``json``.

:data:`BACKEND` names the one chosen at import (orjson when installed);
:data:`BACKENDS` holds every available ``(dumps, loads)`` pair.

Encoding (our own values; a problem is a :class:`ValueError`): compact separators and
raw UTF-8, as Autobahn writes (the conformance vectors' compact variant); NaN and
infinities are refused (JSON has none). orjson cannot write integers beyond 64
bits, non-string keys or more than 254 levels of nesting: those values go through
the standard library instead, so the result does not depend on the backend.

Decoding (a peer's bytes; a problem is a :class:`~autostrada.exceptions.ProtocolError`):
strict UTF-8 without BOM, strict JSON (no NaN/Infinity literals, no number that
overflows to infinity, no unpaired surrogate escapes), integers exact at any size.

Not covered by the convention: a *string* that starts with U+0000 is indistinguishable
from a byte string on the wire, so it arrives as bytes (or fails to decode). Avoid
such strings in payloads.
"""

from __future__ import annotations

import binascii
import json
import math
import re
from collections.abc import Callable
from typing import Any

from autostrada.exceptions import ProtocolError

from .datamodel import find_nonfinite_float, reason
from .framing import require_text

try:  # optional extra "fast"
    import orjson as _orjson
except ImportError:  # pragma: no cover - the test environment installs orjson
    _orjson = None  # type: ignore[assignment]

__all__ = [
    "BACKEND",
    "BACKENDS",
    "dumps",
    "dumps_orjson",
    "dumps_stdlib",
    "loads",
    "loads_orjson",
    "loads_stdlib",
]


# --------------------------------------------------------------------------------------
# Encoding


def _bytes_to_text(value: Any) -> str:
    # Both backends call this for values they do not serialize natively.
    if isinstance(value, (bytes, bytearray)):
        return "\x00" + binascii.b2a_base64(value, newline=False).decode("ascii")
    raise TypeError(f"values of type {type(value).__name__} cannot be serialized to JSON")


_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_bytes_to_text
)


def dumps_stdlib(value: Any) -> bytes:
    """Serialize ``value`` to JSON with the standard library.

    Raises:
        ValueError: the value has no JSON form (NaN, infinity, an unsupported type,
            a lone surrogate, a reference cycle, absurd nesting).
    """
    try:
        return _ENCODER.encode(value).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"cannot serialize to JSON: {reason(exc)}") from exc


if _orjson is not None:  # pragma: no branch - tested without orjson in a subprocess
    _orjson_dumps = _orjson.dumps
    _orjson_loads = _orjson.loads
    # datetimes and dataclasses must reach the hook (and fail there), as in stdlib json.
    _DUMPS_OPTIONS = _orjson.OPT_PASSTHROUGH_DATETIME | _orjson.OPT_PASSTHROUGH_DATACLASS


def dumps_orjson(value: Any) -> bytes:
    """Serialize ``value`` to JSON with orjson (same result as :func:`dumps_stdlib`).

    Raises:
        ValueError: as :func:`dumps_stdlib`.
    """
    try:
        encoded: bytes = _orjson_dumps(value, default=_bytes_to_text, option=_DUMPS_OPTIONS)
    except TypeError:
        # Integer beyond 64 bits, non-string key, deep nesting or a foreign type:
        # the standard library decides (and gives the same text for the same value).
        return dumps_stdlib(value)
    # orjson writes NaN and infinities as null; only then is the walk needed.
    if encoded.find(b"null") != -1:
        bad = find_nonfinite_float(value)
        if bad is not None:
            raise ValueError(f"cannot serialize to JSON: {bad!r} is not a JSON number")
    return encoded


# --------------------------------------------------------------------------------------
# Decoding

_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):  # 1e400: not NaN/Infinity literally, but still no JSON number
        raise ValueError(f"number {text[:30]} is out of the float range")
    return number


_DECODER = json.JSONDecoder(parse_float=_parse_float, parse_constant=_reject_constant)


def _convert_string(text: str, binary: bool, surrogates: bool) -> str | bytes:
    if surrogates and not text.isascii() and _SURROGATE.search(text):
        raise ProtocolError("json: unpaired surrogate escape in a string")
    if binary and text[:1] == "\x00":
        try:
            return binascii.a2b_base64(text[1:], strict_mode=True)
        except ValueError as exc:  # binascii.Error, or non-ASCII text
            raise ProtocolError(f"json: invalid base64 in a binary string: {exc}") from None
    return text


def _convert_strings(value: Any, binary: bool, surrogates: bool) -> Any:
    """Turn ``"\\u0000..."`` strings into bytes and/or reject lone surrogates, in place.

    Iterative, so that the deepest nesting a JSON decoder accepts cannot exhaust
    the Python stack. Keys stay strings (WAMP keys are strings) but are checked.
    """
    if type(value) is str:
        return _convert_string(value, binary, surrogates)
    stack = [value]
    while stack:
        container = stack.pop()
        if type(container) is list:
            for index, item in enumerate(container):
                if type(item) is str:
                    container[index] = _convert_string(item, binary, surrogates)
                elif type(item) is list or type(item) is dict:
                    stack.append(item)
        else:  # a dict: only lists and dicts are pushed
            for key, item in container.items():
                if surrogates:
                    _convert_string(key, False, True)
                if type(item) is str:
                    container[key] = _convert_string(item, binary, surrogates)
                elif type(item) is list or type(item) is dict:
                    stack.append(item)
    return value


def loads_stdlib(data: bytes | str) -> Any:
    """Deserialize one JSON value with the standard library.

    Raises:
        ProtocolError: the data is not strict UTF-8 JSON, or a binary string is
            not valid base64.
    """
    if type(data) is not bytes:
        data = require_text(data)
    try:
        value = _DECODER.decode(data.decode("utf-8"))
    except Exception as exc:
        # JSONDecodeError, UnicodeDecodeError, our hooks' ValueError, the int digit
        # limit, RecursionError on absurd nesting: whatever it is, the peer sent it.
        raise ProtocolError(f"json: invalid message: {reason(exc)}") from exc
    if 0x5C in data:  # a backslash: escapes are present
        binary = data.find(b"\\u0000") != -1
        # stdlib json accepts "\ud800" alone (orjson does not): find and refuse it.
        surrogates = data.find(b"\\ud") != -1 or data.find(b"\\uD") != -1
        if binary or surrogates:
            value = _convert_strings(value, binary, surrogates)
    return value


# Digits map to "0", anything else to ".", so a run of 19 digits is one find().
_DIGIT_MAP = bytes(0x30 if 0x30 <= code <= 0x39 else 0x2E for code in range(256))
_LONG_NUMBER = b"0" * 19


def loads_orjson(data: bytes | str) -> Any:
    """Deserialize one JSON value with orjson (same result as :func:`loads_stdlib`).

    Raises:
        ProtocolError: as :func:`loads_stdlib`.
    """
    if type(data) is not bytes:
        data = require_text(data)
    # orjson returns a float for an integer beyond 64 bits. Such an integer has at
    # least 19 digits (2**63 has 19): let the standard library read those texts.
    if data.translate(_DIGIT_MAP).find(_LONG_NUMBER) != -1:
        return loads_stdlib(data)
    try:
        value = _orjson_loads(data)
    except Exception as exc:  # orjson.JSONDecodeError; anything else is the peer's doing too
        raise ProtocolError(f"json: invalid message: {reason(exc)}") from exc
    # A JSON string holds U+0000 only as the escape "\u0000": without it, no walk.
    if 0x5C in data and data.find(b"\\u0000") != -1:
        value = _convert_strings(value, True, False)
    return value


# --------------------------------------------------------------------------------------
# Backend choice

Dumps = Callable[[Any], bytes]
Loads = Callable[[bytes | str], Any]

BACKENDS: dict[str, tuple[Dumps, Loads]] = {"stdlib": (dumps_stdlib, loads_stdlib)}
if _orjson is not None:  # pragma: no branch - tested without orjson in a subprocess
    BACKENDS["orjson"] = (dumps_orjson, loads_orjson)

BACKEND = "orjson" if "orjson" in BACKENDS else "stdlib"
"""The backend :func:`dumps` and :func:`loads` use."""

dumps, loads = BACKENDS[BACKEND]
