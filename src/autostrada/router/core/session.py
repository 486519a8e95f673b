"""The router's handle on one connection: :class:`RouterSession`.

The driver gets one from :meth:`Router.attach` per transport and passes it back with
every message. It carries the session state, the peer's identity once authenticated,
and the per-session bookkeeping the broker and dealer need to clean up after it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeAlias

from autostrada.ids import MAX_ID, SequentialIds
from autostrada.messages import Message

if TYPE_CHECKING:
    from .authentication import Authenticator
    from .broker import Subscription
    from .dealer import PendingCall, Registration
    from .realm import Realm

__all__ = ["Outgoing", "RouterSession", "SessionState"]

Outgoing: TypeAlias = list[tuple["RouterSession", Message]]
"""What the router wants sent: ``(session, message)`` pairs, in order."""

_KNOWN_ROLES = ("caller", "callee", "publisher", "subscriber")

# How many completed progressive-invocation request ids a caller session remembers, so
# that a CALL chunk arriving after the call completed is discarded instead of starting a
# new call (spec "Progressive Call Invocations", "Continuations on Completed Calls").
_RECENT_PROGRESSIVE = 16


class SessionState(Enum):
    """Lifecycle of a router session (spec basic/sessions.md, router side)."""

    NEW = "new"
    """Transport attached; waiting for HELLO (also again, after the client's GOODBYE)."""
    CHALLENGING = "challenging"
    """CHALLENGE sent; waiting for AUTHENTICATE."""
    AUTHENTICATING = "authenticating"
    """Waiting for a dynamic authenticator's answer; the peer must stay silent."""
    ESTABLISHED = "established"
    """WELCOME sent: the session is joined to a realm."""
    CLOSED = "closed"
    """ABORT, protocol violation, killed (router's GOODBYE), or the transport is gone:
    the driver closes the transport."""


class RouterSession:
    """One peer connection as the router sees it.

    Attributes read by drivers:
        transport_info: what the driver passed to :meth:`Router.attach` (peer address,
            TLS, serializer, channel binding, ...).
        context: any object the driver attached (its connection, for instance).
        state: the :class:`SessionState`.
        closing: ``True`` once the router wants the transport closed; the driver sends
            what the router returned, then closes the connection. Messages received
            afterwards are ignored.
        session_id: the WAMP session id (assigned at HELLO, valid once established).
        realm_name, authid, authrole, authmethod, authprovider, authextra: the identity
            the session was authenticated with.
        hello_details: the client's ``HELLO.Details`` (``agent``, ``authextra``, ...).
        features: role -> advanced features the client announced (see :meth:`supports`).
    """

    __slots__ = (
        "authenticator",
        "authextra",
        "authid",
        "authmethod",
        "authprovider",
        "authrole",
        "calls",
        "context",
        "features",
        "hello_details",
        "invocation_ids",
        "invocations",
        "last_request_id",
        "realm",
        "realm_name",
        "recent_progressive",
        "registrations",
        "session_id",
        "state",
        "subscriptions",
        "testaments",
        "transport_info",
    )

    def __init__(self, transport_info: Mapping[str, Any], context: Any = None) -> None:
        self.transport_info: dict[str, Any] = dict(transport_info)
        self.context = context
        # INVOCATION ids go on across the sessions of one transport (not reset by
        # renew): a late YIELD for an invocation of the previous session can never be
        # taken for the answer to a new one.
        self.invocation_ids = SequentialIds()
        self.renew()

    def renew(self) -> None:
        """Start over as a new connection would: state NEW, no identity, no bookkeeping.

        The router calls it once the session a client closed with GOODBYE is cleaned up,
        so that the same transport may carry a new session (a new HELLO).
        """
        self.state = SessionState.NEW
        self.session_id = 0
        self.realm: Realm | None = None
        self.realm_name = ""
        self.authid = ""
        self.authrole = ""
        self.authmethod = ""
        self.authprovider = ""
        self.authextra: dict[str, Any] | None = None
        self.hello_details: dict[str, Any] = {}
        self.features: dict[str, frozenset[str]] = {}
        self.authenticator: Authenticator | None = None
        # Bookkeeping of the broker and dealer (cleared when the session ends).
        self.subscriptions: dict[int, Subscription] = {}
        self.registrations: dict[int, Registration] = {}
        self.calls: dict[int, PendingCall] = {}  # as caller, by CALL.Request
        self.invocations: dict[int, PendingCall] = {}  # as callee, by INVOCATION.Request
        self.last_request_id = 0  # a new session's request ids start at 1 again
        self.recent_progressive: deque[int] = deque(maxlen=_RECENT_PROGRESSIVE)
        self.testaments: dict[str, list[tuple[str, list[Any], dict[str, Any], dict[str, Any]]]] = {
            "detached": [],
            "destroyed": [],
        }

    @property
    def closing(self) -> bool:
        """Whether the router is done with this session and wants the transport closed."""
        return self.state is SessionState.CLOSED

    @property
    def established(self) -> bool:
        """Whether the session is joined to a realm."""
        return self.state is SessionState.ESTABLISHED

    def supports(self, role: str, feature: str) -> bool:
        """Tell whether the peer announced ``feature`` for ``role`` in its HELLO."""
        return feature in self.features.get(role, ())

    def set_roles(self, roles: Mapping[str, Any]) -> bool:
        """Record the roles/features of ``HELLO.Details.roles``; ``False`` if none is known."""
        features: dict[str, frozenset[str]] = {}
        for role in _KNOWN_ROLES:
            announced = roles.get(role)
            if not isinstance(announced, dict):
                continue
            role_features = announced.get("features")
            if isinstance(role_features, dict):
                features[role] = frozenset(k for k, v in role_features.items() if v is True)
            else:
                features[role] = frozenset()
        self.features = features
        return bool(features)

    def next_request_id(self, request_id: int) -> bool:
        """Check that ``request_id`` is the next sequential id; remember it either way."""
        expected = self.last_request_id + 1
        if expected > MAX_ID:
            expected = 1
        self.last_request_id = request_id
        return request_id == expected

    def public_transport(self) -> dict[str, Any]:
        """The transport info as meta API / authenticators see it: scalar values only.

        Bytes (a channel binding, for instance) and nested objects are left out, so that
        the dict serializes with every serializer.
        """
        return {
            key: value
            for key, value in self.transport_info.items()
            if isinstance(key, str) and (value is None or type(value) in (str, int, float, bool))
        }

    def identity(self) -> dict[str, Any]:
        """Session details as the meta API shows them (``wamp.session.get``, ``on_join``)."""
        details: dict[str, Any] = {
            "session": self.session_id,
            "realm": self.realm_name,
            "authid": self.authid,
            "authrole": self.authrole,
            "authmethod": self.authmethod,
            "authprovider": self.authprovider,
            "transport": self.public_transport(),
        }
        if self.authextra is not None:
            details["authextra"] = self.authextra
        return details

    def __repr__(self) -> str:
        return (
            f"<RouterSession {self.session_id} {self.state.value} realm={self.realm_name!r} "
            f"authid={self.authid!r} authrole={self.authrole!r}>"
        )
