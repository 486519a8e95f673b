"""Security: authorization of every action, identities that cannot be claimed, fresh
challenges, constant-time comparison, no secret in logs or errors, clear-text tickets
warned about, TLS verification on by default.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from rel_kit import RETRY, async_test, server_kit, within

import autostrada
from autostrada import ApplicationError, Component, PublishOptions, Session
from autostrada.aio.connect import is_certificate_error
from autostrada.auth import CryptosignKey, answer_wampcra
from autostrada.exceptions import AuthenticationFailed, TransportError
from autostrada.messages import Abort, Authenticate, Challenge, Hello, Welcome
from autostrada.router.config import ServerConfig, TLSConfig
from autostrada.router.core import (
    AnonymousAuth,
    CryptosignAuth,
    CryptosignPrincipal,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    TicketAuth,
    TicketPrincipal,
    WampCraAuth,
    WampCraPrincipal,
)
from autostrada.router.server import RouterServer

TICKET = "ticket-S3CRET-4a1f"
CRA_SECRET = "cra-S3CRET-77b2"
SIGN_KEY = CryptosignKey.generate()
OTHER_KEY = CryptosignKey.generate()
WRONG = "wrong-S3CRET-0c9d"
SECRETS = [TICKET, CRA_SECRET, WRONG, SIGN_KEY.seed_hex(), OTHER_KEY.seed_hex()]

NOT_AUTHORIZED = "wamp.error.not_authorized"


def config(*listeners: Any) -> ServerConfig:
    realm = RealmConfig(
        "realm1",
        roles=(
            RoleConfig("restricted", (Permission("ok.", "prefix", call=True),)),
            RoleConfig("user", (Permission.allow_all(),)),
        ),
        auth=(
            AnonymousAuth("restricted"),
            TicketAuth({"joe": TicketPrincipal(TICKET, "user")}),
            WampCraAuth({"cra": WampCraPrincipal(CRA_SECRET, "user")}),
            CryptosignAuth({"dev": CryptosignPrincipal((SIGN_KEY.public_key_hex,), "user")}),
        ),
    )
    return ServerConfig(RouterConfig((realm,)), listeners or (server_kit.listener("universal"),))


@asynccontextmanager
async def router() -> AsyncIterator[tuple[RouterServer, str]]:
    async with RouterServer(config()) as server:
        yield server, server_kit.url_of(server, "ws")


async def user(url: str) -> Session:
    authentication = {"ticket": {"authid": "joe", "ticket": TICKET}}
    return await within(autostrada.connect(url, authentication=authentication))


# ------------------------------------------------------------------ authorization


@async_test
async def test_every_action_is_denied_without_permission() -> None:
    async with router() as (server, url):
        service = await user(url)
        intruder = await within(autostrada.connect(url))  # anonymous: role "restricted"
        try:
            assert intruder.details is not None and intruder.details.authrole == "restricted"
            await within(service.register(lambda: "secret", "svc.proc"))
            await within(service.register(lambda x: x, "ok.echo"))
            assert await within(intruder.call("ok.echo", 1)) == 1  # what it may do, it can
            service_id = service.session_id
            denied: list[tuple[str, Any]] = [
                ("call", intruder.call("svc.proc")),
                ("register", intruder.register(lambda: None, "svc.other")),
                ("subscribe", intruder.subscribe(lambda: None, "svc.topic")),
                (
                    "publish",
                    intruder.publish("svc.topic", options=PublishOptions(acknowledge=True)),
                ),
                ("wamp.session.kill", intruder.call("wamp.session.kill", service_id)),
                ("wamp.session.kill_all", intruder.call("wamp.session.kill_all")),
                (
                    "wamp.session.kill_by_authid",
                    intruder.call("wamp.session.kill_by_authid", "joe"),
                ),
                (
                    "wamp.session.kill_by_authrole",
                    intruder.call("wamp.session.kill_by_authrole", "user"),
                ),
                ("wamp.session.list", intruder.call("wamp.session.list")),
                ("wamp.session.get", intruder.call("wamp.session.get", service_id)),
                ("wamp.registration.list", intruder.call("wamp.registration.list")),
                ("wamp.subscription.list", intruder.call("wamp.subscription.list")),
                (
                    "wamp.session.add_testament",
                    intruder.call("wamp.session.add_testament", "svc.topic", [], {}),
                ),
            ]
            for action, attempt in denied:
                with pytest.raises(ApplicationError) as caught:
                    await within(attempt)
                assert caught.value.error == NOT_AUTHORIZED, (action, caught.value)
            assert service.is_attached() and intruder.is_attached()
            assert len(server.router.realms["realm1"].sessions) == 2  # nobody was killed
            assert await within(service.call("wamp.session.count")) == 2  # allowed to "user"
        finally:
            for session in (service, intruder):
                await within(session.leave())


# ------------------------------------------------------------------ identities


async def hand_join(url: str, details: dict[str, Any], answer: Any = None) -> Any:
    """HELLO (and AUTHENTICATE with ``answer(challenge)``); the router's last word."""
    async with server_kit.peer(url) as hand:
        hand.send(Hello("realm1", {"roles": {"caller": {}}, **details}))
        reply = await hand.receive()
        if isinstance(reply, Challenge) and answer is not None:
            hand.send(Authenticate(answer(reply), {}))
            reply = await hand.receive()
        return reply


@async_test
async def test_a_client_cannot_claim_another_authid_or_role() -> None:
    async with router() as (_, url):
        # Anonymous asking for joe's identity and role: a random authid, its own role.
        welcome = await hand_join(url, {"authid": "joe", "authrole": "user"})
        assert isinstance(welcome, Welcome)
        assert welcome.details["authid"] != "joe"
        assert welcome.details["authrole"] == "restricted"
        # Joe asking for another role: joe's own role.
        welcome = await hand_join(
            url,
            {"authmethods": ["ticket"], "authid": "joe", "authrole": "admin"},
            lambda challenge: TICKET,
        )
        assert isinstance(welcome, Welcome)
        assert (welcome.details["authid"], welcome.details["authrole"]) == ("joe", "user")
        # Another authid with joe's ticket: there is no such principal.
        refused = await hand_join(
            url, {"authmethods": ["ticket"], "authid": "cra"}, lambda challenge: TICKET
        )
        assert isinstance(refused, Abort)
        # dev's public key claimed by a key that cannot sign for it.
        refused = await hand_join(
            url,
            {
                "authmethods": ["cryptosign"],
                "authid": "dev",
                "authextra": {"pubkey": SIGN_KEY.public_key_hex},
            },
            lambda challenge: OTHER_KEY.sign_challenge(challenge.extra["challenge"]),
        )
        assert isinstance(refused, Abort) and refused.reason == NOT_AUTHORIZED
        # The authextra a client sends is no claim either: the authid stays the principal's.
        welcome = await hand_join(
            url,
            {"authmethods": ["wampcra"], "authid": "cra", "authextra": {"authid": "joe"}},
            lambda challenge: answer_wampcra(CRA_SECRET, challenge.extra),
        )
        assert isinstance(welcome, Welcome)
        assert (welcome.details["authid"], welcome.details["authrole"]) == ("cra", "user")


# ------------------------------------------------------------------ challenges


@pytest.mark.parametrize("method", ["wampcra", "cryptosign"])
@async_test
async def test_challenges_are_never_reused_and_answers_cannot_be_replayed(method: str) -> None:
    details: dict[str, Any] = {"authmethods": [method]}
    if method == "wampcra":
        details["authid"] = "cra"

        def answer(challenge: Challenge) -> str:
            return answer_wampcra(CRA_SECRET, challenge.extra)
    else:
        details["authid"] = "dev"
        details["authextra"] = {"pubkey": SIGN_KEY.public_key_hex}

        def answer(challenge: Challenge) -> str:
            return SIGN_KEY.sign_challenge(challenge.extra["challenge"])

    async with router() as (_, url):
        challenges: list[Challenge] = []
        peers = [await server_kit.Peer.connect(url) for _ in range(20)]
        try:
            for hand in peers:
                hand.send(Hello("realm1", {"roles": {"caller": {}}, **details}))
                challenge = await hand.receive()
                assert isinstance(challenge, Challenge)
                challenges.append(challenge)
            texts = [c.extra["challenge"] for c in challenges]
            assert len(set(texts)) == len(texts)  # twenty sessions, twenty challenges
            # The right answer to the first challenge, replayed to the second session.
            peers[1].send(Authenticate(answer(challenges[0]), {}))
            refused = await peers[1].receive()
            assert isinstance(refused, Abort) and refused.reason == NOT_AUTHORIZED
            # ... is good only for the session it was made for.
            peers[0].send(Authenticate(answer(challenges[0]), {}))
            assert isinstance(await peers[0].receive(), Welcome)
        finally:
            for hand in peers:
                await hand.aclose()


# ------------------------------------------------------------------ constant time


@async_test
async def test_secrets_are_compared_with_hmac_compare_digest() -> None:
    """Every accept/refuse decision on a ticket or WAMP-CRA signature goes through
    ``hmac.compare_digest`` (cryptosign is an Ed25519 signature check, no secret to
    compare). Checked on the code path, by a spy, for right and wrong answers."""
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((bytes(a), bytes(b)))
        return original(a, b)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hmac, "compare_digest", spy)
        async with router() as (_, url):
            for method, details, right, wrong in (
                ("ticket", {"authid": "joe"}, TICKET, WRONG),
                (
                    "wampcra",
                    {"authid": "cra"},
                    lambda c: answer_wampcra(CRA_SECRET, c.extra),
                    lambda c: answer_wampcra(WRONG, c.extra),
                ),
            ):
                for answer, accepted in ((right, True), (wrong, False)):
                    compared.clear()

                    def sign(challenge: Challenge, answer: Any = answer) -> str:
                        return answer if isinstance(answer, str) else str(answer(challenge))

                    reply = await hand_join(url, {"authmethods": [method], **details}, sign)
                    assert isinstance(reply, Welcome) is accepted, (method, reply)
                    assert compared, f"{method}: no hmac.compare_digest on the decision path"
                    sent = (
                        sign(Challenge(method, {"challenge": "x"})) if method == "ticket" else None
                    )
                    if sent is not None:
                        assert any(sent.encode() in pair for pair in compared), method


# ------------------------------------------------------------------ no secrets shown


@async_test
async def test_no_secret_appears_in_logs_or_error_messages() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    shown: list[str] = []
    try:
        async with router() as (_, url):
            attempts = [
                {"ticket": {"authid": "joe", "ticket": TICKET}},
                {"ticket": {"authid": "joe", "ticket": WRONG}},
                {"wampcra": {"authid": "cra", "secret": CRA_SECRET}},
                {"wampcra": {"authid": "cra", "secret": WRONG}},
                {"cryptosign": {"authid": "dev", "privkey": SIGN_KEY.seed_hex()}},
                {"cryptosign": {"authid": "dev", "privkey": OTHER_KEY.seed_hex()}},
            ]
            for authentication in attempts:
                try:
                    session = await within(autostrada.connect(url, authentication=authentication))
                except AuthenticationFailed as exc:
                    shown += [str(exc), repr(exc), str(exc.__cause__)]
                else:
                    shown.append(repr(session.details))
                    await within(session.leave())
                component = Component(
                    transports={"url": url, **RETRY}, authentication=authentication
                )
                shown.append(repr(component))
                try:
                    await within(_join_once(component))
                except AuthenticationFailed as exc:
                    shown += [str(exc), repr(exc)]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    text = "\n".join(shown)
    for record in records:
        text += "\n" + record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
    assert records, "nothing was logged: the check would be empty"
    leaked = [secret for secret in SECRETS if secret in text]
    assert leaked == []


async def _join_once(component: Component) -> None:
    joined = asyncio.get_running_loop().create_future()
    component.on("join", lambda session, details: joined.done() or joined.set_result(None))
    done = component.start()
    await asyncio.wait({joined, done}, return_when=asyncio.FIRST_COMPLETED)
    await component.stop()
    error = done.exception() if done.done() and not done.cancelled() else None
    if error is not None:
        raise error


# ------------------------------------------------------------------ transport security


@async_test
async def test_ticket_over_a_plain_transport_logs_a_warning() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.WARNING)
    logging.getLogger("autostrada").addHandler(handler)
    try:
        async with router() as (server, _):
            port = server.port_of("universal")
            # The URL names a remote host; the socket goes to 127.0.0.1 (a test).
            remote = {
                "url": "ws://router.example.com/ws",
                "endpoint": {"type": "tcp", "host": "127.0.0.1", "port": port},
                **RETRY,
            }
            local = {"url": f"ws://127.0.0.1:{port}/ws", **RETRY}
            ticket = {"ticket": {"authid": "joe", "ticket": TICKET}}
            for transport, warned in ((local, False), (remote, True)):
                records.clear()
                component = Component(transports=transport, authentication=ticket)
                await within(_join_once(component))
                warnings = [r.getMessage() for r in records if "clear text" in r.getMessage()]
                assert bool(warnings) is warned, (transport, warnings)
                if warned:
                    assert "router.example.com" in warnings[0] and TICKET not in warnings[0]
    finally:
        logging.getLogger("autostrada").removeHandler(handler)
    # The router says it too, at start, for a plain listener that is not on loopback:
    # tests/router/test_config_file.py (the "clear text" warning of ServerConfig).


@async_test
async def test_tls_certificate_verification_is_on_by_default(tmp_path: Path) -> None:
    certs = server_kit.make_certificates(tmp_path)
    tls = TLSConfig(str(certs.server_cert), str(certs.server_key))
    async with RouterServer(config(server_kit.listener("universal", tls=tls))) as server:
        url = server_kit.url_of(server, "wss")
        with pytest.raises(TransportError) as caught:
            await within(autostrada.connect(url))  # a CA the system does not trust
        assert is_certificate_error(caught.value)
        assert "certificate" in str(caught.value)
        # With the CA given, the same router is fine: it was the verification.
        context = server_kit.client_tls(certs, with_cert=False)
        async with await within(autostrada.connect(url, ssl=context)) as session:
            assert session.transport_details.is_secure
        # A Component treats it as fatal (no retry loop against an impostor).
        component = Component(transports={"url": url, **RETRY})
        with pytest.raises(TransportError) as failed:
            await within(component.start())
        assert is_certificate_error(failed.value)
