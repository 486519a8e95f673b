"""Router core: configuration validation, URI pattern tables, the authorizer."""

from __future__ import annotations

from typing import Any

import pytest

from autostrada.router.core import (
    Action,
    AnonymousAuth,
    Authorizer,
    CryptosignAuth,
    CryptosignPrincipal,
    DynamicAuthenticator,
    Permission,
    RealmConfig,
    RoleConfig,
    Router,
    RouterConfig,
    RouterLimits,
    ScramAuth,
    ScramPrincipal,
    TicketAuth,
    TicketPrincipal,
    WampCraAuth,
    WampCraPrincipal,
)
from autostrada.router.core.patterns import UriTable, wildcard_rank

USER = RoleConfig("user", [Permission.allow_all()])


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Permission(5), "Permission.uri"),  # type: ignore[arg-type]
        (lambda: Permission("com.x", "regex"), "Permission.match"),
        (lambda: Permission("com..x"), "Permission.uri"),
        (lambda: Permission(""), "Permission.uri"),
        (lambda: Permission("com.x", call=1), "Permission.call"),  # type: ignore[arg-type]
        (lambda: RoleConfig(""), "RoleConfig.name"),
        (lambda: RoleConfig("r", ["x"]), "RoleConfig.permissions[0]"),  # type: ignore[list-item]
        (
            lambda: RoleConfig("r", [Permission("a.b"), Permission("a.b")]),
            "RoleConfig.permissions[1]",
        ),
        (lambda: DynamicAuthenticator("not a uri"), "DynamicAuthenticator.procedure"),
        (lambda: DynamicAuthenticator("com.a", realm="bad realm"), "DynamicAuthenticator.realm"),
        (lambda: DynamicAuthenticator("com.a", timeout=0), "DynamicAuthenticator.timeout"),
        (lambda: AnonymousAuth(""), "AnonymousAuth.role"),
        (lambda: TicketPrincipal("", "user"), "TicketPrincipal.ticket"),
        (TicketAuth, "TicketAuth"),
        (
            lambda: TicketAuth(
                principals={"a": TicketPrincipal("t", "user")},
                authenticator=DynamicAuthenticator("com.a"),
            ),
            "TicketAuth",
        ),
        (lambda: TicketAuth(principals=[]), "TicketAuth.principals"),  # type: ignore[arg-type]
        (
            lambda: TicketAuth(principals={"a": "t"}),  # type: ignore[dict-item]
            "TicketAuth.principals['a']",
        ),
        (
            lambda: TicketAuth(principals={1: TicketPrincipal("t", "u")}),  # type: ignore[dict-item]
            "TicketAuth.principals key",
        ),
        (
            lambda: TicketAuth(authenticator="com.a"),  # type: ignore[arg-type]
            "TicketAuth.authenticator",
        ),
        (lambda: WampCraPrincipal("s", "user", salt=""), "WampCraPrincipal.salt"),
        (lambda: WampCraPrincipal("s", "user", iterations=0), "WampCraPrincipal.iterations"),
        (lambda: CryptosignPrincipal([], "user"), "CryptosignPrincipal.authorized_keys"),
        (lambda: CryptosignPrincipal([""], "user"), "CryptosignPrincipal.authorized_keys[0]"),
        (lambda: ScramPrincipal("md5", 1, "s", "k", "k", "user"), "ScramPrincipal.kdf"),
        (
            lambda: ScramPrincipal("argon2id-13", 1, "s", "k", "k", "user", 0),
            "ScramPrincipal.memory",
        ),
        (lambda: RealmConfig("bad realm"), "RealmConfig.name"),
        (lambda: RealmConfig("r", roles=[USER, USER]), "RealmConfig.roles[1]"),
        (lambda: RealmConfig("r", roles=["user"]), "RealmConfig.roles[0]"),  # type: ignore[list-item]
        (lambda: RealmConfig("r", roles=[USER]), "RealmConfig.auth[0]"),  # anonymous role missing
        (
            lambda: RealmConfig("r", roles=[USER], auth=[AnonymousAuth("user")] * 2),
            "RealmConfig.auth[1]",
        ),
        (lambda: RealmConfig("r", auth=["ticket"]), "RealmConfig.auth[0]"),  # type: ignore[list-item]
        (lambda: RouterLimits(max_retained_topics=0), "RouterLimits.max_retained_topics"),
        (lambda: RouterLimits(strict_request_ids="yes"), "RouterLimits.strict_request_ids"),  # type: ignore[arg-type]
        (
            lambda: RouterConfig([RealmConfig.development()] * 2),
            "RouterConfig.realms[1]",
        ),
        (lambda: RouterConfig(["realm1"]), "RouterConfig.realms[0]"),  # type: ignore[list-item]
        (lambda: RouterConfig(limits={}), "RouterConfig.limits"),  # type: ignore[arg-type]
        (lambda: RouterConfig(agent=""), "RouterConfig.agent"),
    ],
)
def test_invalid_configuration_names_the_field(make: Any, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field.replace('[', '.').replace(']', '.')}"):
        make()


def test_valid_configurations() -> None:
    dynamic = DynamicAuthenticator("com.example.auth", realm="auth", timeout=2)
    realm = RealmConfig(
        "realm1",
        roles=[USER],
        auth=[
            AnonymousAuth("user"),
            TicketAuth(authenticator=dynamic),
            WampCraAuth(principals={"peter": WampCraPrincipal("s", "user")}),
            CryptosignAuth(principals={"k": CryptosignPrincipal(["ab" * 32], "user")}),
            ScramAuth(
                principals={"s": ScramPrincipal("argon2id-13", 4, "salt", "sk", "sv", "user", 512)}
            ),
        ],
    )
    assert realm.role("user") is USER
    assert realm.role("ghost") is None
    assert isinstance(realm.auth_method("wamp-scram"), ScramAuth)  # DIVERGENCES alias
    assert realm.auth_method("tls") is None
    assert "sk" not in repr(realm.auth[4].principals["s"])  # type: ignore[attr-defined]
    assert "<hidden>" in repr(TicketPrincipal("t0ps3cret", "user"))
    with pytest.raises(TypeError):
        realm.auth[1].principals["x"] = TicketPrincipal("t", "user")  # type: ignore[attr-defined,index]
    config = RouterConfig([realm], limits=RouterLimits(max_pending_calls_per_session=5))
    router = Router(config)
    with pytest.raises(ValueError, match="already exists"):
        router.add_realm(realm)
    assert router.add_realm(RealmConfig.development("realm2")).name == "realm2"


# --------------------------------------------------------------------------------------
# Pattern tables


def test_wildcard_rank() -> None:
    assert wildcard_rank("a1.b2..d4.e5") == (2, 2)
    assert wildcard_rank("a1.b2.c33..e5") == (3, 1)
    assert wildcard_rank(".b") == (0, 1)
    assert wildcard_rank("a..") == (1, 0, 0)


def test_uri_table() -> None:
    table: UriTable[str] = UriTable()
    assert table.best("a.b") is None
    assert not table.could_match("a.b")
    table.add("a.b", "exact", "exact")
    table.add("a", "prefix", "short")
    table.add("a.b.c", "prefix", "long")
    table.add("a..c", "wildcard", "wild")
    table.add(".b.c", "wildcard", "wild2")
    assert len(table) == 5
    assert table.best("a.b") == "exact"
    assert table.best("a.b.c.d") == "long"
    assert table.best("a.x") == "short"
    assert table.best("z.b.c") == "wild2"
    assert table.best("z.q.c") is None
    assert sorted(table.matches("a.b.c")) == ["long", "short", "wild", "wild2"]
    assert table.get("a..c", "wildcard") == "wild"
    assert table.get("a", "prefix") == "short"
    assert table.get("a", "exact") is None
    assert sorted(table.values("wildcard")) == ["wild", "wild2"]
    assert list(table.values("exact")) == ["exact"]
    assert sorted(table.values("prefix")) == ["long", "short"]
    table.remove("a..c", "wildcard")
    table.remove(".b.c", "wildcard")
    table.remove("x..y", "wildcard")  # absent: fine
    table.remove("a.b", "exact")
    assert table.best("z.b.c") is None
    assert table.matches("q") == []
    table.remove("a", "prefix")
    table.remove("a.b.c", "prefix")
    assert len(table) == 0
    assert not table.has_patterns()


def test_prefix_lookup_by_slicing_when_there_are_many_prefixes() -> None:
    table: UriTable[int] = UriTable()
    for index in range(30):
        table.add(f"p{index}", "prefix", index)
    table.add("com", "prefix", 100)
    assert table.best("com.x") == 100
    assert table.best("p12.x") == 12
    assert table.best("zz") is None


# --------------------------------------------------------------------------------------
# Authorizer


def test_authorizer_decisions_and_cache() -> None:
    role = RoleConfig(
        "r",
        [
            Permission("com", "prefix", call=True, subscribe=True),
            Permission("com.secret", "prefix"),
            Permission("com.secret.open", call=True, publish=True, register=True),
        ],
    )
    authorizer = Authorizer([role])
    assert authorizer.has_role("r") and not authorizer.has_role("x")
    assert authorizer.allows("r", "com.x", Action.CALL)
    assert authorizer.allows("r", "com.x", Action.SUBSCRIBE)
    assert not authorizer.allows("r", "com.x", Action.PUBLISH)
    assert not authorizer.allows("r", "com.secret.x", Action.CALL)
    assert authorizer.allows("r", "com.secret.open", Action.REGISTER)
    assert authorizer.allows("r", "com.secret.open", Action.PUBLISH)
    assert not authorizer.allows("r", "org.x", Action.CALL)
    assert not authorizer.allows("ghost", "com.x", Action.CALL)
    for index in range(5000):  # the decision cache is bounded
        authorizer.permission("r", f"com.{index}")
    assert len(authorizer._cache) <= 4096


def test_custom_auth_method_config_and_request_id_wrap() -> None:
    from autostrada.ids import MAX_ID
    from autostrada.router.core import AuthMethodConfig, RouterSession

    class TlsAuth(AuthMethodConfig):
        method = "tls"

    realm = RealmConfig("r", roles=[USER], auth=[TlsAuth()])
    assert list(realm.auth[0].roles()) == []
    assert ScramPrincipal("pbkdf2", 1000, "salt", "sk", "sv", "user").memory is None
    session = RouterSession({})
    session.last_request_id = MAX_ID
    assert session.next_request_id(1)
    assert not session.next_request_id(3)
