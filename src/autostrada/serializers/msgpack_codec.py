"""MessagePack for WAMP, on the ``msgpack`` package.

Spec: Basic Profile building_blocks.md "Serializers": MessagePack version 5 or later
"MUST BE used, since this version is able to differentiate between strings and
binary values" -- so strings are written as str and bytes as bin
(``use_bin_type=True``), and read back as ``str`` and ``bytes`` (``raw=False``).

Decoding refuses what is outside the WAMP data model (see :mod:`.datamodel`):
extension types (the hook raises), timestamps (ext -1, which msgpack decodes
itself), non-string map keys. Lengths are bounded by the input (``unpackb`` limits
every array, map, str and bin to the size of the data), nesting by msgpack's own
stack (1024 levels).

MessagePack integers are 64-bit: encoding a larger one is a :class:`ValueError`
(it cannot arrive in a message we decode).
"""

from __future__ import annotations

from typing import Any, NoReturn

import msgpack

from autostrada.exceptions import ProtocolError

from .datamodel import check_decoded, reason
from .framing import require_binary

__all__ = ["dumps", "loads"]

_unpackb = msgpack.unpackb

# Reused Packers: ``packb`` builds a Packer (and its buffer) for every call, which
# costs about as much as packing a small message. A Packer is not thread-safe and
# serializers are shared by every session, in any thread (the router runs in its
# own), so each call takes one from this pool and puts it back: list.pop/append are
# atomic, and the pool holds at most one Packer per thread packing at once. A Packer
# keeps the buffer it grew to: one that packed a large message (or failed midway) is
# dropped, not pooled, so the pool never holds more than a small buffer per Packer.
_packers: list[msgpack.Packer] = []
_POOLED_MAX = 64 * 1024


def dumps(value: Any) -> bytes:
    """Serialize ``value`` to MessagePack.

    Raises:
        ValueError: an integer outside the 64-bit range, an unsupported type, or
            nesting deeper than msgpack allows.
    """
    try:
        packer = _packers.pop()
    except IndexError:
        packer = msgpack.Packer(use_bin_type=True, autoreset=True)
    try:
        encoded: bytes = packer.pack(value)
    except OverflowError as exc:
        raise ValueError("cannot serialize to msgpack: an integer does not fit in 64 bits") from exc
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"cannot serialize to msgpack: {reason(exc)}") from exc
    if len(encoded) <= _POOLED_MAX:
        _packers.append(packer)
    return encoded


def _reject_extension(code: int, data: bytes) -> NoReturn:
    raise ProtocolError(f"msgpack: extension type {code} is not allowed in WAMP messages")


def loads(data: bytes) -> Any:
    """Deserialize one MessagePack value (checked against the WAMP data model).

    Raises:
        ProtocolError: the data is not one valid MessagePack value, has trailing
            bytes, or holds a value outside the WAMP data model.
    """
    if type(data) is not bytes:
        data = require_binary(data, "msgpack")
    try:
        value = _unpackb(data, raw=False, strict_map_key=True, ext_hook=_reject_extension)
    except ProtocolError:
        raise
    except Exception as exc:
        # ExtraData, FormatError, StackError, OutOfData, UnicodeDecodeError, the
        # length limits' ValueError...: the peer sent it, whatever msgpack calls it.
        raise ProtocolError(f"msgpack: invalid message: {reason(exc)}") from exc
    check_decoded(value, "msgpack")
    return value
