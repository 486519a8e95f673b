"""WAMP-CRA (spec "Challenge Response Authentication"), with Crossbar's salted secrets."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from autostrada.exceptions import AuthenticationFailed

from .primitives import MAX_KEYLEN, MAX_PBKDF2_ITERATIONS, as_bytes, b64, equal_text, hmac256

# fmt: off
__all__ = [
    "WAMPCRA", "WAMPCRA_ITERATIONS", "WAMPCRA_KEYLEN",
    "derive_key", "compute_wcs", "format_timestamp", "make_wampcra_challenge",
    "wampcra_challenge_extra", "answer_wampcra", "verify_wampcra",
]
# fmt: on

WAMPCRA: Final = "wampcra"
WAMPCRA_ITERATIONS: Final = 1000
WAMPCRA_KEYLEN: Final = 32


def _peer_int(extra: Mapping[str, Any], key: str, default: int, high: int) -> int:
    """An int in 1..high from a CHALLENGE.Extra (absent or null: ``default``)."""
    value = extra.get(key)
    value = default if value is None else value
    if type(value) is not int or not 1 <= value <= high:
        raise AuthenticationFailed(f"challenge field {key!r} must be an int in 1..{high}")
    return value


def derive_key(
    secret: str | bytes,
    salt: str | bytes,
    iterations: int = WAMPCRA_ITERATIONS,
    keylen: int = WAMPCRA_KEYLEN,
) -> bytes:
    """Derive the WAMP-CRA key of a salted secret (spec "Password Salting").

    DIVERGENCES: the HMAC key is the *base64 text* of PBKDF2-HMAC-SHA256(secret, salt,
    iterations, keylen), as Autobahn computes it and Crossbar stores it as a salted
    principal's ``secret``. The salt is used as its UTF-8 bytes, not base64-decoded.

    Returns:
        the padded base64 text as ASCII bytes: the key for :func:`compute_wcs`.
    """
    if type(iterations) is not int or not 1 <= iterations <= MAX_PBKDF2_ITERATIONS:
        raise ValueError(f"iterations must be an int in 1..{MAX_PBKDF2_ITERATIONS}")
    if type(keylen) is not int or not 1 <= keylen <= MAX_KEYLEN:
        raise ValueError(f"keylen must be an int in 1..{MAX_KEYLEN}")
    raw = hashlib.pbkdf2_hmac(
        "sha256", as_bytes(secret, "secret"), as_bytes(salt, "salt"), iterations, keylen
    )
    return base64.b64encode(raw)


def compute_wcs(key: str | bytes, challenge: str | bytes) -> str:
    """A WAMP-CRA signature: base64 of HMAC-SHA256 keyed by ``key`` over ``challenge``.

    Args:
        key: the shared secret (unsalted) or :func:`derive_key`'s output (salted).
        challenge: ``CHALLENGE.Extra.challenge`` exactly as received.
    """
    return b64(hmac256(as_bytes(key, "key"), as_bytes(challenge, "challenge")))


def format_timestamp(now: datetime) -> str:
    """UTC time as deployed routers write it: ``2014-06-22T16:36:25.448Z``.

    A naive datetime is taken as UTC; an aware one is converted.
    """
    if now.tzinfo is not None:
        now = now.astimezone(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def make_wampcra_challenge(
    *,
    authid: str,
    authrole: str,
    authprovider: str,
    session_id: int,
    now: datetime | str,
    nonce: str | None = None,
    authmethod: str = WAMPCRA,
) -> str:
    """Router side: the JSON string for ``CHALLENGE.Extra.challenge``.

    It holds the seven members the spec requires, in Crossbar's order and spelling
    (``json.dumps(..., ensure_ascii=False)``). Keep it: :func:`verify_wampcra` needs it.

    Args:
        authid, authrole, authprovider: what the client gets on success.
        session_id: the session id the client gets on success.
        now: a datetime (see :func:`format_timestamp`) or an ISO 8601 string used verbatim.
        nonce: by default 64 random base64 characters, as Crossbar's.
        authmethod: ``"wampcra"``.
    """
    for name, value in (("authid", authid), ("authrole", authrole), ("authprovider", authprovider)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if type(session_id) is not int:
        raise TypeError("session_id must be an int")
    obj = {
        "authid": authid,
        "authrole": authrole,
        "authmethod": authmethod,
        "authprovider": authprovider,
        "session": session_id,
        "nonce": nonce if nonce is not None else b64(secrets.token_bytes(48)),
        "timestamp": now if isinstance(now, str) else format_timestamp(now),
    }
    return json.dumps(obj, ensure_ascii=False)


def wampcra_challenge_extra(
    challenge: str,
    *,
    salt: str | None = None,
    iterations: int = WAMPCRA_ITERATIONS,
    keylen: int = WAMPCRA_KEYLEN,
) -> dict[str, Any]:
    """Router side: ``CHALLENGE.Extra``; with a salt, also the PBKDF2 parameters."""
    extra: dict[str, Any] = {"challenge": challenge}
    if salt is not None:
        extra.update(salt=salt, iterations=iterations, keylen=keylen)
    return extra


def answer_wampcra(secret: str | bytes, extra: Mapping[str, Any]) -> str:
    """Client side: the AUTHENTICATE signature for a WAMP-CRA CHALLENGE.

    With a ``salt`` in the challenge the key is :func:`derive_key` of the secret, with the
    challenge's ``iterations`` and ``keylen`` (1000 and 32 when absent).

    Raises:
        AuthenticationFailed: the challenge is malformed.
    """
    if not isinstance(extra, Mapping):
        raise AuthenticationFailed("WAMP-CRA challenge extra must be a dict")
    challenge = extra.get("challenge")
    if not isinstance(challenge, str):
        raise AuthenticationFailed("WAMP-CRA challenge has no 'challenge' string")
    key = as_bytes(secret, "secret")
    salt = extra.get("salt")
    if salt is not None:
        if not isinstance(salt, str):
            raise AuthenticationFailed("WAMP-CRA challenge field 'salt' must be a string")
        iterations = _peer_int(extra, "iterations", WAMPCRA_ITERATIONS, MAX_PBKDF2_ITERATIONS)
        keylen = _peer_int(extra, "keylen", WAMPCRA_KEYLEN, MAX_KEYLEN)
        key = derive_key(key, salt, iterations, keylen)
    return compute_wcs(key, challenge)


def verify_wampcra(key: str | bytes, challenge: str, signature: object) -> bool:
    """Router side: tell whether an AUTHENTICATE signature answers a WAMP-CRA challenge.

    Args:
        key: the principal's secret; for a salted principal the derived key (Crossbar's
            ``secret`` then holds it; else compute it with :func:`derive_key`).
        challenge: the challenge string the router sent.
        signature: the AUTHENTICATE signature as it arrived (anything).
    """
    return equal_text(compute_wcs(key, challenge), signature)
