"""CBOR for WAMP, on the ``cbor2`` package.

Spec: Basic Profile building_blocks.md "Serializers" (CBOR per RFC 8949). Byte
strings are CBOR byte strings; integers beyond 64 bits are bignums (tags 2 and 3,
RFC 8949 section 3.4.3), which cbor2 writes by itself.

cbor2 turns many semantic tags into Python objects (datetime, Decimal, UUID, sets,
regular expressions, shared references that can even form cycles...). None of that
is in the WAMP data model (see :mod:`.datamodel`), so every tag is looked up in
:data:`_TAGS` first: tags 2 and 3 decode to ``int`` there (only from a byte string,
at most :data:`MAX_BIGNUM_BYTES` long), any other tag is a protocol error. This
costs nothing for messages without tags. Simple values, ``undefined`` and
non-string map keys are caught by the data model check.

Other limits: nesting depth :data:`MAX_DEPTH` (as msgpack's); claimed lengths cost
nothing before the bytes are there (cbor2 reads long strings in 64 KiB chunks).

Bytes after the first CBOR item are ignored, as ``cbor2.loads`` does (and so Autobahn
and Crossbar): only cbor2's stream decoder can tell where the item ended, and it costs
~0.8 us per message, 15% of a small CBOR round trip. Batched framing and RawSocket
delimit messages anyway; JSON and MessagePack reject trailing bytes because their
decoders do so for free.
"""

from __future__ import annotations

from typing import Any

import cbor2

from autostrada.exceptions import ProtocolError

from .datamodel import check_decoded, reason
from .framing import require_binary

__all__ = ["MAX_BIGNUM_BYTES", "MAX_DEPTH", "dumps", "loads"]

MAX_DEPTH = 1024
"""Deepest nesting of arrays and maps accepted (the message itself is level 1)."""

MAX_BIGNUM_BYTES = 1024
"""Longest bignum accepted: 8192 bits, about 2466 decimal digits.

Python refuses to print integers of more than 4300 digits by default, so a longer
one would break error messages and logging far from here.
"""

_dumps = cbor2.dumps
_loads = cbor2.loads
_EncodeError = cbor2.CBOREncodeError


def dumps(value: Any) -> bytes:
    """Serialize ``value`` to CBOR.

    Raises:
        ValueError: an unsupported type or a reference cycle.
    """
    try:
        encoded: bytes = _dumps(value)
    except (_EncodeError, TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise ValueError(f"cannot serialize to CBOR: {reason(exc)}") from exc
    return encoded


def _bignum_bytes(value: Any, tag: int) -> bytes:
    if type(value) is not bytes:
        raise ProtocolError(f"cbor: a bignum (tag {tag}) must hold a byte string")
    if len(value) > MAX_BIGNUM_BYTES:
        raise ProtocolError(f"cbor: bignum of {len(value)} bytes (limit {MAX_BIGNUM_BYTES})")
    return value


def _positive_bignum(value: Any, immutable: bool) -> int:
    return int.from_bytes(_bignum_bytes(value, 2), "big")


def _negative_bignum(value: Any, immutable: bool) -> int:
    return -1 - int.from_bytes(_bignum_bytes(value, 3), "big")


class _TagTable(dict[int, Any]):
    """cbor2's ``semantic_decoders``: consulted for every tag before its built-ins."""

    def __missing__(self, tag: int) -> Any:
        raise ProtocolError(f"cbor: tag {tag} is not allowed in WAMP messages")


_TAGS = _TagTable({2: _positive_bignum, 3: _negative_bignum})


def loads(data: bytes) -> Any:
    """Deserialize one CBOR value (checked against the WAMP data model).

    Raises:
        ProtocolError: the data does not start with a valid CBOR value, or the value
            is outside the WAMP data model.
    """
    if type(data) is not bytes:
        data = require_binary(data, "cbor")
    try:
        value = _loads(data, semantic_decoders=_TAGS, max_depth=MAX_DEPTH)
    except ProtocolError:  # pragma: no cover - cbor2 6 wraps it, see below
        raise
    except Exception as exc:
        if isinstance(exc.__cause__, ProtocolError):  # a tag decoder above refused the tag
            raise exc.__cause__ from None
        # CBORDecodeError, EOF, bad UTF-8...: the peer sent it, whatever cbor2 calls it.
        raise ProtocolError(f"cbor: invalid message: {reason(exc)}") from exc
    check_decoded(value, "cbor")
    return value
