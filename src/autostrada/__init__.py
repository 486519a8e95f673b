"""autostrada: an asyncio WAMP library — client, Autobahn-compatible Component, embedded router.

The names an Autobahn asyncio application imports from ``autobahn.asyncio.component``,
``autobahn.asyncio.wamp``, ``autobahn.wamp.types``, ``autobahn.wamp.exception`` and
``autobahn.wamp.request`` are importable from here.
"""

from __future__ import annotations

from autostrada import wamp
from autostrada.aio.apprunner import ApplicationRunner
from autostrada.aio.appsession import ApplicationSession
from autostrada.aio.client import connect
from autostrada.aio.component import Component
from autostrada.aio.runner import run
from autostrada.aio.session import CallStream, Session
from autostrada.authenticators import create_authenticator
from autostrada.exceptions import (
    ApplicationError,
    AuthenticationFailed,
    Error,
    InvalidState,
    ProtocolError,
    SessionClosed,
    SessionNotReady,
    TransportError,
    TransportLost,
    WampError,
)
from autostrada.request import Publication, Registration, Subscription
from autostrada.types import (
    CallDetails,
    CallOptions,
    CallResult,
    Challenge,
    CloseDetails,
    ComponentConfig,
    EventDetails,
    PublishOptions,
    RegisterOptions,
    SessionDetails,
    SubscribeOptions,
    TransportDetails,
)

__version__ = "0.1.0.dev0"

__all__ = [
    # sessions
    "Session",
    "CallStream",
    "connect",
    "create_authenticator",
    # components (autobahn.asyncio.component)
    "Component",
    "run",
    "wamp",
    # the class-based API (autobahn.asyncio.wamp)
    "ApplicationSession",
    "ApplicationRunner",
    # types (autobahn.wamp.types)
    "CallDetails",
    "CallOptions",
    "CallResult",
    "Challenge",
    "CloseDetails",
    "ComponentConfig",
    "EventDetails",
    "PublishOptions",
    "RegisterOptions",
    "SessionDetails",
    "SubscribeOptions",
    "TransportDetails",
    # requests (autobahn.wamp.request)
    "Publication",
    "Registration",
    "Subscription",
    # exceptions (autobahn.wamp.exception)
    "ApplicationError",
    "AuthenticationFailed",
    "InvalidState",
    "ProtocolError",
    "SessionClosed",
    "TransportError",
    "WampError",
    # Autobahn's exception names, aliases of the above (autobahn.wamp.exception)
    "Error",
    "SessionNotReady",
    "TransportLost",
    "__version__",
]
