"""The building blocks the authentication methods share.

Base64 text, HMAC-SHA256, XOR, constant-time comparison of what a peer sent, and the
bounds on the key-derivation costs a peer may ask of us. Pure, like the whole package.
"""

from __future__ import annotations

import base64
import hmac
from typing import Final

# Bounds on the KDF costs a peer may make us pay (a rogue router could otherwise make a
# client burn minutes or gigabytes). Autobahn's defaults are far inside them.
MAX_PBKDF2_ITERATIONS: Final = 10_000_000
MAX_ARGON2_ITERATIONS: Final = 100_000
MAX_ARGON2_MEMORY: Final = 2**21  # KiB = 2 GiB
MAX_KEYLEN: Final = 1024


def b64(data: bytes) -> str:
    """Padded base64 text, as the authentication messages carry bytes."""
    return base64.b64encode(data).decode("ascii")


def as_bytes(value: str | bytes, name: str) -> bytes:
    """A local argument as bytes (a str as UTF-8); anything else is a TypeError naming it."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    raise TypeError(f"{name} must be str or bytes, got {type(value).__name__}")


def xor(a: bytes, b: bytes) -> bytes:
    """Byte-wise XOR of two equally long byte strings."""
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def equal_text(expected: str, received: object) -> bool:
    """Constant-time equality of a str we computed and whatever the peer sent."""
    if not isinstance(received, str):
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


def hmac256(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 of ``data`` keyed by ``key``."""
    return hmac.new(key, data, "sha256").digest()
