"""The roles and features a client announces in HELLO, and well-known close/error URIs.

Spec: Advanced Profile "Feature Announcement" (advanced/features.md) and each feature's
section; ``x_acknowledged_event_delivery`` as Autobahn and Crossbar deploy it
(DIVERGENCES.md).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = [
    "AUTHENTICATION_FAILURE_REASONS",
    "CLIENT_ROLES",
    "NO_CALLEE_ERRORS",
    "client_roles",
    "role_supports",
]

# HELLO.Details.roles.<role>.features.<feature> = true for what this client implements.
# call_timeout for the callee tells the dealer it may forward CALL.Options.timeout in
# INVOCATION.Details.timeout and leave enforcing it to us (advanced/rpc_call_timeout.md):
# the driver then answers wamp.error.timeout when the handler overruns.
CLIENT_ROLES: Mapping[str, Mapping[str, Any]] = {
    "caller": {
        "features": {
            "progressive_call_results": True,
            "call_timeout": True,
            "call_canceling": True,
            "caller_identification": True,
            "progressive_call_invocations": True,
        }
    },
    "callee": {
        "features": {
            "progressive_call_results": True,
            "call_timeout": True,
            "call_canceling": True,
            "caller_identification": True,
            "pattern_based_registration": True,
            "shared_registration": True,
            "registration_revocation": True,
            "progressive_call_invocations": True,
        }
    },
    "publisher": {
        "features": {
            "publisher_identification": True,
            "subscriber_blackwhite_listing": True,
            "publisher_exclusion": True,
        }
    },
    "subscriber": {
        "features": {
            "publisher_identification": True,
            "pattern_based_subscription": True,
            "subscription_revocation": True,
            "event_retention": True,
            "x_acknowledged_event_delivery": True,
        }
    },
}

# ABORT reasons during the join that mean "your credentials (or lack of them) were
# refused". wamp.error.no_auth_method is what Crossbar sends for the spec's
# wamp.error.no_matching_auth_method (DIVERGENCES.md): both count.
AUTHENTICATION_FAILURE_REASONS = frozenset(
    {
        "wamp.error.no_matching_auth_method",
        "wamp.error.no_auth_method",
        "wamp.error.not_authorized",
        "wamp.error.authentication_failed",
        "wamp.error.authentication_denied",
        "wamp.error.authentication_required",
        "wamp.error.authorization_failed",
        "wamp.error.authorization_denied",
        "wamp.error.no_such_role",
        "wamp.error.no_such_principal",
    }
)

# "Nobody can take this call": the spec's URI and the one Crossbar sends.
NO_CALLEE_ERRORS = frozenset({"wamp.error.no_available_callee", "wamp.error.no_eligible_callee"})

# Spelling variants of one feature name found in the spec text: the progressive call
# invocations section says call_cancelling, everything else (and Crossbar) call_canceling.
_FEATURE_ALIASES: Mapping[str, tuple[str, ...]] = {
    "call_canceling": ("call_canceling", "call_cancelling"),
}


def client_roles() -> dict[str, Any]:
    """Return a fresh, mutable copy of :data:`CLIENT_ROLES` for a HELLO."""
    return copy.deepcopy(dict(CLIENT_ROLES))


def role_supports(roles: Mapping[str, Any], role: str, feature: str) -> bool:
    """Tell whether ``roles`` (a HELLO/WELCOME roles dict) announces ``feature`` for ``role``.

    Example::

        role_supports(welcome_roles, "dealer", "call_canceling")
    """
    announced = roles.get(role)
    if not isinstance(announced, dict):
        return False
    features = announced.get("features")
    if not isinstance(features, dict):
        return False
    names = _FEATURE_ALIASES.get(feature, (feature,))
    return any(features.get(name) is True for name in names)
