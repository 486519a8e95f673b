"""Authentication math for WAMP, both sides: ticket, WAMP-CRA, WAMP-Cryptosign, WAMP-SCRAM.

Spec: ``wamp-spec/rfc/text/advanced/authentication_*.md``. Where deployed Crossbar.io and
Autobahn differ from it we follow them; such places are marked ``DIVERGENCES:`` (see
``shared/DIVERGENCES.md``). Pure: no I/O, no clock (``now`` is an argument), randomness
from :mod:`secrets` unless the caller supplies it.

* **Client**: send a ticket as is; :func:`answer_wampcra`; :class:`CryptosignKey` with
  :func:`cryptosign_authextra` (HELLO) and :func:`answer_cryptosign`; :class:`ScramClient`.
* **Router**: :func:`verify_ticket`; :func:`make_wampcra_challenge`,
  :func:`wampcra_challenge_extra`, :func:`verify_wampcra`; :func:`make_cryptosign_challenge`,
  :func:`verify_cryptosign`; :class:`ScramServer` with a :class:`ScramCredential`.

Errors (DESIGN.md §3): **local misuse** (a malformed key, seed, credential or channel id
from our own caller or config) raises :class:`ValueError`/:class:`TypeError`. **Junk from
the peer** (CHALLENGE.Extra, HELLO authextra, AUTHENTICATE, WELCOME authextra) makes
``answer_*``, ``parse_*`` and the SCRAM classes raise
:class:`~autostrada.exceptions.AuthenticationFailed`, and makes every ``verify*`` return
``False``; it never raises anything else. Secrets never appear in messages or reprs, and
secret-derived values are compared with :func:`hmac.compare_digest`.

SCRAM with argon2id needs ``argon2-cffi`` (``pip install 'autostrada[scram]'``), imported
when first used; :class:`ImportError` naming the extra otherwise. PBKDF2 needs nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import stringprep
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, cast

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from autostrada.exceptions import AuthenticationFailed, InvalidState

# fmt: off
__all__ = [
    "TICKET", "WAMPCRA", "CRYPTOSIGN", "SCRAM", "SCRAM_AUTHMETHODS", "CHANNEL_BINDINGS",
    "KDF_ARGON2ID", "KDF_PBKDF2",
    "verify_ticket",
    "derive_key", "compute_wcs", "format_timestamp", "make_wampcra_challenge",
    "wampcra_challenge_extra", "answer_wampcra", "verify_wampcra",
    "CryptosignKey", "tls_channel_id", "cryptosign_message", "make_cryptosign_challenge",
    "parse_hex32", "answer_cryptosign", "verify_cryptosign", "cryptosign_authextra",
    "saslprep", "scram_nonce", "scram_salted_password", "scram_auth_message",
    "scram_client_proof", "scram_server_signature",
    "ScramCredential", "ScramClient", "ScramServer",
]
# fmt: on

TICKET: Final = "ticket"
WAMPCRA: Final = "wampcra"
CRYPTOSIGN: Final = "cryptosign"
SCRAM: Final = "scram"
"""DIVERGENCES: Crossbar/Autobahn name SCRAM ``scram``, the spec ``wamp-scram``."""
SCRAM_AUTHMETHODS: Final = frozenset({"scram", "wamp-scram"})
"""What a router accepts as SCRAM."""
KDF_ARGON2ID: Final = "argon2id-13"
"""DIVERGENCES: the id Crossbar/Autobahn use; the spec's ``argon2id13`` is accepted too."""
KDF_PBKDF2: Final = "pbkdf2"
_KDF_NAMES: Final = {"argon2id-13": KDF_ARGON2ID, "argon2id13": KDF_ARGON2ID, "pbkdf2": KDF_PBKDF2}
CHANNEL_BINDINGS: Final = ("tls-unique", "tls-exporter")
"""Cryptosign TLS channel binding types (spec "TLS Channel Binding")."""

# Bounds on the KDF costs a peer may make us pay (a rogue router could otherwise make a
# client burn minutes or gigabytes). Autobahn's defaults are far inside them.
MAX_PBKDF2_ITERATIONS: Final = 10_000_000
MAX_ARGON2_ITERATIONS: Final = 100_000
MAX_ARGON2_MEMORY: Final = 2**21  # KiB = 2 GiB
MAX_KEYLEN: Final = 1024

_HEX32 = re.compile(r"[0-9a-fA-F]{64}\Z")
_HEX96 = re.compile(r"[0-9a-fA-F]{192}\Z")
_MISSING: Any = object()


# --- helpers ------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _peer_b64(value: object, what: str) -> bytes:
    """Decode canonical base64 from the peer, or raise AuthenticationFailed."""
    if not isinstance(value, str):
        raise AuthenticationFailed(f"{what} must be a base64 string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise AuthenticationFailed(f"{what} is not valid base64") from None
    if _b64(data) != value:
        raise AuthenticationFailed(f"{what} is not canonical base64")
    return data


def _peer_int(extra: Mapping[str, Any], key: str, default: int, high: int) -> int:
    """An int in 1..high from a CHALLENGE.Extra (absent or null: ``default``)."""
    value = extra.get(key)
    value = default if value is None else value
    if type(value) is not int or not 1 <= value <= high:
        raise AuthenticationFailed(f"challenge field {key!r} must be an int in 1..{high}")
    return value


def _as_bytes(value: str | bytes, name: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    raise TypeError(f"{name} must be str or bytes, got {type(value).__name__}")


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _equal_text(expected: str, received: object) -> bool:
    """Constant-time equality of a str we computed and whatever the peer sent."""
    if not isinstance(received, str):
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


def _hmac256(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, "sha256").digest()


# --- ticket (spec "Ticket-based Authentication") ------------------------------------------


def verify_ticket(expected: str, received: object) -> bool:
    """Router side: is ``received`` (the AUTHENTICATE signature, anything) the ticket?

    The client sends its ticket verbatim as the AUTHENTICATE signature.
    """
    return _equal_text(expected, received)


# --- WAMP-CRA (spec "Challenge Response Authentication") ----------------------------------

WAMPCRA_ITERATIONS: Final = 1000
WAMPCRA_KEYLEN: Final = 32


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
        "sha256", _as_bytes(secret, "secret"), _as_bytes(salt, "salt"), iterations, keylen
    )
    return base64.b64encode(raw)


def compute_wcs(key: str | bytes, challenge: str | bytes) -> str:
    """A WAMP-CRA signature: base64 of HMAC-SHA256 keyed by ``key`` over ``challenge``.

    Args:
        key: the shared secret (unsalted) or :func:`derive_key`'s output (salted).
        challenge: ``CHALLENGE.Extra.challenge`` exactly as received.
    """
    return _b64(_hmac256(_as_bytes(key, "key"), _as_bytes(challenge, "challenge")))


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
        "nonce": nonce if nonce is not None else _b64(secrets.token_bytes(48)),
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
    key = _as_bytes(secret, "secret")
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
    return _equal_text(compute_wcs(key, challenge), signature)


# --- WAMP-Cryptosign (spec "Cryptosign-based Authentication") -----------------------------


def tls_channel_id(channel_binding: str, data: bytes) -> bytes:
    """The 32-byte channel id cryptosign XORs in, from the TLS channel binding data.

    * ``tls-unique``: SHA-256 of the RFC 5929 data (what
      ``ssl.SSLObject.get_channel_binding("tls-unique")`` returns), as Autobahn derives it.
    * ``tls-exporter``: the RFC 9266 exporter output (32 bytes), used as is.

    DIVERGENCES: Autobahn binds to 32 zero bytes when TLS has no tls-unique (TLS 1.3);
    empty data is refused here instead.
    """
    if not isinstance(data, bytes) or not data:
        raise ValueError(f"{channel_binding} channel binding data must be non-empty bytes")
    if channel_binding == "tls-unique":
        return hashlib.sha256(data).digest()
    if channel_binding == "tls-exporter":
        if len(data) != 32:
            raise ValueError("tls-exporter channel binding data must be 32 bytes")
        return data
    raise ValueError(f"channel_binding must be one of {CHANNEL_BINDINGS}, got {channel_binding!r}")


def cryptosign_message(
    challenge_hex: str, channel_binding: str | None = None, channel_id: bytes | None = None
) -> bytes:
    """The 32 bytes a cryptosign client signs: the challenge, XOR the channel id if bound.

    Spec "Computing the Signature". DIVERGENCES: no binding unless asked (older Crossbar
    XORs whenever TLS has a channel id), and never a binding to all-zero bytes.

    Raises:
        ValueError: malformed challenge, unknown binding, binding without a 32-byte
            channel id, channel id without binding, or an all-zero channel id.
    """
    if not isinstance(challenge_hex, str) or not _HEX32.match(challenge_hex):
        raise ValueError("challenge must be 32 bytes as 64 hex characters")
    challenge = bytes.fromhex(challenge_hex)
    if channel_binding is None:
        if channel_id is not None:
            raise ValueError("channel_id given without a channel_binding")
        return challenge
    if channel_binding not in CHANNEL_BINDINGS:
        raise ValueError(f"channel_binding must be one of {CHANNEL_BINDINGS} or None")
    if not isinstance(channel_id, bytes) or len(channel_id) != 32:
        raise ValueError(f"channel_binding {channel_binding!r} needs a 32-byte channel_id")
    if not any(channel_id):
        raise ValueError("channel_id is all zeros: the transport has no channel binding")
    return _xor(challenge, channel_id)


class CryptosignKey:
    """An Ed25519 private key for WAMP-Cryptosign (a client's, or a router's).

    Build it with :meth:`from_seed`, :meth:`from_hex` (Autobahn's ``privkey``),
    :meth:`from_openssh` or :meth:`generate`. Its ``repr`` shows the public key only.
    """

    __slots__ = ("_private", "_public")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError("private_key must be an Ed25519PrivateKey")
        self._private = private_key
        self._public = private_key.public_key().public_bytes_raw()

    @classmethod
    def generate(cls) -> CryptosignKey:
        """A new random key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> CryptosignKey:
        """The key of a 32-byte Ed25519 seed (RFC 8032 private key)."""
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise ValueError("seed must be 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_hex(cls, seed_hex: str) -> CryptosignKey:
        """The key of a seed given as 64 hex characters (Autobahn's ``privkey``)."""
        if not isinstance(seed_hex, str) or not _HEX32.match(seed_hex):
            raise ValueError("private key must be 32 bytes as 64 hex characters")
        return cls.from_seed(bytes.fromhex(seed_hex))

    @classmethod
    def from_openssh(cls, data: str | bytes, password: bytes | None = None) -> CryptosignKey:
        """The key in an OpenSSH private key file's text (``ssh-keygen -t ed25519``).

        ``password`` decrypts an encrypted key (that needs the ``bcrypt`` package).
        """
        try:
            key = serialization.load_ssh_private_key(_as_bytes(data, "data"), password)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ValueError("not a readable OpenSSH private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the OpenSSH private key is not an Ed25519 key")
        return cls(key)

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key."""
        return self._public

    @property
    def public_key_hex(self) -> str:
        """The public key as ``authextra.pubkey`` carries it (64 lowercase hex)."""
        return self._public.hex()

    def seed_hex(self) -> str:
        """The private seed, 64 hex characters. A secret: for storing the key only."""
        return self._private.private_bytes_raw().hex()

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return self._private.sign(data)

    def sign_challenge(
        self,
        challenge_hex: str,
        channel_binding: str | None = None,
        channel_id: bytes | None = None,
    ) -> str:
        """Hex of signature (64 bytes) + signed message (32): 192 characters.

        That is what Autobahn sends and Crossbar checks; the message and the errors are
        :func:`cryptosign_message`'s.
        """
        message = cryptosign_message(challenge_hex, channel_binding, channel_id)
        return (self.sign(message) + message).hex()

    def __repr__(self) -> str:
        return f"CryptosignKey(public_key={self.public_key_hex!r})"


def make_cryptosign_challenge() -> str:
    """Router side: a new challenge, 32 random bytes as 64 hex characters."""
    return secrets.token_hex(32)


def parse_hex32(value: object, what: str = "pubkey") -> str:
    """Check a 32-byte hex value from the peer (a pubkey, a challenge); return it lowercase.

    Raises:
        AuthenticationFailed: it is not 64 hex characters.
    """
    if not isinstance(value, str) or not _HEX32.match(value):
        raise AuthenticationFailed(f"{what} must be 32 bytes as 64 hex characters")
    return value.lower()


def verify_cryptosign(
    pubkey_hex: str,
    challenge_hex: str,
    signature: object,
    channel_binding: str | None = None,
    channel_id: bytes | None = None,
) -> bool:
    """Tell whether a cryptosign signature answers a challenge.

    True when ``signature`` is 96 bytes in hex whose last 32 are the expected message
    (:func:`cryptosign_message`) and whose first 64 are its Ed25519 signature by
    ``pubkey_hex``. Routers check AUTHENTICATE with it; clients check the spec's router
    authentication (``CHALLENGE.Extra.signature`` over their own HELLO challenge).

    Args:
        pubkey_hex: the signer's key from config (run :func:`parse_hex32` on a peer's).
        challenge_hex: the challenge we sent.
        signature: the signature as it arrived (anything).
        channel_binding: the binding the client asked for in HELLO, or None.
        channel_id: the transport's 32-byte channel id for that binding.

    Raises:
        ValueError: a malformed local argument (never for ``signature``).
    """
    if not isinstance(pubkey_hex, str) or not _HEX32.match(pubkey_hex):
        raise ValueError("pubkey must be 32 bytes as 64 hex characters")
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(pubkey_hex))
    expected = cryptosign_message(challenge_hex, channel_binding, channel_id)
    if not isinstance(signature, str) or not _HEX96.match(signature):
        return False
    raw = bytes.fromhex(signature)
    if not hmac.compare_digest(raw[64:], expected):
        return False
    try:
        public.verify(raw[:64], expected)
    except InvalidSignature:
        return False
    return True


def answer_cryptosign(
    key: CryptosignKey,
    extra: Mapping[str, Any],
    *,
    channel_binding: str | None = None,
    channel_id: bytes | None = None,
) -> str:
    """Client side: the AUTHENTICATE signature for a cryptosign CHALLENGE.

    ``channel_binding`` is what *we* asked for in HELLO. The spec says the client MUST check
    the binding in use is the requested one: a CHALLENGE naming another (``null`` included,
    a downgrade) is refused. Crossbar does not echo the binding, so an absent
    ``channel_binding`` means "as requested".

    Args:
        key: our private key.
        extra: ``CHALLENGE.Extra`` as received.
        channel_binding: HELLO.Details.authextra.channel_binding, or None.
        channel_id: the transport's channel id for it (see :func:`tls_channel_id`).

    Raises:
        AuthenticationFailed: a malformed challenge or a binding mismatch.
        ValueError: ``channel_binding`` and ``channel_id`` do not fit (local misuse).
    """
    if not isinstance(extra, Mapping):
        raise AuthenticationFailed("cryptosign challenge extra must be a dict")
    challenge = parse_hex32(extra.get("challenge"), "cryptosign challenge")
    echoed = extra.get("channel_binding", _MISSING)
    if echoed is not _MISSING and echoed != channel_binding:
        raise AuthenticationFailed(
            f"router's channel binding {echoed!r:.40} is not the requested {channel_binding!r}"
        )
    return key.sign_challenge(challenge, channel_binding, channel_id)


def cryptosign_authextra(
    key: CryptosignKey,
    *,
    channel_binding: str | None = None,
    authextra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Client side: HELLO.Details.authextra for cryptosign, from Autobahn-style config.

    Autobahn's ``{"cryptosign": {"privkey": ..., "authextra": {...}}}`` may hold ``pubkey``
    and ``channel_binding`` in ``authextra``. Returns a new dict with ``pubkey`` set and
    ``channel_binding`` only when one is asked for; ``authextra`` is not mutated.

    Raises:
        ValueError: ``authextra.pubkey`` is not our key's, or the channel binding is
            unknown or given twice with different values.
    """
    out = dict(authextra or {})
    pubkey = out.setdefault("pubkey", key.public_key_hex)
    if not isinstance(pubkey, str) or pubkey.lower() != key.public_key_hex:
        raise ValueError("authextra.pubkey does not match the private key")
    configured = out.pop("channel_binding", None)
    if channel_binding is None:
        channel_binding = configured
    elif configured is not None and configured != channel_binding:
        raise ValueError("authextra.channel_binding conflicts with channel_binding")
    if channel_binding is not None:
        if channel_binding not in CHANNEL_BINDINGS:
            raise ValueError(f"channel_binding must be one of {CHANNEL_BINDINGS} or None")
        out["channel_binding"] = channel_binding
    return out


# --- WAMP-SCRAM (spec "Salted Challenge Response Authentication") -------------------------

# RFC 4013 §2.3 prohibited output, and §2.5 unassigned code points (as for stored strings).
_SASLPREP_PROHIBITED: tuple[Callable[[str], bool], ...] = (
    stringprep.in_table_c12,
    stringprep.in_table_c21_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
    stringprep.in_table_a1,
)


def saslprep(text: str) -> str:
    """SASLprep (RFC 4013): how deployed SCRAM normalizes the authid (passlib's, there).

    Raises:
        ValueError: a prohibited character, or a breach of the bidi rules.
    """
    # RFC 4013 §2.1: non-ASCII spaces become SPACE; "commonly mapped to nothing" goes.
    mapped = "".join(
        " " if stringprep.in_table_c12(c) else c for c in text if not stringprep.in_table_b1(c)
    )
    norm = unicodedata.normalize("NFKC", mapped)  # §2.2
    for c in norm:  # §2.3, §2.5
        if any(check(c) for check in _SASLPREP_PROHIBITED):
            raise ValueError(f"saslprep: prohibited character U+{ord(c):04X}")
    # §2.4 = RFC 3454 §6: with any RandALCat, no LCat, and RandALCat first and last.
    if any(stringprep.in_table_d1(c) for c in norm) and (
        any(stringprep.in_table_d2(c) for c in norm)
        or not (stringprep.in_table_d1(norm[0]) and stringprep.in_table_d1(norm[-1]))
    ):
        raise ValueError("saslprep: string breaks the bidirectional text rules")
    return norm


def scram_nonce(nbytes: int = 16) -> str:
    """A client nonce: ``nbytes`` random bytes in base64 (spec "Nonces": 16 recommended)."""
    return _b64(secrets.token_bytes(nbytes))


def _load_argon2() -> Any:
    try:
        from argon2 import low_level  # noqa: PLC0415 - the optional extra, loaded on use
    except ImportError:
        raise ImportError(
            "SCRAM with argon2id needs argon2-cffi: pip install 'autostrada[scram]'"
        ) from None
    return low_level


def _kdf_name(kdf: object) -> str | None:
    return _KDF_NAMES.get(kdf) if isinstance(kdf, str) else None


def _kdf_problem(kdf: str, salt: bytes, iterations: object, memory: object) -> str | None:
    """What is wrong with these KDF parameters (None: they are usable)."""
    if kdf == KDF_PBKDF2:
        if type(iterations) is not int or not 1 <= iterations <= MAX_PBKDF2_ITERATIONS:
            return f"pbkdf2 iterations must be an int in 1..{MAX_PBKDF2_ITERATIONS}"
        return None
    if len(salt) < 8:
        return "argon2id salt must be at least 8 bytes"
    if type(iterations) is not int or not 1 <= iterations <= MAX_ARGON2_ITERATIONS:
        return f"argon2id iterations must be an int in 1..{MAX_ARGON2_ITERATIONS}"
    if type(memory) is not int or not 8 <= memory <= MAX_ARGON2_MEMORY:
        return f"argon2id memory must be an int in 8..{MAX_ARGON2_MEMORY} (KiB)"
    return None


def scram_salted_password(
    password: str, kdf: str, salt: bytes, iterations: int, memory: int | None = None
) -> bytes:
    """SCRAM ``SaltedPassword`` as deployed peers use it for the HMAC key.

    * ``argon2id-13``/``argon2id13``: Argon2id v1.3, parallelism 1, 32 bytes (spec
      "Argon2"). DIVERGENCES: the key is the unpadded base64 *text* of the hash, as in
      argon2's encoded (PHC) string, not the raw bytes.
    * ``pbkdf2``: PBKDF2-HMAC-SHA256, 32 raw bytes (spec "PBKDF2"; Autobahn's pbkdf2 path
      cannot run, so there is no deployed form to match).

    The password is used as UTF-8, not SASLprep-normalized, as Autobahn does.

    Args:
        password: the user's password.
        kdf: the kdf id.
        salt: the salt bytes (``CHALLENGE.Extra.salt`` base64-decoded).
        iterations: time cost (argon2id) or iteration count (pbkdf2).
        memory: argon2id memory cost in KiB; unused by pbkdf2.

    Raises:
        ValueError: unknown kdf or unusable parameters.
        ImportError: argon2id without ``argon2-cffi``.
    """
    name = _kdf_name(kdf)
    if name is None:
        raise ValueError(f"unknown SCRAM kdf {kdf!r}; use {KDF_ARGON2ID!r} or {KDF_PBKDF2!r}")
    problem = _kdf_problem(name, salt, iterations, memory)
    if problem:
        raise ValueError(problem)
    secret = password.encode("utf-8")
    if name == KDF_PBKDF2:
        return hashlib.pbkdf2_hmac("sha256", secret, salt, iterations, 32)
    argon2 = _load_argon2()
    raw: bytes = argon2.hash_secret_raw(
        secret,
        salt,
        time_cost=iterations,
        memory_cost=memory,
        parallelism=1,
        hash_len=32,
        type=argon2.Type.ID,
        version=0x13,
    )
    return base64.b64encode(raw).rstrip(b"=")


def scram_auth_message(
    authid: str, client_nonce: str, server_nonce: str, salt_b64: str, iterations: int
) -> bytes:
    """SCRAM ``AuthMessage`` as deployed peers build it (spec "AuthMessage").

    ``n=<saslprep(authid)>,r=<client nonce>,r=<server nonce>,s=<salt>,i=<iterations>,c=,
    r=<server nonce>``. DIVERGENCES: ``c=`` is empty (spec: ``c=Base64("n,,")``); the
    authid is not escaped (Crossbar and Autobahn do neither).
    """
    return (
        f"n={saslprep(authid)},r={client_nonce},r={server_nonce},s={salt_b64},i={iterations},"
        f"c=,r={server_nonce}"
    ).encode()


def scram_client_proof(salted_password: bytes, auth_message: bytes) -> bytes:
    """``ClientProof = ClientKey XOR HMAC(SHA256(ClientKey), AuthMessage)`` (RFC 5802 §3)."""
    client_key = _hmac256(salted_password, b"Client Key")
    return _xor(client_key, _hmac256(hashlib.sha256(client_key).digest(), auth_message))


def scram_server_signature(salted_password: bytes, auth_message: bytes) -> bytes:
    """``ServerSignature = HMAC(HMAC(SaltedPassword, "Server Key"), AuthMessage)``."""
    return _hmac256(_hmac256(salted_password, b"Server Key"), auth_message)


@dataclass(frozen=True)
class ScramCredential:
    """What a router stores for a SCRAM user (spec "Data Stored on the Server").

    Crossbar's principal holds it as ``kdf``, ``iterations``, ``memory``, ``salt``,
    ``stored-key``, ``server-key`` (the last three in hex): :meth:`from_config`,
    :meth:`to_config`. The keys stay out of the ``repr``.

    Raises:
        ValueError: unknown kdf, unusable parameters or keys not 32 bytes.
    """

    kdf: str
    iterations: int
    memory: int | None
    salt: bytes
    stored_key: bytes = field(repr=False)
    server_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        name = _kdf_name(self.kdf)
        if name is None:
            raise ValueError(f"unknown SCRAM kdf {self.kdf!r}")
        object.__setattr__(self, "kdf", name)
        if name == KDF_PBKDF2:
            object.__setattr__(self, "memory", None)
        problem = _kdf_problem(name, self.salt, self.iterations, self.memory)
        if problem:
            raise ValueError(problem)
        if len(self.stored_key) != 32 or len(self.server_key) != 32:
            raise ValueError("stored_key and server_key must be 32 bytes each")

    @classmethod
    def from_password(
        cls,
        password: str,
        *,
        kdf: str = KDF_ARGON2ID,
        salt: bytes | None = None,
        iterations: int | None = None,
        memory: int | None = None,
    ) -> ScramCredential:
        """Derive a credential from a password.

        Defaults: argon2id at Autobahn's ``derive_scram_credential`` costs (4096 iterations,
        512 KiB), pbkdf2 at 600 000 iterations (OWASP 2023); a random 16-byte salt.
        """
        name = _kdf_name(kdf)
        if name is None:
            raise ValueError(f"unknown SCRAM kdf {kdf!r}")
        salt = secrets.token_bytes(16) if salt is None else salt
        if name == KDF_ARGON2ID:
            iterations = 4096 if iterations is None else iterations
            memory = 512 if memory is None else memory
        else:
            iterations = 600_000 if iterations is None else iterations
        salted = scram_salted_password(password, name, salt, iterations, memory)
        stored_key = hashlib.sha256(_hmac256(salted, b"Client Key")).digest()
        server_key = _hmac256(salted, b"Server Key")
        return cls(name, iterations, memory, salt, stored_key, server_key)

    @classmethod
    def from_config(cls, principal: Mapping[str, Any]) -> ScramCredential:
        """Read a Crossbar SCRAM principal (``salt``, ``stored-key``, ``server-key`` in hex).

        Raises:
            ValueError: a member is missing or malformed.
        """
        try:
            kdf, iterations = principal["kdf"], principal["iterations"]
            hex_fields = [principal[k] for k in ("salt", "stored-key", "server-key")]
        except KeyError as exc:
            raise ValueError(f"SCRAM principal lacks {exc.args[0]!r}") from None
        try:
            salt, stored_key, server_key = (bytes.fromhex(v) for v in hex_fields)
        except (TypeError, ValueError):
            raise ValueError("SCRAM principal salt/stored-key/server-key must be hex") from None
        return cls(kdf, iterations, principal.get("memory"), salt, stored_key, server_key)

    def to_config(self) -> dict[str, Any]:
        """The Crossbar principal form (hex strings).

        Crossbar's config checker wants ``memory`` as an int even for pbkdf2 (``None``
        is refused), so pbkdf2 credentials carry ``memory: 0``.
        """
        return {
            "kdf": self.kdf,
            "iterations": self.iterations,
            "memory": self.memory if self.memory is not None else 0,
            "salt": self.salt.hex(),
            "stored-key": self.stored_key.hex(),
            "server-key": self.server_key.hex(),
        }


def _nonce_extends(client_nonce: str, server_nonce: str) -> bool:
    """Does the server nonce extend the client's? (The client MUST check, spec "Initial
    Server Authentication Message".) Crossbar appends bytes and base64s the whole; the
    spec's example appends text. Both are accepted."""
    if len(server_nonce) > len(client_nonce) and server_nonce.startswith(client_nonce):
        return True
    try:
        mine = base64.b64decode(client_nonce, validate=True)
        theirs = base64.b64decode(server_nonce, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(theirs) > len(mine) and theirs.startswith(mine)


class ScramClient:
    """Client side of one SCRAM exchange: HELLO authextra, AUTHENTICATE, WELCOME check.

    Example::

        scram = ScramClient("alice", password)
        # HELLO: authmethods ["scram"], authid "alice", authextra scram.authextra
        signature = scram.answer(challenge.extra)  # -> AUTHENTICATE signature
        scram.verify_welcome(welcome.details.get("authextra"))  # mutual authentication

    Args:
        authid: the authid sent in HELLO.
        password: the user's password.
        nonce: the client nonce (default: :func:`scram_nonce`).

    Raises:
        ValueError: ``authid`` fails SASLprep.
    """

    __slots__ = ("_auth_message", "_authid", "_nonce", "_password", "_salted_password")

    def __init__(self, authid: str, password: str, *, nonce: str | None = None) -> None:
        if not isinstance(authid, str) or not isinstance(password, str):
            raise TypeError("authid and password must be str")
        self._authid = saslprep(authid)
        self._password = password
        self._nonce = scram_nonce() if nonce is None else nonce
        self._salted_password: bytes | None = None
        self._auth_message = b""

    @property
    def authextra(self) -> dict[str, Any]:
        """HELLO.Details.authextra: ``{"nonce": <client nonce>}``."""
        return {"nonce": self._nonce}

    def answer(self, extra: Mapping[str, Any]) -> str:
        """The AUTHENTICATE signature (base64 ``ClientProof``) for a CHALLENGE.Extra.

        Raises:
            AuthenticationFailed: a malformed challenge, a nonce not extending ours, an
                unknown kdf, costs out of bounds, or a channel binding (deployed SCRAM
                has none).
            ImportError: argon2id without ``argon2-cffi``.
        """
        if not isinstance(extra, Mapping):
            raise AuthenticationFailed("SCRAM challenge extra must be a dict")
        server_nonce = extra.get("nonce")
        if not isinstance(server_nonce, str) or not _nonce_extends(self._nonce, server_nonce):
            raise AuthenticationFailed("SCRAM challenge nonce does not extend the client nonce")
        kdf = _kdf_name(extra.get("kdf"))
        if kdf is None:
            raise AuthenticationFailed("SCRAM challenge names an unknown kdf")
        if extra.get("channel_binding") not in (None, ""):
            raise AuthenticationFailed("SCRAM channel binding is not supported")
        salt = _peer_b64(extra.get("salt"), "SCRAM salt")
        iterations, memory = extra.get("iterations"), extra.get("memory")
        problem = _kdf_problem(kdf, salt, iterations, memory)
        if problem:
            raise AuthenticationFailed(f"SCRAM challenge: {problem}")
        iterations = cast(int, iterations)  # checked by _kdf_problem
        salted = scram_salted_password(self._password, kdf, salt, iterations, memory)
        # The salt is canonical base64, so _b64(salt) is the very text the router sent.
        auth_message = scram_auth_message(
            self._authid, self._nonce, server_nonce, _b64(salt), iterations
        )
        self._salted_password, self._auth_message = salted, auth_message
        return _b64(scram_client_proof(salted, auth_message))

    def verify_welcome(self, authextra: Mapping[str, Any] | None) -> None:
        """Check the router's ``ServerSignature`` in WELCOME.Details.authextra.

        DIVERGENCES: Crossbar sends ``scram_server_signature``, the spec ``verifier`` (its
        example as ``v=...``); whichever is present is checked. A missing one fails: the
        router would not be authenticated.

        Raises:
            AuthenticationFailed: no signature, or a wrong one.
            InvalidState: :meth:`answer` was not called first.
        """
        if self._salted_password is None:
            raise InvalidState("verify_welcome() before answer()")
        extra = authextra if isinstance(authextra, Mapping) else {}
        value = extra.get("scram_server_signature", extra.get("verifier"))
        if value is None:
            raise AuthenticationFailed("router sent no SCRAM server signature")
        if isinstance(value, str) and value.startswith("v="):
            value = value[2:]
        received = _peer_b64(value, "SCRAM server signature")
        expected = scram_server_signature(self._salted_password, self._auth_message)
        if not hmac.compare_digest(expected, received):
            raise AuthenticationFailed("SCRAM server signature is wrong")

    def __repr__(self) -> str:
        return f"ScramClient(authid={self._authid!r})"


class ScramServer:
    """Router side of one SCRAM exchange: CHALLENGE, AUTHENTICATE check, WELCOME authextra.

    Example::

        scram = ScramServer(details.get("authid"), details.get("authextra"), credential)
        # CHALLENGE: authmethod as the client named it, extra scram.challenge_extra
        if scram.verify(authenticate.signature, authenticate.extra):
            ...  # WELCOME with authextra scram.welcome_authextra()

    Args:
        authid: HELLO.Details.authid (from the peer).
        authextra: HELLO.Details.authextra (from the peer), with the client ``nonce``.
        credential: the user's stored credential.
        nonce_bytes: the server's random part of the nonce (default: 16 from
            :mod:`secrets`).

    Raises:
        AuthenticationFailed: the authid or the client nonce is missing or malformed, or a
            channel binding is asked for.
    """

    __slots__ = ("_auth_message", "_credential", "_server_nonce", "_verified")

    def __init__(
        self,
        authid: object,
        authextra: object,
        credential: ScramCredential,
        *,
        nonce_bytes: bytes | None = None,
    ) -> None:
        if not isinstance(authid, str):
            raise AuthenticationFailed("SCRAM needs an authid")
        hello = authextra if isinstance(authextra, Mapping) else {}
        client_nonce = hello.get("nonce")
        if not isinstance(client_nonce, str) or not 0 < len(client_nonce) <= 256:
            raise AuthenticationFailed("SCRAM needs a client nonce of 1..256 characters")
        if hello.get("channel_binding") not in (None, ""):  # spec: MUST abort if unsupported
            raise AuthenticationFailed("SCRAM channel binding is not supported")
        client_bytes = _peer_b64(client_nonce, "SCRAM client nonce")
        nonce_bytes = secrets.token_bytes(16) if nonce_bytes is None else nonce_bytes
        # Crossbar's form: base64(client nonce bytes + server random bytes).
        self._server_nonce = _b64(client_bytes + nonce_bytes)
        self._credential = credential
        salt_b64 = _b64(credential.salt)
        try:
            self._auth_message = scram_auth_message(
                authid, client_nonce, self._server_nonce, salt_b64, credential.iterations
            )
        except ValueError:
            raise AuthenticationFailed("SCRAM authid fails SASLprep") from None
        self._verified = False

    @property
    def challenge_extra(self) -> dict[str, Any]:
        """CHALLENGE.Extra: ``nonce``, ``kdf``, ``salt``, ``iterations`` (and ``memory``).

        ``memory`` is left out for pbkdf2: Autobahn's client calls ``int()`` on it.
        """
        cred = self._credential
        extra: dict[str, Any] = {
            "nonce": self._server_nonce,
            "kdf": cred.kdf,
            "salt": _b64(cred.salt),
            "iterations": cred.iterations,
        }
        if cred.memory is not None:
            extra["memory"] = cred.memory
        return extra

    def verify(self, signature: object, extra: object = None) -> bool:
        """Check an AUTHENTICATE (spec "ClientProof": recover and compare StoredKey).

        Args:
            signature: AUTHENTICATE.Signature as it arrived (anything).
            extra: AUTHENTICATE.Extra. Autobahn sends ``{}``; a spec client sends
                ``nonce`` (must be ours) and ``channel_binding`` (must be null).
        """
        self._verified = False
        if isinstance(extra, Mapping):
            nonce = extra.get("nonce", self._server_nonce)
            if nonce != self._server_nonce or extra.get("channel_binding") not in (None, ""):
                return False
        try:
            proof = _peer_b64(signature, "SCRAM client proof")
        except AuthenticationFailed:
            return False
        if len(proof) != 32:
            return False
        stored_key = self._credential.stored_key
        client_key = _xor(_hmac256(stored_key, self._auth_message), proof)
        self._verified = hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key)
        return self._verified

    def welcome_authextra(self) -> dict[str, str]:
        """WELCOME.Details.authextra proving the router: ``{"scram_server_signature": ...}``.

        Raises:
            InvalidState: no successful :meth:`verify` yet.
        """
        if not self._verified:
            raise InvalidState("welcome_authextra() before a successful verify()")
        signature = _hmac256(self._credential.server_key, self._auth_message)
        return {"scram_server_signature": _b64(signature)}

    def __repr__(self) -> str:
        return f"ScramServer(kdf={self._credential.kdf!r}, verified={self._verified})"
