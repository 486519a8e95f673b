"""Our TOML router configuration format (reference: ``docs/router-config.md``).

Used through :func:`autostrada.router.config.load_toml`; it builds on the file-reading
helpers and the parts shared with the Crossbar format in :mod:`autostrada.router.config`.
Strict: an unknown key is an error.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, Final

from autostrada.router.core.config import (
    AnonymousAuth,
    AuthMethodConfig,
    CryptosignAuth,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    RouterLimits,
    ScramAuth,
    TicketAuth,
    WampCraAuth,
)

from .config import (
    PERMISSION_ACTIONS,
    ListenerConfig,
    ServerConfig,
    TLSConfig,
    _Source,
    _Table,
    default_config,
    existing_file,
    finish,
    parse_authenticator,
    parse_cryptosign,
    parse_scram,
    parse_ticket,
    parse_wampcra,
)

__all__ = ["read_toml"]

_STATIC_AUTH: Final[Mapping[str, tuple[type[Any], Callable[[_Table], Any]]]] = {
    "ticket": (TicketAuth, parse_ticket),
    "wampcra": (WampCraAuth, parse_wampcra),
    "cryptosign": (CryptosignAuth, parse_cryptosign),
    "scram": (ScramAuth, lambda t: parse_scram(t, allow_password=True)),
}


def read_toml(src: _Source) -> ServerConfig:
    """Read our TOML format; see :func:`autostrada.router.config.load_toml`."""
    try:
        data = tomllib.loads(src.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise src.error("", f"not valid TOML: {exc}") from None
    root = _Table(src, "", data)
    router_table = root.table("router")
    agent, shutdown_timeout = "autostrada", 5.0
    if router_table is not None:
        agent = router_table.get("agent", "name", agent)
        shutdown_timeout = router_table.get("shutdown_timeout", "seconds", shutdown_timeout)
        router_table.close()
    limits_table = root.table("limits")
    limits = RouterLimits() if limits_table is None else _toml_limits(limits_table)
    realm_tables = root.tables("realms")
    if not realm_tables:
        raise root.error("realms", "missing: configure at least one [[realms]]")
    realms = [_toml_realm(t) for t in realm_tables]
    listener_tables = root.tables("listeners") if root.has("listeners") else None
    root.skip("listeners")
    root.close()
    if listener_tables is None:
        listeners = [
            (f"default listener {i}", lis) for i, lis in enumerate(default_config().listeners)
        ]
    elif not listener_tables:
        raise root.error("listeners", "must not be empty")
    else:
        listeners = [(t.key, _toml_listener(t)) for t in listener_tables]
    router = src.core("", lambda: RouterConfig(realms, limits, agent))
    return finish(src, router, listeners, shutdown_timeout)


def _toml_limits(t: _Table) -> RouterLimits:
    names = [f.name for f in fields(RouterLimits)]
    options = {name: t.data[name] for name in names if t.has(name)}  # RouterLimits checks them
    t.skip(*names)
    t.close()
    return t.src.core(t.key, lambda: RouterLimits(**options))


def _toml_realm(t: _Table) -> RealmConfig:
    name = t.get("name", "string")
    roles = tuple(_toml_role(role) for role in t.tables("roles"))
    auth_table = t.table("auth")
    t.close()
    role_names = {role.name for role in roles}
    if auth_table is None:
        if "anonymous" not in role_names:
            raise t.error(
                "auth",
                "missing: without it the realm accepts anonymous sessions as role "
                "'anonymous', which is not one of its roles",
            )
        auth: tuple[AuthMethodConfig, ...] = (AnonymousAuth(),)
    else:
        auth = _toml_auth(auth_table, role_names)
    return t.src.core(t.key, lambda: RealmConfig(name, roles, auth))


def _toml_role(t: _Table) -> RoleConfig:
    name = t.get("name", "string")
    permissions = tuple(_toml_permission(p) for p in t.tables("permissions"))
    t.close()
    return t.src.core(t.key, lambda: RoleConfig(name, permissions))


def _toml_permission(t: _Table) -> Permission:
    uri = t.get("uri", "string")
    match = t.get("match", "string", "exact")
    if match not in ("exact", "prefix", "wildcard"):
        raise t.error("match", f"must be one of exact, prefix, wildcard, got {match!r}")
    flags = {
        name: t.get(name, "boolean", False)
        for name in (*PERMISSION_ACTIONS, "disclose_caller", "disclose_publisher")
    }
    t.close()
    return t.src.core(t.key, lambda: Permission(uri, match, **flags))


def _toml_auth(t: _Table, roles: set[str]) -> tuple[AuthMethodConfig, ...]:
    methods: list[AuthMethodConfig] = []
    anonymous = t.table("anonymous")
    if anonymous is not None:
        role = anonymous.get("role", "name", "anonymous")
        if role not in roles:
            raise anonymous.error("role", f"{role!r} is not a role of the realm")
        anonymous.close()
        methods.append(AnonymousAuth(role))
    for method, (config_class, parse) in _STATIC_AUTH.items():
        table = t.table(method)
        if table is not None:
            methods.append(_toml_method(table, config_class, parse, roles))
    t.close()
    if not methods:
        raise t.src.error(t.key, f"configure at least one of anonymous, {', '.join(_STATIC_AUTH)}")
    return tuple(methods)


def _toml_method(
    t: _Table, config_class: type[Any], parse: Callable[[_Table], Any], roles: set[str]
) -> AuthMethodConfig:
    principals = t.table("principals")
    authenticator = t.table("authenticator")
    t.close()
    if (principals is None) == (authenticator is None):
        raise t.src.error(t.key, "give either principals (static) or authenticator (dynamic)")
    if authenticator is not None:
        dynamic = parse_authenticator(authenticator, "procedure", "realm")
        authenticator.close()
        result: AuthMethodConfig = config_class(authenticator=dynamic)
        return result
    assert principals is not None
    parsed = {}
    for authid, table in principals.items():
        principal = parse(table)
        table.close()
        if principal.role not in roles:
            raise table.error("role", f"{principal.role!r} is not a role of the realm")
        parsed[authid] = principal
    if not parsed:
        raise t.error("principals", "must not be empty")
    return config_class(principals=parsed)  # type: ignore[no-any-return]


def _toml_listener(t: _Table) -> ListenerConfig:
    names = [f.name for f in fields(ListenerConfig) if f.name not in ("kind", "tls")]
    options = {name: t.data[name] for name in names if t.has(name)}  # ListenerConfig checks them
    kind = t.get("kind", "string")
    if "unix_path" in options:
        if "host" in options:
            raise t.error("host", "has no meaning with unix_path")
        if type(options["unix_path"]) is str:
            options["unix_path"] = t.src.resolve(options["unix_path"])
    t.skip(*names)
    tls = t.table("tls")
    if tls is not None:
        cert, key = existing_file(tls, "cert_file"), existing_file(tls, "key_file")
        ca = existing_file(tls, "ca_file") if tls.has("ca_file") else None
        tls.skip("ca_file")
        require = tls.get("require_client_cert", "boolean", False)
        tls.close()
        options["tls"] = tls.src.core(tls.key, lambda: TLSConfig(cert, key, ca, require))
    t.close()
    return t.src.core(t.key, lambda: ListenerConfig(kind, **options))
