"""The subset of a Crossbar.io node configuration (``config.json``) our router runs.

Used through :func:`autostrada.router.config.load_crossbar`; ``docs/router-config.md``
has the table of what maps to what. The choices worth knowing:

* Every ``router`` worker's realms and transports go into one router (with a warning
  when there are several workers: every listener then serves every realm).
* Crossbar configures authentication per transport, our core per realm: a realm accepts
  the union of the methods of its worker's transports, and its principals whose role the
  realm has (and whose ``realm``, if given, is this one). Transports that differ get a
  warning, since a method configured on one listener is then accepted on all of them.
  The same method configured differently on two transports (another anonymous role,
  another ticket for the same authid, static here and dynamic there) is an error.
* A transport without ``auth`` accepts anonymous sessions as role ``anonymous``, as in
  Crossbar.
* Paths are relative to the node directory, which is the config file's directory.
* Anything we do not support (other workers, components, MQTT, static web paths, cookie
  or TLS-certificate authentication, dynamic authorizers...) is named in a warning.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final

from autostrada.rawsocket import MAX_MAX_LENGTH, MIN_MAX_LENGTH
from autostrada.router.core.config import (
    AnonymousAuth,
    AuthMethodConfig,
    CryptosignAuth,
    DynamicAuthenticator,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    ScramAuth,
    ScramPrincipal,
    TicketAuth,
    WampCraAuth,
    WampCraPrincipal,
)
from autostrada.serializers import get_serializer

from .config import (
    DEFAULT_SERIALIZERS,
    PERMISSION_ACTIONS,
    ListenerConfig,
    ServerConfig,
    TLSConfig,
    _Source,
    _Table,
    existing_file,
    finish,
    parse_authenticator,
    parse_cryptosign,
    parse_scram,
    parse_ticket,
    parse_wampcra,
)

__all__ = ["read_crossbar"]

_ENV_PORT = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

# WebSocket options that change nothing a client can observe here (our server always
# validates UTF-8, masks per RFC 6455...): accepted without a warning.
_HARMLESS_WS_OPTIONS: Final = (
    "enable_webstatus",
    "show_server_version",
    "validate_utf8",
    "mask_server_frames",
    "require_masked_client_frames",
    "apply_mask",
    "enable_hybi10",
    "enable_rfc6455",
    "tcp_nodelay",
    "auto_ping_size",
    "echo_close_codereason",
    "fail_by_drop",
)


def _crossbar_wampcra(t: _Table) -> WampCraPrincipal:
    """Crossbar salts a WAMP-CRA secret only if salt, iterations and keylen are all set."""
    salted = all(t.has(name) for name in ("salt", "iterations", "keylen"))
    if not salted:
        t.skip("salt", "iterations", "keylen")
        if any(t.has(name) for name in ("salt", "iterations", "keylen")):
            t.src.warn(t.key, "salt, iterations and keylen are used only together: unsalted")
        return WampCraPrincipal(t.secret("secret"), t.get("role", "name"))
    return parse_wampcra(t)


def _crossbar_scram(t: _Table) -> ScramPrincipal:
    return parse_scram(t, allow_password=False)


_STATIC_METHODS: Final = {
    "ticket": (TicketAuth, "principals", parse_ticket),
    "wampcra": (WampCraAuth, "users", _crossbar_wampcra),
    "cryptosign": (CryptosignAuth, "principals", parse_cryptosign),
    "scram": (ScramAuth, "principals", _crossbar_scram),
}


_SUPPORTED_METHODS: Final = ("anonymous", *_STATIC_METHODS)


@dataclass
class _Principal:
    value: Any
    realm: str | None
    key: str = field(compare=False)


@dataclass
class _Method:
    """One authentication method of one transport (or merged over several)."""

    name: str
    key: str = field(compare=False)
    anonymous_role: str | None = None
    realm: str | None = None
    authenticator: DynamicAuthenticator | None = None
    principals: dict[str, _Principal] = field(default_factory=dict)


@dataclass
class _Endpoint:
    """Where WAMP is served by one transport (a WebSocket path or RawSocket)."""

    key: str
    methods: dict[str, _Method]


def read_crossbar(src: _Source) -> ServerConfig:
    """Map a Crossbar node config; see :func:`autostrada.router.config.load_crossbar`."""
    try:
        data = json.loads(src.read_bytes())
    except ValueError as exc:
        raise src.error("", f"not valid JSON: {exc}") from None
    if type(data) is not dict:
        raise src.error("", "must be a JSON object (a Crossbar node configuration)")
    root = _Table(src, "", data)
    version = root.get("version", "integer", 1)
    if version != 2:
        raise root.error("version", f"only Crossbar config version 2 is supported, got {version}")
    root.skip("$schema")
    _ignore_if_set(root, "controller")
    routers = []
    for worker in root.tables("workers"):
        kind = worker.get("type", "string")
        if kind == "router":
            routers.append(worker)
        else:
            src.ignored.append(f"{worker.key} (a {kind} worker)")
    root.close()
    if not routers:
        raise root.error("workers", "no router worker: nothing to run")
    if len(routers) > 1:
        src.warn(
            "workers",
            f"{len(routers)} router workers are merged into one router: every listener "
            "serves every realm",
        )
    realms: list[RealmConfig] = []
    realm_keys: dict[str, str] = {}
    listeners: list[tuple[str, ListenerConfig]] = []
    for worker in routers:
        for key, realm in _worker(worker, listeners):
            if realm.name in realm_keys:
                raise src.error(
                    key, f"duplicate realm {realm.name!r} (also {realm_keys[realm.name]})"
                )
            realm_keys[realm.name] = key
            realms.append(realm)
    if not listeners:
        raise root.error("workers", "no transport of a router worker serves WAMP")
    return finish(src, RouterConfig(realms), listeners)


def _ignore_if_set(t: _Table, *names: str) -> None:
    for name in names:
        if t.data.get(name):
            t.src.ignored.append(t.sub(name))
    t.skip(*names)


def _worker(
    t: _Table, listeners: list[tuple[str, ListenerConfig]]
) -> list[tuple[str, RealmConfig]]:
    """One router worker: appends its listeners, returns its realms with their keys."""
    t.skip("id")
    _ignore_if_set(t, "options", "manhole", "components", "connections")
    realm_tables = t.tables("realms")
    transports = t.tables("transports")
    t.close()
    realms = [(realm.key, *_realm(realm)) for realm in realm_tables]
    endpoints: list[_Endpoint] = []
    for transport in transports:
        endpoints.extend(_transport(transport, listeners))
    methods = _merge(t.src, endpoints)
    used: set[str] = set()
    result = []
    for key, name, roles in realms:
        auth = _realm_auth(name, {role.name for role in roles}, methods, used)
        if not auth:
            t.src.warn(key, f"no authentication method applies to realm {name!r}: nobody can join")
        result.append((key, t.src.core(key, partial(RealmConfig, name, roles, auth))))
    for method in methods.values():
        if method.anonymous_role is not None and method.key not in used:
            t.src.warn(
                method.key,
                f"anonymous role {method.anonymous_role!r} is not a role of any realm it "
                "applies to: anonymous sessions cannot join",
            )
        for principal in method.principals.values():
            if principal.key not in used:
                t.src.warn(
                    principal.key,
                    f"role {principal.value.role!r} is not a role of any realm it applies "
                    "to: this principal cannot join",
                )
    return result


# --------------------------------------------------------------------------------------
# Realms, roles, permissions


def _realm(t: _Table) -> tuple[str, tuple[RoleConfig, ...]]:
    name = t.get("name", "string")
    roles = tuple(_role(role) for role in t.tables("roles"))
    t.skip("id")
    options = t.table("options")
    if options is not None:
        if options.get("enable_meta_api", "boolean", True) is False:
            t.src.warn(options.sub("enable_meta_api"), "the meta API cannot be turned off")
        options.skip("bridge_meta_api", "event_dispatching_chunk_size")
        options.close()
    t.close()
    return name, roles


def _role(t: _Table) -> RoleConfig:
    name = t.get("name", "string")
    if t.has("authorizer"):
        t.get("authorizer", "string")
        t.src.warn(
            t.sub("authorizer"),
            f"dynamic authorizers are not supported: role {name!r} is denied everything",
        )
    permissions = tuple(_permission(p) for p in t.tables("permissions"))
    t.skip("id")
    t.close()
    return t.src.core(t.key, lambda: RoleConfig(name, permissions))


def _permission(t: _Table) -> Permission:
    uri = t.get("uri", "string")
    if t.has("match"):
        match = t.get("match", "string")
        if match not in ("exact", "prefix", "wildcard"):
            raise t.error("match", f"must be one of exact, prefix, wildcard, got {match!r}")
    else:
        uri, match = _starred(uri)
    flags: dict[str, bool] = {}
    allow = t.table("allow")
    if allow is not None:
        flags.update((name, allow.get(name, "boolean", False)) for name in PERMISSION_ACTIONS)
        allow.close()
    disclose = t.table("disclose")
    if disclose is not None:
        for name in ("caller", "publisher"):
            flags[f"disclose_{name}"] = disclose.get(name, "boolean", False)
        disclose.close()
    t.skip("cache")  # a Crossbar-internal authorization cache
    t.close()
    return t.src.core(t.key, lambda: Permission(uri, match, **flags))


def _starred(uri: str) -> tuple[str, str]:
    """Crossbar's starred URIs, used when ``match`` is absent: ``com.a.*`` is a prefix,
    more stars (``com.*.b``) a wildcard with empty components, none an exact URI."""
    stars = uri.count("*")
    if stars == 0:
        return uri, "exact"
    if stars == 1 and uri.endswith("*"):
        return uri[:-1], "prefix"
    return uri.replace("*", ""), "wildcard"


# --------------------------------------------------------------------------------------
# Transports


def _transport(t: _Table, listeners: list[tuple[str, ListenerConfig]]) -> list[_Endpoint]:
    kind = t.get("type", "string")
    parse = {"websocket": _websocket, "rawsocket": _rawsocket, "universal": _universal}
    if kind == "web":
        return _web(t, listeners)
    if kind not in parse:
        t.src.ignored.append(f"{t.key} (a {kind} transport)")
        t.skip(*t.data)
        return []
    t.skip("id", "debug")
    _ignore_if_set(t, "max_connections")
    endpoint = _endpoint(t.required("endpoint"))
    if endpoint is None:
        t.skip(*t.data)
        return []
    return parse[kind](t, endpoint, listeners)


def _websocket(
    t: _Table, endpoint: dict[str, Any], listeners: list[tuple[str, ListenerConfig]]
) -> list[_Endpoint]:
    options, auth = _websocket_part(t)
    t.close()
    listeners.append((t.key, _listener(t, "websocket", path="/", **endpoint, **options)))
    return [_Endpoint(t.key, auth)]


def _rawsocket(
    t: _Table, endpoint: dict[str, Any], listeners: list[tuple[str, ListenerConfig]]
) -> list[_Endpoint]:
    options, auth = _rawsocket_part(t)
    t.close()
    listeners.append((t.key, _listener(t, "rawsocket", **endpoint, **options)))
    return [_Endpoint(t.key, auth)]


def _universal(
    t: _Table, endpoint: dict[str, Any], listeners: list[tuple[str, ListenerConfig]]
) -> list[_Endpoint]:
    paths: list[tuple[str, _Table]] = []
    websocket = t.table("websocket")
    if websocket is not None:
        paths.extend(websocket.items())
    web = t.table("web")
    if web is not None:
        paths.extend(_web_paths(web))
        _ignore_if_set(web, "options")
        web.close()
    rawsocket = t.table("rawsocket")
    t.close()
    endpoints: list[_Endpoint] = []
    options: dict[str, Any] = {}
    if paths:
        path, ws_options, ws_auth = _pick_path(t, paths)
        options = {"path": path, **ws_options}
        endpoints.append(_Endpoint(paths[0][1].key, ws_auth))
    if rawsocket is not None:
        rs_options, rs_auth = _rawsocket_part(rawsocket)
        rawsocket.close()
        endpoints.append(_Endpoint(rawsocket.key, rs_auth))
        if paths:
            rs_options = _combine(t, options, rs_options)
        options.update(rs_options)
    if not endpoints:
        t.src.warn(t.key, "serves neither WebSocket nor RawSocket WAMP: no listener")
        return []
    kind = "universal" if len(endpoints) == 2 else "websocket" if paths else "rawsocket"
    listeners.append((t.key, _listener(t, kind, **endpoint, **options)))
    return endpoints


def _combine(t: _Table, ws: dict[str, Any], rs: dict[str, Any]) -> dict[str, Any]:
    """The RawSocket side's options merged into the WebSocket side's (one listener)."""
    serializers = list(ws["serializers"])
    serializers.extend(name for name in rs["serializers"] if name not in serializers)
    combined: dict[str, Any] = {"serializers": tuple(serializers)}
    sizes = [o["max_message_size"] for o in (ws, rs) if "max_message_size" in o]
    if len(set(sizes)) > 1:
        t.src.warn(t.key, f"one max_message_size per listener: using the smaller, {min(sizes)}")
    if sizes and min(sizes) > MAX_MAX_LENGTH:
        t.src.warn(t.key, f"max_message_size capped at {MAX_MAX_LENGTH}, all RawSocket allows")
        sizes = [MAX_MAX_LENGTH]
    if sizes:
        combined["max_message_size"] = min(sizes)
    return combined


def _web(t: _Table, listeners: list[tuple[str, ListenerConfig]]) -> list[_Endpoint]:
    t.skip("id")
    _ignore_if_set(t, "max_connections", "options")
    endpoint = _endpoint(t.required("endpoint"))
    paths = _web_paths(t)
    t.close()
    if endpoint is None:
        return []
    if not paths:
        t.src.warn(t.key, "has no WebSocket path: no listener")
        return []
    path, options, auth = _pick_path(t, paths)
    listeners.append((t.key, _listener(t, "websocket", path=path, **endpoint, **options)))
    return [_Endpoint(paths[0][1].key, auth)]


def _web_paths(t: _Table) -> list[tuple[str, _Table]]:
    """The ``websocket`` services of a Web transport's ``paths``; the others are ignored."""
    paths = t.required("paths")
    found = []
    for name, service in paths.items():
        kind = service.get("type", "string")
        if kind == "websocket":
            found.append((name, service))
        else:
            t.src.ignored.append(f"{service.key} (a {kind} web service)")
            service.skip(*service.data)
    return found


def _pick_path(
    t: _Table, paths: list[tuple[str, _Table]]
) -> tuple[str, dict[str, Any], dict[str, _Method]]:
    """One WebSocket path per listener: the first; the others are warned about."""
    name, service = paths[0]
    for _, other in paths[1:]:
        t.src.warn(other.key, "one WebSocket path per listener: only the first is served")
        other.skip(*other.data)
    service.skip("type")
    options, auth = _websocket_part(service)
    service.close()
    return ("/" if name == "/" else f"/{name}"), options, auth


def _websocket_part(t: _Table) -> tuple[dict[str, Any], dict[str, _Method]]:
    """Serializers, options and auth of a WebSocket transport or path service."""
    t.skip("id", "url", "debug")
    _ignore_if_set(t, "cookie")
    options: dict[str, Any] = {"serializers": _serializers(t, websocket=True)}
    table = t.table("options")
    if table is not None:
        options.update(_websocket_options(table))
    return options, _auth(t)


def _rawsocket_part(t: _Table) -> tuple[dict[str, Any], dict[str, _Method]]:
    t.skip("id", "debug")
    options: dict[str, Any] = {"serializers": _serializers(t, websocket=False)}
    table = t.table("options")
    if table is not None:
        size = table.get("max_message_size", "count", None)
        if size is not None:
            if not MIN_MAX_LENGTH <= size <= MAX_MAX_LENGTH:
                raise table.error(
                    "max_message_size", f"must be in {MIN_MAX_LENGTH}..{MAX_MAX_LENGTH}, got {size}"
                )
            options["max_message_size"] = size
        table.close()
    return options, _auth(t)


def _websocket_options(t: _Table) -> dict[str, Any]:
    """Map Crossbar's WebSocket options (times in ms; 0 mostly means "off")."""
    options: dict[str, Any] = {}
    size = t.get("max_message_size", "integer", None)
    if size == 0:
        t.src.warn(t.sub("max_message_size"), "0 (unlimited) is not supported: using 1 MiB")
    elif size is not None:
        options["max_message_size"] = size
    millis = {
        "open_handshake_timeout": "open_timeout",
        "auto_ping_interval": "keepalive_interval",
        "auto_ping_timeout": "keepalive_timeout",
    }
    for name, ours in millis.items():
        value = t.get(name, "integer", 0)
        if value < 0:
            raise t.error(name, f"must be milliseconds >= 0, got {value}")
        if value or (ours == "keepalive_interval" and t.has(name)):
            options[ours] = value / 1000  # auto_ping_interval 0: no pings (absent: ours)
    if options.get("keepalive_interval") == 0:
        options.pop("keepalive_timeout", None)  # Autobahn ignores it without the interval
    t.skip(*_HARMLESS_WS_OPTIONS)
    t.close()
    return options


def _serializers(t: _Table, *, websocket: bool) -> tuple[str, ...]:
    """Crossbar's serializer names (default: all); on WebSocket each also enables its
    batched variant, as in Crossbar."""
    names = t.get("serializers", "strings", DEFAULT_SERIALIZERS)
    result: list[str] = []
    for index, name in enumerate(names):
        if name in ("ubjson", "flatbuffers"):
            t.src.ignored.append(f"{t.sub('serializers')}[{index}] ({name})")
            continue
        try:
            serializer = get_serializer(name)
        except ValueError as exc:
            raise t.src.error(f"{t.sub('serializers')}[{index}]", str(exc)) from None
        short = serializer.subprotocol.removeprefix("wamp.2.")
        variants = [short]
        if websocket and not serializer.batched:
            variants.append(f"{short}.batched")
        elif not websocket and serializer.batched:
            raise t.src.error(
                f"{t.sub('serializers')}[{index}]", "RawSocket has no batched serializers"
            )
        result.extend(v for v in variants if v not in result)
    if not result:
        raise t.error("serializers", "none of these serializers is supported by autostrada")
    # Plain before batched, so that a peer offering both gets the plain one.
    return tuple(sorted(result, key=lambda n: n.endswith(".batched")))


def _endpoint(t: _Table) -> dict[str, Any] | None:
    """A listening endpoint as ListenerConfig arguments; ``None`` if not supported."""
    kind = t.get("type", "string")
    _ignore_if_set(t, "backlog", "shared", "user_timeout")
    if kind == "unix":
        path = t.src.resolve(t.get("path", "name"))
        t.close()
        return {"unix_path": path}
    if kind != "tcp":
        t.src.ignored.append(f"{t.key} (a {kind} endpoint: its transport is skipped)")
        t.skip(*t.data)
        return None
    raw = t.data.get("port")
    if type(raw) is str:
        t.skip("port")
        match = _ENV_PORT.fullmatch(raw)
        value = os.environ.get(match.group(1), "") if match else ""
        if not value.isdigit():
            raise t.error(
                "port", 'must be an integer, or "$NAME" of an environment variable holding one'
            )
        port = int(value)
    else:
        port = t.get("port", "integer")
    if not 1 <= port <= 65535:
        raise t.error("port", f"must be in 1..65535, got {port}")
    version = t.get("version", "integer", 4)
    if version not in (4, 6):
        raise t.error("version", f"must be 4 or 6, got {version}")
    host = t.get("interface", "string", "").strip() or ("::" if version == 6 else "0.0.0.0")
    result: dict[str, Any] = {"host": host, "port": port}
    tls = t.table("tls")
    if tls is not None:
        result["tls"] = _tls(tls)
    t.close()
    return result


def _tls(t: _Table) -> TLSConfig:
    cert, key = existing_file(t, "certificate"), existing_file(t, "key")
    ca_files = t.get("ca_certificates", "strings", [])
    ca = None
    if ca_files:
        ca = t.src.resolve(ca_files[0])
        if not Path(ca).is_file():
            raise t.src.error(f"{t.sub('ca_certificates')}[0]", f"no such file: {ca}")
        if len(ca_files) > 1:
            t.src.warn(
                t.sub("ca_certificates"),
                "one CA file per listener: only the first is used; concatenate them into one",
            )
    if t.get("chain_certificates", "strings", []):
        t.src.warn(
            t.sub("chain_certificates"),
            "not supported: append the chain to the certificate file instead",
        )
    t.skip("ciphers", "dhparam")  # Crossbar ignores them too (TLS 1.3 only)
    t.close()
    # Crossbar verifies client certificates against ca_certificates and requires them.
    return TLSConfig(cert, key, ca, require_client_cert=ca is not None)


def _listener(t: _Table, kind: str, **options: Any) -> ListenerConfig:
    return t.src.core(t.key, lambda: ListenerConfig(kind, **options))


# --------------------------------------------------------------------------------------
# Authentication: per transport in Crossbar, per realm in our core


def _auth(t: _Table) -> dict[str, _Method]:
    """The methods of one transport's ``auth`` (anonymous as role anonymous if absent)."""
    auth = t.table("auth")
    if auth is None or not auth.data:  # Crossbar: no (or empty) auth = anonymous
        return {"anonymous": _Method("anonymous", f"{t.key} (no auth)", anonymous_role="anonymous")}
    methods: dict[str, _Method] = {}
    for name in auth.data:
        config = auth.required(name)
        kind = config.get("type", "string") if name in _SUPPORTED_METHODS else ""
        if kind == "static" and name == "cryptosign" and not config.has("principals"):
            kind = "trustroots"  # Ethereum trust roots: not supported
        if name == "anonymous" and kind == "static":
            role = config.get("role", "name", "anonymous")
            realm = config.get("realm", "string", None)
            methods[name] = _Method(name, config.key, anonymous_role=role, realm=realm)
        elif name in _STATIC_METHODS and kind in ("static", "dynamic"):
            methods[name] = _method(config, name, kind)
        else:
            t.src.ignored.append(
                f"{config.key} ({f'{kind} ' if kind else ''}{name} authentication)"
            )
            config.skip(*config.data)
        config.close()
    return methods


def _method(t: _Table, name: str, kind: str) -> _Method:
    method = _Method(name, t.key)
    if kind == "dynamic":
        method.authenticator = parse_authenticator(t, "authenticator", "authenticator-realm")
        _ignore_if_set(t, "authenticator-config")
        return method
    _, principals_key, parse = _STATIC_METHODS[name]
    table = t.required(principals_key)
    for authid, principal_table in table.items():
        realm = principal_table.get("realm", "string", None) if name == "cryptosign" else None
        value = parse(principal_table)
        principal_table.close()
        method.principals[authid] = _Principal(value, realm, principal_table.key)
    return method


def _merge(src: _Source, endpoints: list[_Endpoint]) -> dict[str, _Method]:
    """The union of the endpoints' methods; conflicting definitions are errors."""
    merged: dict[str, _Method] = {}
    for endpoint in endpoints:
        for name, method in endpoint.methods.items():
            existing = merged.get(name)
            if existing is None:
                merged[name] = _Method(
                    name,
                    method.key,
                    method.anonymous_role,
                    method.realm,
                    method.authenticator,
                    dict(method.principals),
                )
                continue
            same_kind = (existing.authenticator is None) == (method.authenticator is None)
            if (
                not same_kind
                or existing.authenticator != method.authenticator
                or (existing.anonymous_role, existing.realm)
                != (method.anonymous_role, method.realm)
            ):
                raise src.error(
                    method.key,
                    f"differs from {existing.key}: autostrada configures {name} once per realm",
                )
            for authid, principal in method.principals.items():
                known = existing.principals.setdefault(authid, principal)
                if known != principal:
                    raise src.error(principal.key, f"differs from {known.key}")
    if len({_summary(e.methods) for e in endpoints}) > 1:
        listing = "; ".join(f"{e.key}: {_summary(e.methods) or 'none'}" for e in endpoints)
        src.warn(
            "",
            f"authentication differs between transports ({listing}); autostrada "
            f"authenticates per realm, so every listener accepts {_summary(merged)}",
        )
    return merged


def _summary(methods: dict[str, _Method]) -> str:
    parts = []
    for name, method in sorted(methods.items()):
        authids = f" ({', '.join(sorted(method.principals))})" if method.principals else ""
        parts.append(name + authids)
    return ", ".join(parts)


def _realm_auth(
    realm: str, roles: set[str], methods: dict[str, _Method], used: set[str]
) -> tuple[AuthMethodConfig, ...]:
    """The methods that apply to one realm, with the principals it has the role for."""
    auth: list[AuthMethodConfig] = []
    for name, method in methods.items():
        if method.realm not in (None, realm):
            continue
        if method.anonymous_role is not None:
            if method.anonymous_role in roles:
                auth.append(AnonymousAuth(method.anonymous_role))
                used.add(method.key)
            continue
        config_class = _STATIC_METHODS[name][0]
        if method.authenticator is not None:
            auth.append(config_class(authenticator=method.authenticator))
            continue
        principals = {}
        for authid, principal in method.principals.items():
            if principal.realm in (None, realm) and principal.value.role in roles:
                principals[authid] = principal.value
                used.add(principal.key)
        if principals:
            auth.append(config_class(principals=principals))
    return tuple(auth)
