"""Field checks and the known option/detail keys of each WAMP message.

Every check raises :class:`~autostrada.exceptions.ProtocolError` naming the message and
field (``CALL.Options.timeout``). Used by :mod:`autostrada.messages`; kept apart so that
the table of known keys reads as one list.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Callable
from typing import Any

from .exceptions import ProtocolError
from .ids import MAX_ID
from .uri import is_valid_uri


class _ShortRepr(reprlib.Repr):
    """A bounded repr: peer values can be deeply nested or huge, and must never make
    building an error message slow or raise (RecursionError, int digit limits)."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 64:
            return f"<{x.bit_length()}-bit integer>"
        return repr(x)


_short = _ShortRepr()
_short.maxlevel = 3
_short.maxstring = 40
_short.maxother = 40
_short.maxlong = 40


def show(value: object) -> str:
    """A short, safe description of a peer-provided value for error messages."""
    text = _short.repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def fail(field: str, expected: str, value: object) -> ProtocolError:
    return ProtocolError(f"{field} must be {expected}, got {show(value)}")


def check_id(value: Any, field: str) -> int:
    if type(value) is int and 1 <= value <= MAX_ID:
        return value
    raise fail(field, "an id (integer in 1..2^53)", value)


def check_uri(value: Any, field: str, match: str | None = None) -> str:
    if is_valid_uri(value, match=match):
        return value  # type: ignore[no-any-return]
    raise fail(field, "a URI" if match is None else f"a URI pattern for match={match}", value)


def check_string(value: Any, field: str) -> str:
    if type(value) is str:
        return value
    raise fail(field, "a string", value)


# A check of one known option/detail key: (test, description of what it must be).
Check = tuple[Callable[[Any], bool], str]


def _is_bool(v: Any) -> bool:
    return type(v) is bool


def _is_str(v: Any) -> bool:
    return type(v) is str


def _is_dict(v: Any) -> bool:
    return type(v) is dict


def _is_id(v: Any) -> bool:
    return type(v) is int and 1 <= v <= MAX_ID


def _is_uint(v: Any) -> bool:
    return type(v) is int and v >= 0


def _is_posint(v: Any) -> bool:
    return type(v) is int and v >= 1


def _is_id_list(v: Any) -> bool:
    return type(v) is list and all(_is_id(x) for x in v)


def _is_str_list(v: Any) -> bool:
    return type(v) is list and all(type(x) is str for x in v)


def _is_forward_for(v: Any) -> bool:
    # Router-to-router links: [{"session": id, "authid": str, "authrole": str}, ...]
    return type(v) is list and all(
        type(hop) is dict
        and _is_id(hop.get("session"))
        and type(hop.get("authid")) is str
        and type(hop.get("authrole")) is str
        for hop in v
    )


_CUSTOM = re.compile(r"^x_[a-z][0-9a-z_]*$")


def _one_of(*values: str) -> Check:
    allowed = frozenset(values)
    return (lambda v: type(v) is str and v in allowed, "one of " + ", ".join(values))


BOOL: Check = (_is_bool, "a bool")
STR: Check = (_is_str, "a string")
DICT: Check = (_is_dict, "a dict")
ID: Check = (_is_id, "an id (integer in 1..2^53)")
URI: Check = (is_valid_uri, "a URI")
UINT: Check = (_is_uint, "a non-negative integer")
POSINT: Check = (_is_posint, "a positive integer")
ID_LIST: Check = (_is_id_list, "a list of ids")
STR_LIST: Check = (_is_str_list, "a list of strings")
FORWARD_FOR: Check = (_is_forward_for, "a list of {session, authid, authrole} dicts")
MATCH = _one_of("exact", "prefix", "wildcard")
# Payload passthru mode (Advanced Profile): standard algorithms, or a custom x_... name.
ENC_ALGO: Check = (
    lambda v: type(v) is str and (v in ("cryptobox", "mqtt", "xbr") or bool(_CUSTOM.match(v))),
    "one of cryptobox, mqtt, xbr or a custom x_... name",
)
PASSTHRU = {"enc_algo": ENC_ALGO, "enc_serializer": STR, "enc_key": STR}
_ROUTED = {"forward_for": FORWARD_FOR}

# Known keys of each Options/Details dict, with their types (spec Advanced Profile
# feature sections; Autobahn/Crossbar for x_acknowledged_delivery).
HELLO_DETAILS: dict[str, Check] = {
    "roles": DICT,
    "authmethods": STR_LIST,
    "authid": STR,
    "authrole": STR,
    "authextra": DICT,
    "agent": STR,
    "resumable": BOOL,
}
WELCOME_DETAILS: dict[str, Check] = {
    "roles": DICT,
    "authid": STR,
    "authrole": STR,
    "authmethod": STR,
    "authprovider": STR,
    "authextra": DICT,
    "agent": STR,
    "realm": STR,
    "resumed": BOOL,
    "resumable": BOOL,
}
CLOSE_DETAILS: dict[str, Check] = {"message": STR}
NO_KNOWN_KEYS: dict[str, Check] = {}
PUBLISH_OPTIONS: dict[str, Check] = {
    "acknowledge": BOOL,
    "exclude_me": BOOL,
    "exclude": ID_LIST,
    "exclude_authid": STR_LIST,
    "exclude_authrole": STR_LIST,
    "eligible": ID_LIST,
    "eligible_authid": STR_LIST,
    "eligible_authrole": STR_LIST,
    "retain": BOOL,
    "disclose_me": BOOL,
    "transaction_hash": STR,
    **_ROUTED,
    **PASSTHRU,
}
SUBSCRIBE_OPTIONS: dict[str, Check] = {"match": MATCH, "get_retained": BOOL, **_ROUTED}
EVENT_DETAILS: dict[str, Check] = {
    "publisher": ID,
    "publisher_authid": STR,
    "publisher_authrole": STR,
    "topic": URI,
    "retained": BOOL,
    "transaction_hash": STR,
    "x_acknowledged_delivery": BOOL,
    **_ROUTED,
    **PASSTHRU,
}
CALL_OPTIONS: dict[str, Check] = {
    "timeout": UINT,
    "receive_progress": BOOL,
    "progress": BOOL,
    "disclose_me": BOOL,
    **_ROUTED,
    **PASSTHRU,
}
CANCEL_OPTIONS: dict[str, Check] = {"mode": _one_of("skip", "kill", "killnowait"), **_ROUTED}
RESULT_DETAILS: dict[str, Check] = {"progress": BOOL, **_ROUTED, **PASSTHRU}
REGISTER_OPTIONS: dict[str, Check] = {
    "match": MATCH,
    "invoke": _one_of("single", "roundrobin", "random", "first", "last"),
    "concurrency": POSINT,
    "force_reregister": BOOL,
    "disclose_caller": BOOL,
    **_ROUTED,
}
INVOCATION_DETAILS: dict[str, Check] = {
    "caller": ID,
    "caller_authid": STR,
    "caller_authrole": STR,
    "procedure": URI,
    "receive_progress": BOOL,
    "progress": BOOL,
    "timeout": UINT,
    **_ROUTED,
    **PASSTHRU,
}
INTERRUPT_OPTIONS: dict[str, Check] = {
    "mode": _one_of("kill", "killnowait"),
    "reason": STR,
    **_ROUTED,
}
YIELD_OPTIONS: dict[str, Check] = {"progress": BOOL, **_ROUTED, **PASSTHRU}
UNSUBSCRIBED_DETAILS: dict[str, Check] = {"subscription": ID, "reason": STR}
UNREGISTERED_DETAILS: dict[str, Check] = {"registration": ID, "reason": STR}


def check_dict(value: Any, field: str, known: dict[str, Check]) -> dict[str, Any]:
    if type(value) is not dict:
        raise fail(field, "a dict", value)
    for key, item in value.items():
        if type(key) is not str:
            raise fail(f"{field} key", "a string", key)
        check = known.get(key)
        if check is not None and not check[0](item):
            raise fail(f"{field}.{key}", check[1], item)
    return value


def parse_payload(
    wmsg: list[Any], start: int, meta: dict[str, Any], name: str
) -> tuple[list[Any] | None, dict[str, Any] | None, bytes | str | None]:
    """Parse the optional ``Arguments|list, ArgumentsKw|dict`` tail from ``wmsg[start:]``.

    Returns ``(args, kwargs, payload)``; ``payload`` is set instead of args/kwargs
    for a transparent payload (passthru mode: ``enc_algo`` in ``meta``).
    """
    n = len(wmsg)
    if n <= start:
        return None, None, None
    args = wmsg[start]
    if type(args) is not list:
        if "enc_algo" in meta and type(args) in (bytes, str) and n == start + 1:
            return None, None, args
        raise fail(f"{name}.Arguments", "a list", args)
    if n == start + 1:
        return args, None, None
    kwargs = wmsg[start + 1]
    if type(kwargs) is not dict:
        raise fail(f"{name}.ArgumentsKw", "a dict", kwargs)
    for key in kwargs:
        if type(key) is not str:
            raise fail(f"{name}.ArgumentsKw key", "a string", key)
    return args, kwargs, None


def append_payload(
    wmsg: list[Any], args: Any, kwargs: dict[str, Any] | None, payload: bytes | str | None
) -> list[Any]:
    if payload is not None:
        wmsg.append(payload)
    elif kwargs:
        wmsg.append(list(args) if args else [])
        wmsg.append(kwargs)
    elif args:
        wmsg.append(args if type(args) is list else list(args))
    return wmsg


def check_length(wmsg: list[Any], low: int, high: int, name: str) -> None:
    n = len(wmsg)
    if n < low or n > high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise ProtocolError(f"{name} must have {expected} elements, got {n}")
