"""The exceptions autostrada raises, in one hierarchy.

Two kinds of error are kept apart:

* **Misuse by the local caller** (a bad argument, an operation in the wrong state)
  raises at once: :class:`ValueError` or :class:`TypeError` naming the offending
  argument, or :class:`InvalidState`.
* **Something the peer or the network did** is reported as a :class:`WampError`
  subclass, never as a bare built-in exception.

Hierarchy::

    WampError
    ├── ProtocolError          the peer broke the protocol (→ ABORT wamp.error.protocol_violation)
    ├── TransportError         the connection failed or was lost
    ├── SessionClosed          the session ended while something was pending
    ├── AuthenticationFailed   the router refused our credentials (or we refused the router's)
    ├── ApplicationError       an ERROR message: error URI, args, kwargs
    └── InvalidState           an operation was called in a state that does not allow it
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

__all__ = [
    "ApplicationError",
    "AuthenticationFailed",
    "InvalidState",
    "ProtocolError",
    "SessionClosed",
    "TransportError",
    "WampError",
    # Autobahn's names (autobahn.wamp.exception) for ported code: aliases
    "Error",
    "SessionNotReady",
    "TransportLost",
]


class WampError(Exception):
    """Base class of every exception autostrada raises for a WAMP-level problem."""


class ProtocolError(WampError):
    """The peer sent something the WAMP protocol does not allow.

    The message says what was wrong and where (message type and field), so that it
    can be sent to the peer in an ABORT ``wamp.error.protocol_violation``.
    """


class TransportError(WampError):
    """The transport failed: could not connect, handshake refused, connection lost."""


class SessionClosed(WampError):
    """The session ended while a request was pending, or an operation needs a session.

    Attributes:
        reason: the WAMP close reason URI, when one is known.
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class AuthenticationFailed(WampError):
    """Authentication failed: wrong credentials, no usable method, or a bad router proof.

    Attributes:
        reason: the WAMP error URI the router gave (for example
            ``wamp.error.not_authorized``), or ``None`` when the client refused.
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class InvalidState(WampError):
    """An operation was called in a state that does not permit it (local misuse)."""


_E = TypeVar("_E", bound=type[BaseException])


class ApplicationError(WampError):
    """An application-level error carried by a WAMP ERROR message.

    Raise it in a procedure to send that error to the caller; catch it around
    ``session.call()`` to see what the callee (or the router) answered.

    Args:
        error: the error URI, e.g. ``"com.example.error.invalid_argument"``.
        *args: positional payload of the error.
        **kwargs: keyword payload of the error.

    The URI constants below are the errors the WAMP spec and deployed routers use.
    """

    # Basic Profile (spec "Predefined URIs")
    INVALID_URI: ClassVar[str] = "wamp.error.invalid_uri"
    NO_SUCH_PROCEDURE: ClassVar[str] = "wamp.error.no_such_procedure"
    PROCEDURE_ALREADY_EXISTS: ClassVar[str] = "wamp.error.procedure_already_exists"
    NO_SUCH_REGISTRATION: ClassVar[str] = "wamp.error.no_such_registration"
    NO_SUCH_SUBSCRIPTION: ClassVar[str] = "wamp.error.no_such_subscription"
    INVALID_ARGUMENT: ClassVar[str] = "wamp.error.invalid_argument"
    SYSTEM_SHUTDOWN: ClassVar[str] = "wamp.close.system_shutdown"
    CLOSE_REALM: ClassVar[str] = "wamp.close.close_realm"
    GOODBYE_AND_OUT: ClassVar[str] = "wamp.close.goodbye_and_out"
    PROTOCOL_VIOLATION: ClassVar[str] = "wamp.error.protocol_violation"
    NOT_AUTHORIZED: ClassVar[str] = "wamp.error.not_authorized"
    AUTHORIZATION_FAILED: ClassVar[str] = "wamp.error.authorization_failed"
    NO_SUCH_REALM: ClassVar[str] = "wamp.error.no_such_realm"
    NO_SUCH_ROLE: ClassVar[str] = "wamp.error.no_such_role"
    NO_SUCH_PRINCIPAL: ClassVar[str] = "wamp.error.no_such_principal"
    NO_SUCH_SESSION: ClassVar[str] = "wamp.error.no_such_session"
    # Advanced Profile
    CANCELED: ClassVar[str] = "wamp.error.canceled"
    TIMEOUT: ClassVar[str] = "wamp.error.timeout"
    OPTION_NOT_ALLOWED: ClassVar[str] = "wamp.error.option_not_allowed"
    OPTION_DISALLOWED_DISCLOSE_ME: ClassVar[str] = "wamp.error.option_disallowed.disclose_me"
    NO_ELIGIBLE_CALLEE: ClassVar[str] = "wamp.error.no_eligible_callee"
    NO_AVAILABLE_CALLEE: ClassVar[str] = "wamp.error.no_available_callee"
    NO_MATCHING_AUTH_METHOD: ClassVar[str] = "wamp.error.no_matching_auth_method"
    NO_AUTH_METHOD: ClassVar[str] = "wamp.error.no_auth_method"
    AUTHENTICATION_DENIED: ClassVar[str] = "wamp.error.authentication_denied"
    AUTHENTICATION_FAILED: ClassVar[str] = "wamp.error.authentication_failed"
    AUTHENTICATION_REQUIRED: ClassVar[str] = "wamp.error.authentication_required"
    AUTHORIZATION_DENIED: ClassVar[str] = "wamp.error.authorization_denied"
    AUTHORIZATION_REQUIRED: ClassVar[str] = "wamp.error.authorization_required"
    FEATURE_NOT_SUPPORTED: ClassVar[str] = "wamp.error.feature_not_supported"
    UNAVAILABLE: ClassVar[str] = "wamp.error.unavailable"
    NETWORK_FAILURE: ClassVar[str] = "wamp.error.network_failure"
    RUNTIME_ERROR: ClassVar[str] = "wamp.error.runtime_error"
    PAYLOAD_SIZE_EXCEEDED: ClassVar[str] = "wamp.error.payload_size_exceeded"
    KILLED: ClassVar[str] = "wamp.close.killed"

    def __init__(self, error: str, *args: Any, **kwargs: Any) -> None:
        if not isinstance(error, str):
            raise TypeError(f"ApplicationError: error must be a URI string, got {error!r}")
        # As in Autobahn, ``args`` is the positional payload (not the URI), so ported
        # code reading ``exc.args`` sees the same values.
        super().__init__(*args)
        self.error = error
        self.kwargs = dict(kwargs)

    @property
    def args_(self) -> list[Any]:
        """The positional payload as a list (``exc.args`` is the same, as a tuple)."""
        return list(self.args)

    def error_message(self) -> str:
        """Return ``"<uri>: <first arg>"``, or just the URI when there is no text."""
        if self.args_ and isinstance(self.args_[0], str):
            return f"{self.error}: {self.args_[0]}"
        return self.error

    def __str__(self) -> str:
        parts = [repr(a) for a in self.args_]
        parts.extend(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.error}: {', '.join(parts)}" if parts else self.error

    def __repr__(self) -> str:
        return f"ApplicationError({self.error!r}, args={self.args_!r}, kwargs={self.kwargs!r})"

    @classmethod
    def define(cls, error: str) -> Callable[[_E], _E]:
        """Class decorator that maps an error URI to an exception class.

        The decorated class is raised in place of :class:`ApplicationError` when an
        ERROR with that URI arrives, and raising it in a procedure sends that URI::

            @ApplicationError.define("com.example.error.not_found")
            class NotFound(Exception):
                pass

        Mapping one URI twice to different classes is a :class:`ValueError`.
        """

        def decorate(exc_class: _E) -> _E:
            if not (isinstance(exc_class, type) and issubclass(exc_class, BaseException)):
                raise TypeError(f"define({error!r}) must decorate an exception class")
            existing = ERROR_CLASSES.get(error)
            if existing is not None and existing is not exc_class:
                raise ValueError(f"error URI {error!r} is already mapped to {existing.__name__}")
            ERROR_CLASSES[error] = exc_class
            exc_class._wamp_error_uri = error  # type: ignore[attr-defined]
            return exc_class

        return decorate


# Error URI -> exception class, filled by ApplicationError.define().
ERROR_CLASSES: dict[str, type[BaseException]] = {}


# Autobahn's names for ported code (``autobahn.wamp.exception``): aliases of the classes
# above, so that ``except TransportLost:`` catches what autostrada raises in that case.
Error = WampError
"""Autobahn's base class of WAMP errors: :class:`WampError`."""
SessionNotReady = InvalidState
"""Autobahn's "the session is not joined yet": :class:`InvalidState`."""
TransportLost = SessionClosed
"""Autobahn's "the transport is gone": :class:`SessionClosed` (raised by operations on an
ended session, and by requests pending when it ended)."""
