"""Router configuration: plain frozen dataclasses, validated in their constructors.

The TOML / Crossbar-JSON parsers build these; the core only reads them. Every invalid
value raises :class:`ValueError` naming the field, e.g.
``Permission.match: 'regex' is not one of exact, prefix, wildcard``.

Shape (mirrors Crossbar's realm/role/permission and auth configuration)::

    RouterConfig(
        realms=[
            RealmConfig(
                name="realm1",
                roles=[RoleConfig("backend", [Permission("com.example.", "prefix", call=True)])],
                auth=[TicketAuth(principals={"joe": TicketPrincipal("secret", "backend")})],
            )
        ],
        limits=RouterLimits(max_pending_calls_per_session=100),
    )

``RouterConfig.development()`` is one realm ``realm1`` where anonymous sessions may do
anything (for development and tests only).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from autostrada.uri import is_valid_uri

__all__ = [
    "AnonymousAuth",
    "AuthMethodConfig",
    "CryptosignAuth",
    "CryptosignPrincipal",
    "DynamicAuthenticator",
    "Permission",
    "RealmConfig",
    "RoleConfig",
    "RouterConfig",
    "RouterLimits",
    "ScramAuth",
    "ScramPrincipal",
    "TicketAuth",
    "TicketPrincipal",
    "WampCraAuth",
    "WampCraPrincipal",
]

_MATCHES = ("exact", "prefix", "wildcard")
_HEX32 = re.compile(r"[0-9a-fA-F]{64}")


def _fail(field_name: str, problem: str) -> ValueError:
    return ValueError(f"{field_name}: {problem}")


def _check_str(value: object, field_name: str, *, empty: bool = False) -> str:
    if type(value) is not str:
        raise _fail(field_name, f"must be a string, got {type(value).__name__}")
    if not empty and not value:
        raise _fail(field_name, "must not be empty")
    return value


def _check_bool(value: object, field_name: str) -> None:
    if type(value) is not bool:
        raise _fail(field_name, f"must be a bool, got {value!r}")


def _check_positive(value: object, field_name: str, *, number: bool = False) -> None:
    kinds: tuple[type, ...] = (int, float) if number else (int,)
    if type(value) not in kinds or value <= 0:  # type: ignore[operator]
        expected = "a positive number" if number else "a positive integer"
        raise _fail(field_name, f"must be {expected}, got {value!r}")


def _check_uri(value: object, field_name: str) -> str:
    if not is_valid_uri(value):
        raise _fail(field_name, f"{value!r} is not a valid WAMP URI")
    assert isinstance(value, str)
    return value


def _frozen_mapping(value: object, field_name: str, item_type: type) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(field_name, f"must be a mapping, got {type(value).__name__}")
    for key, item in value.items():
        _check_str(key, f"{field_name} key")
        if not isinstance(item, item_type):
            raise _fail(
                f"{field_name}[{key!r}]",
                f"must be a {item_type.__name__}, got {type(item).__name__}",
            )
    return MappingProxyType(dict(value))


# --------------------------------------------------------------------------------------
# Authorization


@dataclass(frozen=True)
class Permission:
    """What a role may do on the URIs matched by ``uri``/``match`` (Crossbar's permission).

    ``match="prefix"`` with ``uri=""`` matches every URI. When several permissions of a
    role match a URI, the most specific wins, by the same rule the dealer uses to pick a
    registration (spec "Pattern-based Registration"): exact, then the longest prefix,
    then the wildcard with the longest leading components.

    Attributes:
        uri: URI or URI pattern.
        match: ``exact``, ``prefix`` or ``wildcard``.
        call, register, publish, subscribe: the actions allowed.
        disclose_caller: disclose the caller's identity to callees on ``call``.
        disclose_publisher: disclose the publisher's identity to subscribers on ``publish``.
    """

    uri: str
    match: str = "exact"
    call: bool = False
    register: bool = False
    publish: bool = False
    subscribe: bool = False
    disclose_caller: bool = False
    disclose_publisher: bool = False

    def __post_init__(self) -> None:
        _check_str(self.uri, "Permission.uri", empty=True)
        if self.match not in _MATCHES:
            raise _fail("Permission.match", f"{self.match!r} is not one of exact, prefix, wildcard")
        empty_prefix = self.match == "prefix" and self.uri == ""
        if not empty_prefix and not is_valid_uri(self.uri, match=self.match):
            raise _fail(
                "Permission.uri", f"{self.uri!r} is not a valid URI pattern for match={self.match}"
            )
        for name in (
            "call",
            "register",
            "publish",
            "subscribe",
            "disclose_caller",
            "disclose_publisher",
        ):
            _check_bool(getattr(self, name), f"Permission.{name}")

    @classmethod
    def allow_all(cls, *, disclose: bool = False) -> Permission:
        """Every action on every URI (a development role)."""
        return cls(
            "",
            "prefix",
            call=True,
            register=True,
            publish=True,
            subscribe=True,
            disclose_caller=disclose,
            disclose_publisher=disclose,
        )


@dataclass(frozen=True)
class RoleConfig:
    """A role of a realm: its name and its permissions (no permission entry = denied)."""

    name: str
    permissions: Sequence[Permission] = ()

    def __post_init__(self) -> None:
        _check_str(self.name, "RoleConfig.name")
        permissions = tuple(self.permissions)
        seen: set[tuple[str, str]] = set()
        for index, permission in enumerate(permissions):
            if not isinstance(permission, Permission):
                raise _fail(f"RoleConfig.permissions[{index}]", "must be a Permission")
            key = (permission.uri, permission.match)
            if key in seen:
                raise _fail(
                    f"RoleConfig.permissions[{index}]",
                    f"duplicate permission for uri={permission.uri!r} match={permission.match}",
                )
            seen.add(key)
        object.__setattr__(self, "permissions", permissions)


# --------------------------------------------------------------------------------------
# Authentication


@dataclass(frozen=True)
class DynamicAuthenticator:
    """A procedure, registered by a trusted session, that decides who may join.

    The router calls ``procedure(realm, authid, details)`` (Crossbar's convention; for
    ticket, ``details["ticket"]`` holds the ticket). The result is a role name, or a dict
    with ``role`` and optionally ``authid`` and ``extra`` (sent as WELCOME
    ``authextra``). An ERROR result denies the session with that error URI.

    Attributes:
        procedure: the authenticator's URI.
        realm: the realm where it is registered (default: the realm being joined).
        timeout: seconds to wait for its answer before denying the session.
    """

    procedure: str
    realm: str | None = None
    timeout: float = 10.0

    def __post_init__(self) -> None:
        _check_uri(self.procedure, "DynamicAuthenticator.procedure")
        if self.realm is not None:
            _check_uri(self.realm, "DynamicAuthenticator.realm")
        _check_positive(self.timeout, "DynamicAuthenticator.timeout", number=True)


class AuthMethodConfig:
    """Base of the per-method authentication configurations (``method`` names the method)."""

    method: ClassVar[str]

    def roles(self) -> Iterable[str]:
        """The roles this configuration can assign statically (checked against the realm)."""
        return ()


def _check_principals(auth: Any, principal_type: type, name: str) -> None:
    principals = _frozen_mapping(auth.principals, f"{name}.principals", principal_type)
    object.__setattr__(auth, "principals", principals)
    dynamic = auth.authenticator
    if dynamic is not None and not isinstance(dynamic, DynamicAuthenticator):
        raise _fail(f"{name}.authenticator", "must be a DynamicAuthenticator or None")
    if (dynamic is None) == (not principals):
        raise _fail(name, "give either principals (static) or authenticator (dynamic), not both")


@dataclass(frozen=True)
class AnonymousAuth(AuthMethodConfig):
    """WAMP-Anonymous: anyone joins under ``role`` with a random authid."""

    method: ClassVar[str] = "anonymous"
    role: str = "anonymous"

    def __post_init__(self) -> None:
        _check_str(self.role, "AnonymousAuth.role")

    def roles(self) -> Iterable[str]:
        return (self.role,)


@dataclass(frozen=True, repr=False)
class TicketPrincipal:
    """A static WAMP-Ticket principal (the ticket never appears in repr)."""

    ticket: str
    role: str

    def __post_init__(self) -> None:
        _check_str(self.ticket, "TicketPrincipal.ticket")
        _check_str(self.role, "TicketPrincipal.role")

    def __repr__(self) -> str:
        return f"TicketPrincipal(ticket=<hidden>, role={self.role!r})"


@dataclass(frozen=True)
class TicketAuth(AuthMethodConfig):
    """WAMP-Ticket: static ``principals`` (authid -> principal) or a dynamic authenticator."""

    method: ClassVar[str] = "ticket"
    principals: Mapping[str, TicketPrincipal] = field(default_factory=dict)
    authenticator: DynamicAuthenticator | None = None

    def __post_init__(self) -> None:
        _check_principals(self, TicketPrincipal, "TicketAuth")

    def roles(self) -> Iterable[str]:
        return (p.role for p in self.principals.values())


@dataclass(frozen=True, repr=False)
class WampCraPrincipal:
    """A static WAMP-CRA principal, as Crossbar's config holds it.

    Without ``salt``, ``secret`` is the shared secret itself. With ``salt``, ``secret``
    is the *derived key*, ``autostrada.auth.derive_key(password, salt, iterations,
    keylen)`` as text (Crossbar's convention, DIVERGENCES.md "wampcra salted key"): the
    router never needs the password, and sends ``salt``/``iterations``/``keylen`` in the
    CHALLENGE so that the client derives the same key.
    """

    secret: str
    role: str
    salt: str | None = None
    iterations: int = 1000
    keylen: int = 32

    def __post_init__(self) -> None:
        _check_str(self.secret, "WampCraPrincipal.secret")
        _check_str(self.role, "WampCraPrincipal.role")
        if self.salt is not None:
            _check_str(self.salt, "WampCraPrincipal.salt")
        _check_positive(self.iterations, "WampCraPrincipal.iterations")
        _check_positive(self.keylen, "WampCraPrincipal.keylen")

    def __repr__(self) -> str:
        return f"WampCraPrincipal(secret=<hidden>, role={self.role!r}, salt={self.salt!r})"


@dataclass(frozen=True)
class WampCraAuth(AuthMethodConfig):
    """WAMP-CRA configuration (the challenge math is plugged in from ``autostrada.auth``)."""

    method: ClassVar[str] = "wampcra"
    principals: Mapping[str, WampCraPrincipal] = field(default_factory=dict)
    authenticator: DynamicAuthenticator | None = None

    def __post_init__(self) -> None:
        _check_principals(self, WampCraPrincipal, "WampCraAuth")

    def roles(self) -> Iterable[str]:
        return (p.role for p in self.principals.values())


@dataclass(frozen=True)
class CryptosignPrincipal:
    """A static WAMP-Cryptosign principal: hex Ed25519 public keys allowed for the authid.

    The keys are 64 hex characters each (stored lowercase, as clients send them).
    """

    authorized_keys: Sequence[str]
    role: str

    def __post_init__(self) -> None:
        keys = tuple(self.authorized_keys)
        if not keys:
            raise _fail("CryptosignPrincipal.authorized_keys", "must not be empty")
        for index, key in enumerate(keys):
            name = f"CryptosignPrincipal.authorized_keys[{index}]"
            _check_str(key, name)
            if not _HEX32.fullmatch(key):
                raise _fail(name, f"{key!r:.80} is not 32 bytes as 64 hex characters")
        object.__setattr__(self, "authorized_keys", tuple(key.lower() for key in keys))
        _check_str(self.role, "CryptosignPrincipal.role")


@dataclass(frozen=True)
class CryptosignAuth(AuthMethodConfig):
    """WAMP-Cryptosign configuration (math plugged in from ``autostrada.auth``)."""

    method: ClassVar[str] = "cryptosign"
    principals: Mapping[str, CryptosignPrincipal] = field(default_factory=dict)
    authenticator: DynamicAuthenticator | None = None

    def __post_init__(self) -> None:
        _check_principals(self, CryptosignPrincipal, "CryptosignAuth")

    def roles(self) -> Iterable[str]:
        return (p.role for p in self.principals.values())


@dataclass(frozen=True, repr=False)
class ScramPrincipal:
    """A static WAMP-SCRAM principal (stored key material, never the password)."""

    kdf: str
    iterations: int
    salt: str
    stored_key: str
    server_key: str
    role: str
    memory: int | None = None

    def __post_init__(self) -> None:
        if self.kdf not in ("argon2id13", "argon2id-13", "pbkdf2"):
            raise _fail("ScramPrincipal.kdf", f"{self.kdf!r} is not argon2id-13 or pbkdf2")
        _check_positive(self.iterations, "ScramPrincipal.iterations")
        for name in ("salt", "stored_key", "server_key", "role"):
            _check_str(getattr(self, name), f"ScramPrincipal.{name}")
        # pbkdf2 has no memory cost; Crossbar's configs carry memory: 0 for it.
        if self.memory is not None and not (self.kdf == "pbkdf2" and self.memory == 0):
            _check_positive(self.memory, "ScramPrincipal.memory")

    def __repr__(self) -> str:
        return f"ScramPrincipal(kdf={self.kdf!r}, role={self.role!r}, keys=<hidden>)"


@dataclass(frozen=True)
class ScramAuth(AuthMethodConfig):
    """WAMP-SCRAM configuration; clients may offer ``scram`` or ``wamp-scram``."""

    method: ClassVar[str] = "scram"
    principals: Mapping[str, ScramPrincipal] = field(default_factory=dict)
    authenticator: DynamicAuthenticator | None = None

    def __post_init__(self) -> None:
        _check_principals(self, ScramPrincipal, "ScramAuth")

    def roles(self) -> Iterable[str]:
        return (p.role for p in self.principals.values())


# Method names a client may offer in HELLO.Details.authmethods -> configured method name.
# DIVERGENCES.md: Crossbar and Autobahn say "scram", the spec says "wamp-scram".
METHOD_ALIASES: Mapping[str, str] = MappingProxyType({"wamp-scram": "scram"})


# --------------------------------------------------------------------------------------
# Realms and limits


@dataclass(frozen=True)
class RealmConfig:
    """One realm: its roles (name -> RoleConfig) and the authentication methods accepted.

    Attributes:
        name: the realm URI.
        roles: the roles sessions can be authenticated as.
        auth: authentication methods, at most one per method; tried in the client's
            order of ``HELLO.Details.authmethods`` (``["anonymous"]`` when it offers none).
    """

    name: str
    roles: Sequence[RoleConfig] = ()
    auth: Sequence[AuthMethodConfig] = field(default_factory=lambda: (AnonymousAuth(),))

    def __post_init__(self) -> None:
        _check_uri(self.name, "RealmConfig.name")
        roles = tuple(self.roles)
        names: set[str] = set()
        for index, role in enumerate(roles):
            if not isinstance(role, RoleConfig):
                raise _fail(f"RealmConfig.roles[{index}]", "must be a RoleConfig")
            if role.name in names:
                raise _fail(f"RealmConfig.roles[{index}]", f"duplicate role {role.name!r}")
            names.add(role.name)
        auth = tuple(self.auth)
        methods: set[str] = set()
        for index, method in enumerate(auth):
            if not isinstance(method, AuthMethodConfig):
                raise _fail(f"RealmConfig.auth[{index}]", "must be an auth method configuration")
            if method.method in methods:
                raise _fail(f"RealmConfig.auth[{index}]", f"duplicate method {method.method!r}")
            methods.add(method.method)
            for role_name in method.roles():
                if role_name not in names:
                    raise _fail(
                        f"RealmConfig.auth[{index}]",
                        f"role {role_name!r} of {method.method} is not a role of the realm",
                    )
        object.__setattr__(self, "roles", roles)
        object.__setattr__(self, "auth", auth)

    def role(self, name: str) -> RoleConfig | None:
        """Return the role called ``name``, if the realm has one."""
        for role in self.roles:
            if role.name == name:
                return role
        return None

    def auth_method(self, method: str) -> AuthMethodConfig | None:
        """Return the configuration of ``method`` (aliases such as ``wamp-scram`` accepted)."""
        method = METHOD_ALIASES.get(method, method)
        for config in self.auth:
            if config.method == method:
                return config
        return None

    @classmethod
    def development(cls, name: str = "realm1") -> RealmConfig:
        """A realm where anonymous sessions may do everything (never use in production)."""
        return cls(
            name=name,
            roles=(RoleConfig("anonymous", (Permission.allow_all(),)),),
            auth=(AnonymousAuth(),),
        )


@dataclass(frozen=True)
class RouterLimits:
    """Bounds on what one peer can make the router hold (DESIGN.md §6).

    Attributes:
        max_sessions: sessions the router holds at once (from HELLO on, all realms);
            one more HELLO gets ABORT ``autostrada.error.limit_exceeded``.
        max_pending_calls_per_session: calls a session may have in flight as a caller;
            one more gets ERROR ``autostrada.error.limit_exceeded``.
        max_registrations_per_session: registrations one session may hold.
        max_subscriptions_per_session: subscriptions one session may hold.
        max_testaments_per_session: testaments one session may hold (both scopes).
        max_retained_topics: retained events per realm (one per topic by definition);
            the least recently published is dropped beyond this.
        strict_request_ids: reject request ids that are not sequential (spec "Protocol
            Errors"); off by default since some deployed clients send random ids.
        challenge_timeout: seconds a client has to answer a CHALLENGE with
            AUTHENTICATE; then the router ABORTs it (``wamp.error.authentication_failed``).
    """

    max_sessions: int = 10000
    max_pending_calls_per_session: int = 1000
    max_registrations_per_session: int = 1000
    max_subscriptions_per_session: int = 10000
    max_testaments_per_session: int = 100
    max_retained_topics: int = 10000
    strict_request_ids: bool = False
    challenge_timeout: float = 30.0

    def __post_init__(self) -> None:
        for name in (
            "max_sessions",
            "max_pending_calls_per_session",
            "max_registrations_per_session",
            "max_subscriptions_per_session",
            "max_testaments_per_session",
            "max_retained_topics",
        ):
            _check_positive(getattr(self, name), f"RouterLimits.{name}")
        _check_bool(self.strict_request_ids, "RouterLimits.strict_request_ids")
        _check_positive(self.challenge_timeout, "RouterLimits.challenge_timeout", number=True)


@dataclass(frozen=True)
class RouterConfig:
    """The whole router: realms (unique names), limits, and the agent string in WELCOME."""

    realms: Sequence[RealmConfig] = ()
    limits: RouterLimits = field(default_factory=RouterLimits)
    agent: str = "autostrada"

    def __post_init__(self) -> None:
        realms = tuple(self.realms)
        names: set[str] = set()
        for index, realm in enumerate(realms):
            if not isinstance(realm, RealmConfig):
                raise _fail(f"RouterConfig.realms[{index}]", "must be a RealmConfig")
            if realm.name in names:
                raise _fail(f"RouterConfig.realms[{index}]", f"duplicate realm {realm.name!r}")
            names.add(realm.name)
        if not isinstance(self.limits, RouterLimits):
            raise _fail("RouterConfig.limits", "must be a RouterLimits")
        _check_str(self.agent, "RouterConfig.agent")
        object.__setattr__(self, "realms", realms)

    @classmethod
    def development(cls, realm: str = "realm1") -> RouterConfig:
        """One development realm where anonymous sessions may do everything."""
        return cls(realms=(RealmConfig.development(realm),))
