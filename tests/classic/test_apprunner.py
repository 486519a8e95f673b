"""ApplicationRunner: transports, start_loop, signals, the end of the run, reconnecting."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import ssl
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from classic_kit import Script, async_test, free_port, router_config, within

from autostrada import (
    ApplicationRunner,
    ApplicationSession,
    CloseDetails,
    ComponentConfig,
    SessionClosed,
    SessionDetails,
    TransportError,
)
from autostrada.serializers import CBOR
from autostrada.testing import RouterThread


class Quick(ApplicationSession):
    """Joins (by default), records what it joined with, calls itself, leaves."""

    async def onJoin(self, details: SessionDetails) -> None:
        await self.register(lambda a, b: a + b, "com.example.add2")
        result = await self.call("com.example.add2", 2, 3)
        self.config.extra.setdefault("joined", []).append((details, result))
        self.leave()


def joined(runner: ApplicationRunner) -> list[tuple[SessionDetails, Any]]:
    found: list[tuple[SessionDetails, Any]] = runner.extra.get("joined", [])
    return found


# ------------------------------------------------------------------------ transports


@pytest.mark.parametrize(
    ("kind", "serializers", "expected"),
    [
        ("ws", None, "json"),
        ("ws", ["msgpack"], "msgpack"),
        ("rs", None, "json"),
        ("rs", [CBOR, "json"], "cbor"),  # RawSocket takes the first; objects work too
        ("ws+unix", ["cbor"], "cbor"),
        ("rs+unix", None, "json"),
    ],
)
def test_the_runner_connects_over_each_transport(
    router: RouterThread, unix_path: str, kind: str, serializers: Any, expected: str
) -> None:
    url = {
        "ws": router.url,
        "rs": router.rs_url,
        "ws+unix": f"ws+unix://{unix_path}",
        "rs+unix": f"rs+unix://{unix_path}",
    }[kind]

    @async_test
    async def scenario() -> None:
        runner = ApplicationRunner(url, "realm1", serializers=serializers)
        task = runner.run(Quick, start_loop=False, log_level=None)
        assert isinstance(task, asyncio.Task)
        assert await within(task) is None
        [(details, result)] = joined(runner)
        assert (details.realm, details.serializer, result) == ("realm1", expected, 5)
        assert details.transport is not None
        assert details.transport.channel_type == (
            "WebSocketChannel" if "ws" in kind else "RawSocketChannel"
        )

    scenario()


def test_arguments_are_checked_before_connecting() -> None:
    context = ssl.create_default_context()
    with pytest.raises(ValueError, match=r"ApplicationRunner: url: .*scheme"):
        ApplicationRunner("http://127.0.0.1:8080/ws")
    with pytest.raises(ValueError, match="url must be a string"):
        ApplicationRunner(b"ws://127.0.0.1/ws")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="realm must be a string"):
        ApplicationRunner("ws://127.0.0.1/ws", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="contradicts the URL"):
        ApplicationRunner("ws://127.0.0.1/ws", ssl=context)  # as Autobahn: use wss://
    with pytest.raises(ValueError, match="contradicts the URL"):
        ApplicationRunner("wss://127.0.0.1/ws", ssl=False)
    with pytest.raises(ValueError, match="ssl must be an SSLContext"):
        ApplicationRunner("wss://127.0.0.1/ws", ssl="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"ApplicationRunner\.options: Autobahn option"):
        ApplicationRunner("ws://127.0.0.1/ws", websocket_options={"autoFragmentSize": 1})
    with pytest.raises(ValueError, match="ApplicationRunner: max_retries"):
        ApplicationRunner("ws://127.0.0.1/ws", max_retries=-2)
    with pytest.raises(ValueError, match="ApplicationRunner: 'headers' are for WebSocket"):
        ApplicationRunner("rs://127.0.0.1:8080", headers={"X-A": "b"})
    runner = ApplicationRunner(
        "wss://127.0.0.1/ws",
        "realm1",
        ssl=context,
        proxy={"host": "127.0.0.1", "port": 3128},
        headers={"X-Token": "t"},
        websocket_options={"autoPingInterval": 5, "maxMessagePayloadSize": 4096},
        max_retries=3,
        initial_retry_delay=0.5,
        max_retry_delay=2,
        retry_delay_growth=2,
        retry_delay_jitter=0,
    )
    assert runner.extra == {} and runner.session is None
    assert runner._connect_options["ssl"] is context
    assert runner._connect_options["max_message_size"] == 4096
    assert runner._transport.retry.max_retries == 3
    assert repr(runner) == "<ApplicationRunner wss://127.0.0.1/ws realm='realm1'>"
    with pytest.raises(ValueError, match="make must be"):
        runner.run(42, start_loop=False)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ start_loop


def test_start_loop_true_runs_a_loop_and_returns_when_the_session_is_gone(
    router: RouterThread,
) -> None:
    runner = ApplicationRunner(router.url, "realm1")
    assert runner.run(Quick, log_level=None) is None
    assert [result for _, result in joined(runner)] == [5]


def test_start_loop_true_inside_a_running_loop_is_refused(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        with pytest.raises(RuntimeError, match="start_loop=False"):
            ApplicationRunner(router.url, "realm1").run(Quick, log_level=None)

    scenario()


def test_start_loop_false_without_a_loop_gives_a_coroutine(router: RouterThread) -> None:
    runner = ApplicationRunner(router.url, "realm1")
    coro = runner.run(Quick, start_loop=False, log_level=None)
    assert asyncio.iscoroutine(coro)
    asyncio.run(coro)
    assert len(joined(runner)) == 1


class Stopper(ApplicationSession):
    """Stops the event loop itself, as many Autobahn examples do (``extra["when"]``)."""

    def onJoin(self, details: SessionDetails) -> None:
        self.config.extra["events"].append("onJoin")
        if self.config.extra["when"] == "joined":
            asyncio.get_event_loop().stop()
        else:
            self.leave()

    def onLeave(self, details: CloseDetails) -> None:
        self.config.extra["events"].append(details.reason)
        self.disconnect()

    def onDisconnect(self) -> None:
        self.config.extra["events"].append("onDisconnect")
        if self.config.extra["when"] == "disconnected":
            asyncio.get_event_loop().stop()


@pytest.mark.parametrize("when", ["joined", "disconnected"])
def test_stopping_the_loop_stops_the_runner_gracefully(router: RouterThread, when: str) -> None:
    events: list[str] = []
    runner = ApplicationRunner(router.url, "realm1", {"events": events, "when": when})
    assert runner.run(Stopper, log_level=None) is None
    # Stopped while joined: the session still left the realm (GOODBYE) before the end.
    assert events == ["onJoin", "wamp.close.goodbye_and_out", "onDisconnect"]


def test_stop_leaves_and_ends_the_run_and_is_idempotent(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        runner = ApplicationRunner(router.url, "realm1")
        await within(runner.stop())  # nothing running: nothing to wait for
        ready = asyncio.Event()
        left: list[str] = []

        class Session(ApplicationSession):
            def onJoin(self, details: SessionDetails) -> None:
                ready.set()

            def onLeave(self, details: CloseDetails) -> None:
                left.append(details.reason)
                self.disconnect()

        task = runner.run(Session, start_loop=False, log_level=None, auto_reconnect=True)
        assert isinstance(task, asyncio.Task)
        await within(ready.wait())
        assert isinstance(runner.session, Session)
        done = runner.stop()
        runner.stop()
        await within(done)
        assert task.done() and task.result() is None
        assert left == ["wamp.close.goodbye_and_out"]
        assert runner.session is None

    scenario()


def test_cancelling_the_run_leaves_gracefully(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        ready = asyncio.Event()
        left: list[str] = []

        class Session(ApplicationSession):
            def onJoin(self, details: SessionDetails) -> None:
                ready.set()

            def onLeave(self, details: CloseDetails) -> None:
                left.append(details.reason)
                self.disconnect()

        task = ApplicationRunner(router.url, "realm1").run(Session, False, None)
        assert isinstance(task, asyncio.Task)
        await within(ready.wait())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await within(task)
        assert left == ["wamp.close.goodbye_and_out"]

    scenario()


def test_cancelling_twice_cuts_the_connection(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        ready, stuck = asyncio.Event(), asyncio.Event()

        class Session(ApplicationSession):
            def onJoin(self, details: SessionDetails) -> None:
                ready.set()

            async def onLeave(self, details: CloseDetails) -> None:
                stuck.set()
                await asyncio.Future()  # never returns

        task = ApplicationRunner(router.url, "realm1").run(Session, False, None)
        assert isinstance(task, asyncio.Task)
        await within(ready.wait())
        task.cancel()
        await within(stuck.wait())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await within(task)

    scenario()


# ------------------------------------------------------------------------ the end of a run


def test_an_unreachable_router_makes_run_raise() -> None:
    @async_test
    async def scenario() -> None:
        runner = ApplicationRunner(f"ws://127.0.0.1:{free_port()}/ws", "realm1")
        with pytest.raises(TransportError):
            await within(runner.run(Quick, start_loop=False, log_level=None))

    scenario()


def test_make_must_make_an_application_session(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        runner = ApplicationRunner(router.url, "realm1")

        def broken(config: ComponentConfig) -> ApplicationSession:
            raise KeyError("no session today")

        with pytest.raises(KeyError, match="no session today"):
            await within(runner.run(broken, start_loop=False, log_level=None))
        with pytest.raises(TypeError, match="must return an ApplicationSession"):
            await within(runner.run(lambda config: object(), False, None))  # type: ignore[arg-type, return-value]

    scenario()


def test_a_session_that_never_joins_ends_the_run(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        class Idle(ApplicationSession):
            def onConnect(self) -> None:
                self.disconnect()  # e.g. it decided not to join

        runner = ApplicationRunner(router.url, "realm1", max_retries=1, initial_retry_delay=0.01)
        assert await within(runner.run(Idle, start_loop=False, log_level=None)) is None
        # With auto_reconnect, a connection that ends before a join is a failed attempt.
        with pytest.raises(TransportError, match="gave up after 2 connection attempt"):
            await within(runner.run(Idle, False, None, auto_reconnect=True))

    scenario()


# ------------------------------------------------------------------------ auto_reconnect


def test_auto_reconnect_survives_a_router_restart(creds: Any) -> None:
    port = free_port()
    router = RouterThread(router_config(creds, port=port)).start()
    try:

        @async_test
        async def scenario() -> None:
            joins: asyncio.Queue[SessionDetails] = asyncio.Queue()
            left: list[str] = []

            class Session(ApplicationSession):
                async def onJoin(self, details: SessionDetails) -> None:
                    await self.register(lambda: details.session, "com.example.whoami")
                    joins.put_nowait(details)

                def onLeave(self, details: CloseDetails) -> None:
                    left.append(details.reason)
                    self.disconnect()

            runner = ApplicationRunner(
                router.url, "realm1", initial_retry_delay=0.05, max_retry_delay=0.2
            )
            task = runner.run(Session, start_loop=False, log_level=None, auto_reconnect=True)
            first = await within(joins.get())
            await asyncio.to_thread(router.stop)
            await asyncio.to_thread(router.start)  # the same port
            second = await within(joins.get())
            assert second.session != first.session
            assert left == ["wamp.close.system_shutdown"]  # the router said goodbye
            assert runner.session is not None
            assert await runner.session.call("com.example.whoami") == second.session
            await within(runner.stop())
            assert await within(task) is None

        scenario()
    finally:
        router.stop()


def test_auto_reconnect_ends_when_the_application_ends_the_session(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        class Dropper(ApplicationSession):
            def onJoin(self, details: SessionDetails) -> None:
                self.disconnect()  # while joined: the application's own end

        runner = ApplicationRunner(router.url, "realm1")
        assert await within(runner.run(Quick, False, None, auto_reconnect=True)) is None
        assert await within(runner.run(Dropper, False, None, auto_reconnect=True)) is None
        assert len(joined(runner)) == 1

    scenario()


def test_auto_reconnect_does_not_retry_fatal_errors_or_hook_errors(
    router: RouterThread, creds: Any
) -> None:
    @async_test
    async def scenario() -> None:
        attempts: list[str] = []

        class WrongRealm(ApplicationSession):
            def onConnect(self) -> None:
                attempts.append("connect")
                self.join("no.such.realm")

        class Broken(ApplicationSession):
            def onJoin(self, details: SessionDetails) -> None:
                attempts.append("join")
                raise RuntimeError("broken onJoin")

        runner = ApplicationRunner(router.url, "realm1", initial_retry_delay=0.01)
        with pytest.raises(SessionClosed, match="no realm"):
            await within(runner.run(WrongRealm, False, None, auto_reconnect=True))
        with pytest.raises(RuntimeError, match="broken onJoin"):
            await within(runner.run(Broken, False, None, auto_reconnect=True))
        assert attempts == ["connect", "join"]  # once each: no reconnect loop

    scenario()


def test_auto_reconnect_retries_an_unreachable_router_then_gives_up() -> None:
    @async_test
    async def scenario() -> None:
        url = f"rs://127.0.0.1:{free_port()}"
        runner = ApplicationRunner(url, "realm1", max_retries=2, initial_retry_delay=0.01)
        with pytest.raises(TransportError, match="gave up after 3 connection attempt") as gave_up:
            await within(runner.run(Quick, False, None, auto_reconnect=True))
        assert isinstance(gave_up.value.__cause__, TransportError)

    scenario()


# ------------------------------------------------------------------------ as a script

SCRIPT = """
import sys
from autostrada import ApplicationRunner, ApplicationSession

class Session(ApplicationSession):
    def onJoin(self, details):
        print("READY", flush=True)

    def onLeave(self, details):
        print("LEAVE", details.reason, flush=True)
        self.disconnect()

    def onDisconnect(self):
        print("DISCONNECT", flush=True)

    {hooks}

ApplicationRunner(sys.argv[1], "realm1").run(Session{run_args})
print("RUN RETURNED", flush=True)
"""


def script(tmp_path: Path, url: str, hooks: str = "", run_args: str = "") -> Script:
    path = tmp_path / "session.py"
    hooks = textwrap.indent(textwrap.dedent(hooks), "    ").strip()
    path.write_text(SCRIPT.format(hooks=hooks, run_args=run_args))
    return Script([str(path), url])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_makes_the_session_leave_and_the_script_exit_0(
    router: RouterThread, tmp_path: Path, signum: signal.Signals
) -> None:
    with script(tmp_path, router.url) as running:
        running.wait_for_line("READY")
        running.proc.send_signal(signum)
        assert running.finish() == 0, running.stderr
        # The router answered our GOODBYE: it saw it.
        assert running.stdout[-3:] == [
            "LEAVE wamp.close.goodbye_and_out",
            "DISCONNECT",
            "RUN RETURNED",
        ]
        assert f"{signum.name}: stopping the session" in running.stderr
        assert not running.noise(), running.stderr


def test_a_second_signal_cuts_the_connection(router: RouterThread, tmp_path: Path) -> None:
    hooks = """
        async def onLeave(self, details):
            import asyncio
            print("STUCK", flush=True)
            await asyncio.Future()
    """
    with script(tmp_path, router.url, hooks) as running:
        running.wait_for_line("READY")
        running.proc.send_signal(signal.SIGINT)
        running.wait_for_line("STUCK")
        running.proc.send_signal(signal.SIGINT)
        assert running.finish() == 0, running.stderr
        assert running.stdout[-1] == "RUN RETURNED"
        assert "SIGINT again: cutting the connection" in running.stderr
        assert not running.noise(), running.stderr


@pytest.mark.parametrize("run_args", ["", ", auto_reconnect=False", ", log_level='debug'"])
def test_the_script_exits_when_the_session_disconnects(
    router: RouterThread, tmp_path: Path, run_args: str
) -> None:
    hooks = """
        def onJoin(self, details):
            print("READY", flush=True)
            self.disconnect()  # no GOODBYE: the transport is simply gone
    """
    with script(tmp_path, router.url, hooks, run_args) as running:
        assert running.finish() == 0, running.stderr
        assert running.stdout == [
            "READY",
            "LEAVE wamp.close.transport_lost",
            "DISCONNECT",
            "RUN RETURNED",
        ]
        assert ("DEBUG" in running.stderr) == ("debug" in run_args)
        assert not running.noise(), running.stderr


def test_a_hook_error_makes_the_script_exit_non_zero(router: RouterThread, tmp_path: Path) -> None:
    hooks = """
        def onJoin(self, details):
            raise RuntimeError("onJoin is broken")
    """
    with script(tmp_path, router.url, hooks) as running:
        assert running.finish() == 1
        assert "Session.onUserError(): While firing onJoin" in running.stderr
        assert "RuntimeError: onJoin is broken" in running.stderr
        assert running.stdout == ["LEAVE wamp.close.goodbye_and_out", "DISCONNECT"]


# ------------------------------------------------------------------------ stop() anywhere


def test_stop_during_a_backoff_delay_or_a_connection_attempt() -> None:
    @async_test
    async def scenario() -> None:
        # A server that accepts and never answers the WebSocket handshake.
        accepted = asyncio.Event()

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.set()
            await reader.read()  # until the client goes
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            runner = ApplicationRunner(f"ws://127.0.0.1:{port}/ws", "realm1")
            task = runner.run(Quick, start_loop=False, log_level=None)
            await within(accepted.wait())
            await within(runner.stop())
            assert await within(task) is None

        # Nothing listens; stop() during the delay before the next attempt.
        waiting = asyncio.Event()
        noticed = _Notice("next attempt in", waiting)
        logger = logging.getLogger("autostrada.apprunner")
        level = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(noticed)
        try:
            url = f"ws://127.0.0.1:{free_port()}/ws"
            runner = ApplicationRunner(url, "realm1", initial_retry_delay=30)
            task = runner.run(Quick, False, None, auto_reconnect=True)
            await within(waiting.wait())
            await within(runner.stop())
            assert await within(task) is None
        finally:
            logger.removeHandler(noticed)
            logger.setLevel(level)

    scenario()


class _Notice(logging.Handler):
    """Sets an event when a log message contains ``text``."""

    def __init__(self, text: str, event: asyncio.Event) -> None:
        super().__init__()
        self.text, self.event = text, event

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


def test_stop_while_on_connect_still_runs(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        connected = asyncio.Event()
        disconnected: list[bool] = []

        class Slow(ApplicationSession):
            async def onConnect(self) -> None:
                connected.set()
                await asyncio.Future()  # never joins

            def onDisconnect(self) -> None:
                disconnected.append(True)

        runner = ApplicationRunner(router.url, "realm1")
        task = runner.run(Slow, start_loop=False, log_level=None)
        await within(connected.wait())
        await within(runner.stop())
        assert await within(task) is None
        assert disconnected == [True]

    scenario()


# ------------------------------------------------------------------------ start_loop=True


def test_a_failure_is_raised_by_run_with_its_own_loop(router: RouterThread) -> None:
    class Broken(ApplicationSession):
        def onJoin(self, details: SessionDetails) -> None:
            raise RuntimeError("broken")

    with pytest.raises(RuntimeError, match="broken"):
        ApplicationRunner(router.url, "realm1").run(Broken, log_level=None)


def test_signals_in_process_stop_then_cut(router: RouterThread) -> None:
    events: list[str] = []

    class Signalled(ApplicationSession):
        def onJoin(self, details: SessionDetails) -> None:
            os.kill(os.getpid(), signal.SIGINT)  # the runner's handler, not KeyboardInterrupt

        async def onLeave(self, details: CloseDetails) -> None:
            events.append(details.reason)
            os.kill(os.getpid(), signal.SIGTERM)  # again: cut
            await asyncio.Future()

    before = logging.getLogger("autostrada").level
    try:
        assert ApplicationRunner(router.url, "realm1").run(Signalled, log_level="debug") is None
    finally:
        logging.getLogger("autostrada").setLevel(before)
    assert events == ["wamp.close.goodbye_and_out"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_run_in_a_thread_has_no_signal_handlers(router: RouterThread) -> None:
    runner = ApplicationRunner(router.url, "realm1")
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(runner.run(Quick, log_level=None)))
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and outcome == [None]
    assert len(joined(runner)) == 1
