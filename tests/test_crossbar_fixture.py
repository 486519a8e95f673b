"""The ``crossbar`` fixture gives a working Crossbar.io, and what that Crossbar does.

No client library yet: a minimal raw client from our sans-I/O pieces (serializers,
messages, RawSocket framing, auth math) drives WebSocket and RawSocket by hand. Each
test is a coroutine run by :func:`asyncio.run` (see :func:`run_async`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest
import websockets.asyncio.client
import websockets.exceptions

from autostrada.auth import (
    CryptosignKey,
    ScramClient,
    answer_cryptosign,
    answer_wampcra,
    cryptosign_authextra,
)
from autostrada.messages import (
    Abort,
    Authenticate,
    Call,
    Challenge,
    Error,
    Goodbye,
    Hello,
    Interrupt,
    Invocation,
    Message,
    Register,
    Registered,
    Result,
    Welcome,
    Yield,
)
from autostrada.rawsocket import (
    HandshakeCompleted,
    MessageReceived,
    PingReceived,
    RawSocketClient,
    RawSocketState,
)
from autostrada.serializers import Serializer, get_serializer
from crossbar import CrossbarNode

SERIALIZERS = ["json", "msgpack", "cbor"]
TRANSPORTS = ["ws", "rs-tcp", "rs-unix"]
STEP = 5.0  # bound on any single wait for Crossbar
ROLES: dict[str, Any] = {
    "caller": {"features": {"call_canceling": True}},
    "callee": {"features": {"call_canceling": True}},
    "publisher": {},
    "subscriber": {},
}


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Make a coroutine test a plain test that runs it on a fresh event loop."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


class RawSession:
    """One transport to Crossbar: send a message, receive the next one (bounded)."""

    def __init__(
        self,
        serializer: Serializer,
        send: Callable[[bytes], Any],
        recv: Callable[[], Any],
    ) -> None:
        self.serializer = serializer
        self._send, self._recv = send, recv
        self._request_id = 0

    def next_id(self) -> int:
        self._request_id += 1
        return self._request_id

    async def send(self, message: Message) -> None:
        await self._send(self.serializer.encode(message))

    async def recv(self, timeout: float = STEP) -> Message:
        async with asyncio.timeout(timeout):
            data = await self._recv()
        [message] = self.serializer.decode(data)
        return message

    async def join(self, realm: str, **details: Any) -> Message:
        """Send HELLO; return WELCOME, ABORT or CHALLENGE."""
        await self.send(Hello(realm, {"roles": ROLES, **details}))
        return await self.recv()


@asynccontextmanager
async def websocket_session(url: str, serializer: Serializer) -> AsyncIterator[RawSession]:
    async with websockets.asyncio.client.connect(
        url, subprotocols=[serializer.subprotocol], open_timeout=STEP
    ) as ws:
        assert ws.subprotocol == serializer.subprotocol

        async def send(data: bytes) -> None:
            await ws.send(data if serializer.binary else data.decode("utf-8"))

        async def recv() -> bytes:
            data = await ws.recv()
            return data.encode("utf-8") if isinstance(data, str) else data

        yield RawSession(serializer, send, recv)


@asynccontextmanager
async def rawsocket_session(
    crossbar: CrossbarNode, serializer: Serializer, unix: bool
) -> AsyncIterator[RawSession]:
    async with asyncio.timeout(STEP):
        if unix:
            reader, writer = await asyncio.open_unix_connection(crossbar.rs_unix_path)
        else:
            reader, writer = await asyncio.open_connection(crossbar.rs_host, crossbar.rs_port)
    try:
        assert serializer.rawsocket_id is not None
        conn = RawSocketClient(serializer.rawsocket_id)
        conn.start()
        writer.write(conn.data_to_send())
        received: list[bytes] = []

        async def pump() -> None:
            """Read until at least one message is queued (answering PINGs on the way)."""
            while not received:
                chunk = await reader.read(65536)
                assert chunk, "Crossbar closed the RawSocket connection"
                for event in conn.receive_data(chunk):
                    if isinstance(event, MessageReceived):
                        received.append(event.payload)
                    else:
                        assert isinstance(event, PingReceived), event  # PONG queued
                writer.write(conn.data_to_send())

        async def send(data: bytes) -> None:
            conn.send_message(data)
            writer.write(conn.data_to_send())
            await writer.drain()

        async def recv() -> bytes:
            await pump()
            return received.pop(0)

        async with asyncio.timeout(STEP):
            while conn.state is RawSocketState.HANDSHAKE:
                chunk = await reader.read(4)
                assert chunk, "Crossbar closed the RawSocket connection in the handshake"
                events = conn.receive_data(chunk)
                assert not events or isinstance(events[0], HandshakeCompleted), events
                received.extend(e.payload for e in events if isinstance(e, MessageReceived))
        yield RawSession(serializer, send, recv)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def session(crossbar: CrossbarNode, transport: str, serializer: str) -> Any:
    if transport == "ws":
        return websocket_session(crossbar.ws_url, get_serializer(serializer))
    return rawsocket_session(crossbar, get_serializer(serializer), unix=transport == "rs-unix")


def check_welcome(message: Message, authid: str | None, authrole: str, authmethod: str) -> Welcome:
    assert isinstance(message, Welcome), message
    details = message.details
    assert details["realm"] == "realm1"
    assert (details["authrole"], details["authmethod"]) == (authrole, authmethod)
    if authid is not None:
        assert details["authid"] == authid
    return message


# --- connect: every transport with every serializer ------------------------------------


@pytest.mark.parametrize("serializer", SERIALIZERS)
@pytest.mark.parametrize("transport", TRANSPORTS)
@run_async
async def test_anonymous_join(crossbar: CrossbarNode, transport: str, serializer: str) -> None:
    async with session(crossbar, transport, serializer) as s:
        welcome = check_welcome(await s.join(crossbar.realm), None, "anonymous", "anonymous")
        features = welcome.details["roles"]["dealer"]["features"]
        assert features["call_canceling"] and features["session_meta_api"]
        await s.send(Goodbye({}, "wamp.close.close_realm"))
        reply = await s.recv()
        # The spec's reply is wamp.close.goodbye_and_out; Crossbar says wamp.close.normal.
        assert isinstance(reply, Goodbye) and reply.reason == "wamp.close.normal"


@run_async
async def test_meta_api_is_on(crossbar: CrossbarNode) -> None:
    async with session(crossbar, "ws", "json") as s:
        check_welcome(await s.join(crossbar.realm), None, "anonymous", "anonymous")
        await s.send(Call(s.next_id(), {}, "wamp.session.count"))
        result = await s.recv()
        assert isinstance(result, Result) and result.args is not None and result.args[0] >= 1


# --- authentication ---------------------------------------------------------------------

AUTH_VIA = [("ws", "json"), ("rs-tcp", "cbor")]


@pytest.mark.parametrize(("transport", "serializer"), AUTH_VIA)
@run_async
async def test_ticket(crossbar: CrossbarNode, transport: str, serializer: str) -> None:
    p = crossbar.ticket
    async with session(crossbar, transport, serializer) as s:
        challenge = await s.join(crossbar.realm, authmethods=["ticket"], authid=p.authid)
        assert isinstance(challenge, Challenge) and challenge.method == "ticket"
        await s.send(Authenticate(p.ticket, {}))
        check_welcome(await s.recv(), p.authid, p.authrole, "ticket")


@run_async
async def test_wrong_ticket_is_aborted(crossbar: CrossbarNode) -> None:
    p = crossbar.ticket
    async with session(crossbar, "ws", "json") as s:
        challenge = await s.join(crossbar.realm, authmethods=["ticket"], authid=p.authid)
        assert isinstance(challenge, Challenge)
        await s.send(Authenticate("not-" + p.ticket, {}))
        abort = await s.recv()
        assert isinstance(abort, Abort), abort
        assert abort.reason == "wamp.error.not_authorized"


@pytest.mark.parametrize(
    ("realm", "authid", "reason"),
    [
        ("realm1", "nobody", "wamp.error.not_authorized"),  # spec: no_such_principal
        ("no-such-realm", "ticket-user", "wamp.error.no_such_realm"),
    ],
)
@run_async
async def test_join_refused(crossbar: CrossbarNode, realm: str, authid: str, reason: str) -> None:
    async with session(crossbar, "ws", "json") as s:
        abort = await s.join(realm, authmethods=["ticket"], authid=authid)
        assert isinstance(abort, Abort) and abort.reason == reason, abort


@pytest.mark.parametrize(
    ("authmethods", "outcome"),
    [
        ([], "anonymous"),
        (["tls", "anonymous"], "anonymous"),  # known, not configured: skipped
        (["anonymous", "wamp-scram"], "anonymous"),
        # An unknown name ends the search, even before a usable method.
        (["wamp-scram", "anonymous"], "wamp.error.not_authorized"),
        # The first configured method is the one tried: no fallback when it fails.
        (["ticket", "anonymous"], "wamp.error.not_authorized"),
        (["tls"], "wamp.error.no_auth_method"),
    ],
)
@run_async
async def test_authmethod_selection(
    crossbar: CrossbarNode, authmethods: list[str], outcome: str
) -> None:
    """How Crossbar walks HELLO.Details.authmethods (a HELLO without authid)."""
    async with session(crossbar, "ws", "json") as s:
        reply = await s.join(crossbar.realm, authmethods=authmethods)
        if outcome == "anonymous":
            check_welcome(reply, None, "anonymous", "anonymous")
        else:
            assert isinstance(reply, Abort) and reply.reason == outcome, reply


@pytest.mark.parametrize("salted", [False, True], ids=["unsalted", "salted"])
@pytest.mark.parametrize(("transport", "serializer"), AUTH_VIA)
@run_async
async def test_wampcra(
    crossbar: CrossbarNode, transport: str, serializer: str, salted: bool
) -> None:
    p = crossbar.wampcra_salted if salted else crossbar.wampcra
    async with session(crossbar, transport, serializer) as s:
        challenge = await s.join(crossbar.realm, authmethods=["wampcra"], authid=p.authid)
        assert isinstance(challenge, Challenge) and challenge.method == "wampcra"
        salting = [challenge.extra.get(k) for k in ("salt", "iterations", "keylen")]
        assert salting == [p.salt, p.iterations, p.keylen]
        await s.send(Authenticate(answer_wampcra(p.secret, challenge.extra), {}))
        check_welcome(await s.recv(), p.authid, p.authrole, "wampcra")


@pytest.mark.parametrize(("transport", "serializer"), AUTH_VIA)
@run_async
async def test_cryptosign(crossbar: CrossbarNode, transport: str, serializer: str) -> None:
    p = crossbar.cryptosign
    key = CryptosignKey.from_hex(p.seed_hex)
    assert key.public_key_hex == p.pubkey_hex
    async with session(crossbar, transport, serializer) as s:
        challenge = await s.join(
            crossbar.realm,
            authmethods=["cryptosign"],
            authid=p.authid,
            authextra=cryptosign_authextra(key),
        )
        assert isinstance(challenge, Challenge) and challenge.method == "cryptosign"
        await s.send(Authenticate(answer_cryptosign(key, challenge.extra), {}))
        check_welcome(await s.recv(), p.authid, p.authrole, "cryptosign")


@pytest.mark.parametrize("kdf", ["argon2id-13", "pbkdf2"])
@pytest.mark.parametrize(("transport", "serializer"), AUTH_VIA)
@run_async
async def test_scram(crossbar: CrossbarNode, transport: str, serializer: str, kdf: str) -> None:
    p = crossbar.scram if kdf == "argon2id-13" else crossbar.scram_pbkdf2
    scram = ScramClient(p.authid, p.password)
    async with session(crossbar, transport, serializer) as s:
        challenge = await s.join(
            crossbar.realm, authmethods=["scram"], authid=p.authid, authextra=scram.authextra
        )
        assert isinstance(challenge, Challenge) and challenge.method == "scram"
        assert challenge.extra["kdf"] == kdf
        await s.send(Authenticate(scram.answer(challenge.extra), {}))
        welcome = check_welcome(await s.recv(), p.authid, p.authrole, "scram")
        scram.verify_welcome(welcome.details.get("authextra"))  # the router proves itself


# --- CALL.Options.timeout: seconds or milliseconds? ------------------------------------


@asynccontextmanager
async def caller_and_callee(
    crossbar: CrossbarNode, procedure: str, caller_roles: dict[str, Any] = ROLES
) -> AsyncIterator[tuple[RawSession, RawSession]]:
    async with session(crossbar, "ws", "json") as callee, session(crossbar, "ws", "json") as caller:
        check_welcome(await callee.join(crossbar.realm), None, "anonymous", "anonymous")
        await caller.send(Hello(crossbar.realm, {"roles": caller_roles}))
        check_welcome(await caller.recv(), None, "anonymous", "anonymous")
        await callee.send(Register(callee.next_id(), {}, procedure))
        assert isinstance(await callee.recv(), Registered)
        yield caller, callee


async def round_trip(s: RawSession) -> int:
    """Call a meta procedure and wait for its RESULT: Crossbar has then handled all that
    this session sent before. Returns the CALL's request id."""
    request_id = s.next_id()
    await s.send(Call(request_id, {}, "wamp.session.count"))
    result = await s.recv()
    assert isinstance(result, Result) and result.request_id == request_id, result
    return request_id


@run_async
async def test_call_timeout_is_seconds(crossbar: CrossbarNode) -> None:
    """timeout=2 cancels after 1-2 s: Crossbar reads the value as seconds, not ms."""
    async with caller_and_callee(crossbar, "test.timeout.never") as (caller, callee):
        started = time.monotonic()
        await caller.send(Call(caller.next_id(), {"timeout": 2}, "test.timeout.never"))
        invocation = await callee.recv()
        assert isinstance(invocation, Invocation)
        assert invocation.details.get("timeout") == 2  # forwarded as is
        error = await caller.recv()  # the callee never answers
        elapsed = time.monotonic() - started
        assert isinstance(error, Error), error
        # Crossbar fires at the whole second floor(now + timeout): 1 to 2 s after the CALL.
        assert 0.9 < elapsed < 4.0, elapsed  # ms would mean 2 ms
        assert (error.error, error.args) == ("wamp.error.canceled", ["timeout reached"])
        interrupt = await callee.recv()
        assert isinstance(interrupt, Interrupt)
        assert interrupt.request_id == invocation.request_id
        assert interrupt.options == {"mode": "killnowait"}


@run_async
async def test_call_timeout_1000_is_not_milliseconds(crossbar: CrossbarNode) -> None:
    """timeout=1000 does not cancel a 1.5 s call: 1000 is 1000 s, not 1 s."""
    async with caller_and_callee(crossbar, "test.timeout.slow") as (caller, callee):
        started = time.monotonic()
        await caller.send(Call(caller.next_id(), {"timeout": 1000}, "test.timeout.slow"))
        invocation = await callee.recv()
        assert isinstance(invocation, Invocation)
        await asyncio.sleep(1.5)  # the procedure's work, past the 1 s that ms would mean
        await callee.send(Yield(invocation.request_id, {}, ["done"]))
        result = await caller.recv()
        assert isinstance(result, Result), result
        assert result.args == ["done"]
        assert time.monotonic() - started >= 1.5


@run_async
async def test_call_timeout_without_caller_call_canceling_loses_the_call(
    crossbar: CrossbarNode,
) -> None:
    """A caller not announcing call_canceling gets no ERROR when the timeout fires, and
    the late YIELD is dropped: the call never completes."""
    roles = {**ROLES, "caller": {}}
    async with caller_and_callee(crossbar, "test.timeout.quiet", roles) as (caller, callee):
        await caller.send(Call(caller.next_id(), {"timeout": 1}, "test.timeout.quiet"))
        invocation = await callee.recv()
        assert isinstance(invocation, Invocation)
        interrupt = await callee.recv()  # the timeout fired (within 1 s)
        assert isinstance(interrupt, Interrupt)
        await callee.send(Yield(invocation.request_id, {}, ["late"]))
        await round_trip(callee)  # Crossbar has handled the YIELD
        # A RESULT or ERROR for the first call would now be queued before this RESULT.
        assert await round_trip(caller) == 2


@run_async
async def test_float_timeout_drops_the_connection(crossbar: CrossbarNode) -> None:
    """Crossbar (Autobahn's message parser) takes only an int timeout: a float is a
    protocol error that closes the WebSocket (1002), without ABORT."""
    async with session(crossbar, "ws", "json") as s:
        check_welcome(await s.join(crossbar.realm), None, "anonymous", "anonymous")
        await s.send(Call(s.next_id(), {"timeout": 1.5}, "wamp.session.count"))
        with pytest.raises(websockets.exceptions.ConnectionClosedError) as closed:
            await s.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002


# --- the fixture itself -----------------------------------------------------------------


def gone(pid: int) -> bool:
    """Has the process exited (or is it a zombie no one reaped yet)?"""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


@run_async
async def test_restart_keeps_ports_and_leaves_no_process(crossbar: CrossbarNode) -> None:
    async with session(crossbar, "rs-tcp", "msgpack") as s:
        welcome = check_welcome(await s.join(crossbar.realm), None, "anonymous", "anonymous")
    controller, worker = crossbar.pid, welcome.details["x_cb_pid"]
    assert controller is not None and not gone(controller) and not gone(worker)
    url = crossbar.ws_url
    crossbar.restart()  # blocks the loop: nothing else runs here
    assert gone(controller) and gone(worker)
    with pytest.raises(ProcessLookupError):
        os.killpg(controller, 0)  # the whole process group is gone
    assert crossbar.pid not in (None, controller)
    assert crossbar.ws_url == url
    for transport in TRANSPORTS:
        async with session(crossbar, transport, "json") as s:
            check_welcome(await s.join(crossbar.realm), None, "anonymous", "anonymous")
