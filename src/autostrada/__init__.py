"""autostrada: an asyncio WAMP library — client, Autobahn-compatible Component, embedded router."""

from __future__ import annotations

from .exceptions import (
    ApplicationError,
    AuthenticationFailed,
    InvalidState,
    ProtocolError,
    SessionClosed,
    TransportError,
    WampError,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "ApplicationError",
    "AuthenticationFailed",
    "InvalidState",
    "ProtocolError",
    "SessionClosed",
    "TransportError",
    "WampError",
    "__version__",
]
