"""What the client session core reports to its driver: one frozen class per event.

``ClientSession.receive()`` (and the local methods that end or complete something:
``cancel()``, ``abort()``, ``transport_lost()``) return lists of these. Every request
id handed out by the core ends in exactly one *terminal* event:

=====================  ===============================================================
request                terminal events
=====================  ===============================================================
CALL                   :class:`CallResult` with ``progress=False``, :class:`RequestFailed`
                       (an ERROR, or a local cancel), :class:`RequestAborted`
PUBLISH (acknowledged) :class:`Published`, :class:`RequestFailed`, :class:`RequestAborted`
SUBSCRIBE              :class:`Subscribed`, :class:`RequestFailed`, :class:`RequestAborted`
UNSUBSCRIBE            :class:`Unsubscribed`, :class:`RequestFailed`, :class:`RequestAborted`
REGISTER               :class:`Registered`, :class:`RequestFailed`, :class:`RequestAborted`
UNREGISTER             :class:`Unregistered`, :class:`RequestFailed`, :class:`RequestAborted`
=====================  ===============================================================

Every invocation (:class:`Invoked`) ends when the driver answers it
(``yield_result``/``invocation_error``), or with an :class:`Interrupted` event
(``mode="killnowait"``) when the session ends first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autostrada.exceptions import ProtocolError, SessionClosed, WampError
from autostrada.messages import MessageType

__all__ = [
    "CallResult",
    "Challenged",
    "Closed",
    "EventDelivered",
    "Interrupted",
    "InvocationChunk",
    "Invoked",
    "Joined",
    "ProtocolViolation",
    "Published",
    "Registered",
    "RegistrationRevoked",
    "RequestAborted",
    "RequestFailed",
    "SessionEvent",
    "Subscribed",
    "SubscriptionRevoked",
    "Unregistered",
    "Unsubscribed",
]


class SessionEvent:
    """Base class of every event the client session core produces.

    Events are slotted dataclasses, frozen except the three made for every message
    received (:class:`CallResult`, :class:`Invoked`, :class:`EventDelivered`): a
    frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``,
    three times the cost of a plain one, on the hot path. Treat them as read-only.
    """

    __slots__ = ()


# --- session lifecycle -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Challenged(SessionEvent):
    """The router sent CHALLENGE: compute the signature and call ``authenticate()``.

    Attributes:
        method: the authentication method, e.g. ``"wampcra"`` or ``"cryptosign"``.
        extra: the method's challenge data (``CHALLENGE.Extra``).
    """

    method: str
    extra: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Joined(SessionEvent):
    """The router sent WELCOME: the session is established.

    Attributes:
        session_id: the session id the router assigned.
        realm: the realm joined (``WELCOME.Details.realm`` if given, else ours).
        authid, authrole, authmethod, authprovider: as the router reports them.
        authextra: ``WELCOME.Details.authextra`` (e.g. a SCRAM server proof to verify;
            the driver calls ``abort()`` if it does not check out).
        roles: the router's roles and features (``WELCOME.Details.roles``).
        details: the whole ``WELCOME.Details``.
    """

    session_id: int
    realm: str
    authid: str | None
    authrole: str | None
    authmethod: str | None
    authprovider: str | None
    authextra: dict[str, Any]
    roles: dict[str, Any]
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Closed(SessionEvent):
    """The session ended (or could not be established). Always the last event.

    Every request and invocation that was pending has been reported (as
    :class:`RequestAborted` / :class:`Interrupted`) before this event.

    Attributes:
        reason: the close reason URI: the reason of the GOODBYE or ABORT received,
            ours for a local ``abort()``, ``wamp.error.protocol_violation`` after a
            violation, ``wamp.close.transport_lost`` when the transport dropped.
        message: a human-readable message (``Details.message``), if any.
        details: the ``Details`` of the GOODBYE/ABORT received (empty otherwise).
        was_clean: True when the session ended with a GOODBYE handshake.
        joined: True when the session had been established (WELCOME received).
        error: None for a GOODBYE handshake or a local abort; otherwise what went
            wrong: :class:`~autostrada.exceptions.AuthenticationFailed` or
            :class:`~autostrada.exceptions.SessionClosed` for a router ABORT,
            :class:`~autostrada.exceptions.ProtocolError` after a violation,
            :class:`~autostrada.exceptions.TransportError` when the transport dropped.
    """

    reason: str
    message: str | None
    details: dict[str, Any]
    was_clean: bool
    joined: bool
    error: WampError | None


@dataclass(frozen=True, slots=True)
class ProtocolViolation(SessionEvent):
    """The router broke the protocol.

    ABORT ``wamp.error.protocol_violation`` is already in the outbox; the events
    failing everything pending and :class:`Closed` follow. The driver sends the
    ABORT and closes the transport.

    Attributes:
        error: what was wrong (also stored as ``ClientSession.error``).
    """

    error: ProtocolError


# --- request outcomes ------------------------------------------------------------------


@dataclass(slots=True)
class CallResult(SessionEvent):
    """A RESULT for a call.

    With ``progress=True`` it is a progressive result and the call stays pending;
    the final result has ``progress=False`` and completes the call.
    """

    request_id: int
    args: list[Any] | None
    kwargs: dict[str, Any] | None
    details: dict[str, Any]
    progress: bool = False


@dataclass(frozen=True, slots=True)
class RequestFailed(SessionEvent):
    """A request failed with an error URI: the router's ERROR, or a local cancel.

    A call canceled with mode skip or killnowait (or any mode when the router does
    not support call canceling) fails at once with ``error="wamp.error.canceled"``
    and ``details={"mode": mode}``; a later RESULT/ERROR for it is ignored.

    Attributes:
        request_id: the request that failed.
        request_type: its type (CALL, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, REGISTER,
            UNREGISTER).
        error: the error URI.
        args, kwargs, details: the ERROR's payload and details.
    """

    request_id: int
    request_type: MessageType
    error: str
    args: list[Any] | None
    kwargs: dict[str, Any] | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RequestAborted(SessionEvent):
    """The session ended before the request got its reply.

    Attributes:
        request_id: the request that can no longer complete.
        request_type: its type.
        error: a :class:`~autostrada.exceptions.SessionClosed` (one instance per
            request, so that each may be raised on its own) naming the request and
            carrying the close reason.
    """

    request_id: int
    request_type: MessageType
    error: SessionClosed


@dataclass(frozen=True, slots=True)
class Published(SessionEvent):
    """PUBLISHED: an acknowledged publication was accepted."""

    request_id: int
    publication_id: int


@dataclass(frozen=True, slots=True)
class Subscribed(SessionEvent):
    """SUBSCRIBED. The id may equal one we already hold (brokers share ids by topic)."""

    request_id: int
    subscription_id: int
    topic: str


@dataclass(frozen=True, slots=True)
class Unsubscribed(SessionEvent):
    """UNSUBSCRIBED for our UNSUBSCRIBE request."""

    request_id: int
    subscription_id: int


@dataclass(frozen=True, slots=True)
class Registered(SessionEvent):
    """REGISTERED."""

    request_id: int
    registration_id: int
    procedure: str


@dataclass(frozen=True, slots=True)
class Unregistered(SessionEvent):
    """UNREGISTERED for our UNREGISTER request."""

    request_id: int
    registration_id: int


@dataclass(frozen=True, slots=True)
class SubscriptionRevoked(SessionEvent):
    """``[UNSUBSCRIBED, 0, Details]``: the broker revoked a subscription.

    Spec: advanced/pubsub_subscription_revocation.md.
    """

    subscription_id: int
    reason: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RegistrationRevoked(SessionEvent):
    """``[UNREGISTERED, 0, Details]``: the dealer revoked a registration.

    Spec: advanced/rpc_registration_revocation.md. Invocations in progress under it
    stay active and may still be answered.
    """

    registration_id: int
    reason: str | None
    details: dict[str, Any]


# --- incoming work ---------------------------------------------------------------------


@dataclass(slots=True)
class EventDelivered(SessionEvent):
    """An EVENT for one of our subscriptions.

    Attributes:
        acknowledge: the broker asks for acknowledged delivery
            (``details.x_acknowledged_delivery`` and the broker announced
            ``x_acknowledged_event_delivery``): call ``send_event_received()`` once
            the handlers have run.
    """

    subscription_id: int
    publication_id: int
    args: list[Any] | None
    kwargs: dict[str, Any] | None
    details: dict[str, Any]
    acknowledge: bool = False


@dataclass(slots=True)
class Invoked(SessionEvent):
    """A new INVOCATION: run the endpoint and answer with ``yield_result()`` or
    ``invocation_error()`` exactly once (plus any progressive results).

    Attributes:
        request_id: the invocation's request id (the router's).
        registration_id: the registration it came under.
        args, kwargs, details: the call's payload and ``INVOCATION.Details``
            (caller, procedure, timeout in ms when the dealer forwards it, ...).
        receive_progress: the caller accepts progressive results.
        progress: a progressive call invocation: more chunks follow as
            :class:`InvocationChunk` events.
    """

    request_id: int
    registration_id: int
    args: list[Any] | None
    kwargs: dict[str, Any] | None
    details: dict[str, Any]
    receive_progress: bool = False
    progress: bool = False


@dataclass(frozen=True, slots=True)
class InvocationChunk(SessionEvent):
    """A further chunk of a progressive call invocation (same request id).

    ``progress=False`` marks the final chunk.
    """

    request_id: int
    args: list[Any] | None
    kwargs: dict[str, Any] | None
    details: dict[str, Any]
    progress: bool = False


@dataclass(frozen=True, slots=True)
class Interrupted(SessionEvent):
    """Stop working on an invocation: the dealer sent INTERRUPT, or the session ended.

    The driver cancels the handler and still answers once, as always (an
    ``invocation_error(request_id, "wamp.error.canceled")`` when the handler was
    canceled): with mode ``kill`` the answer is sent, since the dealer waits for
    it; with mode ``killnowait`` the dealer wants no answer, and the core drops it.

    Attributes:
        request_id: the invocation.
        mode: ``"kill"`` or ``"killnowait"`` (``"killnowait"`` when the session ended).
        reason: ``INTERRUPT.Options.reason``, or the close reason when the session
            ended.
        session_ended: True when the session ended rather than the dealer interrupting.
    """

    request_id: int
    mode: str
    reason: str | None = None
    session_ended: bool = False
