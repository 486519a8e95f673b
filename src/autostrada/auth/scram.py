"""WAMP-SCRAM (spec "Salted Challenge Response Authentication"), as Crossbar and
Autobahn deploy it: SASLprep, the argon2id/PBKDF2 salted password, both sides' exchange.

Argon2id needs ``argon2-cffi`` (``pip install 'autostrada[scram]'``), imported when first
used; PBKDF2 needs nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import stringprep
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, cast

from autostrada.exceptions import AuthenticationFailed, InvalidState

from .primitives import (
    MAX_ARGON2_ITERATIONS,
    MAX_ARGON2_MEMORY,
    MAX_PBKDF2_ITERATIONS,
    b64,
    hmac256,
    xor,
)

# fmt: off
__all__ = [
    "SCRAM", "SCRAM_AUTHMETHODS", "KDF_ARGON2ID", "KDF_PBKDF2",
    "saslprep", "scram_nonce", "scram_salted_password", "scram_auth_message",
    "scram_client_proof", "scram_server_signature",
    "ScramCredential", "ScramClient", "ScramServer",
]
# fmt: on

SCRAM: Final = "scram"
"""DIVERGENCES: Crossbar/Autobahn name SCRAM ``scram``, the spec ``wamp-scram``."""
SCRAM_AUTHMETHODS: Final = frozenset({"scram", "wamp-scram"})
"""What a router accepts as SCRAM."""
KDF_ARGON2ID: Final = "argon2id-13"
"""DIVERGENCES: the id Crossbar/Autobahn use; the spec's ``argon2id13`` is accepted too."""
KDF_PBKDF2: Final = "pbkdf2"
_KDF_NAMES: Final = {"argon2id-13": KDF_ARGON2ID, "argon2id13": KDF_ARGON2ID, "pbkdf2": KDF_PBKDF2}


def _peer_b64(value: object, what: str) -> bytes:
    """Decode canonical base64 from the peer, or raise AuthenticationFailed."""
    if not isinstance(value, str):
        raise AuthenticationFailed(f"{what} must be a base64 string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise AuthenticationFailed(f"{what} is not valid base64") from None
    if b64(data) != value:
        raise AuthenticationFailed(f"{what} is not canonical base64")
    return data


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
    return b64(secrets.token_bytes(nbytes))


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
    client_key = hmac256(salted_password, b"Client Key")
    return xor(client_key, hmac256(hashlib.sha256(client_key).digest(), auth_message))


def scram_server_signature(salted_password: bytes, auth_message: bytes) -> bytes:
    """``ServerSignature = HMAC(HMAC(SaltedPassword, "Server Key"), AuthMessage)``."""
    return hmac256(hmac256(salted_password, b"Server Key"), auth_message)


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
        stored_key = hashlib.sha256(hmac256(salted, b"Client Key")).digest()
        server_key = hmac256(salted, b"Server Key")
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
        # The salt is canonical base64, so b64(salt) is the very text the router sent.
        auth_message = scram_auth_message(
            self._authid, self._nonce, server_nonce, b64(salt), iterations
        )
        self._salted_password, self._auth_message = salted, auth_message
        return b64(scram_client_proof(salted, auth_message))

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
        self._server_nonce = b64(client_bytes + nonce_bytes)
        self._credential = credential
        salt_b64 = b64(credential.salt)
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
            "salt": b64(cred.salt),
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
        client_key = xor(hmac256(stored_key, self._auth_message), proof)
        self._verified = hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key)
        return self._verified

    def welcome_authextra(self) -> dict[str, str]:
        """WELCOME.Details.authextra proving the router: ``{"scram_server_signature": ...}``.

        Raises:
            InvalidState: no successful :meth:`verify` yet.
        """
        if not self._verified:
            raise InvalidState("welcome_authextra() before a successful verify()")
        signature = hmac256(self._credential.server_key, self._auth_message)
        return {"scram_server_signature": b64(signature)}

    def __repr__(self) -> str:
        return f"ScramServer(kdf={self._credential.kdf!r}, verified={self._verified})"
