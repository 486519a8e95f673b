"""The Component lifecycle against the embedded router: events, main, reconnects, stop, retries.

Routers are real (in-process RouterThread on free ports); "no router" is a free port
nobody listens on. Retry delays are tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from component_helpers import (
    TICKET,
    TICKET_USER,
    Recorder,
    SilentServer,
    async_test,
    call_only_config,
    free_port,
    make_certificates,
    router_config,
    within,
)

import autostrada
from autostrada import (
    AuthenticationFailed,
    CloseDetails,
    Component,
    RegisterOptions,
    Session,
    SessionClosed,
    SessionDetails,
    SubscribeOptions,
    TransportError,
)
from autostrada.aio.channel import Channel
from autostrada.router.config import ListenerConfig, TLSConfig
from autostrada.testing import RouterThread

FAST = {"initial_retry_delay": 0.05, "retry_delay_growth": 2.0, "retry_delay_jitter": 0.0}


def nowhere(**retry: Any) -> dict[str, Any]:
    """A transport to a port nobody listens on."""
    return {"url": f"ws://127.0.0.1:{free_port()}/ws", **FAST, **retry}


def record_all(component: Component, recorder: Recorder) -> None:
    """Record every event with its arguments (sync and async handlers mixed)."""
    component.on("start", lambda loop, comp: recorder.add("start", loop, comp))

    @component.on_connect
    async def connected(session: Session, transport: Channel) -> None:
        recorder.add("connect", session, transport)

    @component.on_join
    def joined(session: Session, details: SessionDetails) -> None:
        recorder.add("join", session, details)

    @component.on_ready
    async def ready(session: Session) -> None:
        recorder.add("ready", session)

    @component.on_leave
    def left(session: Session, details: CloseDetails) -> None:
        recorder.add("leave", session, details)

    @component.on_disconnect
    async def disconnected(session: Session, was_clean: bool) -> None:
        recorder.add("disconnect", session, was_clean)

    @component.on_connectfailure
    def failed(comp: Component, error: BaseException) -> None:
        recorder.add("connectfailure", comp, error)


# --------------------------------------------------------------------- events, main


def test_events_in_order_with_autobahns_signatures(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        gate = asyncio.Event()

        async def main(loop: asyncio.AbstractEventLoop, session: Session) -> str:
            recorder.add("main", loop, session)
            # The decorated registration is made before main starts ...
            assert await session.call("test.echo", 5) == 5
            # ... and ready waits for every join handler, here a slow one.
            assert "ready" not in recorder.names()
            gate.set()
            await recorder.wait_for("ready")
            return "main's result is not the component's"

        component = Component(main=main, transports=component_router.url)
        record_all(component, recorder)

        @component.on_join
        async def slow(session: Session, details: SessionDetails) -> None:
            await gate.wait()

        @component.register("test.echo")
        def echo(x: int) -> int:
            return x

        assert await within(component.start()) is None
        assert recorder.names() == [
            "start",
            "connect",
            "join",
            "main",
            "ready",
            "leave",
            "disconnect",
        ]
        loop, comp = recorder.args("start")[0]
        assert loop is asyncio.get_running_loop() and comp is component
        session, transport = recorder.args("connect")[0]
        assert isinstance(session, Session) and isinstance(transport, Channel)
        _, details = recorder.args("join")[0]
        assert details.realm == "realm1" and details.authrole == "anonymous"
        _, close = recorder.args("leave")[0]
        assert close.reason == "wamp.close.goodbye_and_out"  # the router echoed our GOODBYE
        assert recorder.args("disconnect")[0] == (session, True)
        assert component.session is None

    scenario()


def test_main_exception_ends_the_component_without_reconnecting(
    component_router: RouterThread,
) -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()

        async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
            raise LookupError("main failed")

        component = Component(main=main, transports={"url": component_router.url, **FAST})
        record_all(component, recorder)
        with pytest.raises(LookupError, match="main failed"):
            await within(component.start())
        assert recorder.count("join") == 1
        assert recorder.count("connectfailure") == 0
        # It left the realm properly before failing.
        assert recorder.args("leave")[0][1].reason == "wamp.close.goodbye_and_out"

    scenario()


def test_sync_main_returning_ends_the_component(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        seen: list[str | None] = []

        def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
            seen.append(session.details.realm if session.details else None)

        await within(Component(main=main, transports=component_router.url).run())
        assert seen == ["realm1"]

    scenario()


def test_without_main_it_runs_until_stopped(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        component = Component(transports=component_router.url)
        record_all(component, recorder)
        done = component.start()
        assert component.start() is done  # a second start() while running: same future
        await recorder.wait_for("ready")
        assert component.session is recorder.args("ready")[0][0]
        first, second = component.stop(), component.stop()
        await within(asyncio.gather(first, second), 2.0)
        assert done.done() and done.result() is None
        assert recorder.args("leave")[0][1].reason == "wamp.close.goodbye_and_out"
        assert recorder.count("join") == 1
        await within(component.stop(), 0.1)  # done already: returns at once

    scenario()


def test_leaving_from_a_handler_ends_the_component(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        component = Component(transports=component_router.url)
        record_all(component, recorder)

        @component.on_ready
        async def leave(session: Session) -> None:
            await session.leave()

        assert await within(component.start()) is None
        assert recorder.count("join") == 1
        assert recorder.args("leave")[0][1].reason == "wamp.close.goodbye_and_out"

    scenario()


def test_registrations_and_subscriptions_are_made_again_on_every_join(
    component_router: RouterThread,
) -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        component = Component(transports={"url": component_router.url, **FAST})
        record_all(component, recorder)
        events: asyncio.Queue[tuple[int, str | None]] = asyncio.Queue()

        @component.register("test.add", RegisterOptions(details_arg="call"))
        def add(a: int, b: int, call: Any) -> list[Any]:
            return [a + b, call.procedure]

        @component.subscribe("test.topic.", SubscribeOptions(match="prefix", details_arg="event"))
        def on_event(n: int, event: Any) -> None:
            events.put_nowait((n, event.topic))

        async def check(n: int) -> None:
            async with await autostrada.connect(component_router.url) as other:
                assert await other.call("test.add", n, 1) == [n + 1, "test.add"]
                await other.publish(
                    "test.topic.x", n, options=autostrada.PublishOptions(acknowledge=True)
                )  # type: ignore[misc]
                assert await within(events.get()) == (n, "test.topic.x")

        done = component.start()
        await recorder.wait_for("ready")
        await check(1)
        _, transport = recorder.args("connect")[0]
        transport.abort()  # the connection drops: the component reconnects at once
        await recorder.wait_for("ready", 2)
        await check(2)
        # The router killed the session (meta API): reconnects again.
        async with await autostrada.connect(component_router.url) as admin:
            await admin.call("wamp.session.kill", recorder.args("join")[1][1].session)
        await recorder.wait_for("ready", 3)
        await check(3)
        await within(component.stop())
        assert done.result() is None
        reasons = [details.reason for _, details in recorder.args("leave")]
        assert reasons == [
            "wamp.close.transport_lost",
            "wamp.close.killed",
            "wamp.close.goodbye_and_out",
        ]
        assert recorder.count("connectfailure") == 0
        assert len({session for session, _ in recorder.args("join")}) == 3

    scenario()


def test_start_handler_errors_fail_the_component(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        sync = Component(transports=component_router.url)
        record_all(sync, recorder)

        def broken(loop: asyncio.AbstractEventLoop, component: Component) -> None:
            raise KeyError("start")

        sync.on("start", broken)
        with pytest.raises(KeyError):
            await within(sync.start())

        async def broken_async(loop: asyncio.AbstractEventLoop, component: Component) -> None:
            raise OSError("async start")

        asynchronous = Component(transports=component_router.url)
        asynchronous.on("start", broken_async)
        with pytest.raises(OSError, match="async start"):
            await within(asynchronous.start())
        assert "connect" not in recorder.names()

    scenario()


def test_handler_errors_are_logged_and_the_session_carries_on(
    component_router: RouterThread, caplog: pytest.LogCaptureFixture
) -> None:
    @async_test
    async def scenario() -> None:
        ready = asyncio.Event()

        async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
            await ready.wait()

        component = Component(main=main, transports=component_router.url)

        @component.on_join
        def sync_broken(session: Session, details: SessionDetails) -> None:
            raise ValueError("sync join handler")

        @component.on_join
        async def async_broken(session: Session, details: SessionDetails) -> None:
            raise ValueError("async join handler")

        component.on("ready", lambda session: ready.set())
        await within(component.start())

    with caplog.at_level(logging.ERROR, logger="autostrada.component"):
        scenario()
    messages = [r.getMessage() for r in caplog.records]
    assert any("'join' handler" in m and "sync_broken" in m for m in messages)
    assert any("'join' handler" in m and "async_broken" in m for m in messages)


def test_a_registration_already_taken_is_logged_and_main_runs(
    component_router: RouterThread, caplog: pytest.LogCaptureFixture
) -> None:
    """main does not wait for the background retry (tests/component/test_component_recovery.py),
    which ends with the session."""

    @async_test
    async def scenario() -> None:
        async with await autostrada.connect(component_router.url) as owner:
            await owner.register(lambda: 1, "test.taken")

            async def main(loop: asyncio.AbstractEventLoop, session: Session) -> int:
                return 0

            component = Component(main=main, transports=component_router.url)
            component.register("test.taken")(lambda: 2)
            component.subscribe("wamp.session.on_join")(lambda *args: None)
            await within(component.start())
            assert await owner.call("test.taken") == 1

    with caplog.at_level(logging.WARNING, logger="autostrada.component"):
        scenario()
    assert any(
        r.levelno == logging.WARNING
        and "procedure test.taken is already registered" in r.getMessage()
        for r in caplog.records
    )


def test_a_refused_subscription_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A realm where anonymous may only call: subscribing is refused.
    with RouterThread(call_only_config(tmp_path)) as router:

        @async_test
        async def scenario() -> None:
            component = Component(main=lambda loop, session: None, transports=router.url)
            component.subscribe("test.topic")(lambda: None)
            await within(component.start())

        with caplog.at_level(logging.ERROR, logger="autostrada.component"):
            scenario()
    assert any("could not subscribe to topic test.topic" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------ retries, fatal


@pytest.mark.parametrize(("max_retries", "attempts"), [(0, 1), (2, 3)])
def test_max_retries_gives_exactly_the_documented_attempts(max_retries: int, attempts: int) -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        component = Component(transports=nowhere(max_retries=max_retries))
        record_all(component, recorder)
        started = time.monotonic()
        with pytest.raises(
            TransportError, match=f"gave up after {attempts} connection attempt"
        ) as caught:
            await within(component.start())
        elapsed = time.monotonic() - started
        assert recorder.count("connectfailure") == attempts
        assert isinstance(caught.value.__cause__, TransportError)
        assert "Connection refused" in str(caught.value.__cause__)
        comp, error = recorder.args("connectfailure")[0]
        assert comp is component and isinstance(error, TransportError)
        # Delays: none before the first attempt, then 0.05 s, 0.1 s.
        assert elapsed >= sum(0.05 * 2**n for n in range(attempts - 1))
        assert recorder.names().count("connect") == 0

    scenario()


def test_round_robin_over_transports(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        dead = nowhere()
        component = Component(
            main=lambda loop, session: None,
            transports=[dead, nowhere(), {"url": component_router.url, **FAST}],
        )
        record_all(component, recorder)
        await within(component.start())
        failures = [str(error) for _, error in recorder.args("connectfailure")]
        assert len(failures) == 2 and dead["url"] in failures[0]
        _, transport = recorder.args("connect")[0]
        assert transport.endpoint == component_router.url

    scenario()


def test_wrong_credentials_are_fatal_by_default(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        component = Component(
            transports={"url": component_router.url, **FAST},  # max_retries -1: forever
            authentication={"ticket": {"authid": TICKET_USER, "ticket": "wrong"}},
        )
        record_all(component, recorder)
        with pytest.raises(AuthenticationFailed) as caught:
            await within(component.start())
        assert caught.value.reason in (
            "wamp.error.not_authorized",
            "wamp.error.authentication_failed",
        )
        assert recorder.count("connectfailure") == 1
        assert recorder.count("connect") == recorder.count("disconnect") == 1
        assert recorder.count("join") == recorder.count("leave") == 0

    scenario()


def test_right_credentials_join(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
            assert session.details is not None
            assert (session.details.authid, session.details.authrole) == (TICKET_USER, "user")

        authentication = {"ticket": {"authid": TICKET_USER, "ticket": TICKET}}
        await within(Component(main, component_router.url, authentication=authentication).run())

    scenario()


def test_no_such_realm_is_fatal_by_default(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        component = Component(transports={"url": component_router.url, **FAST}, realm="nope")
        with pytest.raises(SessionClosed) as caught:
            await within(component.start())
        assert caught.value.reason == "wamp.error.no_such_realm"

    scenario()


def test_custom_is_fatal(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        seen: list[BaseException] = []

        def never(error: BaseException) -> bool:
            seen.append(error)
            return False

        component = Component(
            transports={"url": component_router.url, **FAST, "max_retries": 2},
            authentication={"ticket": {"authid": TICKET_USER, "ticket": "wrong"}},
            is_fatal=never,
        )
        with pytest.raises(TransportError, match="gave up after 3") as caught:
            await within(component.start())
        assert isinstance(caught.value.__cause__, AuthenticationFailed)
        assert len(seen) == 3

        def broken(error: BaseException) -> bool:
            raise RuntimeError("bad policy")

        # A policy that raises counts the error as fatal: no endless retries.
        with pytest.raises(TransportError, match="Connection refused"):
            await within(Component(transports=nowhere(), is_fatal=broken).start())

    scenario()


def test_a_session_factory_error_is_fatal(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        def factory(config: autostrada.ComponentConfig) -> Session:
            raise TypeError("bad factory")

        component = Component(transports=component_router.url, session_factory=factory)
        with pytest.raises(TypeError, match="bad factory"):
            await within(component.start())

    scenario()


def test_tls_certificate_errors_are_fatal_and_rss_uses_tls(tmp_path: Path) -> None:
    certificates = make_certificates(tmp_path)
    port = free_port()
    tls = TLSConfig(cert_file=str(certificates.server_cert), key_file=str(certificates.server_key))
    config = router_config(
        tmp_path,
        ListenerConfig(kind="universal", port=0),
        ListenerConfig(kind="rawsocket", port=port, tls=tls),
    )
    with RouterThread(config):

        @async_test
        async def scenario() -> None:
            recorder = Recorder()
            untrusted = Component(transports={"url": f"rss://127.0.0.1:{port}", **FAST})
            record_all(untrusted, recorder)
            with pytest.raises(TransportError, match="certificate"):
                await within(untrusted.start())
            assert recorder.count("connectfailure") == 1

            secure: list[bool | None] = []

            def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
                secure.append(session.transport_details.is_secure)

            endpoint = {
                "type": "tcp",
                "host": "127.0.0.1",
                "port": port,
                "tls": {"hostname": "localhost", "trust_root": str(certificates.ca)},
            }
            trusted = Component(main, {"url": f"rss://127.0.0.1:{port}", "endpoint": endpoint})
            await within(trusted.run())
            assert secure == [True]

        scenario()


def test_unix_socket_transports(tmp_path: Path) -> None:
    path = str(tmp_path / "router.sock")
    config = router_config(
        tmp_path,
        ListenerConfig(kind="universal", port=0),
        ListenerConfig(kind="rawsocket", unix_path=path),
    )
    with RouterThread(config):

        @async_test
        async def scenario() -> None:
            realms: list[str | None] = []

            def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
                realms.append(session.details.realm if session.details else None)

            await within(Component(main, f"rs+unix://{path}").run())
            endpoint = {"type": "unix", "path": path}
            transport = {"type": "rawsocket", "serializer": "cbor", "endpoint": endpoint}
            await within(Component(main, transport).run())
            assert realms == ["realm1", "realm1"]

        scenario()


# --------------------------------------------------------------------------- stop


def test_stop_during_a_backoff_delay_is_prompt() -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        component = Component(transports=nowhere(initial_retry_delay=30.0))
        record_all(component, recorder)
        done = component.start()
        await recorder.wait_for("connectfailure")
        started = time.monotonic()
        await within(component.stop(), 1.0)
        assert time.monotonic() - started < 1.0
        assert done.result() is None
        assert recorder.count("connectfailure") == 1

    scenario()


def test_stop_during_a_connect_is_prompt_and_headers_reach_the_handshake() -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        async with SilentServer().serving() as server:
            component = Component(
                transports={
                    "url": f"ws://127.0.0.1:{server.port}/ws",
                    "headers": {"X-Component-Test": "yes"},
                    "options": {"open_handshake_timeout": 30.0},
                }
            )
            record_all(component, recorder)
            done = component.start()
            async with asyncio.timeout(5):
                while b"\r\n\r\n" not in server.received:
                    await asyncio.sleep(0.01)
            started = time.monotonic()
            await within(component.stop(), 1.0)
            assert time.monotonic() - started < 1.0
            await within(server.lost.wait(), 1.0)  # the half-open connection was dropped
        assert done.result() is None
        assert b"X-Component-Test: yes" in server.received
        assert recorder.count("connectfailure") == recorder.count("connect") == 0

    scenario()


def test_stop_before_the_first_attempt() -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        component = Component(transports=nowhere())
        record_all(component, recorder)
        done = component.start()
        component.stop()
        await within(done)
        assert recorder.names() == ["start"]

    scenario()


def test_cancelling_run_leaves_gracefully(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        component = Component(transports=component_router.url)
        record_all(component, recorder)
        task = asyncio.ensure_future(component.run())
        await recorder.wait_for("ready")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await within(task)
        assert recorder.args("leave")[0][1].reason == "wamp.close.goodbye_and_out"
        assert recorder.count("disconnect") == 1

    scenario()


def test_cancelling_during_connect(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        async with SilentServer().serving() as server:
            component = Component(transports=f"ws://127.0.0.1:{server.port}/ws")
            done = component.start()
            await within(server.connected.wait())
            done.cancel()
            with pytest.raises(asyncio.CancelledError):
                await within(done)
            await within(server.lost.wait())

    scenario()


def test_async_with(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        component = Component(transports=component_router.url)
        record_all(component, recorder)
        async with component as running:
            assert running is component
            await recorder.wait_for("ready")
        assert recorder.args("leave")[0][1].reason == "wamp.close.goodbye_and_out"

        async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
            raise ArithmeticError("inside async with")

        failing = Component(main, component_router.url)
        with pytest.raises(ArithmeticError):
            async with failing:
                await within(asyncio.wait({failing.start()}))

        with pytest.raises(KeyError):  # the body's error wins; the component's is retrieved
            async with Component(main, component_router.url) as other:
                await within(asyncio.wait({other.start()}))
                raise KeyError("body")

    scenario()


def test_start_on_a_given_loop(component_router: RouterThread) -> None:
    joined: list[asyncio.AbstractEventLoop] = []
    component = Component(lambda loop, session: joined.append(loop), component_router.url)
    with pytest.raises(RuntimeError, match="no event loop is running"):
        component.start()
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(component.start(loop))

        async def other_loop() -> None:
            with pytest.raises(ValueError, match="another event loop"):
                component.start(loop)

        asyncio.run(other_loop())
    finally:
        loop.close()
    assert joined == [loop]


# ------------------------------------------------------------------ edge cases


def test_each_transport_has_its_own_max_retries() -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        once, thrice = nowhere(max_retries=0), nowhere(max_retries=2)
        component = Component(transports=[once, thrice])
        record_all(component, recorder)
        with pytest.raises(TransportError, match="gave up after 4 connection attempt"):
            await within(component.start())
        urls = [str(error) for _, error in recorder.args("connectfailure")]
        assert [once["url"] in url for url in urls] == [True, False, False, False]

    scenario()


def test_main_failing_because_the_session_was_lost_reconnects(
    component_router: RouterThread,
) -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        invoked = asyncio.Event()

        async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
            recorder.add("main", session)
            if recorder.count("main") == 1:
                await session.call("test.slow")  # fails when the connection drops

        component = Component(main, {"url": component_router.url, **FAST})
        record_all(component, recorder)

        @component.register("test.slow")
        async def slow() -> None:
            invoked.set()
            await asyncio.Future()

        done = component.start()
        await within(invoked.wait())
        recorder.args("connect")[0][1].abort()
        assert await within(done) is None
        assert recorder.count("main") == recorder.count("join") == 2
        assert recorder.args("leave")[0][1].reason == "wamp.close.transport_lost"

    scenario()


def test_main_that_cancels_itself_fails_the_component(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
            raise asyncio.CancelledError

        with pytest.raises(RuntimeError, match="was cancelled"):
            await within(Component(main, component_router.url).start())

    scenario()


def test_a_slow_session_leave_hook_is_waited_for(component_router: RouterThread) -> None:
    class SlowToLeave(Session):
        async def on_leave(self, details: CloseDetails) -> None:
            await asyncio.sleep(0.1)  # a slow hook: the transport is gone before it returns
            self.disconnect()

    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        component = Component(
            transports={"url": component_router.url, **FAST}, session_factory=SlowToLeave
        )
        record_all(component, recorder)
        done = component.start()
        await recorder.wait_for("ready")
        recorder.args("connect")[0][1].abort()
        await recorder.wait_for("ready", 2)
        assert recorder.args("leave")[0][1].reason == "wamp.close.transport_lost"
        await within(component.stop())
        assert done.result() is None

    scenario()


def test_a_handler_that_ignores_cancellation_is_reported(
    component_router: RouterThread,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from autostrada.aio import session_end

    monkeypatch.setattr(session_end, "CANCEL_GRACE", 0.05)

    @async_test
    async def scenario() -> None:
        release, entered = asyncio.Event(), asyncio.Event()
        component = Component(transports=component_router.url)

        @component.on_join
        async def stubborn(session: Session, details: SessionDetails) -> None:
            entered.set()
            try:
                await asyncio.Future()
            except asyncio.CancelledError:
                await release.wait()  # keeps running although cancelled

        component.start()
        await within(entered.wait())
        await within(component.stop())
        release.set()

    with caplog.at_level(logging.WARNING, logger="autostrada.component"):
        scenario()
    assert any("ignored cancellation" in r.getMessage() for r in caplog.records)


def test_async_start_handlers_are_awaited(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        order: list[str] = []

        async def start(loop: asyncio.AbstractEventLoop, component: Component) -> None:
            await asyncio.sleep(0)
            order.append("start")

        component = Component(lambda loop, session: order.append("main"), component_router.url)
        component.on("start", start)
        await within(component.start())
        assert order == ["start", "main"]

    scenario()


def test_async_with_when_the_run_was_cancelled(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        async with Component(transports=component_router.url) as component:
            task = component.start()
            task.cancel()
            await asyncio.wait({task})
        assert task.cancelled()

    scenario()


def test_stop_while_a_handler_hangs() -> None:
    """stop() interrupts start and connectfailure handlers too: they are awaited before
    the first and the next attempt."""

    @async_test
    async def scenario() -> None:
        entered = asyncio.Event()

        async def hang(*args: Any) -> None:
            entered.set()
            await asyncio.Future()

        for event in ("start", "connectfailure"):
            entered.clear()
            component = Component(transports=nowhere())
            component.on(event, hang)
            done = component.start()
            await within(entered.wait())
            await within(component.stop(), 1.0)
            assert done.result() is None

    scenario()
