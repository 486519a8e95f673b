"""The WAMP data model, and the checks that keep decoded values inside it.

autostrada's payload model is JSON plus byte strings: ``None``, ``bool``, ``int``,
``float``, ``str``, ``bytes``, ``list`` and ``dict`` with ``str`` keys (spec Basic
Profile, messages.md: "a dictionary (map) where keys MUST be strings").
MessagePack and CBOR can carry more (extension types, timestamps, simple values,
``undefined``, semantic tags, maps keyed by integers or arrays). The binary decoders
reject such values as protocol errors -- a project decision: Basic Profile
"Serializers" lets application payloads use whatever a format offers. So every message
a decoder returns is plain data, re-encodable by every serializer within each format's
number range (MessagePack has no integers beyond 64 bits, JSON no NaN).

The check is on the hot path of every binary decode, so it runs in native code when
the optional ``orjson`` is installed: ``orjson.dumps`` walks the value, serializes the
JSON types (and tuples, which no decoder produces) natively and calls a hook for
anything else, which allows only ``bytes``. When it fails (a non-string key, an
integer beyond 64 bits, nesting deeper than orjson's 254 levels, a foreign type) the
exact Python walk decides. Without orjson the Python walk always runs; both give the
same verdict.
"""

from __future__ import annotations

import math
from typing import Any

from autostrada.exceptions import ProtocolError

try:  # optional extra "fast"
    import orjson as _orjson
except ImportError:  # pragma: no cover - the test environment installs orjson
    _orjson = None  # type: ignore[assignment]

__all__ = ["check_decoded", "find_nonfinite_float", "reason", "walk_check"]

_SCALARS = frozenset({str, int, float, bool, type(None), bytes})


def _allow_bytes(value: Any) -> None:
    # orjson's hook for the types it does not serialize: bytes are part of our data
    # model, anything else is not.
    if type(value) is bytes:
        return
    raise TypeError


if _orjson is not None:  # pragma: no branch - tested without orjson in a subprocess
    # Subclasses, dataclasses and datetimes must reach the hook, not be serialized.
    _OPTIONS = (
        _orjson.OPT_PASSTHROUGH_SUBCLASS
        | _orjson.OPT_PASSTHROUGH_DATACLASS
        | _orjson.OPT_PASSTHROUGH_DATETIME
    )


def check_decoded(value: Any, fmt: str) -> None:
    """Check that a decoded value is made of the WAMP data model only.

    Args:
        value: what a binary decoder produced.
        fmt: the format's name, for the error message.

    Raises:
        ProtocolError: naming the first offending type or key.
    """
    if _orjson is not None:
        try:
            _orjson.dumps(value, default=_allow_bytes, option=_OPTIONS)
        except TypeError:
            pass  # maybe fine (big int, deep nesting): the walk tells exactly
        else:
            return
    walk_check(value, fmt)


def walk_check(value: Any, fmt: str) -> None:
    """The exact check of :func:`check_decoded`, in Python (iterative: no recursion limit).

    Raises:
        ProtocolError: naming the first offending type or key.
    """
    scalars = _SCALARS
    stack = [value]
    pop = stack.pop
    while stack:
        item = pop()
        kind = type(item)
        if kind in scalars:
            continue
        if kind is list or kind is tuple:  # orjson takes tuples as lists: same verdict
            stack.extend(item)
        elif kind is dict:
            for key in item:
                if type(key) is not str:
                    raise ProtocolError(
                        f"{fmt}: a map key must be a string, got {type(key).__name__}"
                    )
            stack.extend(item.values())
        else:
            raise ProtocolError(
                f"{fmt}: values of type {kind.__name__} are not allowed in WAMP messages "
                "(JSON types and bytes only)"
            )


def find_nonfinite_float(value: Any) -> float | None:
    """Return the first NaN or infinite float inside ``value``, or ``None``.

    JSON has no such numbers; orjson would silently write them as ``null``.
    """
    stack = [value]
    pop = stack.pop
    while stack:
        item = pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return None


def reason(exc: BaseException) -> str:
    """The text of a library's exception, bounded: it may end up in an ABORT message."""
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
