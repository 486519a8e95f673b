"""Router core: WAMP-CRA, WAMP-Cryptosign and WAMP-SCRAM handshakes, static and dynamic.

The client side of :mod:`autostrada.auth` produces the real answers.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from router_harness import BASIC_ROLES, Harness, Peer

from autostrada import auth
from autostrada.exceptions import ApplicationError
from autostrada.messages import (
    Abort,
    Authenticate,
    Challenge,
    Error,
    Hello,
    Invocation,
    Welcome,
    Yield,
)
from autostrada.router.core import (
    AnonymousAuth,
    AuthMethodConfig,
    CryptosignAuth,
    CryptosignPrincipal,
    DynamicAuthenticator,
    HelloInfo,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    RouterLimits,
    ScramAuth,
    ScramPrincipal,
    WampCraAuth,
    WampCraPrincipal,
)
from autostrada.router.core import Challenge as ChallengeOutcome
from autostrada.router.core.auth_methods import (
    CryptosignAuthenticator,
    ScramAuthenticator,
    WampCraAuthenticator,
)

DENIED = ApplicationError.NOT_AUTHORIZED
FAILED = ApplicationError.AUTHENTICATION_FAILED
ROLES = [RoleConfig(name, [Permission.allow_all()]) for name in ("user", "admin", "backend")]
OFFSET = 1_700_000_000.0  # wall_clock_offset of the routers here (harness time starts at 100)
DYNAMIC = DynamicAuthenticator("com.example.authenticate", realm="auth")

ALICE = auth.CryptosignKey.from_seed(bytes(range(32)))
BOB = auth.CryptosignKey.from_seed(bytes(range(1, 33)))
MALLORY = auth.CryptosignKey.from_seed(bytes(range(2, 34)))
TLS_UNIQUE = auth.tls_channel_id("tls-unique", b"TLS Finished message")
TLS_EXPORTER = bytes(range(100, 132))

PBKDF2 = auth.ScramCredential.from_password("pa55", kdf="pbkdf2", iterations=1000)
ARGON2 = auth.ScramCredential.from_password("pa55", kdf="argon2id-13", iterations=1, memory=8)


def harness(method: AuthMethodConfig, **limits: Any) -> Harness:
    realms = [
        RealmConfig("realm1", roles=ROLES, auth=[method]),
        RealmConfig("auth", roles=ROLES, auth=[AnonymousAuth("backend")]),
    ]
    config = RouterConfig(realms, limits=RouterLimits(**limits))
    return Harness(config, wall_clock_offset=OFFSET)


def hello(peer: Peer, methods: list[str], **details: Any) -> Any:
    """Send HELLO; return the reply (``None`` while a dynamic authenticator decides)."""
    got = peer.send(Hello("realm1", {"roles": BASIC_ROLES, "authmethods": methods, **details}))
    assert len(got) <= 1, got
    return got[0] if got else None


def challenged(peer: Peer, methods: list[str], **details: Any) -> Challenge:
    message = hello(peer, methods, **details)
    assert isinstance(message, Challenge), message
    return message


def welcomed(peer: Peer, signature: str, extra: dict[str, Any] | None = None) -> Welcome:
    (message,) = peer.send(Authenticate(signature, extra or {}))
    assert isinstance(message, Welcome), message
    assert peer.session.established
    return message


def aborted(peer: Peer, reason: str, text: str = "") -> str:
    message = peer.last()
    assert isinstance(message, Abort), peer.inbox
    assert message.reason == reason, message
    assert peer.session.closing
    shown: str = message.details["message"]
    assert text in shown, shown
    return shown


def identity(welcome: Welcome) -> tuple[str, str, str, str]:
    d = welcome.details
    return (d["authid"], d["authrole"], d["authmethod"], d["authprovider"])


# --------------------------------------------------------------------------------------
# WAMP-CRA


def cra_static(**principal: Any) -> Harness:
    defaults: dict[str, Any] = {"secret": "s3cret", "role": "user"}
    return harness(WampCraAuth(principals={"peter": WampCraPrincipal(**{**defaults, **principal})}))


def test_wampcra_static_success_and_challenge_contents() -> None:
    h = cra_static()
    peer = h.connect()
    challenge = challenged(peer, ["wampcra"], authid="peter")
    assert challenge.method == "wampcra"
    assert set(challenge.extra) == {"challenge"}  # unsalted: no PBKDF2 parameters
    inner = json.loads(challenge.extra["challenge"])
    assert inner["authid"] == "peter"
    assert inner["authrole"] == "user"
    assert inner["authmethod"] == "wampcra"
    assert inner["authprovider"] == "static"
    assert inner["session"] == peer.session.session_id
    when = datetime.fromtimestamp(h.now + OFFSET, UTC)
    assert inner["timestamp"] == auth.format_timestamp(when)
    assert len(inner["nonce"]) == 64
    welcome = welcomed(peer, auth.answer_wampcra("s3cret", challenge.extra))
    assert identity(welcome) == ("peter", "user", "wampcra", "static")
    assert welcome.session_id == inner["session"]
    assert "authextra" not in welcome.details


def test_wampcra_salted_principal_holds_the_derived_key() -> None:
    key = auth.derive_key("password", "pepper", 100, 16).decode()
    h = cra_static(secret=key, salt="pepper", iterations=100, keylen=16)
    peer = h.connect()
    challenge = challenged(peer, ["wampcra"], authid="peter")
    assert (challenge.extra["salt"], challenge.extra["iterations"]) == ("pepper", 100)
    assert challenge.extra["keylen"] == 16
    welcome = welcomed(peer, auth.answer_wampcra("password", challenge.extra))
    assert identity(welcome) == ("peter", "user", "wampcra", "static")


@pytest.mark.parametrize("secret", ["wrong", "s3cret "])
def test_wampcra_wrong_secret(secret: str) -> None:
    h = cra_static()
    peer = h.connect()
    challenge = challenged(peer, ["wampcra"], authid="peter")
    peer.send(Authenticate(auth.answer_wampcra(secret, challenge.extra), {}))
    shown = aborted(peer, DENIED, "WAMP-CRA signature is invalid")
    assert "s3cret" not in shown


@pytest.mark.parametrize("details", [{"authid": "paul"}, {}, {"authid": "x" * 500}])
def test_wampcra_unknown_authid(details: dict[str, Any]) -> None:
    h = cra_static()
    peer = h.connect()
    hello(peer, ["wampcra"], **details)
    assert len(aborted(peer, DENIED, "no principal with authid")) < 200


def test_wampcra_challenges_are_fresh() -> None:
    h = cra_static()
    first, second = h.connect(), h.connect()
    one = challenged(first, ["wampcra"], authid="peter").extra["challenge"]
    two = challenged(second, ["wampcra"], authid="peter").extra["challenge"]
    assert json.loads(one)["nonce"] != json.loads(two)["nonce"]
    # each answer fits its own challenge only
    first.send(Authenticate(auth.answer_wampcra("s3cret", {"challenge": two}), {}))
    aborted(first, DENIED)
    welcomed(second, auth.answer_wampcra("s3cret", {"challenge": two}))


def test_wampcra_secret_stays_out_of_reprs() -> None:
    principal = WampCraPrincipal("s3cret", "user")
    authenticator = WampCraAuthenticator(WampCraAuth(principals={"peter": principal}))
    info = HelloInfo("realm1", "peter", None, {}, {}, 1, {})
    challenge = authenticator.hello(info)
    assert "s3cret" not in repr(authenticator) + repr(challenge) + repr(principal)


# WAMP-CRA, dynamic


def cra_dynamic() -> tuple[Harness, Peer]:
    h = harness(WampCraAuth(authenticator=DYNAMIC))
    authenticator = h.join("auth")
    authenticator.register(DYNAMIC.procedure)
    authenticator.take()
    return h, authenticator


def decide(authenticator: Peer, result: Any) -> Invocation:
    """Answer the authenticator's pending invocation with ``result`` (an Error: fail)."""
    (invocation,) = authenticator.invocations()
    if isinstance(result, Error):
        authenticator.send(Error(68, invocation.request_id, {}, result.error, result.args))
    else:
        authenticator.send(Yield(invocation.request_id, {}, [result]))
    return invocation


@pytest.mark.parametrize(
    ("principal", "password", "authid"),
    [
        ({"secret": "dyn", "role": "admin"}, "dyn", "peter"),
        ({"secret": "dyn", "role": "admin", "authid": "pete"}, "dyn", "pete"),
        (
            {
                "secret": auth.derive_key("pw", "salt", 10, 8).decode(),
                "salt": "salt",
                "iterations": 10,
                "keylen": 8,
                "role": "admin",
            },
            "pw",
            "peter",
        ),
        (
            {"secret": auth.derive_key("pw", "s").decode(), "salt": "s", "role": "admin"},
            "pw",
            "peter",
        ),
    ],
)
def test_wampcra_dynamic_success(principal: dict[str, Any], password: str, authid: str) -> None:
    h, authenticator = cra_dynamic()
    peer = h.connect()
    hello(peer, ["wampcra"], authid="peter", authextra={"device": 1})
    invocation = decide(authenticator, {**principal, "extra": {"tier": 2}})
    realm, claimed, details = invocation.args or []
    assert (realm, claimed, details["authmethod"]) == ("realm1", "peter", "wampcra")
    assert details["authextra"] == {"device": 1}
    challenge = peer.last()
    assert isinstance(challenge, Challenge)
    inner = json.loads(challenge.extra["challenge"])
    assert (inner["authid"], inner["authrole"], inner["authprovider"]) == (
        authid,
        "admin",
        "dynamic",
    )
    welcome = welcomed(peer, auth.answer_wampcra(password, challenge.extra))
    assert identity(welcome) == (authid, "admin", "wampcra", "dynamic")
    assert welcome.details["authextra"] == {"tier": 2}


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        ("admin", FAILED),  # a role is not enough: the router needs the secret
        ({"role": "admin"}, FAILED),
        ({"role": "admin", "secret": ""}, FAILED),
        ({"role": "admin", "secret": 42}, FAILED),
        ({"role": "admin", "secret": "hunter2", "salt": ""}, FAILED),
        ({"role": "admin", "secret": "hunter2", "salt": 7}, FAILED),
        ({"role": "admin", "secret": "hunter2", "salt": "x", "iterations": 0}, FAILED),
        ({"role": "admin", "secret": "hunter2", "salt": "x", "iterations": 10**9}, FAILED),
        ({"role": "admin", "secret": "hunter2", "salt": "x", "keylen": "32"}, FAILED),
        ({"secret": "hunter2"}, ApplicationError.NO_SUCH_ROLE),
        ({"secret": "hunter2", "role": "ghost"}, ApplicationError.NO_SUCH_ROLE),
        (Error(68, 1, {}, "com.example.nope", ["go away"]), "com.example.nope"),
    ],
)
def test_wampcra_dynamic_bad_answers(result: Any, reason: str) -> None:
    h, authenticator = cra_dynamic()
    peer = h.connect()
    hello(peer, ["wampcra"], authid="peter")
    decide(authenticator, result)
    if reason == ApplicationError.NO_SUCH_ROLE and isinstance(result, dict) and "role" in result:
        # the role is checked at WELCOME: the challenge goes out, a right answer is refused
        challenge = peer.last()
        assert isinstance(challenge, Challenge)
        peer.send(Authenticate(auth.answer_wampcra("hunter2", challenge.extra), {}))
    assert "hunter2" not in aborted(peer, reason)


def test_wampcra_dynamic_wrong_secret() -> None:
    h, authenticator = cra_dynamic()
    peer = h.connect()
    hello(peer, ["wampcra"], authid="peter")
    decide(authenticator, {"secret": "right", "role": "admin"})
    challenge = peer.last()
    assert isinstance(challenge, Challenge)
    peer.send(Authenticate(auth.answer_wampcra("wrong", challenge.extra), {}))
    aborted(peer, DENIED, "signature is invalid")


# --------------------------------------------------------------------------------------
# WAMP-Cryptosign


def cs_static(**principals: CryptosignPrincipal) -> Harness:
    if not principals:
        principals = {
            "alice": CryptosignPrincipal([ALICE.public_key_hex], "user"),
            "bob": CryptosignPrincipal([BOB.public_key_hex.upper(), "ab" * 32], "admin"),
        }
    return harness(CryptosignAuth(principals=principals))


def cs_hello(
    peer: Peer, key: auth.CryptosignKey, binding: str | None = None, **details: Any
) -> Any:
    authextra = auth.cryptosign_authextra(key, channel_binding=binding)
    return hello(peer, ["cryptosign"], authextra=authextra, **details)


@pytest.mark.parametrize(
    ("key", "details", "expected"),
    [
        (ALICE, {"authid": "alice"}, ("alice", "user")),
        (BOB, {"authid": "bob"}, ("bob", "admin")),  # configured in upper case
        (ALICE, {}, ("alice", "user")),  # found by its pubkey
        (BOB, {}, ("bob", "admin")),
    ],
)
def test_cryptosign_static_success(
    key: auth.CryptosignKey, details: dict[str, Any], expected: tuple[str, str]
) -> None:
    h = cs_static()
    peer = h.connect()
    challenge = cs_hello(peer, key, **details)
    assert isinstance(challenge, Challenge)
    assert challenge.method == "cryptosign"
    assert challenge.extra["channel_binding"] is None
    auth.parse_hex32(challenge.extra["challenge"])
    welcome = welcomed(peer, auth.answer_cryptosign(key, challenge.extra))
    assert identity(welcome) == (*expected, "cryptosign", "static")


def test_cryptosign_pubkey_in_upper_case_from_client() -> None:
    h = cs_static()
    peer = h.connect()
    extra = {"pubkey": ALICE.public_key_hex.upper()}
    challenge = challenged(peer, ["cryptosign"], authid="alice", authextra=extra)
    welcomed(peer, auth.answer_cryptosign(ALICE, challenge.extra))


@pytest.mark.parametrize(
    ("key", "details", "text"),
    [
        (MALLORY, {"authid": "alice"}, "not authorized for 'alice'"),
        (ALICE, {"authid": "carol"}, "no principal with authid 'carol'"),
        (MALLORY, {}, "no authid given, and no principal has this pubkey"),
    ],
)
def test_cryptosign_static_refusals(
    key: auth.CryptosignKey, details: dict[str, Any], text: str
) -> None:
    h = cs_static()
    peer = h.connect()
    cs_hello(peer, key, **details)
    aborted(peer, DENIED, text)


def test_cryptosign_pubkey_of_several_principals_needs_an_authid() -> None:
    shared = [ALICE.public_key_hex]
    h = cs_static(a1=CryptosignPrincipal(shared, "user"), a2=CryptosignPrincipal(shared, "admin"))
    peer = h.connect()
    cs_hello(peer, ALICE)
    aborted(peer, DENIED, "several principals have this pubkey")
    peer = h.connect()
    challenge = cs_hello(peer, ALICE, authid="a2")
    welcome = welcomed(peer, auth.answer_cryptosign(ALICE, challenge.extra))
    assert identity(welcome) == ("a2", "admin", "cryptosign", "static")


@pytest.mark.parametrize(
    "authextra",
    [{}, {"pubkey": None}, {"pubkey": 42}, {"pubkey": "ab" * 31}, {"pubkey": "zz" * 32}],
)
def test_cryptosign_needs_a_pubkey(authextra: dict[str, Any]) -> None:
    h = cs_static()
    peer = h.connect()
    hello(peer, ["cryptosign"], authid="alice", authextra=authextra)
    aborted(peer, DENIED, "authextra.pubkey must be 32 bytes")


def test_cryptosign_signature_by_another_key() -> None:
    h = cs_static()
    peer = h.connect()
    challenge = cs_hello(peer, ALICE, authid="alice")
    peer.send(Authenticate(auth.answer_cryptosign(MALLORY, challenge.extra), {}))
    aborted(peer, DENIED, "cryptosign signature is invalid")


def test_cryptosign_challenges_are_fresh() -> None:
    h = cs_static()
    first, second = h.connect(), h.connect()
    one = cs_hello(first, ALICE, authid="alice")
    two = cs_hello(second, ALICE, authid="alice")
    assert one.extra["challenge"] != two.extra["challenge"]
    first.send(Authenticate(auth.answer_cryptosign(ALICE, two.extra), {}))  # a replay
    aborted(first, DENIED)


# Cryptosign channel binding (spec "TLS Channel Binding")


@pytest.mark.parametrize(
    ("binding", "channel_id"), [("tls-unique", TLS_UNIQUE), ("tls-exporter", TLS_EXPORTER)]
)
def test_cryptosign_channel_binding(binding: str, channel_id: bytes) -> None:
    h = cs_static()
    peer = h.connect(channel_binding={binding: channel_id})
    challenge = cs_hello(peer, ALICE, binding, authid="alice")
    assert challenge.extra["channel_binding"] == binding
    answer = auth.answer_cryptosign(
        ALICE, challenge.extra, channel_binding=binding, channel_id=channel_id
    )
    welcomed(peer, answer)
    # the channel id never reaches the meta API
    assert "channel_binding" not in peer.session.public_transport()


def test_cryptosign_channel_binding_answer_must_be_bound() -> None:
    h = cs_static()
    peer = h.connect(channel_binding={"tls-unique": TLS_UNIQUE})
    challenge = cs_hello(peer, ALICE, "tls-unique", authid="alice")
    unbound = ALICE.sign_challenge(challenge.extra["challenge"])  # not XOR-ed: refused
    peer.send(Authenticate(unbound, {}))
    aborted(peer, DENIED, "signature is invalid")


def test_cryptosign_other_transport_channel_id_is_refused() -> None:
    h = cs_static()
    peer = h.connect(channel_binding={"tls-unique": TLS_UNIQUE})
    challenge = cs_hello(peer, ALICE, "tls-unique", authid="alice")
    other = auth.tls_channel_id("tls-unique", b"another TLS connection")
    answer = auth.answer_cryptosign(
        ALICE, challenge.extra, channel_binding="tls-unique", channel_id=other
    )
    peer.send(Authenticate(answer, {}))
    aborted(peer, DENIED, "signature is invalid")


@pytest.mark.parametrize(
    "transport",
    [
        {},
        {"channel_binding": {}},
        {"channel_binding": None},
        {"channel_binding": {"tls-exporter": TLS_EXPORTER}},
        {"channel_binding": {"tls-unique": bytes(32)}},  # never bind to zeros
        {"channel_binding": {"tls-unique": b"short"}},
        {"channel_binding": {"tls-unique": TLS_UNIQUE.hex()}},
    ],
)
def test_cryptosign_binding_without_channel_id_is_refused(transport: dict[str, Any]) -> None:
    h = cs_static()
    peer = h.connect(**transport)
    cs_hello(peer, ALICE, "tls-unique", authid="alice")
    aborted(peer, DENIED, "channel binding tls-unique asked for, but this transport has no")


@pytest.mark.parametrize("binding", ["tls-server-end-point", 1, ["tls-unique"]])
def test_cryptosign_unknown_binding_is_refused(binding: Any) -> None:
    h = cs_static()
    peer = h.connect(channel_binding={"tls-unique": TLS_UNIQUE})
    extra = {"pubkey": ALICE.public_key_hex, "channel_binding": binding}
    hello(peer, ["cryptosign"], authid="alice", authextra=extra)
    aborted(peer, DENIED, "unknown channel_binding")


@pytest.mark.parametrize("binding", [None, ""])
def test_cryptosign_null_binding_means_none(binding: Any) -> None:
    h = cs_static()
    peer = h.connect(channel_binding={"tls-unique": TLS_UNIQUE})
    extra = {"pubkey": ALICE.public_key_hex, "channel_binding": binding}
    challenge = challenged(peer, ["cryptosign"], authid="alice", authextra=extra)
    assert challenge.extra["channel_binding"] is None
    welcomed(peer, auth.answer_cryptosign(ALICE, challenge.extra))


# Cryptosign, dynamic


def cs_dynamic() -> tuple[Harness, Peer]:
    h = harness(CryptosignAuth(authenticator=DYNAMIC))
    authenticator = h.join("auth")
    authenticator.register(DYNAMIC.procedure)
    authenticator.take()
    return h, authenticator


@pytest.mark.parametrize(
    ("details", "result", "authid"),
    [
        ({"authid": "alice"}, {"role": "admin"}, "alice"),
        ({"authid": "alice"}, "admin", "alice"),
        ({"authid": "alice"}, {"role": "admin", "pubkey": ALICE.public_key_hex.upper()}, "alice"),
        ({}, {"role": "admin", "authid": "al"}, "al"),
        ({}, {"role": "admin"}, ALICE.public_key_hex),  # spec: the pubkey as authid
    ],
)
def test_cryptosign_dynamic_success(details: dict[str, Any], result: Any, authid: str) -> None:
    h, authenticator = cs_dynamic()
    peer = h.connect()
    cs_hello(peer, ALICE, **details)
    invocation = decide(authenticator, result)
    _, claimed, call_details = invocation.args or []
    assert claimed == details.get("authid")
    assert call_details["authmethod"] == "cryptosign"
    assert call_details["authextra"]["pubkey"] == ALICE.public_key_hex
    challenge = peer.last()
    assert isinstance(challenge, Challenge)
    welcome = welcomed(peer, auth.answer_cryptosign(ALICE, challenge.extra))
    assert identity(welcome) == (authid, "admin", "cryptosign", "dynamic")


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        ({"role": "admin", "pubkey": BOB.public_key_hex}, DENIED),
        ({"role": "admin", "pubkey": 7}, DENIED),
        ({"pubkey": ALICE.public_key_hex}, ApplicationError.NO_SUCH_ROLE),
        (Error(68, 1, {}, "com.example.nope", []), "com.example.nope"),
    ],
)
def test_cryptosign_dynamic_refusals(result: Any, reason: str) -> None:
    h, authenticator = cs_dynamic()
    peer = h.connect()
    cs_hello(peer, ALICE, authid="alice")
    decide(authenticator, result)
    aborted(peer, reason)


def test_cryptosign_dynamic_binding_is_checked_before_the_call() -> None:
    h, authenticator = cs_dynamic()
    peer = h.connect()
    cs_hello(peer, ALICE, "tls-unique", authid="alice")
    aborted(peer, DENIED, "no tls-unique channel id")
    assert authenticator.take() == []


def test_cryptosign_dynamic_with_channel_binding() -> None:
    h, authenticator = cs_dynamic()
    peer = h.connect(channel_binding={"tls-unique": TLS_UNIQUE})
    cs_hello(peer, ALICE, "tls-unique", authid="alice")
    invocation = decide(authenticator, "user")
    assert "channel_binding" not in invocation.args[2]["transport"]  # type: ignore[index]
    challenge = peer.last()
    assert isinstance(challenge, Challenge)
    assert challenge.extra["channel_binding"] == "tls-unique"
    answer = auth.answer_cryptosign(
        ALICE, challenge.extra, channel_binding="tls-unique", channel_id=TLS_UNIQUE
    )
    welcomed(peer, answer)


# --------------------------------------------------------------------------------------
# WAMP-SCRAM


def scram_principal(credential: auth.ScramCredential, role: str = "user", **over: Any) -> Any:
    c = {**credential.to_config(), **over}
    return ScramPrincipal(
        kdf=c["kdf"],
        iterations=c["iterations"],
        salt=c["salt"],
        stored_key=c["stored-key"],
        server_key=c["server-key"],
        role=role,
        memory=c["memory"],
    )


def scram_static(credential: auth.ScramCredential = PBKDF2, **over: Any) -> Harness:
    return harness(ScramAuth(principals={"alice": scram_principal(credential, **over)}))


@pytest.mark.parametrize(
    ("credential", "over"),
    [(PBKDF2, {}), (ARGON2, {}), (ARGON2, {"kdf": "argon2id13"})],  # the spec's kdf id
    ids=["pbkdf2", "argon2id-13", "argon2id13"],
)
@pytest.mark.parametrize("method", ["scram", "wamp-scram"])
def test_scram_static_success(
    credential: auth.ScramCredential, over: dict[str, Any], method: str
) -> None:
    h = scram_static(credential, **over)
    peer = h.connect()
    client = auth.ScramClient("alice", "pa55")
    challenge = challenged(peer, ["ticket", method], authid="alice", authextra=client.authextra)
    assert challenge.method == method
    assert challenge.extra["kdf"] == credential.kdf
    assert challenge.extra["iterations"] == credential.iterations
    assert challenge.extra.get("memory") == credential.memory
    welcome = welcomed(peer, client.answer(challenge.extra))
    assert identity(welcome) == ("alice", "user", method, "static")
    authextra = welcome.details["authextra"]
    client.verify_welcome(authextra)  # Crossbar's scram_server_signature
    client.verify_welcome({"verifier": authextra["verifier"]})  # the spec's name


def test_scram_wrong_password() -> None:
    h = scram_static()
    peer = h.connect()
    client = auth.ScramClient("alice", "wrong")
    challenge = challenged(peer, ["scram"], authid="alice", authextra=client.authextra)
    peer.send(Authenticate(client.answer(challenge.extra), {}))
    aborted(peer, DENIED, "SCRAM client proof is invalid")


def test_scram_authenticate_extra_must_name_our_nonce() -> None:
    h = scram_static()
    peer = h.connect()
    client = auth.ScramClient("alice", "pa55")
    challenge = challenged(peer, ["scram"], authid="alice", authextra=client.authextra)
    peer.send(Authenticate(client.answer(challenge.extra), {"nonce": "AAAA"}))
    aborted(peer, DENIED)


@pytest.mark.parametrize("details", [{"authid": "bob"}, {}])
def test_scram_unknown_authid(details: dict[str, Any]) -> None:
    h = scram_static()
    peer = h.connect()
    hello(peer, ["scram"], authextra=auth.ScramClient("x", "y").authextra, **details)
    aborted(peer, DENIED, "no principal with authid")


@pytest.mark.parametrize(
    ("authextra", "text"),
    [
        ({}, "client nonce"),
        ({"nonce": 5}, "client nonce"),
        ({"nonce": ""}, "client nonce"),
        ({"nonce": "not base64!"}, "base64"),
        ({"nonce": "AAAA", "channel_binding": "tls-unique"}, "channel binding is not supported"),
    ],
)
@pytest.mark.parametrize("dynamic", [False, True])
def test_scram_bad_hello(authextra: dict[str, Any], text: str, dynamic: bool) -> None:
    if dynamic:
        h, authenticator = scram_dynamic()
    else:
        h = scram_static()
    peer = h.connect()
    hello(peer, ["scram"], authid="alice", authextra=authextra)
    aborted(peer, DENIED, text)
    if dynamic:
        assert authenticator.take() == []  # refused before the authenticator is bothered


def test_scram_misconfigured_principal(caplog: pytest.LogCaptureFixture) -> None:
    secret_hex = "zz" + PBKDF2.stored_key.hex()[2:]
    h = scram_static(**{"stored-key": secret_hex})
    peer = h.connect()
    with caplog.at_level(logging.ERROR, "autostrada.router"):
        hello(peer, ["scram"], authid="alice", authextra=auth.ScramClient("a", "b").authextra)
    shown = aborted(peer, FAILED, "misconfigured")
    assert "alice" in caplog.text
    assert secret_hex not in caplog.text + shown
    assert PBKDF2.server_key.hex() not in caplog.text


def test_scram_challenges_are_fresh() -> None:
    h = scram_static()
    client = auth.ScramClient("alice", "pa55")
    nonces = set()
    for _ in range(2):
        peer = h.connect()
        challenge = challenged(peer, ["scram"], authid="alice", authextra=client.authextra)
        nonces.add(challenge.extra["nonce"])
    assert len(nonces) == 2


# SCRAM, dynamic


def scram_dynamic() -> tuple[Harness, Peer]:
    h = harness(ScramAuth(authenticator=DYNAMIC))
    authenticator = h.join("auth")
    authenticator.register(DYNAMIC.procedure)
    authenticator.take()
    return h, authenticator


@pytest.mark.parametrize("credential", [PBKDF2, ARGON2], ids=["pbkdf2", "argon2id"])
def test_scram_dynamic_success(credential: auth.ScramCredential) -> None:
    h, authenticator = scram_dynamic()
    peer = h.connect()
    client = auth.ScramClient("alice", "pa55")
    hello(peer, ["wamp-scram"], authid="alice", authextra=client.authextra)
    principal = {**credential.to_config(), "role": "admin", "extra": {"x": 1}}
    invocation = decide(authenticator, principal)
    assert invocation.args is not None
    assert invocation.args[2]["authmethod"] == "scram"  # Crossbar's name for its authenticators
    challenge = peer.last()
    assert isinstance(challenge, Challenge)
    assert challenge.method == "wamp-scram"
    welcome = welcomed(peer, client.answer(challenge.extra))
    assert identity(welcome) == ("alice", "admin", "wamp-scram", "dynamic")
    assert welcome.details["authextra"]["x"] == 1
    client.verify_welcome(welcome.details["authextra"])


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        ("admin", FAILED),
        ({"role": "admin"}, FAILED),
        ({**PBKDF2.to_config(), "role": "admin", "salt": 5}, FAILED),
        ({**PBKDF2.to_config(), "role": "admin", "kdf": "md5"}, FAILED),
        ({**PBKDF2.to_config(), "role": "admin", "stored-key": "00"}, FAILED),
        ({**ARGON2.to_config(), "role": "admin", "memory": None}, FAILED),
        ({**PBKDF2.to_config()}, ApplicationError.NO_SUCH_ROLE),
        (Error(68, 1, {}, "com.example.nope", []), "com.example.nope"),
    ],
)
def test_scram_dynamic_bad_answers(result: Any, reason: str) -> None:
    h, authenticator = scram_dynamic()
    peer = h.connect()
    hello(peer, ["scram"], authid="alice", authextra=auth.ScramClient("a", "b").authextra)
    decide(authenticator, result)
    shown = aborted(peer, reason)
    assert PBKDF2.stored_key.hex() not in shown


def test_scram_dynamic_wrong_password() -> None:
    h, authenticator = scram_dynamic()
    peer = h.connect()
    client = auth.ScramClient("alice", "nope")
    hello(peer, ["scram"], authid="alice", authextra=client.authextra)
    decide(authenticator, {**PBKDF2.to_config(), "role": "admin"})
    challenge = peer.last()
    assert isinstance(challenge, Challenge)
    peer.send(Authenticate(client.answer(challenge.extra), {}))
    aborted(peer, DENIED, "proof is invalid")


# --------------------------------------------------------------------------------------
# Junk answers: always an ABORT not_authorized, never an exception out of receive()

JUNK = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=120).map(bytes.hex),
    st.binary(max_size=120).map(lambda b: base64.b64encode(b).decode()),
    st.sampled_from(["", "=", "====", "a" * 192, "0" * 192, "g" * 192, " " * 44]),
    st.integers(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.binary(max_size=100),
)


def start(method: str) -> Peer:
    if method == "wampcra":
        peer = cra_static().connect()
        challenged(peer, ["wampcra"], authid="peter")
    elif method == "cryptosign":
        peer = cs_static().connect(channel_binding={"tls-unique": TLS_UNIQUE})
        assert isinstance(cs_hello(peer, ALICE, "tls-unique", authid="alice"), Challenge)
    else:
        peer = scram_static().connect()
        extra = auth.ScramClient("alice", "pa55").authextra
        challenged(peer, ["scram"], authid="alice", authextra=extra)
    return peer


@pytest.mark.parametrize("method", ["wampcra", "cryptosign", "scram"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signature=JUNK, extra=st.one_of(st.just({}), st.dictionaries(st.text(max_size=8), JUNK)))
def test_junk_signatures_are_refused(method: str, signature: Any, extra: Any) -> None:
    peer = start(method)
    # The harness skips parsing, so even non-string signatures reach the authenticator.
    peer.send(Authenticate(cast(str, signature), extra))
    aborted(peer, DENIED)


@pytest.mark.parametrize("method", ["wampcra", "cryptosign", "scram"])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    authid=st.one_of(st.none(), st.sampled_from(["peter", "alice"]), st.text(max_size=20)),
    authextra=st.dictionaries(st.sampled_from(["pubkey", "nonce", "channel_binding"]), JUNK),
)
def test_junk_hello_is_refused_or_challenged(method: str, authid: Any, authextra: Any) -> None:
    h = {"wampcra": cra_static, "cryptosign": cs_static, "scram": scram_static}[method]()
    peer = h.connect(channel_binding={"tls-unique": TLS_UNIQUE})
    details: dict[str, Any] = {"authextra": authextra}
    if authid is not None:
        details["authid"] = authid
    reply = hello(peer, [method], **details)
    if isinstance(reply, Abort):  # a denial of ours, not an authenticator crash
        assert reply.reason == DENIED, reply
    else:
        assert isinstance(reply, Challenge), reply


# --------------------------------------------------------------------------------------
# A challenge left unanswered


def test_unanswered_challenge_times_out() -> None:
    h = harness(
        WampCraAuth(principals={"peter": WampCraPrincipal("s", "user")}), challenge_timeout=5.0
    )
    silent, quick, gone = h.connect(), h.connect(), h.connect()
    challenged(silent, ["wampcra"], authid="peter")
    assert h.router.next_deadline() == pytest.approx(h.now + 5.0)
    h.advance(1.0)
    challenge = challenged(quick, ["wampcra"], authid="peter")
    challenged(gone, ["wampcra"], authid="peter")
    welcomed(quick, auth.answer_wampcra("s", challenge.extra))
    h.detach(gone)
    gone.take()
    h.advance(3.9)
    assert not silent.session.closing
    h.advance(0.2)
    aborted(silent, FAILED, "no AUTHENTICATE within 5 s")
    # the answered and the vanished challenge leave nothing behind
    h.advance(10.0)
    assert h.router.next_deadline() is None
    assert quick.session.established
    assert gone.take() == []


def test_answered_challenges_do_not_pile_up() -> None:
    h = cra_static()
    pending = h.connect()
    challenged(pending, ["wampcra"], authid="peter")
    for _ in range(200):
        peer = h.connect()
        challenge = challenged(peer, ["wampcra"], authid="peter")
        welcomed(peer, auth.answer_wampcra("s3cret", challenge.extra))
    assert len(h.router._challenge_heap) <= 70
    h.advance(30.0)
    aborted(pending, FAILED, "no AUTHENTICATE within 30 s")
    assert h.router.next_deadline() is None


def test_challenge_timeout_is_validated() -> None:
    with pytest.raises(ValueError, match=r"RouterLimits\.challenge_timeout"):
        RouterLimits(challenge_timeout=0)
    assert RouterLimits().challenge_timeout == 30.0


def test_cryptosign_principal_keys_are_validated() -> None:
    with pytest.raises(ValueError, match=r"authorized_keys\[1\]"):
        CryptosignPrincipal(["ab" * 32, "xy" * 32], "user")
    assert CryptosignPrincipal(["AB" * 32], "user").authorized_keys == ("ab" * 32,)


def test_authenticators_used_directly() -> None:
    # Without the router: the SCRAM name defaults to "scram"; reprs hold no secrets.
    scram = ScramAuthenticator(ScramAuth(principals={"alice": scram_principal(PBKDF2)}))
    info = HelloInfo("realm1", "alice", None, {"nonce": "AAAA"}, {}, 1, {})
    outcome = scram.hello(info)
    assert isinstance(outcome, ChallengeOutcome) and outcome.method == "scram"
    assert PBKDF2.stored_key.hex() not in repr(scram) + repr(outcome)
    principal = CryptosignPrincipal([ALICE.public_key_hex], "user")
    cryptosign = CryptosignAuthenticator(CryptosignAuth(principals={"a": principal}))
    info = HelloInfo("realm1", None, None, {"pubkey": ALICE.public_key_hex}, {}, 1, {})
    outcome = cryptosign.hello(info)
    assert isinstance(outcome, ChallengeOutcome) and outcome.method == "cryptosign"
