"""Router core: authentication (static, dynamic, pluggable) and authorization."""

from __future__ import annotations

from typing import Any

import pytest
from router_harness import BASIC_ROLES, Harness, Peer

from autostrada.exceptions import ApplicationError
from autostrada.messages import (
    Abort,
    Authenticate,
    Call,
    Challenge,
    Error,
    Hello,
    Invocation,
    Publish,
    Register,
    Subscribe,
    Welcome,
    Yield,
)
from autostrada.router.core import (
    BUILTIN_AUTHENTICATORS,
    Accept,
    AnonymousAuth,
    Authenticator,
    AuthMethodConfig,
    AuthOutcome,
    DynamicAuthenticator,
    HelloInfo,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    TicketAuth,
    TicketPrincipal,
    WampCraAuth,
    WampCraPrincipal,
)
from autostrada.router.core import Challenge as ChallengeOutcome
from autostrada.router.core import Deny as DenyOutcome
from autostrada.router.core.authentication import AuthenticatorReply, principal_from_reply

ALL = RoleConfig("user", [Permission.allow_all()])
BACKEND = RoleConfig("backend", [Permission.allow_all()])


def ticket_router(**extra_realms: Any) -> Harness:
    realm = RealmConfig(
        "realm1",
        roles=[ALL, BACKEND],
        auth=[
            TicketAuth(principals={"joe": TicketPrincipal("s3cret", "user")}),
            AnonymousAuth("backend"),
        ],
    )
    return Harness(RouterConfig([realm]))


def hello(peer: Peer, **details: Any) -> list[Any]:
    return peer.send(Hello("realm1", {"roles": BASIC_ROLES, **details}))


def abort_of(peer: Peer, reason: str) -> Abort:
    message = peer.last()
    assert isinstance(message, Abort), peer.inbox
    assert message.reason == reason, message
    assert peer.session.closing
    return message


# --------------------------------------------------------------------------------------
# Ticket (static)


def test_ticket_success() -> None:
    h = ticket_router()
    peer = h.connect()
    (challenge,) = hello(peer, authmethods=["ticket"], authid="joe")
    assert isinstance(challenge, Challenge)
    assert (challenge.method, challenge.extra) == ("ticket", {})
    (welcome,) = peer.send(Authenticate("s3cret", {}))
    assert isinstance(welcome, Welcome)
    assert welcome.details["authid"] == "joe"
    assert welcome.details["authrole"] == "user"
    assert welcome.details["authmethod"] == "ticket"
    assert welcome.details["authprovider"] == "static"


def test_bad_ticket_aborts() -> None:
    h = ticket_router()
    peer = h.connect()
    hello(peer, authmethods=["ticket"], authid="joe")
    peer.send(Authenticate("wrong", {}))
    assert abort_of(peer, ApplicationError.NOT_AUTHORIZED).details == {"message": "invalid ticket"}


@pytest.mark.parametrize("details", [{"authid": "nobody"}, {}])
def test_unknown_ticket_principal_aborts_at_once(details: dict[str, Any]) -> None:
    h = ticket_router()
    peer = h.connect()
    hello(peer, authmethods=["ticket"], **details)
    assert "no principal" in abort_of(peer, ApplicationError.NOT_AUTHORIZED).details["message"]


def test_first_offered_configured_method_is_used() -> None:
    h = ticket_router()
    peer = h.connect()
    (welcome,) = hello(peer, authmethods=["cryptosign", "anonymous", "ticket"])
    assert isinstance(welcome, Welcome)
    assert welcome.details["authrole"] == "backend"


def test_no_auth_method_offered_means_anonymous() -> None:
    realm = RealmConfig(
        "realm1", roles=[ALL], auth=[TicketAuth(principals={"joe": TicketPrincipal("t", "user")})]
    )
    h = Harness(RouterConfig([realm]))
    peer = h.connect()
    hello(peer)
    abort_of(peer, ApplicationError.NO_MATCHING_AUTH_METHOD)


def test_authenticate_in_wrong_state_is_a_violation() -> None:
    h = ticket_router()
    peer = h.connect()
    peer.send(Authenticate("s3cret", {}))
    assert (
        "without a CHALLENGE"
        in abort_of(peer, ApplicationError.PROTOCOL_VIOLATION).details["message"]
    )


# --------------------------------------------------------------------------------------
# Pluggable authenticators (how wampcra/cryptosign/scram get wired)


class TwoRoundCra(Authenticator):
    """A stand-in for the real WAMP-CRA: two challenges, then accept."""

    method = "wampcra"

    def __init__(self, config: AuthMethodConfig) -> None:
        assert isinstance(config, WampCraAuth)
        self.config = config
        self.rounds = 0
        self.authid = ""

    def hello(self, hello: HelloInfo) -> AuthOutcome:
        assert hello.session_id > 0
        assert hello.transport["type"] == "websocket"
        self.authid = hello.authid or ""
        return ChallengeOutcome("wampcra", {"challenge": f"round-{self.rounds}"})

    def authenticate(self, signature: str, extra: dict[str, Any]) -> AuthOutcome:
        self.rounds += 1
        if signature != f"signed-{self.rounds - 1}":
            return DenyOutcome(ApplicationError.AUTHENTICATION_FAILED, "bad signature")
        if self.rounds < 2:
            return ChallengeOutcome("wampcra", {"challenge": f"round-{self.rounds}"})
        role = self.config.principals[self.authid].role
        return Accept(self.authid, role, "wampcra", "static", {"rounds": self.rounds})


def cra_realm() -> RealmConfig:
    principal = WampCraPrincipal("pa55word", "user", salt="salt")
    assert "pa55word" not in repr(principal)
    return RealmConfig("realm1", roles=[ALL], auth=[WampCraAuth(principals={"peter": principal})])


def test_configured_method_without_authenticator_is_skipped() -> None:
    factories = {k: v for k, v in BUILTIN_AUTHENTICATORS.items() if k is not WampCraAuth}
    h = Harness(RouterConfig([cra_realm()]), authenticators=factories)
    peer = h.connect()
    hello(peer, authmethods=["wampcra"], authid="peter")
    abort_of(peer, ApplicationError.NO_MATCHING_AUTH_METHOD)


def test_custom_authenticator_with_two_rounds() -> None:
    factories = {**BUILTIN_AUTHENTICATORS, WampCraAuth: TwoRoundCra}
    h = Harness(RouterConfig([cra_realm()]), authenticators=factories)
    peer = h.connect()
    (challenge,) = hello(peer, authmethods=["wampcra"], authid="peter")
    assert isinstance(challenge, Challenge) and challenge.extra == {"challenge": "round-0"}
    (challenge,) = peer.send(Authenticate("signed-0", {}))
    assert isinstance(challenge, Challenge) and challenge.extra == {"challenge": "round-1"}
    (welcome,) = peer.send(Authenticate("signed-1", {}))
    assert isinstance(welcome, Welcome)
    assert welcome.details["authextra"] == {"rounds": 2}
    assert peer.session.authextra == {"rounds": 2}


def test_custom_authenticator_denial() -> None:
    factories = {**BUILTIN_AUTHENTICATORS, WampCraAuth: TwoRoundCra}
    h = Harness(RouterConfig([cra_realm()]), authenticators=factories)
    peer = h.connect()
    hello(peer, authmethods=["wampcra"], authid="peter")
    peer.send(Authenticate("forged", {}))
    assert abort_of(peer, ApplicationError.AUTHENTICATION_FAILED).details == {
        "message": "bad signature"
    }


class Broken(Authenticator):
    method = "wampcra"

    def __init__(self, config: AuthMethodConfig) -> None:
        pass

    def hello(self, hello: HelloInfo) -> AuthOutcome:
        raise KeyError("oops")


class WrongRole(Broken):
    def hello(self, hello: HelloInfo) -> AuthOutcome:
        return Accept("peter", "ghost", "wampcra", "static")


class ChallengeOnly(Broken):
    def hello(self, hello: HelloInfo) -> AuthOutcome:
        return ChallengeOutcome("wampcra")


@pytest.mark.parametrize(
    ("authenticator", "reason"),
    [
        (Broken, ApplicationError.AUTHENTICATION_FAILED),
        (WrongRole, ApplicationError.NO_SUCH_ROLE),
    ],
)
def test_misbehaving_authenticators(authenticator: Any, reason: str) -> None:
    h = Harness(RouterConfig([cra_realm()]), authenticators={WampCraAuth: authenticator})
    peer = h.connect()
    hello(peer, authmethods=["wampcra"], authid="peter")
    abort_of(peer, reason)


def test_base_authenticate_denies() -> None:
    h = Harness(RouterConfig([cra_realm()]), authenticators={WampCraAuth: ChallengeOnly})
    peer = h.connect()
    hello(peer, authmethods=["wampcra"], authid="peter")
    peer.send(Authenticate("x", {}))
    abort_of(peer, ApplicationError.AUTHENTICATION_FAILED)
    with pytest.raises(NotImplementedError):
        Authenticator().hello(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Dynamic authentication (the router calls an authenticator procedure)


def dynamic_router(realm: str | None = "auth", timeout: float = 5.0) -> Harness:
    dynamic = DynamicAuthenticator("com.example.authenticate", realm=realm, timeout=timeout)
    app = RealmConfig("realm1", roles=[ALL], auth=[TicketAuth(authenticator=dynamic)])
    auth = RealmConfig("auth", roles=[BACKEND], auth=[AnonymousAuth("backend")])
    return Harness(RouterConfig([app, auth]))


def start_dynamic(h: Harness, authenticator: Peer | None = None) -> tuple[Peer, Invocation | None]:
    if authenticator is not None:
        authenticator.register("com.example.authenticate")
    peer = h.connect()
    hello(peer, authmethods=["ticket"], authid="joe", authextra={"device": "x"})
    assert isinstance(peer.last(), Challenge)
    peer.send(Authenticate("tkt", {}))
    if authenticator is None:
        return peer, None
    (invocation,) = authenticator.invocations()
    return peer, invocation


@pytest.mark.parametrize(
    ("result", "authid", "authrole", "authextra"),
    [
        ({"role": "user"}, "joe", "user", None),
        ({"role": "user", "authid": "joseph", "extra": {"a": 1}}, "joseph", "user", {"a": 1}),
        ("user", "joe", "user", None),
    ],
)
def test_dynamic_ticket_success(
    result: Any, authid: str, authrole: str, authextra: dict[str, Any] | None
) -> None:
    h = dynamic_router()
    authenticator = h.join("auth")
    peer, invocation = start_dynamic(h, authenticator)
    assert invocation is not None
    realm, claimed, details = invocation.args or []
    assert (realm, claimed) == ("realm1", "joe")
    assert details["ticket"] == "tkt"
    assert details["authmethod"] == "ticket"
    assert details["authextra"] == {"device": "x"}
    assert details["session"] == peer.session.session_id
    assert details["transport"]["type"] == "websocket"
    assert peer.session.state.value == "authenticating"
    # the peer must stay silent while the authenticator decides
    authenticator.send(Yield(invocation.request_id, {}, [result]))
    (welcome,) = peer.take()[-1:]
    assert isinstance(welcome, Welcome)
    assert (welcome.details["authid"], welcome.details["authrole"]) == (authid, authrole)
    assert welcome.details["authprovider"] == "dynamic"
    assert welcome.details.get("authextra") == authextra


def test_dynamic_result_as_kwargs() -> None:
    h = dynamic_router()
    authenticator = h.join("auth")
    peer, invocation = start_dynamic(h, authenticator)
    assert invocation is not None
    authenticator.send(Yield(invocation.request_id, {}, None, {"role": "user"}))
    assert isinstance(peer.last(), Welcome)


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (42, ApplicationError.AUTHENTICATION_FAILED),
        ({"authid": "joe"}, ApplicationError.NO_SUCH_ROLE),
        ({"role": "user", "authid": ""}, ApplicationError.NO_SUCH_PRINCIPAL),
        ({"role": "user", "extra": "x"}, ApplicationError.AUTHENTICATION_FAILED),
        ({"role": "nope"}, ApplicationError.NO_SUCH_ROLE),
    ],
)
def test_dynamic_bad_results(result: Any, reason: str) -> None:
    h = dynamic_router()
    authenticator = h.join("auth")
    peer, invocation = start_dynamic(h, authenticator)
    assert invocation is not None
    authenticator.send(Yield(invocation.request_id, {}, [result]))
    abort_of(peer, reason)


def test_dynamic_error_denies_with_its_uri() -> None:
    h = dynamic_router()
    authenticator = h.join("auth")
    peer, invocation = start_dynamic(h, authenticator)
    assert invocation is not None
    authenticator.send(Error(68, invocation.request_id, {}, "com.example.denied", ["go away"]))
    assert abort_of(peer, "com.example.denied").details == {"message": "go away"}
    peer2, invocation = start_dynamic(h)
    (invocation,) = authenticator.invocations()
    authenticator.send(Error(68, invocation.request_id, {}, "com.example.denied"))
    assert "denied" in abort_of(peer2, "com.example.denied").details["message"]


def test_dynamic_authenticator_missing() -> None:
    h = dynamic_router()
    peer, _ = start_dynamic(h)
    abort = abort_of(peer, ApplicationError.AUTHENTICATION_FAILED)
    assert "no_such_procedure" in abort.details["message"]


def test_dynamic_authenticator_realm_missing() -> None:
    h = dynamic_router(realm="elsewhere")
    peer, _ = start_dynamic(h)
    abort_of(peer, ApplicationError.NO_SUCH_REALM)


def test_dynamic_authenticator_in_the_joined_realm_at_its_limit() -> None:
    # No DynamicAuthenticator.realm: the authenticator is registered in the realm joined.
    dynamic = DynamicAuthenticator("com.example.authenticate")
    realm = RealmConfig(
        "realm1", roles=[ALL], auth=[TicketAuth(authenticator=dynamic), AnonymousAuth("user")]
    )
    h = Harness(RouterConfig([realm]))
    authenticator = h.join(authmethods=["anonymous"])
    authenticator.register("com.example.authenticate", concurrency=1)
    first, _ = start_dynamic(h)
    (invocation,) = authenticator.invocations()
    second, _ = start_dynamic(h)
    abort = abort_of(second, ApplicationError.AUTHENTICATION_FAILED)
    assert "no_available_callee" in abort.details["message"]
    authenticator.send(Yield(invocation.request_id, {}, ["user"]))
    assert isinstance(first.last(), Welcome)


def test_dynamic_authenticator_with_a_pattern_registration() -> None:
    h = dynamic_router()
    authenticator = h.join("auth")
    authenticator.register("com.example", match="prefix")
    peer, _ = start_dynamic(h)
    (invocation,) = authenticator.invocations()
    assert invocation.details == {"procedure": "com.example.authenticate"}
    authenticator.send(Yield(invocation.request_id, {}, ["user"]))
    assert isinstance(peer.last(), Welcome)


def test_dynamic_authenticator_timeout() -> None:
    h = dynamic_router(timeout=2.0)
    authenticator = h.join("auth")
    peer, _ = start_dynamic(h, authenticator)
    assert h.router.next_deadline() == pytest.approx(h.now + 2.0)
    h.advance(2.0)
    assert "timeout" in abort_of(peer, ApplicationError.AUTHENTICATION_FAILED).details["message"]


def test_dynamic_authenticator_leaving() -> None:
    h = dynamic_router()
    authenticator = h.join("auth")
    peer, _ = start_dynamic(h, authenticator)
    h.detach(authenticator)
    assert "canceled" in abort_of(peer, ApplicationError.AUTHENTICATION_FAILED).details["message"]


def test_joining_session_leaves_while_authenticator_thinks() -> None:
    h = dynamic_router()
    authenticator = h.join("auth")
    peer, invocation = start_dynamic(h, authenticator)
    assert invocation is not None
    peer.take()
    h.detach(peer)
    authenticator.send(Yield(invocation.request_id, {}, ["user"]))
    assert peer.take() == []
    assert authenticator.session.established
    assert h.router.realms["realm1"].sessions == {}


def test_messages_while_authenticating_are_violations() -> None:
    h = dynamic_router()
    authenticator = h.join("auth")
    peer, _ = start_dynamic(h, authenticator)
    peer.send(Call(1, {}, "com.x"))
    abort_of(peer, ApplicationError.PROTOCOL_VIOLATION)


def test_dynamic_principal_helper_directly() -> None:
    reply = AuthenticatorReply(None, [], {})
    outcome = principal_from_reply(reply, "joe", "ticket")
    assert isinstance(outcome, DenyOutcome)


# --------------------------------------------------------------------------------------
# Authorization


def restricted() -> Harness:
    role = RoleConfig(
        "user",
        [
            Permission("com.public", "prefix", call=True, subscribe=True, publish=True),
            Permission("com.public.admin", "prefix"),  # longer prefix: nothing allowed
            Permission("com.public.admin.status", call=True),  # exact beats both
            Permission("com..own", "wildcard", register=True),
        ],
    )
    realm = RealmConfig("realm1", roles=[role], auth=[AnonymousAuth("user")])
    return Harness(RouterConfig([realm]))


@pytest.mark.parametrize(
    ("message", "allowed"),
    [
        (Call(1, {}, "com.public.x"), True),
        (Call(1, {}, "com.public.admin.reset"), False),
        (Call(1, {}, "com.public.admin.status"), True),
        (Call(1, {}, "org.other"), False),
        (Register(1, {}, "com.x.own"), True),
        (Register(1, {}, "com.public.x"), False),
        (Subscribe(1, {}, "com.public.news"), True),
        (Subscribe(1, {"match": "prefix"}, "com"), False),
        (Publish(1, {"acknowledge": True}, "com.public.news"), True),
        (Publish(1, {"acknowledge": True}, "com.public.admin.x"), False),
    ],
)
def test_authorization(message: Any, allowed: bool) -> None:
    h = restricted()
    peer = h.join()
    got = peer.send(message)
    denied = [m for m in got if isinstance(m, Error) and m.error == ApplicationError.NOT_AUTHORIZED]
    assert bool(denied) is not allowed, got


def test_unacknowledged_unauthorized_publish_is_dropped_silently() -> None:
    h = restricted()
    subscriber, publisher = h.join(), h.join()
    publisher.send(Publish(1, {}, "com.public.admin.x"))
    assert publisher.take() == []
    assert publisher.session.established
    assert subscriber.take() == []
