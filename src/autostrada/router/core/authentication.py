"""Authentication: the pluggable :class:`Authenticator` interface and the built-in methods.

One authenticator object is made per joining session from the realm's method
configuration (spec advanced/authentication.md). It answers HELLO, then each
AUTHENTICATE, with an *outcome*:

* :class:`Accept` — send WELCOME with that identity;
* :class:`Deny` — send ABORT with that reason;
* :class:`Challenge` — send CHALLENGE and wait for AUTHENTICATE (several rounds allowed);
* :class:`CallAuthenticator` — the router calls a procedure registered by some session
  (dynamic authentication, as Crossbar's dynamic authenticators) and hands the reply to
  ``then``, which returns the next outcome.

Built in: ``anonymous`` and ``ticket`` (static principals or dynamic) here; ``wampcra``,
``cryptosign`` and ``scram`` in :mod:`.auth_methods` (their math is :mod:`autostrada.auth`).
A method is an :class:`Authenticator` subclass whose factory is in
:data:`BUILTIN_AUTHENTICATORS` (keyed by the config class, e.g. ``WampCraAuth``). A
configured method without a factory is skipped, as Crossbar skips unavailable methods.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from autostrada.exceptions import ApplicationError

from .config import (
    AnonymousAuth,
    AuthMethodConfig,
    CryptosignAuth,
    DynamicAuthenticator,
    ScramAuth,
    TicketAuth,
    WampCraAuth,
)

__all__ = [
    "BUILTIN_AUTHENTICATORS",
    "Accept",
    "AnonymousAuthenticator",
    "AuthOutcome",
    "Authenticator",
    "AuthenticatorFactory",
    "AuthenticatorReply",
    "CallAuthenticator",
    "Challenge",
    "Deny",
    "HelloInfo",
    "TicketAuthenticator",
    "call_dynamic_authenticator",
    "principal_from_reply",
]


@dataclass(frozen=True)
class HelloInfo:
    """What an authenticator learns from the HELLO and the transport.

    Attributes:
        realm: the realm the client asked to join.
        authid: ``HELLO.Details.authid`` if given.
        authrole: ``HELLO.Details.authrole`` if given (a request, never trusted).
        authextra: ``HELLO.Details.authextra`` (empty dict if absent).
        details: the whole ``HELLO.Details``.
        session_id: the id the session will get (WAMP-CRA puts it in the challenge).
        transport: the driver's transport info (peer, TLS, channel binding, ...).
        timestamp: the wall-clock time of the HELLO, UTC, as ``2014-06-22T16:36:25.448Z``
            (the router makes it from ``now`` and its ``wall_clock_offset``; WAMP-CRA puts
            it in the challenge).
    """

    realm: str
    authid: str | None
    authrole: str | None
    authextra: dict[str, Any]
    details: dict[str, Any]
    session_id: int
    transport: Mapping[str, Any]
    timestamp: str = "1970-01-01T00:00:00.000Z"


@dataclass(frozen=True)
class Accept:
    """Authentication succeeded: WELCOME with this identity."""

    authid: str
    authrole: str
    authmethod: str
    authprovider: str
    authextra: dict[str, Any] | None = None


@dataclass(frozen=True)
class Deny:
    """Authentication failed: ABORT with ``reason`` and ``message``."""

    reason: str
    message: str


@dataclass(frozen=True)
class Challenge:
    """Send ``[CHALLENGE, method, extra]`` and wait for AUTHENTICATE."""

    method: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthenticatorReply:
    """The answer of a dynamic authenticator procedure.

    ``error`` is the ERROR URI if the call failed (including ``wamp.error.no_such_procedure``
    when nobody registered the authenticator, and ``wamp.error.timeout``), else ``None``.
    """

    error: str | None
    args: list[Any]
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class CallAuthenticator:
    """Call ``procedure(*args, **kwargs)`` in ``realm`` and continue with ``then(reply)``."""

    procedure: str
    args: list[Any]
    kwargs: dict[str, Any]
    realm: str | None
    timeout: float
    then: Callable[[AuthenticatorReply], AuthOutcome]


AuthOutcome: TypeAlias = Accept | Deny | Challenge | CallAuthenticator


class Authenticator:
    """One authentication in progress, for one joining session.

    Subclasses implement :meth:`hello` and, when they challenge, :meth:`authenticate`.
    They must not raise for bad input from the peer: return :class:`Deny` instead (an
    exception is turned into ``Deny(wamp.error.authentication_failed)`` anyway).
    """

    method: str = ""

    def hello(self, hello: HelloInfo) -> AuthOutcome:
        """Answer the HELLO."""
        raise NotImplementedError

    def authenticate(self, signature: str, extra: dict[str, Any]) -> AuthOutcome:
        """Answer an AUTHENTICATE (only called after a :class:`Challenge`)."""
        return Deny(ApplicationError.AUTHENTICATION_FAILED, f"{self.method} does not challenge")


AuthenticatorFactory: TypeAlias = Callable[[AuthMethodConfig], Authenticator]


def _serial() -> str:
    """A random authid like Crossbar's for anonymous sessions (e.g. ``K3TN-9WQP-...``)."""
    alphabet = "34679ACEFGHJKLMNPQRTUVWXY"
    raw = "".join(secrets.choice(alphabet) for _ in range(24))
    return "-".join(raw[i : i + 4] for i in range(0, 24, 4))


class AnonymousAuthenticator(Authenticator):
    """WAMP-Anonymous: accept with a random authid under the configured role.

    The authid the client asks for is ignored (as Crossbar does): an anonymous session
    must not pick an identity that ``exclude_authid``/``eligible_authid`` filters trust.
    """

    method = "anonymous"

    def __init__(self, config: AnonymousAuth) -> None:
        self.config = config

    def hello(self, hello: HelloInfo) -> AuthOutcome:
        return Accept(_serial(), self.config.role, "anonymous", "static")


# Errors of the router itself while calling an authenticator: the client sees
# authentication_failed rather than a dealer error it could not make sense of.
_UNAVAILABLE = frozenset(
    {
        ApplicationError.NO_SUCH_PROCEDURE,
        ApplicationError.TIMEOUT,
        ApplicationError.CANCELED,
        ApplicationError.NO_AVAILABLE_CALLEE,
    }
)


def principal_from_reply(
    reply: AuthenticatorReply, authid: str | None, method: str
) -> Accept | Deny:
    """Turn a dynamic authenticator's reply into an outcome (Crossbar's convention).

    The result is a role (string) or a dict with ``role`` and optional ``authid`` and
    ``extra``. An ERROR reply denies with the error URI and its first argument.
    """
    if reply.error in _UNAVAILABLE:
        return Deny(
            ApplicationError.AUTHENTICATION_FAILED,
            f"the dynamic authenticator is unavailable ({reply.error})",
        )
    if reply.error is not None:
        text = reply.args[0] if reply.args and isinstance(reply.args[0], str) else ""
        return Deny(reply.error, text or "the dynamic authenticator denied the session")
    result: Any = reply.args[0] if reply.args else (reply.kwargs or None)
    if isinstance(result, str):
        result = {"role": result}
    if not isinstance(result, dict):
        return Deny(
            ApplicationError.AUTHENTICATION_FAILED,
            f"the dynamic authenticator returned {type(result).__name__}, not a role or dict",
        )
    role = result.get("role")
    final_authid = result.get("authid", authid)
    extra = result.get("extra")
    if not isinstance(role, str) or not role:
        return Deny(ApplicationError.NO_SUCH_ROLE, "the dynamic authenticator assigned no role")
    if not isinstance(final_authid, str) or not final_authid:
        return Deny(
            ApplicationError.NO_SUCH_PRINCIPAL, "the dynamic authenticator assigned no authid"
        )
    if extra is not None and not isinstance(extra, dict):
        return Deny(ApplicationError.AUTHENTICATION_FAILED, "authenticator 'extra' must be a dict")
    return Accept(final_authid, role, method, "dynamic", extra)


def call_dynamic_authenticator(
    dynamic: DynamicAuthenticator,
    hello: HelloInfo,
    method: str,
    then: Callable[[AuthenticatorReply], AuthOutcome],
    **extra_details: Any,
) -> CallAuthenticator:
    """Build the call ``authenticator(realm, authid, details)`` as Crossbar makes it."""
    details: dict[str, Any] = {
        "transport": {
            k: v for k, v in hello.transport.items() if type(v) in (str, int, float, bool)
        },
        "session": hello.session_id,
        "authmethod": method,
        "authextra": hello.authextra,
        **extra_details,
    }
    return CallAuthenticator(
        dynamic.procedure,
        [hello.realm, hello.authid, details],
        {},
        dynamic.realm,
        dynamic.timeout,
        then,
    )


class TicketAuthenticator(Authenticator):
    """WAMP-Ticket (spec advanced/authentication_ticket.md), static or dynamic.

    Static: an unknown authid is denied at once (as Crossbar does) and the ticket is
    compared in constant time. Dynamic: the ticket is passed to the authenticator in
    ``details["ticket"]``.
    """

    method = "ticket"

    def __init__(self, config: TicketAuth) -> None:
        self.config = config
        self._hello: HelloInfo | None = None

    def hello(self, hello: HelloInfo) -> AuthOutcome:
        self._hello = hello
        static = self.config.authenticator is None
        if static and (hello.authid is None or hello.authid not in self.config.principals):
            return Deny(
                ApplicationError.NOT_AUTHORIZED,
                f"no principal with authid {hello.authid!r} exists for ticket authentication",
            )
        return Challenge("ticket", {})

    def authenticate(self, signature: str, extra: dict[str, Any]) -> AuthOutcome:
        hello = self._hello
        assert hello is not None  # authenticate() only follows a Challenge from hello()
        dynamic = self.config.authenticator
        if dynamic is not None:
            return call_dynamic_authenticator(
                dynamic,
                hello,
                "ticket",
                lambda reply: principal_from_reply(reply, hello.authid, "ticket"),
                ticket=signature,
            )
        assert hello.authid is not None
        principal = self.config.principals[hello.authid]
        if hmac.compare_digest(signature.encode(), principal.ticket.encode()):
            return Accept(hello.authid, principal.role, "ticket", "static")
        return Deny(ApplicationError.NOT_AUTHORIZED, "invalid ticket")


def _anonymous(config: AuthMethodConfig) -> Authenticator:
    assert isinstance(config, AnonymousAuth)
    return AnonymousAuthenticator(config)


def _ticket(config: AuthMethodConfig) -> Authenticator:
    assert isinstance(config, TicketAuth)
    return TicketAuthenticator(config)


# .auth_methods imports this module (for Authenticator, Accept, ...): import it when the
# first session uses one of its methods, not at import time.


def _wampcra(config: AuthMethodConfig) -> Authenticator:
    from .auth_methods import WampCraAuthenticator  # noqa: PLC0415 - import cycle

    assert isinstance(config, WampCraAuth)
    return WampCraAuthenticator(config)


def _cryptosign(config: AuthMethodConfig) -> Authenticator:
    from .auth_methods import CryptosignAuthenticator  # noqa: PLC0415 - import cycle

    assert isinstance(config, CryptosignAuth)
    return CryptosignAuthenticator(config)


def _scram(config: AuthMethodConfig) -> Authenticator:
    from .auth_methods import ScramAuthenticator  # noqa: PLC0415 - import cycle

    assert isinstance(config, ScramAuth)
    return ScramAuthenticator(config)


BUILTIN_AUTHENTICATORS: dict[type[AuthMethodConfig], AuthenticatorFactory] = {
    AnonymousAuth: _anonymous,
    TicketAuth: _ticket,
    WampCraAuth: _wampcra,
    CryptosignAuth: _cryptosign,
    ScramAuth: _scram,
}
"""Config class -> factory of authenticators. A method missing here is never offered."""
