"""Hostile input to the router over real sockets: every message type, out of state,
malformed handshakes and frames, floods, junk authentication.

The same invariants after every case (:meth:`Arena.check`):

* the router never crashes: no unhandled error in the event loop, nothing logged at
  ERROR by the router (an internal error is logged so), and it still serves;
* the offending session gets ABORT (or its connection closed) with the right error;
* the bystanders — a callee with a registration and a subscription, and a caller,
  joined before — are unaffected: same sessions, calls and events go through;
* once the offender is gone, nothing of it remains in the router: no session, no
  registration, no subscription, no call in flight.

Malformed WebSocket/RawSocket frames, oversize messages and garbage serializations
are covered in tests/router_server/test_server_listeners.py (same invariants); the
serializers are fuzzed in tests/test_serializer_properties.py, the RawSocket framer in
tests/test_rawsocket.py, the core in test_core_hostile.py here.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from rel_kit import async_test, server_kit, within

from autostrada import PublishOptions, Session
from autostrada.auth import CryptosignKey
from autostrada.exceptions import ProtocolError
from autostrada.messages import (
    Abort,
    Authenticate,
    Call,
    Challenge,
    Error,
    Goodbye,
    Hello,
    Message,
    MessageType,
    Register,
    Registered,
    Subscribe,
    parse,
)
from autostrada.router.config import ServerConfig
from autostrada.router.core import (
    AnonymousAuth,
    CryptosignAuth,
    CryptosignPrincipal,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    RouterLimits,
    TicketAuth,
    TicketPrincipal,
    WampCraAuth,
    WampCraPrincipal,
)
from autostrada.router.server import RouterServer

Peer = server_kit.Peer
VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "singlemessage"
PROTOCOL_VIOLATION = "wamp.error.protocol_violation"

# Messages only a router sends: from a client, each is a protocol violation.
ROUTER_ONLY = {
    MessageType.WELCOME,
    MessageType.CHALLENGE,
    MessageType.PUBLISHED,
    MessageType.SUBSCRIBED,
    MessageType.UNSUBSCRIBED,
    MessageType.EVENT,
    MessageType.RESULT,
    MessageType.REGISTERED,
    MessageType.UNREGISTERED,
    MessageType.INVOCATION,
    MessageType.INTERRUPT,
}

SIGN_KEY = CryptosignKey.generate()


def sample_messages() -> dict[MessageType, Message]:
    """One valid message of every type, from the WAMP test vectors."""
    samples: dict[MessageType, Message] = {}
    for path in sorted(VECTORS.glob("*/*.json")):
        vector = json.loads(path.read_text())
        for sample in vector["samples"]:
            for encoded in sample.get("serializers", {}).get("json", []):
                try:
                    message = parse(json.loads(encoded["bytes"]))
                except ProtocolError:
                    continue  # a vector of what must be refused
                samples.setdefault(message.TYPE, message)
    return samples


SAMPLES = sample_messages()


def config(**limits: Any) -> ServerConfig:
    realm = RealmConfig(
        "realm1",
        roles=(RoleConfig("anonymous", (Permission.allow_all(),)),),
        auth=(
            AnonymousAuth(),
            TicketAuth({"joe": TicketPrincipal("joe-ticket-secret", "anonymous")}),
            WampCraAuth({"cra": WampCraPrincipal("cra-secret", "anonymous")}),
            CryptosignAuth({"dev": CryptosignPrincipal((SIGN_KEY.public_key_hex,), "anonymous")}),
        ),
    )
    router = RouterConfig((realm,), RouterLimits(**limits))
    return ServerConfig(router, (server_kit.listener("universal", open_timeout=2.0),))


class Arena:
    """A router with bystanders, and the checks that must hold after any hostile act."""

    def __init__(self, server: RouterServer, callee: Session, caller: Session) -> None:
        self.server = server
        self.callee = callee
        self.caller = caller
        self.events: asyncio.Queue[int] = asyncio.Queue()
        self.errors: list[logging.LogRecord] = []
        self.checks = 0

    def url(self, scheme: str = "ws") -> str:
        return str(server_kit.url_of(self.server, scheme))

    @property
    def realm(self) -> Any:
        return self.server.router.realms["realm1"]

    async def check(self) -> None:
        """The invariants (module docstring); the offender must be gone by now."""
        self.checks += 1
        n = self.checks
        assert self.callee.is_attached() and self.caller.is_attached()
        assert await within(self.caller.call("bystander.echo", n)) == n
        await within(self.caller.publish("bystander.topic", n, options=_ACK))  # type: ignore[arg-type]
        assert await within(self.events.get()) == n
        bystanders = {self.callee.session_id, self.caller.session_id}
        await server_kit.eventually(lambda: set(self.realm.sessions) == bystanders)
        for registration in self.realm.dealer.by_id.values():
            assert {c.session.session_id for c in registration.callees} <= bystanders
        for subscription in self.realm.broker.by_id.values():
            assert {s.session_id for s in subscription.subscribers} <= bystanders
        for session in self.realm.sessions.values():
            assert not session.calls and not session.invocations
        assert not self.errors, [r.getMessage() for r in self.errors]


_ACK = PublishOptions(acknowledge=True)


class _ErrorLog(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@asynccontextmanager
async def arena(**limits: Any) -> AsyncIterator[Arena]:
    async with (
        RouterServer(config(**limits)) as server,
        server_kit.sessions(server_kit.url_of(server, "rs"), 2) as [callee, caller],
    ):
        place = Arena(server, callee, caller)
        await within(callee.register(lambda n: n, "bystander.echo"))
        await within(callee.subscribe(place.events.put_nowait, "bystander.topic"))
        handler = _ErrorLog(place.errors)
        logger = logging.getLogger("autostrada")
        logger.addHandler(handler)
        try:
            await place.check()
            yield place
            await place.check()
        finally:
            logger.removeHandler(handler)


async def expect_abort(offender: Peer, reason: str) -> Abort:
    abort = await offender.receive()
    assert isinstance(abort, Abort), abort
    assert abort.reason == reason, abort
    assert abort.details.get("message"), "an ABORT says why"
    await offender.closed()
    return abort


# ------------------------------------------------------------------ every message type


def test_the_vectors_have_every_message_type() -> None:
    assert set(SAMPLES) == set(MessageType)


@pytest.mark.parametrize("serializer", ["json", "msgpack", "cbor"])
@async_test
async def test_every_router_only_message_from_a_client_is_a_protocol_violation(
    serializer: str,
) -> None:
    async with arena() as place:
        for message_type in sorted(ROUTER_ONLY):
            async with server_kit.peer(place.url("rs"), serializer) as offender:
                await offender.join()
                offender.send(SAMPLES[message_type])
                abort = await expect_abort(offender, PROTOCOL_VIOLATION)
                assert message_type.name in abort.details["message"]
            await place.check()


@async_test
async def test_client_messages_with_ids_the_router_never_gave() -> None:
    """Answers and cancels for requests that do not exist, unknown ids to undo."""
    async with arena() as place:
        for message_type in (MessageType.YIELD, MessageType.ERROR):
            async with server_kit.peer(place.url()) as offender:
                await offender.join()
                offender.send(SAMPLES[message_type])  # for an INVOCATION never sent
                await expect_abort(offender, PROTOCOL_VIOLATION)
            await place.check()
        for message_type, error in (
            (MessageType.UNREGISTER, "wamp.error.no_such_registration"),
            (MessageType.UNSUBSCRIBE, "wamp.error.no_such_subscription"),
        ):
            async with server_kit.peer(place.url()) as offender:
                await offender.join()
                offender.send(SAMPLES[message_type])
                reply = await offender.receive()
                assert isinstance(reply, Error) and reply.error == error, reply
            await place.check()
        async with server_kit.peer(place.url()) as offender:
            await offender.join()
            offender.send(SAMPLES[MessageType.CANCEL])  # a call that does not exist: ignored
            offender.send(Call(7, {}, "bystander.echo", [7]))
            reply = await offender.receive()
            assert reply.TYPE is MessageType.RESULT and reply.request_id == 7  # type: ignore[attr-defined]
        await place.check()


# ------------------------------------------------------------------ out of state


@pytest.mark.parametrize(
    "message_type",
    sorted(set(MessageType) - {MessageType.HELLO, MessageType.ABORT}),
    ids=lambda t: t.name,
)
@async_test
async def test_anything_but_hello_before_the_session_is_a_protocol_violation(
    message_type: MessageType,
) -> None:
    """CALL before WELCOME, GOODBYE before WELCOME, AUTHENTICATE without a CHALLENGE..."""
    async with arena() as place, server_kit.peer(place.url()) as offender:
        offender.send(SAMPLES[message_type])
        await expect_abort(offender, PROTOCOL_VIOLATION)


@async_test
async def test_a_second_hello_and_a_late_authenticate_are_protocol_violations() -> None:
    async with arena() as place:
        for late in (Hello("realm1", {"roles": {"caller": {}}}), Authenticate("sig", {})):
            async with server_kit.peer(place.url()) as offender:
                await offender.join()
                offender.send(late)
                abort = await expect_abort(offender, PROTOCOL_VIOLATION)
                assert "after the session was established" in abort.details["message"]
            await place.check()
        # A second HELLO while the first is being authenticated.
        async with server_kit.peer(place.url()) as offender:
            ticket = {"roles": {"caller": {}}, "authmethods": ["ticket"], "authid": "joe"}
            offender.send(Hello("realm1", ticket))
            assert isinstance(await offender.receive(), Challenge)
            offender.send(Hello("realm1", {"roles": {"caller": {}}}))
            await expect_abort(offender, PROTOCOL_VIOLATION)


@async_test
async def test_an_abort_from_the_client_ends_its_session_and_its_state() -> None:
    async with arena() as place:
        async with server_kit.peer(place.url()) as offender:
            await offender.join()
            offender.send(Register(1, {}, "offender.proc"))
            offender.send(Subscribe(2, {}, "offender.topic"))
            assert isinstance(await offender.receive(), Registered)
            await offender.receive()
            assert len(place.realm.sessions) == 3
            offender.send(Abort({}, "wamp.error.system_shutdown"))
            await offender.closed()  # no reply to an ABORT: the router closes
        await place.check()
        assert await within(place.caller.call("wamp.registration.lookup", "offender.proc")) is None


# ------------------------------------------------------------------ malformed handshakes


HANDSHAKES = {
    "garbage": b"\x00\x01\x02 not a handshake \xff\xfe" * 4,
    "rawsocket-serializer-zero": bytes([0x7F, 0xF0, 0x00, 0x00]),  # serializer 0: illegal
    "rawsocket-reserved-bytes": bytes([0x7F, 0xF1, 0x12, 0x34]),  # must be zero
    "rawsocket-unknown-serializer": bytes([0x7F, 0xFF, 0x00, 0x00]),
    "http-not-websocket": b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n",
    "websocket-no-key": (
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n"
    ),
    "http-header-flood": b"GET /ws HTTP/1.1\r\n" + b"X-Junk: " + b"a" * 200_000 + b"\r\n",
}


@pytest.mark.parametrize("name", sorted(HANDSHAKES))
@async_test
async def test_a_malformed_handshake_is_refused_and_the_connection_closed(name: str) -> None:
    async with arena() as place:
        port = place.server.port_of("universal")
        async with server_kit.tcp_client(port) as (reader, writer):
            writer.write(HANDSHAKES[name])
            # The router answers (an HTTP error or a RawSocket error code) and closes, or
            # closes at once; it never waits for more.
            answer = await within(reader.read(), 5.0)
            assert len(answer) < 4096
            if name.startswith("rawsocket"):
                assert answer[:1] == b"\x7f" and answer[1] & 0x0F == 0, answer
            elif name != "garbage":
                assert answer.startswith(b"HTTP/1.1 4"), answer[:80]


@async_test
async def test_a_connection_that_never_says_hello_is_dropped() -> None:
    """Transport handshake done, then silence: dropped after the listener's open_timeout."""
    async with arena() as place:
        for scheme in ("ws", "rs"):
            async with server_kit.peer(place.url(scheme)) as silent:
                started = asyncio.get_running_loop().time()
                await silent.closed(5.0)
                waited = asyncio.get_running_loop().time() - started
                assert 1.5 < waited < 3.0, waited  # open_timeout is 2 s here


# ------------------------------------------------------------------ floods


@async_test
async def test_a_flood_of_calls_hits_the_pending_call_limit() -> None:
    async with arena(max_pending_calls_per_session=50) as place:
        release = asyncio.Event()

        async def slow() -> str:
            await release.wait()
            return "done"

        await within(place.callee.register(slow, "bystander.slow"))
        async with server_kit.peer(place.url("rs"), "msgpack") as offender:
            await offender.join()
            for i in range(1, 501):
                offender.send(Call(i, {}, "bystander.slow"))
            refused = []
            while len(refused) < 450:
                reply = await offender.receive()
                assert isinstance(reply, Error), reply
                assert reply.error == "autostrada.error.limit_exceeded", reply
                assert "50" in str(reply.args), reply.args  # the error says which limit
                refused.append(reply.request_id)
            assert sorted(refused) == list(range(51, 501))
            assert await within(place.caller.call("bystander.echo", 1)) == 1  # meanwhile
            release.set()
            results = [await offender.receive() for _ in range(50)]
            assert all(r.TYPE is MessageType.RESULT for r in results)
        await place.check()


@async_test
async def test_a_flood_of_subscriptions_and_registrations_hits_the_limits() -> None:
    async with arena(max_subscriptions_per_session=20, max_registrations_per_session=10) as place:
        async with server_kit.peer(place.url("rs"), "cbor") as offender:
            await offender.join()
            for i in range(1, 41):
                offender.send(Subscribe(i, {}, f"flood.t{i}"))
            for i in range(1, 21):
                offender.send(Register(100 + i, {}, f"flood.p{i}"))
            replies = [await offender.receive() for _ in range(60)]
            errors = [r for r in replies if isinstance(r, Error)]
            assert len(errors) == 20 + 10
            assert {e.error for e in errors} == {"autostrada.error.limit_exceeded"}
        await place.check()


@async_test
async def test_a_flood_of_garbage_connections() -> None:
    async with arena() as place:
        port = place.server.port_of("universal")

        async def one(i: int) -> None:
            async with server_kit.tcp_client(port) as (reader, writer):
                writer.write(HANDSHAKES["garbage"] if i % 2 else HANDSHAKES["http-not-websocket"])
                await within(reader.read(), 5.0)

        await within(asyncio.gather(*(one(i) for i in range(100))), 10.0)
        assert not place.server._accepted
        await place.check()


# ------------------------------------------------------------------ junk authentication


JUNK_SIGNATURES = ["", "x", "0" * 64, "ff" * 96, "é" * 1000, "a" * 200_000, "\x00" * 10]


@pytest.mark.parametrize(
    ("method", "authid", "refused"),
    [
        ("ticket", "joe", "wamp.error.not_authorized"),
        ("wampcra", "cra", "wamp.error.not_authorized"),
        ("cryptosign", "dev", "wamp.error.not_authorized"),
    ],
)
@async_test
async def test_junk_authenticate_is_refused_cleanly(method: str, authid: str, refused: str) -> None:
    async with arena() as place:
        for signature in JUNK_SIGNATURES:
            async with server_kit.peer(place.url(), max_message_size=1 << 20) as offender:
                details: dict[str, Any] = {
                    "roles": {"caller": {}},
                    "authmethods": [method],
                    "authid": authid,
                }
                if method == "cryptosign":
                    details["authextra"] = {"pubkey": SIGN_KEY.public_key_hex}
                offender.send(Hello("realm1", details))
                assert isinstance(await offender.receive(), Challenge)
                offender.send(Authenticate(signature, {"junk": [1, {"x": None}]}))
                abort = await offender.receive()
                assert isinstance(abort, Abort), abort
                if signature.startswith("\x00"):  # JSON's mark of binary: not base64 after it
                    assert abort.reason == PROTOCOL_VIOLATION, abort
                else:
                    assert abort.reason in (refused, "wamp.error.authentication_failed"), abort
                assert len(abort.details.get("message", "")) < 300  # no echo of the junk
                await offender.closed()
        await place.check()


@async_test
async def test_hello_with_junk_details_is_refused() -> None:
    async with arena() as place:
        junk: list[dict[str, Any]] = [
            {"roles": {}},
            {"roles": {"caller": {}}, "authmethods": ["nonesuch"]},
            {"roles": {"caller": {}}, "authmethods": ["ticket"], "authid": "nobody"},
            {"roles": {"caller": {}}, "authmethods": ["cryptosign"], "authid": "dev"},
            {"roles": {"caller": {}}, "authmethods": ["wampcra"], "authid": "x" * 10_000},
        ]
        for details in junk:
            async with server_kit.peer(place.url()) as offender:
                offender.send(Hello("realm1", details))
                reply = await offender.receive()
                assert isinstance(reply, Abort), (details, reply)
                await offender.closed()
            await place.check()
        async with server_kit.peer(place.url()) as offender:
            offender.send(Hello("no.such.realm", {"roles": {"caller": {}}}))
            await expect_abort(offender, "wamp.error.no_such_realm")


@async_test
async def test_goodbye_then_more_messages_are_ignored() -> None:
    async with arena() as place:
        async with server_kit.peer(place.url()) as offender:
            await offender.join()
            offender.send(Goodbye({}, "wamp.close.close_realm"))
            offender.send(Call(1, {}, "bystander.echo"))
            reply = await offender.receive()
            assert isinstance(reply, Goodbye)
            await offender.closed()
        await place.check()
