"""Authorization by role: which actions a session may perform on which URIs.

Spec advanced/authorization.md: a session is authenticated as ``(realm, authrole,
authid)``; each role has permissions per URI pattern (Crossbar's ``permissions`` with
``allow`` and ``disclose``). The most specific permission matching a URI decides (see
:mod:`.patterns`); no matching permission means denied.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from .config import Permission, RoleConfig
from .patterns import UriTable

__all__ = ["Action", "Authorizer"]

# Decisions are cached per (role, uri): URIs repeat a lot on hot paths (every CALL and
# PUBLISH is authorized). Bounded, so a peer sending random URIs cannot grow it.
_CACHE_MAX = 4096


class Action(Enum):
    """What a session asks to do on a URI."""

    CALL = "call"
    REGISTER = "register"
    PUBLISH = "publish"
    SUBSCRIBE = "subscribe"


class Authorizer:
    """Permission lookup for the roles of one realm."""

    __slots__ = ("_cache", "_roles")

    def __init__(self, roles: Iterable[RoleConfig]) -> None:
        self._roles: dict[str, UriTable[Permission]] = {}
        for role in roles:
            table: UriTable[Permission] = UriTable()
            for permission in role.permissions:
                table.add(permission.uri, permission.match, permission)
            self._roles[role.name] = table
        self._cache: dict[tuple[str, str], Permission | None] = {}

    def has_role(self, role: str) -> bool:
        """Tell whether the realm defines ``role``."""
        return role in self._roles

    def permission(self, role: str, uri: str) -> Permission | None:
        """Return the permission that applies to ``uri`` for ``role`` (``None``: denied)."""
        key = (role, uri)
        try:
            return self._cache[key]
        except KeyError:
            pass
        table = self._roles.get(role)
        permission = None if table is None else table.best(uri)
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[key] = permission
        return permission

    def allows(self, role: str, uri: str, action: Action) -> bool:
        """Tell whether ``role`` may perform ``action`` on ``uri``."""
        permission = self.permission(role, uri)
        if permission is None:
            return False
        if action is Action.CALL:
            return permission.call
        if action is Action.PUBLISH:
            return permission.publish
        if action is Action.SUBSCRIBE:
            return permission.subscribe
        return permission.register
