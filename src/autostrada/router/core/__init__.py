"""The sans-I/O router core: realms, broker, dealer, meta API, authentication, authorization.

No I/O, clocks or tasks here: a driver feeds :class:`Router` with message objects and the
current monotonic time, and sends what it returns (see :mod:`.router` for the rules).
"""

from __future__ import annotations

from .authentication import (
    BUILTIN_AUTHENTICATORS,
    Accept,
    AnonymousAuthenticator,
    Authenticator,
    AuthenticatorFactory,
    AuthenticatorReply,
    AuthOutcome,
    CallAuthenticator,
    Challenge,
    Deny,
    HelloInfo,
    TicketAuthenticator,
    call_dynamic_authenticator,
    principal_from_reply,
)
from .authorizer import Action, Authorizer
from .config import (
    AnonymousAuth,
    AuthMethodConfig,
    CryptosignAuth,
    CryptosignPrincipal,
    DynamicAuthenticator,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    RouterLimits,
    ScramAuth,
    ScramPrincipal,
    TicketAuth,
    TicketPrincipal,
    WampCraAuth,
    WampCraPrincipal,
)
from .realm import Realm
from .replies import LIMIT_EXCEEDED
from .router import ROUTER_ROLES, Router
from .session import Outgoing, RouterSession, SessionState

__all__ = [
    # driving the router
    "Router",
    "RouterSession",
    "SessionState",
    "Outgoing",
    "Realm",
    "ROUTER_ROLES",
    "LIMIT_EXCEEDED",
    # configuration
    "RouterConfig",
    "RouterLimits",
    "RealmConfig",
    "RoleConfig",
    "Permission",
    "AuthMethodConfig",
    "AnonymousAuth",
    "TicketAuth",
    "TicketPrincipal",
    "WampCraAuth",
    "WampCraPrincipal",
    "CryptosignAuth",
    "CryptosignPrincipal",
    "ScramAuth",
    "ScramPrincipal",
    "DynamicAuthenticator",
    # authentication plug-in interface
    "Authenticator",
    "AuthenticatorFactory",
    "AuthenticatorReply",
    "AuthOutcome",
    "Accept",
    "Deny",
    "Challenge",
    "CallAuthenticator",
    "HelloInfo",
    "AnonymousAuthenticator",
    "TicketAuthenticator",
    "BUILTIN_AUTHENTICATORS",
    "call_dynamic_authenticator",
    "principal_from_reply",
    # authorization
    "Action",
    "Authorizer",
]
