"""The driver's one timer: call timeouts and challenge timeouts fire on time over real sockets."""

from __future__ import annotations

import asyncio

from server_kit import async_test, listener, peer, url_of, within

from autostrada.messages import (
    Abort,
    Call,
    Challenge,
    Error,
    Hello,
    Interrupt,
    Invocation,
    Register,
    Registered,
)
from autostrada.router.config import ServerConfig
from autostrada.router.core import (
    AnonymousAuth,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    RouterLimits,
    TicketAuth,
    TicketPrincipal,
)
from autostrada.router.server import RouterServer


def config(challenge_timeout: float = 30.0) -> ServerConfig:
    realm = RealmConfig(
        "realm1",
        roles=(RoleConfig("anonymous", (Permission.allow_all(),)),),
        auth=(AnonymousAuth(), TicketAuth({"joe": TicketPrincipal("secret", "anonymous")})),
    )
    limits = RouterLimits(challenge_timeout=challenge_timeout)
    return ServerConfig(RouterConfig((realm,), limits), (listener("universal"),))


@async_test
async def test_call_timeouts_fire_in_order_and_interrupt_the_callee() -> None:
    async with RouterServer(config()) as server:
        url = url_of(server, "rs")
        async with peer(url) as callee, peer(url, "msgpack") as caller:
            await callee.join(roles={"callee": {"features": {"call_canceling": True}}})
            callee.send(Register(1, {}, "com.slow"))
            assert isinstance(await callee.receive(), Registered)
            await caller.join()
            loop = asyncio.get_running_loop()
            started = loop.time()
            # The later deadline first: the timer must be re-armed for the earlier one.
            caller.send(Call(1, {"timeout": 600}, "com.slow"))
            caller.send(Call(2, {"timeout": 200}, "com.slow"))
            invocations = [await callee.receive(), await callee.receive()]
            assert all(isinstance(m, Invocation) for m in invocations)
            first = await caller.receive()
            assert isinstance(first, Error)
            assert (first.request_id, first.error) == (2, "wamp.error.timeout")
            assert 0.15 < loop.time() - started < 0.55
            second = await caller.receive()
            assert isinstance(second, Error)
            assert (second.request_id, second.error) == (1, "wamp.error.timeout")
            assert loop.time() - started >= 0.55
            interrupts = [await callee.receive(), await callee.receive()]
            assert all(isinstance(m, Interrupt) for m in interrupts)


@async_test
async def test_an_unanswered_challenge_aborts_the_session() -> None:
    async with (
        RouterServer(config(challenge_timeout=0.3)) as server,
        peer(url_of(server, "ws")) as client,
    ):
        details = {"roles": {"caller": {}}, "authmethods": ["ticket"], "authid": "joe"}
        client.send(Hello("realm1", details))
        challenge = await client.receive()
        assert isinstance(challenge, Challenge)
        abort = await client.receive(seconds=2)
        assert isinstance(abort, Abort)
        assert abort.reason == "wamp.error.authentication_failed"
        assert "no AUTHENTICATE within 0.3 s" in abort.details["message"]
        await within(client.closed())
