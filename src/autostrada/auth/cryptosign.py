"""WAMP-Cryptosign (spec "Cryptosign-based Authentication"): Ed25519 keys, challenges,
signatures, and the optional TLS channel binding."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any, Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from autostrada.exceptions import AuthenticationFailed

from .primitives import as_bytes, xor

# fmt: off
__all__ = [
    "CRYPTOSIGN", "CHANNEL_BINDINGS",
    "CryptosignKey", "tls_channel_id", "cryptosign_message", "make_cryptosign_challenge",
    "parse_hex32", "answer_cryptosign", "verify_cryptosign", "cryptosign_authextra",
]
# fmt: on

CRYPTOSIGN: Final = "cryptosign"
CHANNEL_BINDINGS: Final = ("tls-unique", "tls-exporter")
"""Cryptosign TLS channel binding types (spec "TLS Channel Binding")."""

_HEX32 = re.compile(r"[0-9a-fA-F]{64}\Z")
_HEX96 = re.compile(r"[0-9a-fA-F]{192}\Z")
_MISSING: Any = object()


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
    return xor(challenge, channel_id)


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
            key = serialization.load_ssh_private_key(as_bytes(data, "data"), password)
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
