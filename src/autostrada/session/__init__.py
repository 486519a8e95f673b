"""The sans-I/O WAMP client session: :class:`ClientSession`, its events and states.

See :mod:`autostrada.session.core` for how a driver uses it, and
:data:`autostrada.session.inbound.TRANSITIONS` for every transition.
"""

from __future__ import annotations

from .core import CANCEL_MODES, ClientSession
from .events import (
    CallResult,
    Challenged,
    Closed,
    EventDelivered,
    Interrupted,
    InvocationChunk,
    Invoked,
    Joined,
    ProtocolViolation,
    Published,
    Registered,
    RegistrationRevoked,
    RequestAborted,
    RequestFailed,
    SessionEvent,
    Subscribed,
    SubscriptionRevoked,
    Unregistered,
    Unsubscribed,
)
from .features import (
    AUTHENTICATION_FAILURE_REASONS,
    CLIENT_ROLES,
    NO_CALLEE_ERRORS,
    role_supports,
)
from .inbound import TRANSITIONS
from .state import SessionState

__all__ = [
    # the machine
    "ClientSession",
    "SessionState",
    "TRANSITIONS",
    "CANCEL_MODES",
    # features and URIs
    "CLIENT_ROLES",
    "AUTHENTICATION_FAILURE_REASONS",
    "NO_CALLEE_ERRORS",
    "role_supports",
    # events
    "SessionEvent",
    "Challenged",
    "Joined",
    "Closed",
    "ProtocolViolation",
    "CallResult",
    "RequestFailed",
    "RequestAborted",
    "Published",
    "Subscribed",
    "Unsubscribed",
    "Registered",
    "Unregistered",
    "SubscriptionRevoked",
    "RegistrationRevoked",
    "EventDelivered",
    "Invoked",
    "InvocationChunk",
    "Interrupted",
]
