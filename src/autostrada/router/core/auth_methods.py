"""WAMP-CRA, WAMP-Cryptosign and WAMP-SCRAM for the router core.

Each class wires the pure math of :mod:`autostrada.auth` into the
:class:`~.authentication.Authenticator` interface, with static principals (from the
config) or a dynamic authenticator procedure (spec advanced/authentication_dynamic.md,
Crossbar's convention: ``authenticator(realm, authid, details)``). Their factories are in
:data:`~.authentication.BUILTIN_AUTHENTICATORS`.

Denials: ``wamp.error.not_authorized`` (Crossbar's default, as for ticket) for anything the
client sent or could not prove — unknown authid, wrong or malformed signature, missing
nonce or pubkey, an impossible channel binding; ``wamp.error.authentication_failed`` for
trouble on the router's side (a malformed dynamic answer, a misconfigured principal). No
ABORT message, repr or log line carries a secret, a key or a proof. Every challenge is
fresh (new random nonce or bytes) and is checked against one AUTHENTICATE only.

What a dynamic authenticator returns — ``role`` is required, ``authid`` replaces the
client's, ``extra`` becomes WELCOME ``authextra``; an ERROR denies with its URI:

* ``wampcra``: ``{"role", "secret", "salt"?, "iterations"?, "keylen"?}``; ``secret`` as in
  :class:`~.config.WampCraPrincipal` (the derived key when salted), the parameters
  default to 1000 and 32.
* ``cryptosign``: ``{"role", "pubkey"?, "authid"?}`` or a bare role; the client's key is in
  ``details["authextra"]["pubkey"]``; a ``pubkey`` returned must be that key. With no
  authid from the client nor the authenticator, the authid is the pubkey (spec: "the
  router SHOULD automatically chose and assign an authid (e.g. the Hex encode public
  key)").
* ``scram``: ``{"role", "kdf", "iterations", "memory"?, "salt", "stored-key",
  "server-key"}`` (hex, as Crossbar's SCRAM principals); ``details["authmethod"]`` is
  ``scram`` whichever alias the client offered.

Cryptosign channel binding: the driver passes ``transport_info["channel_binding"]``, a
mapping of binding type (``"tls-unique"``, ``"tls-exporter"``) to the transport's 32-byte
channel id as :func:`autostrada.auth.tls_channel_id` returns it, and leaves out a type the
transport cannot provide (tls-unique on TLS 1.3). Not supported: cryptosign router
authentication (``authextra.challenge`` is ignored) and trustroots/certificates.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from autostrada import auth
from autostrada.auth import (
    ScramCredential,
    ScramServer,
    make_cryptosign_challenge,
    make_wampcra_challenge,
    parse_hex32,
    verify_cryptosign,
    verify_wampcra,
    wampcra_challenge_extra,
)
from autostrada.exceptions import ApplicationError, AuthenticationFailed

from .authentication import (
    Accept,
    Authenticator,
    AuthenticatorReply,
    AuthOutcome,
    Challenge,
    Deny,
    HelloInfo,
    call_dynamic_authenticator,
    principal_from_reply,
)
from .config import CryptosignAuth, ScramAuth, WampCraAuth

__all__ = ["CryptosignAuthenticator", "ScramAuthenticator", "WampCraAuthenticator"]

log = logging.getLogger("autostrada.router")

_DENIED = ApplicationError.NOT_AUTHORIZED
_FAILED = ApplicationError.AUTHENTICATION_FAILED
_SHOWN = 80


def _shown(value: object) -> str:
    """A value from the peer, for an ABORT message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _no_principal(authid: object, method: str) -> Deny:
    return Deny(
        _DENIED, f"no principal with authid {_shown(authid)} exists for {method} authentication"
    )


def _dynamic_principal(
    reply: AuthenticatorReply, authid: str | None, method: str
) -> tuple[Accept, dict[str, Any]] | Deny:
    """The identity (as :func:`principal_from_reply`) and the whole principal dict."""
    outcome = principal_from_reply(reply, authid, method)
    if isinstance(outcome, Deny):
        return outcome
    result = reply.args[0] if reply.args else reply.kwargs
    if not isinstance(result, dict):  # a bare role: the method needs more
        return Deny(
            _FAILED, f"the dynamic {method} authenticator must return a dict, not a role name"
        )
    return outcome, result


def _int_in(value: object, high: int) -> bool:
    return type(value) is int and 1 <= value <= high


# --------------------------------------------------------------------------------------
# WAMP-CRA


class WampCraAuthenticator(Authenticator):
    """WAMP-CRA (spec advanced/authentication_cra.md), static or dynamic.

    The challenge is :func:`~autostrada.auth.make_wampcra_challenge`'s JSON text: the
    identity the client gets on success, the session id, a fresh nonce and the HELLO's
    wall-clock time; with a salt, ``salt``/``iterations``/``keylen`` go along (spec
    "Password Salting").
    """

    method = auth.WAMPCRA

    def __init__(self, config: WampCraAuth) -> None:
        self.config = config
        self._hello: HelloInfo | None = None
        self._pending: tuple[Accept, str, str] | None = None  # identity, key, challenge

    def hello(self, hello: HelloInfo) -> AuthOutcome:
        self._hello = hello
        dynamic = self.config.authenticator
        if dynamic is not None:
            return call_dynamic_authenticator(dynamic, hello, self.method, self._dynamic)
        authid = hello.authid
        principal = None if authid is None else self.config.principals.get(authid)
        if authid is None or principal is None:
            return _no_principal(authid, self.method)
        return self._challenge(
            Accept(authid, principal.role, self.method, "static"),
            principal.secret,
            principal.salt,
            principal.iterations,
            principal.keylen,
        )

    def _dynamic(self, reply: AuthenticatorReply) -> AuthOutcome:
        assert self._hello is not None
        found = _dynamic_principal(reply, self._hello.authid, self.method)
        if isinstance(found, Deny):
            return found
        identity, principal = found
        secret, salt = principal.get("secret"), principal.get("salt")
        iterations = principal.get("iterations")
        iterations = auth.WAMPCRA_ITERATIONS if iterations is None else iterations
        keylen = principal.get("keylen")
        keylen = auth.WAMPCRA_KEYLEN if keylen is None else keylen
        if (
            not isinstance(secret, str)
            or not secret
            or not (salt is None or (isinstance(salt, str) and salt))
            or not _int_in(iterations, auth.MAX_PBKDF2_ITERATIONS)
            or not _int_in(keylen, auth.MAX_KEYLEN)
        ):
            return Deny(
                _FAILED,
                "the dynamic wampcra authenticator returned no usable secret "
                "(a non-empty string; salt a non-empty string; iterations, keylen positive ints)",
            )
        return self._challenge(identity, secret, salt, iterations, keylen)

    def _challenge(
        self, identity: Accept, key: str, salt: str | None, iterations: int, keylen: int
    ) -> Challenge:
        hello = self._hello
        assert hello is not None
        challenge = make_wampcra_challenge(
            authid=identity.authid,
            authrole=identity.authrole,
            authprovider=identity.authprovider,
            session_id=hello.session_id,
            now=hello.timestamp,
        )
        self._pending = (identity, key, challenge)
        extra = wampcra_challenge_extra(challenge, salt=salt, iterations=iterations, keylen=keylen)
        return Challenge(self.method, extra)

    def authenticate(self, signature: str, extra: dict[str, Any]) -> AuthOutcome:
        pending, self._pending = self._pending, None  # one answer per challenge
        assert pending is not None  # authenticate() only follows a Challenge
        identity, key, challenge = pending
        if verify_wampcra(key, challenge, signature):
            return identity
        return Deny(_DENIED, "WAMP-CRA signature is invalid")


# --------------------------------------------------------------------------------------
# WAMP-Cryptosign


class CryptosignAuthenticator(Authenticator):
    """WAMP-Cryptosign (spec advanced/authentication_cryptosign.md), static or dynamic.

    HELLO ``authextra.pubkey`` is required. Static: the authid's ``authorized_keys`` must
    hold it; with no authid the principal is looked up by the key (as Crossbar does), and
    a key held by several principals is refused. With ``authextra.channel_binding`` the
    client signs ``challenge XOR channel id`` (spec "TLS Channel Binding"); the binding is
    echoed in the CHALLENGE (``null`` when none).
    """

    method = auth.CRYPTOSIGN

    def __init__(self, config: CryptosignAuth) -> None:
        self.config = config
        self._hello: HelloInfo | None = None
        self._pubkey = ""
        self._binding: str | None = None
        self._channel_id: bytes | None = None
        self._pending: tuple[Accept, str] | None = None  # identity, challenge (hex)

    def hello(self, hello: HelloInfo) -> AuthOutcome:
        self._hello = hello
        try:
            self._pubkey = parse_hex32(hello.authextra.get("pubkey"), "HELLO authextra.pubkey")
        except AuthenticationFailed as exc:
            return Deny(_DENIED, f"cryptosign: {exc}")
        problem = self._bind(hello.authextra.get("channel_binding"), hello.transport)
        if problem is not None:
            return Deny(_DENIED, problem)
        dynamic = self.config.authenticator
        if dynamic is not None:
            return call_dynamic_authenticator(dynamic, hello, self.method, self._dynamic)
        return self._static(hello.authid)

    def _bind(self, binding: object, transport: Mapping[str, Any]) -> str | None:
        """Find the channel id of the binding the client asked for; a problem, or None."""
        if binding is None or binding == "":
            return None
        if binding not in auth.CHANNEL_BINDINGS:
            return f"cryptosign: unknown channel_binding {_shown(binding)}"
        assert isinstance(binding, str)
        ids = transport.get("channel_binding")
        channel_id = ids.get(binding) if isinstance(ids, Mapping) else None
        # DIVERGENCES.md "cryptosign channel binding": never bind silently to zeros.
        if not isinstance(channel_id, bytes) or len(channel_id) != 32 or not any(channel_id):
            return (
                f"cryptosign: channel binding {binding} asked for, but this transport has no "
                f"{binding} channel id (not TLS, or a TLS version without it)"
            )
        self._binding, self._channel_id = binding, channel_id
        return None

    def _static(self, authid: str | None) -> AuthOutcome:
        principals = self.config.principals
        pubkey = self._pubkey
        if authid is None:
            owners = [name for name, p in principals.items() if pubkey in p.authorized_keys]
            if len(owners) != 1:
                why = "several principals have" if owners else "no principal has"
                return Deny(_DENIED, f"cryptosign: no authid given, and {why} this pubkey")
            authid = owners[0]
        principal = principals.get(authid)
        if principal is None:
            return _no_principal(authid, self.method)
        if pubkey not in principal.authorized_keys:
            return Deny(_DENIED, f"cryptosign: the pubkey is not authorized for {_shown(authid)}")
        return self._challenge(Accept(authid, principal.role, self.method, "static"))

    def _dynamic(self, reply: AuthenticatorReply) -> AuthOutcome:
        assert self._hello is not None
        authid = self._hello.authid
        identity = principal_from_reply(
            reply, self._pubkey if authid is None else authid, self.method
        )
        if isinstance(identity, Deny):
            return identity
        principal = reply.args[0] if reply.args else reply.kwargs  # a dict, or a bare role
        pubkey = principal.get("pubkey") if isinstance(principal, dict) else None
        if pubkey is not None and (not isinstance(pubkey, str) or pubkey.lower() != self._pubkey):
            return Deny(_DENIED, "cryptosign: the pubkey is not the principal's")
        return self._challenge(identity)

    def _challenge(self, identity: Accept) -> Challenge:
        challenge = make_cryptosign_challenge()
        self._pending = (identity, challenge)
        return Challenge(self.method, {"challenge": challenge, "channel_binding": self._binding})

    def authenticate(self, signature: str, extra: dict[str, Any]) -> AuthOutcome:
        pending, self._pending = self._pending, None  # one answer per challenge
        assert pending is not None  # authenticate() only follows a Challenge
        identity, challenge = pending
        if verify_cryptosign(self._pubkey, challenge, signature, self._binding, self._channel_id):
            return identity
        return Deny(_DENIED, "cryptosign signature is invalid")


# --------------------------------------------------------------------------------------
# WAMP-SCRAM

# Any credential serves to check the HELLO's SCRAM members before a dynamic authenticator
# is bothered (ScramServer checks them before it uses the credential).
_PROBE = ScramCredential(auth.KDF_PBKDF2, 1, None, b"", bytes(32), bytes(32))


class ScramAuthenticator(Authenticator):
    """WAMP-SCRAM (spec advanced/authentication_scram.md), static or dynamic.

    HELLO needs an ``authid`` and ``authextra.nonce``; a channel binding is refused (not
    supported, and the spec says the router MUST then abort). The method is named as the
    client offered it, ``scram`` or ``wamp-scram`` (DIVERGENCES.md), in CHALLENGE and
    WELCOME. WELCOME ``authextra`` proves the router to the client with the
    ServerSignature, as ``scram_server_signature`` (Crossbar) and ``verifier`` (spec).
    """

    method = auth.SCRAM

    def __init__(self, config: ScramAuth) -> None:
        self.config = config
        self._hello: HelloInfo | None = None
        self._pending: tuple[Accept, ScramServer] | None = None

    def hello(self, hello: HelloInfo) -> AuthOutcome:
        self._hello = hello
        offered = hello.details.get("authmethods") or ()
        self.method = next((m for m in offered if m in auth.SCRAM_AUTHMETHODS), auth.SCRAM)
        authid = hello.authid
        dynamic = self.config.authenticator
        if dynamic is not None:
            try:
                ScramServer(authid, hello.authextra, _PROBE)
            except AuthenticationFailed as exc:
                return Deny(_DENIED, str(exc))
            return call_dynamic_authenticator(dynamic, hello, auth.SCRAM, self._dynamic)
        principal = None if authid is None else self.config.principals.get(authid)
        if authid is None or principal is None:
            return _no_principal(authid, self.method)
        try:
            credential = ScramCredential.from_config(
                {
                    "kdf": principal.kdf,
                    "iterations": principal.iterations,
                    "memory": principal.memory,
                    "salt": principal.salt,
                    "stored-key": principal.stored_key,
                    "server-key": principal.server_key,
                }
            )
        except ValueError as exc:  # the message names fields, never their values
            log.error("SCRAM principal %r is misconfigured: %s", authid, exc)
            return Deny(_FAILED, "the SCRAM principal is misconfigured on the router")
        return self._challenge(Accept(authid, principal.role, self.method, "static"), credential)

    def _dynamic(self, reply: AuthenticatorReply) -> AuthOutcome:
        assert self._hello is not None
        found = _dynamic_principal(reply, self._hello.authid, self.method)
        if isinstance(found, Deny):
            return found
        identity, principal = found
        try:
            credential = ScramCredential.from_config(principal)
        except (ValueError, TypeError):
            return Deny(
                _FAILED,
                "the dynamic scram authenticator returned no usable credential (kdf, "
                "iterations, memory, salt, stored-key, server-key)",
            )
        return self._challenge(identity, credential)

    def _challenge(self, identity: Accept, credential: ScramCredential) -> AuthOutcome:
        hello = self._hello
        assert hello is not None
        try:
            server = ScramServer(hello.authid, hello.authextra, credential)
        except AuthenticationFailed as exc:
            return Deny(_DENIED, str(exc))
        self._pending = (identity, server)
        return Challenge(self.method, server.challenge_extra)

    def authenticate(self, signature: str, extra: dict[str, Any]) -> AuthOutcome:
        pending, self._pending = self._pending, None  # one answer per challenge
        assert pending is not None  # authenticate() only follows a Challenge
        identity, server = pending
        if not server.verify(signature, extra):
            return Deny(_DENIED, "SCRAM client proof is invalid")
        # Spec "Final Server Authentication Message - Success" names the ServerSignature
        # ``verifier``; Crossbar ``scram_server_signature`` (DIVERGENCES.md "SCRAM server
        # proof"). Both are sent: each kind of client reads its own and ignores the other.
        proof = server.welcome_authextra()
        proof["verifier"] = proof["scram_server_signature"]
        authextra = {**(identity.authextra or {}), **proof}
        return dataclasses.replace(identity, authextra=authextra)
