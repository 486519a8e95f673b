"""Network faults between a Component and its router, through a TCP fault proxy.

For each fault (a connection dropped in the middle of a message in either direction, a
half-open link that stalls, delays, a reset) against our router and against Crossbar:

* the component notices within its keepalive settings (a dropped or reset connection
  at once), reconnects, re-registers and re-subscribes (checked from a session that
  does not go through the proxy);
* a call in flight fails promptly, with ``SessionClosed`` naming the transport loss;
* an acknowledged publication is reported published only if the router acknowledged
  it: every publication whose future resolved reached a subscriber on the router.

The figures (time to notice, time to be back) are printed; run with ``-s`` to see them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from faultproxy import CLIENT_TO_ROUTER, ROUTER_TO_CLIENT, FaultProxy
from rel_kit import Service, async_test, server_kit, within

import autostrada
from autostrada import PublishOptions, Session, SessionClosed
from autostrada.exceptions import TransportError
from crossbar import CrossbarNode

KEEPALIVE = (0.2, 0.3)  # client pings every 0.2 s, a pong must come within 0.3 s
DETECT_BOUND = KEEPALIVE[0] + KEEPALIVE[1] + 1.0  # worst case plus slack for a busy CI
MAX_PUBLICATIONS = 3000


@dataclass
class Publications:
    """Acknowledged publications of the faulted session, and what reached the router."""

    acked: list[int] = field(default_factory=list)
    failed: list[tuple[int, BaseException]] = field(default_factory=list)
    received: set[int] = field(default_factory=set)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def on_event(self, n: int) -> None:
        self.received.add(n)
        self.arrived.set()

    async def publish_until_the_session_ends(self, session: Session) -> None:
        acknowledged = PublishOptions(acknowledge=True)
        for n in range(1, MAX_PUBLICATIONS + 1):
            try:
                future = session.publish("test.seq", n, options=acknowledged)
                assert future is not None
                await within(future, 5.0)
            except (SessionClosed, TransportError) as exc:
                self.failed.append((n, exc))
                return
            self.acked.append(n)

    async def check(self) -> None:
        """Every publication reported published reached the subscriber (bounded wait)."""
        async with asyncio.timeout(5.0):
            while not set(self.acked) <= self.received:
                self.arrived.clear()
                await self.arrived.wait()
        # Publications went through before the fault; the one in flight then failed.
        assert self.acked and len(self.failed) == 1


async def faulted(
    router_url: str,
    proxy: FaultProxy,
    fault: str,
    scheme: str = "ws",
    *,
    label: str = "autostrada",
) -> dict[str, float]:
    """Run one fault against the router behind ``proxy``; return the figures."""
    service = Service(proxy.url(scheme), keepalive=KEEPALIVE, force_reregister=True)
    done = service.component.start()
    try:
        await service.recorder.wait_for("ready")
        async with await within(autostrada.connect(router_url)) as checker:
            await service.check(checker, 1)
            hold = asyncio.Event()

            async def held() -> None:
                hold.set()
                await asyncio.Future()  # answers never: the call stays in flight

            await within(checker.register(held, "test.hold"))
            publications = Publications()
            await within(checker.subscribe(publications.on_event, "test.seq"))

            session = service.session
            call = asyncio.ensure_future(session.call("test.hold"))
            await within(hold.wait())
            publisher = asyncio.ensure_future(publications.publish_until_the_session_ends(session))
            while len(publications.received) < 50:  # traffic flows through the proxy
                publications.arrived.clear()
                await within(publications.arrived.wait())

            started = time.monotonic()
            links = inject(proxy, fault)
            assert links, "no connection through the proxy to fault"
            with pytest.raises(SessionClosed) as caught:
                await within(call, DETECT_BOUND + 1.0)
            failed_after = time.monotonic() - started
            assert caught.value.reason == "wamp.close.transport_lost"
            assert "test.hold" in str(caught.value) or "session ended" in str(caught.value)
            if fault in ("stall", "delay"):
                assert "keepalive" in str(caught.value), caught.value
            await within(publisher, DETECT_BOUND + 1.0)
            await service.recorder.wait_for("leave")
            noticed = service.recorder.args("leave")[0][1] - started
            assert noticed < DETECT_BOUND
            assert failed_after < DETECT_BOUND
            await service.recorder.wait_for("ready", 2, seconds=10.0)
            back = service.recorder.args("ready")[1][1] - started
            # The new session has registered and subscribed again: check from outside.
            await service.check(checker, 2)
            await publications.check()
            figures = {"noticed": noticed, "call_failed": failed_after, "back": back}
            print(
                f"\n{label} {scheme} {fault}: noticed after {noticed:.3f} s, call failed "
                f"after {failed_after:.3f} s, back after {back:.3f} s; "
                f"{len(publications.acked)} publications acknowledged (all received), "
                f"{len(publications.failed)} failed (of which delivered anyway: "
                f"{sum(1 for n, _ in publications.failed if n in publications.received)})"
            )
            return figures
    finally:
        await within(service.component.stop(), 10.0)
        assert done.done() and done.exception() is None


def inject(proxy: FaultProxy, fault: str) -> list[Any]:
    if fault == "drop-router-to-client":
        return proxy.drop_mid_message(ROUTER_TO_CLIENT)
    if fault == "drop-client-to-router":
        return proxy.drop_mid_message(CLIENT_TO_ROUTER)
    if fault == "stall":
        return proxy.stall()
    if fault == "delay":  # longer than the keepalive timeout: a link too slow to use
        return proxy.delay(KEEPALIVE[1] * 3)
    assert fault == "reset"
    return proxy.reset()


FAULTS = ["drop-router-to-client", "drop-client-to-router", "stall", "delay", "reset"]


def router_listener() -> Any:
    # The router pings too: a session behind a stalled link is dropped, not kept.
    return server_kit.listener("universal", keepalive_interval=0.2, keepalive_timeout=0.3)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("scheme", ["ws", "rs"])
@async_test
async def test_fault_against_our_router(fault: str, scheme: str) -> None:
    async with server_kit.running(router_listener()) as server:
        port = server.port_of("universal")
        async with FaultProxy(port).running() as proxy:
            await faulted(server_kit.url_of(server, "ws"), proxy, fault, scheme)
        # Nothing of the faulted sessions is left once the router has noticed.
        realm = server.router.realms["realm1"]
        await server_kit.eventually(lambda: not realm.sessions, 5.0)
        assert not realm.dealer.by_id and not realm.broker.by_id


@async_test
async def test_a_short_delay_is_survived_without_reconnecting() -> None:
    """A link slower than usual but within the keepalive timeout is not a fault."""
    async with (
        server_kit.running(router_listener()) as server,
        FaultProxy(server.port_of("universal")).running() as proxy,
    ):
        service = Service(proxy.url(), keepalive=KEEPALIVE)
        done = service.component.start()
        await service.recorder.wait_for("ready")
        proxy.delay(0.05)
        session = service.session
        started = time.monotonic()
        # Ten calls take over a second: several keepalive rounds go by meanwhile.
        for n in range(10):
            assert await within(session.call("test.add", n, 1)) == n + 1
        assert time.monotonic() - started >= 10 * 2 * 0.05  # each way, each call
        assert service.recorder.count("leave") == 0 and session.is_attached()
        await within(service.component.stop())
        assert done.result() is None


# ---------------------------------------------------------------------- Crossbar


@pytest.mark.parametrize("fault", ["drop-router-to-client", "stall", "reset"])
def test_fault_against_crossbar(crossbar: CrossbarNode, fault: str) -> None:
    @async_test
    async def scenario() -> None:
        async with FaultProxy(crossbar.ws_port).running() as proxy:
            await faulted(crossbar.ws_url, proxy, fault, label="crossbar")

    scenario()
