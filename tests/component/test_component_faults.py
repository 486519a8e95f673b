"""Faults against real routers: SIGKILL and restart on the same port, router down at start,
backoff reset after every join, wrong credentials — with our router as a subprocess and
with Crossbar.io (the ``crossbar`` fixture).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import pytest
from component_helpers import TICKET, TICKET_USER, Recorder, RouterProcess, async_test, within

import autostrada
from autostrada import (
    AuthenticationFailed,
    CloseDetails,
    Component,
    PublishOptions,
    Session,
    SessionClosed,
    SessionDetails,
)
from crossbar import CrossbarNode

# Short delays, capped: after a restart the component is back within ~0.2 s.
RETRY = {
    "initial_retry_delay": 0.05,
    "retry_delay_growth": 1.5,
    "retry_delay_jitter": 0.1,
    "max_retry_delay": 0.2,
}


class Service:
    """A component with a procedure that never answers, one that adds, and a subscription."""

    def __init__(self, url: str, **component: Any) -> None:
        self.recorder = Recorder()
        self.invoked = asyncio.Event()
        self.events: asyncio.Queue[int] = asyncio.Queue()
        self.component = Component(transports={"url": url, **RETRY}, **component)
        recorder = self.recorder

        @self.component.register("test.slow")
        async def slow() -> None:
            self.invoked.set()
            await asyncio.Future()  # answers never: its caller waits until the session ends

        @self.component.register("test.add")
        def add(a: int, b: int) -> int:
            return a + b

        @self.component.subscribe("test.topic")
        def on_event(n: int) -> None:
            self.events.put_nowait(n)

        @self.component.on_ready
        def ready(session: Session) -> None:
            recorder.add("ready", session)

        @self.component.on_leave
        def left(session: Session, details: CloseDetails) -> None:
            recorder.add("leave", details)

        @self.component.on_connectfailure
        def failed(component: Component, error: BaseException) -> None:
            recorder.add("connectfailure", error)

    async def check_service(self, url: str, n: int) -> None:
        """From another client: the procedures and the subscription are there."""
        async with await autostrada.connect(url) as client:
            assert await client.call("test.add", n, 1) == n + 1
            await client.publish("test.topic", n, options=PublishOptions(acknowledge=True))  # type: ignore[misc]
            assert await within(self.events.get()) == n


async def kill_with_a_call_in_flight(service: Service, kill: Any) -> None:
    """Call the never-answering procedure, kill the router: the call fails at once."""
    session = service.recorder.args("ready")[-1][0]
    call = asyncio.ensure_future(session.call("test.slow"))
    await within(service.invoked.wait())
    kill()
    killed = time.monotonic()
    with pytest.raises(SessionClosed) as caught:
        await within(call, 2.0)
    assert time.monotonic() - killed < 2.0
    assert "did not complete: the session ended" in str(caught.value)
    assert caught.value.reason == "wamp.close.transport_lost"
    service.invoked.clear()


def test_router_killed_and_restarted_on_the_same_port(router_process: RouterProcess) -> None:
    router_process.start()

    @async_test
    async def scenario() -> None:
        service = Service(router_process.url)
        done = service.component.start()
        await service.recorder.wait_for("ready")
        await service.check_service(router_process.url, 1)
        await kill_with_a_call_in_flight(service, router_process.kill)
        await service.recorder.wait_for("leave")
        assert service.recorder.args("leave")[0][0].reason == "wamp.close.transport_lost"
        # The router is down: the component keeps trying (and failing) ...
        await service.recorder.wait_for("connectfailure", 2)
        await asyncio.to_thread(router_process.start)
        back = time.monotonic()
        # ... and is back within its (capped) backoff once the router is.
        await service.recorder.wait_for("ready", 2, seconds=5.0)
        assert time.monotonic() - back < 0.2 * 1.1 + 1.0
        await service.check_service(router_process.url, 2)
        await within(service.component.stop())
        assert done.result() is None

    scenario()


def test_router_shut_down_gracefully_and_started_again(router_process: RouterProcess) -> None:
    router_process.start()

    @async_test
    async def scenario() -> None:
        service = Service(router_process.url)
        done = service.component.start()
        await service.recorder.wait_for("ready")
        await asyncio.to_thread(router_process.stop)  # SIGTERM: GOODBYE to every session
        await service.recorder.wait_for("leave")
        assert service.recorder.args("leave")[0][0].reason == "wamp.close.system_shutdown"
        await asyncio.to_thread(router_process.start)
        await service.recorder.wait_for("ready", 2, seconds=5.0)
        await service.check_service(router_process.url, 1)
        await within(service.component.stop())
        assert done.result() is None

    scenario()


def test_router_down_at_start(router_process: RouterProcess) -> None:
    @async_test
    async def scenario() -> None:
        service = Service(router_process.url)
        done = service.component.start()
        await service.recorder.wait_for("connectfailure", 3)
        await asyncio.to_thread(router_process.start)
        await service.recorder.wait_for("ready", seconds=5.0)
        await service.check_service(router_process.url, 1)
        await within(service.component.stop())
        assert done.result() is None

    scenario()


@pytest.mark.parametrize("with_main", [False, True])
def test_backoff_and_attempts_reset_after_every_join(
    router_process: RouterProcess, with_main: bool
) -> None:
    """max_retries=1 allows two attempts in a row; three cycles of (fail, join, kill)
    only work if the count restarts at every join (Autobahn resets it only with main)."""

    @async_test
    async def scenario() -> None:
        recorder = Recorder()

        async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
            await asyncio.Future()  # runs until the session is lost

        component = Component(
            main=main if with_main else None,
            transports={"url": router_process.url, **RETRY, "max_retries": 1},
        )

        @component.on_connectfailure
        async def bring_the_router_up(comp: Component, error: BaseException) -> None:
            # Awaited before the next attempt: the retry is sure to find the router up.
            recorder.add("connectfailure", error)
            await asyncio.to_thread(router_process.start)

        @component.on_join
        def joined(session: Session, details: SessionDetails) -> None:
            recorder.add("join", details)

        done = component.start()
        for cycle in range(1, 4):
            await recorder.wait_for("join", cycle, seconds=5.0)
            assert recorder.count("connectfailure") == cycle
            await asyncio.to_thread(router_process.kill)
        await recorder.wait_for("connectfailure", 4, seconds=5.0)
        await recorder.wait_for("join", 4, seconds=5.0)
        await within(component.stop())
        assert done.result() is None

    scenario()


def test_wrong_credentials_end_the_component(router_process: RouterProcess) -> None:
    router_process.start()

    @async_test
    async def scenario() -> None:
        failures: list[BaseException] = []
        component = Component(
            transports={"url": router_process.url, **RETRY},
            authentication={"ticket": {"authid": TICKET_USER, "ticket": TICKET + "x"}},
        )
        component.on("connectfailure", lambda comp, error: failures.append(error))
        with pytest.raises(AuthenticationFailed, match="refused to authenticate"):
            await within(component.start())
        assert len(failures) == 1

    scenario()


# --------------------------------------------------------------------------- Crossbar


def test_crossbar_killed_and_restarted(crossbar: CrossbarNode) -> None:
    def kill() -> None:
        pid = crossbar.pid
        assert pid is not None
        os.killpg(pid, signal.SIGKILL)  # the node's process group: controller and router

    try:

        @async_test
        async def scenario() -> None:
            service = Service(crossbar.ws_url)
            done = service.component.start()
            await service.recorder.wait_for("ready")
            await service.check_service(crossbar.ws_url, 1)
            await kill_with_a_call_in_flight(service, kill)
            await service.recorder.wait_for("connectfailure")
            await asyncio.to_thread(crossbar.restart)
            await service.recorder.wait_for("ready", 2, seconds=10.0)
            await service.check_service(crossbar.ws_url, 2)
            await within(service.component.stop())
            assert done.result() is None

        scenario()
    finally:
        if crossbar.pid is None:  # leave the session's node running for other tests
            crossbar.start()


def crossbar_auth(crossbar: CrossbarNode) -> dict[str, tuple[dict[str, Any], str]]:
    """Authentication config -> the authid Crossbar should report."""
    cra, salted, sign = crossbar.wampcra, crossbar.wampcra_salted, crossbar.cryptosign
    return {
        "anonymous": ({"anonymous": {}}, ""),
        "ticket": (
            {"ticket": {"authid": crossbar.ticket.authid, "ticket": crossbar.ticket.ticket}},
            crossbar.ticket.authid,
        ),
        "wampcra": ({"wampcra": {"authid": cra.authid, "secret": cra.secret}}, cra.authid),
        "wampcra-salted": (
            {"wampcra": {"authid": salted.authid, "secret": salted.secret}},
            salted.authid,
        ),
        "cryptosign": (
            {"cryptosign": {"authid": sign.authid, "privkey": sign.seed_hex}},
            sign.authid,
        ),
        "scram": (
            {"scram": {"authid": crossbar.scram.authid, "password": crossbar.scram.password}},
            crossbar.scram.authid,
        ),
        "scram-pbkdf2": (
            {
                "scram": {
                    "authid": crossbar.scram_pbkdf2.authid,
                    "password": crossbar.scram_pbkdf2.password,
                }
            },
            crossbar.scram_pbkdf2.authid,
        ),
    }


def test_every_auth_method_joins_crossbar(crossbar: CrossbarNode) -> None:
    @async_test
    async def scenario() -> None:
        for name, (authentication, authid) in crossbar_auth(crossbar).items():
            seen: list[str | None] = []

            def main(
                loop: asyncio.AbstractEventLoop, session: Session, seen: list[Any] = seen
            ) -> None:
                assert session.details is not None
                seen.append(session.details.authid)

            for url in (crossbar.ws_url, f"rs://127.0.0.1:{crossbar.rs_port}"):
                component = Component(main, url, authentication=authentication)
                await within(component.run(), 10.0)
            if authid:
                assert seen == [authid, authid], name
            else:
                assert len(seen) == 2, name

    scenario()


@pytest.mark.parametrize("method", ["ticket", "wampcra"])
def test_wrong_credentials_against_crossbar(crossbar: CrossbarNode, method: str) -> None:
    @async_test
    async def scenario() -> None:
        failures: list[BaseException] = []
        secret = {"ticket": {"ticket": "wrong"}, "wampcra": {"secret": "wrong"}}[method]
        authid = {"ticket": crossbar.ticket.authid, "wampcra": crossbar.wampcra.authid}[method]
        component = Component(
            transports={"url": crossbar.ws_url, **RETRY},
            authentication={method: {"authid": authid, **secret}},
        )
        component.on("connectfailure", lambda comp, error: failures.append(error))
        with pytest.raises(AuthenticationFailed):
            await within(component.start())
        assert len(failures) == 1

    scenario()


def test_no_such_realm_on_crossbar(crossbar: CrossbarNode) -> None:
    @async_test
    async def scenario() -> None:
        component = Component(transports={"url": crossbar.ws_url, **RETRY}, realm="nope")
        with pytest.raises(SessionClosed) as caught:
            await within(component.start())
        assert caught.value.reason == "wamp.error.no_such_realm"

    scenario()
