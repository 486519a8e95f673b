"""Joining Crossbar with every authentication method, right and wrong credentials.

Every method (anonymous, ticket, wampcra unsalted and salted, cryptosign, scram with
argon2id and pbkdf2) over every transport and serializer. Wrong credentials give an
:class:`AuthenticationFailed` naming the router's reason, after exactly one
connection (no retry storm), with the transport closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from clientkit import (
    MATRIX,
    Relay,
    Target,
    async_test,
    authentication_for,
    close_session,
    crossbar_url,
    open_session,
    within,
)

import autostrada
from autostrada import (
    AuthenticationFailed,
    Challenge,
    CloseDetails,
    ComponentConfig,
    InvalidState,
    Session,
    SessionClosed,
    TransportError,
    create_authenticator,
)
from autostrada.aio.connect import connect as connect_channel
from autostrada.auth import CryptosignKey

METHODS = (
    "anonymous",
    "ticket",
    "wampcra",
    "wampcra_salted",
    "cryptosign",
    "scram",
    "scram_pbkdf2",
)
WIRE_NAME = {"wampcra_salted": "wampcra", "scram_pbkdf2": "scram"}


@pytest.mark.parametrize("method", METHODS)
@async_test
async def test_join_with_each_method(cb_target: Target, crossbar: Any, method: str) -> None:
    session = await open_session(
        cb_target.url,
        serializer=cb_target.serializer,
        authentication=authentication_for(crossbar, method),
    )
    try:
        details = session.details
        assert details is not None
        assert details.authmethod == WIRE_NAME.get(method, method)
        assert details.authprovider == "static"
        if method == "anonymous":
            assert details.authrole == "anonymous"
        else:
            principal = getattr(crossbar, method)
            assert (details.authid, details.authrole) == (principal.authid, principal.authrole)
        # The joined session works.
        assert await session.call("wamp.session.count") >= 1
    finally:
        await close_session(session)


def wrong_credentials(node: Any, case: str) -> dict[str, dict[str, Any]]:
    if case == "ticket":
        return {"ticket": {"authid": node.ticket.authid, "ticket": "not-the-ticket"}}
    if case == "ticket-unknown-authid":
        return {"ticket": {"authid": "nobody", "ticket": node.ticket.ticket}}
    if case in ("wampcra", "wampcra_salted"):
        return {"wampcra": {"authid": getattr(node, case).authid, "secret": "wrong"}}
    if case == "cryptosign":
        stranger = CryptosignKey.generate().seed_hex()
        return {"cryptosign": {"authid": node.cryptosign.authid, "privkey": stranger}}
    if case in ("scram", "scram_pbkdf2"):
        return {"scram": {"authid": getattr(node, case).authid, "password": "wrong"}}
    raise ValueError(case)


WRONG = (
    "ticket",
    "ticket-unknown-authid",
    "wampcra",
    "wampcra_salted",
    "cryptosign",
    "scram",
    "scram_pbkdf2",
)


@pytest.mark.parametrize(("transport", "serializer"), MATRIX, ids=[f"{t}-{s}" for t, s in MATRIX])
@pytest.mark.parametrize("case", WRONG)
@async_test
async def test_wrong_credentials(crossbar: Any, transport: str, serializer: str, case: str) -> None:
    upstream: tuple[str, int] | str
    if transport == "rs-unix":
        upstream = crossbar.rs_unix_path
    else:
        upstream = ("127.0.0.1", crossbar.ws_port if transport == "ws" else crossbar.rs_port)
    async with Relay(upstream) as relay:
        url = f"ws://{relay.address}/ws" if transport == "ws" else f"rs://{relay.address}"
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(AuthenticationFailed) as caught:
            await within(
                autostrada.connect(
                    url,
                    "realm1",
                    serializers=[serializer],
                    authentication=wrong_credentials(crossbar, case),
                )
            )
        # Crossbar says wamp.error.not_authorized for all of these (see
        # docs/testing-against-crossbar.md); the message carries its explanation.
        assert caught.value.reason == "wamp.error.not_authorized"
        assert "refused to authenticate" in str(caught.value)
        assert loop.time() - started < 3.0
        # One connection, and it is closed: no retry, nothing left open.
        await relay.wait_idle()
        assert relay.connections == 1


@async_test
async def test_wrong_realm_is_not_an_authentication_failure(crossbar: Any) -> None:
    url = crossbar_url(crossbar, "ws")
    with pytest.raises(SessionClosed) as caught:
        await within(autostrada.connect(url, "no.such.realm"))
    assert not isinstance(caught.value, AuthenticationFailed)
    assert caught.value.reason == "wamp.error.no_such_realm"


@async_test
async def test_channel_binding_needs_tls(crossbar: Any) -> None:
    principal = crossbar.cryptosign
    authentication = {
        "cryptosign": {
            "authid": principal.authid,
            "privkey": principal.seed_hex,
            "channel_binding": "tls-unique",
        }
    }
    with pytest.raises(AuthenticationFailed) as caught:
        await within(autostrada.connect(crossbar.ws_url, "realm1", authentication=authentication))
    # Crossbar refuses before it challenges us: the HELLO asked for a binding that a
    # plain TCP transport cannot have. (Our own check, for routers that challenge
    # anyway, is tested against a scripted router in test_session_edges.py.)
    assert "channel binding" in str(caught.value)


class TicketBySubclass(Session):
    """Answers the CHALLENGE itself, the Autobahn way (override ``on_challenge``)."""

    def __init__(self, config: ComponentConfig, ticket: str) -> None:
        super().__init__(config)
        self.ticket = ticket
        self.challenges: list[Challenge] = []

    async def on_challenge(self, challenge: Challenge) -> Any:
        self.challenges.append(challenge)
        await asyncio.sleep(0)  # an awaitable answer is awaited
        return self.ticket, {}  # (signature, extra) is accepted too


@async_test
async def test_on_challenge_override_and_explicit_join(crossbar: Any) -> None:
    channel = await within(connect_channel(crossbar.ws_url, serializers=["cbor"]))
    session = TicketBySubclass(ComponentConfig(realm="realm1"), crossbar.ticket.ticket)
    try:
        with pytest.raises(InvalidState, match="not joined"):
            await session.call("wamp.session.count")
        await session.attach(channel)
        with pytest.raises(InvalidState, match="already has a transport"):
            await session.attach(channel)
        details = await within(session.join(authmethods=["ticket"], authid=crossbar.ticket.authid))
        assert details.authid == crossbar.ticket.authid
        assert [c.method for c in session.challenges] == ["ticket"]
        closed = await within(session.leave("wamp.close.normal", "done"))
        assert isinstance(closed, CloseDetails)
        assert closed.reason == "wamp.close.normal"
        assert not session.is_attached() and session.session_id is None
    finally:
        await close_session(session)


@async_test
async def test_add_authenticator_offers_its_method(crossbar: Any) -> None:
    principal = crossbar.wampcra
    channel = await within(connect_channel(crossbar.ws_url))
    session = Session()  # realm1 by default
    session.add_authenticator(
        create_authenticator("wampcra", authid=principal.authid, secret=principal.secret)
    )
    await session.attach(channel)
    try:
        details = await within(session.join())
        assert (details.authmethod, details.authid) == ("wampcra", principal.authid)
    finally:
        await close_session(session)


class BadAnswers(Session):
    def __init__(self, answer: Any) -> None:
        super().__init__(ComponentConfig(realm="realm1"))
        self.answer = answer

    def on_challenge(self, challenge: Challenge) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (42, "must return the signature as a string"),
        (RuntimeError("no key here"), "on_challenge failed: no key here"),
        (TransportError("a WampError"), "a WampError"),
    ],
)
@async_test
async def test_bad_challenge_answer_fails_the_join(
    crossbar: Any, answer: Any, expected: str
) -> None:
    channel = await within(connect_channel(crossbar.ws_url))
    session = BadAnswers(answer)
    await session.attach(channel)
    try:
        with pytest.raises(AuthenticationFailed, match=expected):
            await within(session.join(authmethods=["ticket"], authid=crossbar.ticket.authid))
        # We aborted the join and closed the connection ourselves.
        await within(session.wait_disconnected())
        assert not session.is_connected()
    finally:
        await close_session(session)


def test_authentication_config_errors_before_connecting() -> None:
    with pytest.raises(ValueError, match="unknown authentication method 'password'"):
        create_authenticator("password")
    with pytest.raises(ValueError, match="missing key"):
        create_authenticator("ticket", authid="x")
    with pytest.raises(ValueError, match="unknown key"):
        create_authenticator("anonymous", ticket="x")
    with pytest.raises(ValueError, match="privkey is not usable"):
        create_authenticator("cryptosign", privkey="zz")

    async def main() -> None:
        # Checked before any connection: the URL points nowhere.
        with pytest.raises(ValueError, match="missing key"):
            await autostrada.connect("ws://127.0.0.1:9/ws", authentication={"scram": {}})

    asyncio.run(main())
