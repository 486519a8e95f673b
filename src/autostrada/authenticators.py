"""Client-side authenticators: answer a router's CHALLENGE for one auth method.

The configuration is Autobahn's: ``create_authenticator("wampcra", authid="joe",
secret="s3cr3t")``, the same keyword arguments as the values of a Component's
``authentication={"wampcra": {...}}`` dict. Unknown or missing keys are a
``ValueError`` naming them, at construction, before any connection is made.

The math lives in :mod:`autostrada.auth`; this module only holds the credentials and
picks the right function. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from autostrada import auth
from autostrada.exceptions import AuthenticationFailed
from autostrada.types import Challenge

__all__ = [
    "AUTHENTICATORS",
    "AuthAnonymous",
    "AuthCryptosign",
    "AuthScram",
    "AuthTicket",
    "AuthWampCra",
    "Authenticator",
    "create_authenticator",
]


class Authenticator:
    """Base class: one auth method's credentials and how to answer its challenge."""

    name: ClassVar[str]
    required: ClassVar[frozenset[str]] = frozenset()
    optional: ClassVar[frozenset[str]] = frozenset({"authid", "authrole", "authextra"})

    def __init__(self, **kwargs: Any) -> None:
        allowed = self.required | self.optional
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            raise ValueError(
                f"{self.name} authentication: unknown key(s) {', '.join(map(repr, unknown))} "
                f"(allowed: {', '.join(sorted(allowed))})"
            )
        missing = sorted(k for k in self.required if kwargs.get(k) is None)
        if missing:
            raise ValueError(
                f"{self.name} authentication: missing key(s) {', '.join(map(repr, missing))}"
            )
        self.authid: str | None = _optional_str(self.name, "authid", kwargs.get("authid"))
        self.authrole: str | None = _optional_str(self.name, "authrole", kwargs.get("authrole"))
        extra = kwargs.get("authextra")
        if extra is not None and not isinstance(extra, Mapping):
            raise ValueError(f"{self.name} authentication: authextra must be a dict")
        self._authextra: dict[str, Any] = dict(extra or {})

    @property
    def authextra(self) -> dict[str, Any]:
        """What to send in ``HELLO.Details.authextra`` (a fresh dict each time)."""
        return dict(self._authextra)

    def on_challenge(self, challenge: Challenge, channel_id: Mapping[str, bytes]) -> str:
        """Return the AUTHENTICATE signature for ``challenge``.

        Raises:
            AuthenticationFailed: the challenge is malformed or cannot be answered.
        """
        raise AuthenticationFailed(f"{self.name} authentication does not expect a challenge")

    def on_welcome(self, authextra: Mapping[str, Any]) -> None:
        """Check the router's WELCOME (e.g. its SCRAM proof); raise if it is wrong."""

    def __repr__(self) -> str:  # never show a secret
        return f"<{type(self).__name__} authid={self.authid!r}>"


def _optional_str(method: str, key: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{method} authentication: {key} must be a string, got {value!r}")
    return value


def _required_str(method: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{method} authentication: {key} must be a non-empty string")
    return value


class AuthAnonymous(Authenticator):
    """``anonymous``: no credentials."""

    name = "anonymous"


class AuthTicket(Authenticator):
    """``ticket``: a shared secret sent as is (use it over TLS only)."""

    name = "ticket"
    required = frozenset({"ticket"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ticket = _required_str(self.name, "ticket", kwargs["ticket"])

    def on_challenge(self, challenge: Challenge, channel_id: Mapping[str, bytes]) -> str:
        return self._ticket


class AuthWampCra(Authenticator):
    """``wampcra``: HMAC-SHA256 challenge-response with a shared secret (salted or not)."""

    name = "wampcra"
    required = frozenset({"authid", "secret"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        secret = kwargs["secret"]
        if not isinstance(secret, str | bytes) or not secret:
            raise ValueError("wampcra authentication: secret must be a non-empty string")
        self._secret: str | bytes = secret

    def on_challenge(self, challenge: Challenge, channel_id: Mapping[str, bytes]) -> str:
        return auth.answer_wampcra(self._secret, challenge.extra)


class AuthCryptosign(Authenticator):
    """``cryptosign``: Ed25519 signature of the router's challenge.

    Keys: ``privkey`` (the 32-byte seed as hex, as Autobahn takes it), optional
    ``authextra`` (``pubkey`` is filled in), optional ``channel_binding``
    (``"tls-unique"`` or ``"tls-exporter"``; none unless asked).
    """

    name = "cryptosign"
    required = frozenset({"privkey"})
    optional = Authenticator.optional | {"channel_binding", "pubkey"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        privkey = kwargs["privkey"]
        try:
            if isinstance(privkey, auth.CryptosignKey):
                self._key = privkey
            else:
                self._key = auth.CryptosignKey.from_hex(
                    _required_str(self.name, "privkey", privkey)
                )
        except ValueError as exc:
            raise ValueError(f"cryptosign authentication: privkey is not usable ({exc})") from None
        if kwargs.get("pubkey") is not None:
            self._authextra.setdefault("pubkey", kwargs["pubkey"])
        self._authextra = auth.cryptosign_authextra(
            self._key, channel_binding=kwargs.get("channel_binding"), authextra=self._authextra
        )
        self.channel_binding: str | None = self._authextra.get("channel_binding")

    @property
    def public_key_hex(self) -> str:
        """Our public key, as the router's principal config lists it."""
        return self._key.public_key_hex

    def on_challenge(self, challenge: Challenge, channel_id: Mapping[str, bytes]) -> str:
        binding = self.channel_binding
        cid = None
        if binding is not None:
            cid = channel_id.get(binding)
            if cid is None:
                raise AuthenticationFailed(
                    f"cryptosign channel binding {binding!r} asked for, but the transport "
                    "has no such channel id (is it TLS?)"
                )
        return auth.answer_cryptosign(
            self._key, challenge.extra, channel_binding=binding, channel_id=cid
        )


class AuthScram(Authenticator):
    """``scram``: salted challenge-response (argon2id or pbkdf2), with router proof check."""

    name = "scram"
    required = frozenset({"authid", "password"})
    optional = Authenticator.optional | {"kdf"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        authid = _required_str(self.name, "authid", kwargs["authid"])
        password = _required_str(self.name, "password", kwargs["password"])
        self._client = auth.ScramClient(authid, password)

    @property
    def authextra(self) -> dict[str, Any]:
        return {**self._authextra, **self._client.authextra}

    def on_challenge(self, challenge: Challenge, channel_id: Mapping[str, bytes]) -> str:
        return self._client.answer(challenge.extra)

    def on_welcome(self, authextra: Mapping[str, Any]) -> None:
        self._client.verify_welcome(authextra)


AUTHENTICATORS: dict[str, type[Authenticator]] = {
    cls.name: cls for cls in (AuthAnonymous, AuthTicket, AuthWampCra, AuthCryptosign, AuthScram)
}
# Spec spelling of SCRAM (DIVERGENCES.md: Crossbar deploys "scram").
AUTHENTICATORS["wamp-scram"] = AuthScram


def create_authenticator(name: str, **kwargs: Any) -> Authenticator:
    """Build the authenticator for auth method ``name`` from Autobahn-style keyword arguments.

    Raises:
        ValueError: unknown method, unknown/missing keys, or unusable values (each named).
    """
    cls = AUTHENTICATORS.get(name)
    if cls is None:
        raise ValueError(
            f"unknown authentication method {name!r} (supported: {', '.join(AUTHENTICATORS)})"
        )
    return cls(**kwargs)
