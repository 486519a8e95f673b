"""A Component recovering from what a router does to it: a procedure still registered by
another session (retried in the background), a router that drops every session at once
(reconnections back off), and the clear-text ticket warning.

Routers are real (the in-process RouterThread); "the router still holds the old session"
is played by a plain session holding the procedure, and "the router drops every session"
by a session that calls ``wamp.session.kill`` on every ``wamp.session.on_join``.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from component_helpers import (
    TICKET,
    TICKET_USER,
    Recorder,
    async_test,
    call_only_config,
    free_port,
    within,
)

import autostrada
from autostrada import (
    ApplicationError,
    CloseDetails,
    Component,
    Session,
    SessionDetails,
)
from autostrada import backoff as backoff_module
from autostrada.aio.connect import crosses_network_in_clear_text, warn_if_ticket_in_clear_text
from autostrada.backoff import RetryPolicy
from autostrada.testing import RouterThread
from session_killer import Killer

# Registration retries in tens of milliseconds, no jitter: the test is about the rule.
QUICK_RETRY = RetryPolicy(initial_retry_delay=0.02, retry_delay_growth=2.0, max_retry_delay=0.1)


def retry_tasks() -> list[asyncio.Task[Any]]:
    """The registration retries alive in this loop (named by the component)."""
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith("autostrada register") and not task.done()
    ]


async def watch_registrations(session: Session) -> asyncio.Queue[int]:
    """Queue the session id of every registration made from now on (meta API)."""
    registered: asyncio.Queue[int] = asyncio.Queue()
    await session.subscribe(
        lambda session_id, registration_id: registered.put_nowait(session_id),
        "wamp.registration.on_register",
    )
    return registered


async def next_from(queue: asyncio.Queue[int], session_id: int) -> None:
    """Wait (bounded) for ``session_id`` to come out of ``queue``."""
    async with asyncio.timeout(5.0):
        while await queue.get() != session_id:
            pass


# --------------------------------------------------- a procedure still registered


def test_a_procedure_still_registered_is_retried_until_free(
    component_router: RouterThread, caplog: pytest.LogCaptureFixture
) -> None:
    """The holder (the component's "previous session", as a half-open link leaves it)
    has the procedure; the component is refused, keeps trying, and gets it once the
    holder is gone. ready does not wait for it."""

    @async_test
    async def scenario() -> None:
        url = component_router.url
        recorder = Recorder()
        async with await autostrada.connect(url) as watcher:
            registered = await watch_registrations(watcher)
            holder = await autostrada.connect(url)
            await holder.register(lambda: "holder", "test.contested")
            component = Component(transports=url)
            component.registration_retry = QUICK_RETRY
            component.register("test.contested")(lambda: "component")
            component.on("ready", lambda session: recorder.add("ready", session))
            done = component.start()
            await recorder.wait_for("ready")
            session = recorder.args("ready")[0][0]
            (retry,) = retry_tasks()  # refused, and retrying
            assert await watcher.call("test.contested") == "holder"
            await holder.leave()
            await next_from(registered, session.session_id)
            await within(retry)  # done: registered, not cancelled
            assert await watcher.call("test.contested") == "component"
            assert retry_tasks() == []
            await within(component.stop())
            assert done.result() is None

    with caplog.at_level(logging.INFO, logger="autostrada.component"):
        scenario()
    records = [r for r in caplog.records if "test.contested" in r.getMessage()]
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in records]
    assert "already registered" in warnings[0].getMessage()
    assert "retrying" in warnings[0].getMessage()
    assert [r.levelno for r in records if "registered procedure" in r.getMessage()] == [
        logging.INFO
    ]
    assert not [r for r in records if r.levelno >= logging.ERROR]


def test_registration_retries_stop_when_the_session_ends(component_router: RouterThread) -> None:
    """The holder never leaves: the retry of each session ends with that session
    (lost, then stopped), and none is left running."""

    @async_test
    async def scenario() -> None:
        url = component_router.url
        recorder = Recorder()
        async with await autostrada.connect(url) as holder:
            await holder.register(lambda: "holder", "test.contested")
            component = Component(transports={"url": url, "initial_retry_delay": 0.01})
            component.registration_retry = QUICK_RETRY
            component.register("test.contested")(lambda: "component")
            component.on("ready", lambda session: recorder.add("ready", session))
            done = component.start()
            await recorder.wait_for("ready")
            (first,) = retry_tasks()
            # The session is lost (killed): its retry ends; the next session has its own.
            await holder.call("wamp.session.kill", recorder.args("ready")[0][0].session_id)
            await recorder.wait_for("ready", 2)
            assert first.cancelled()
            (second,) = retry_tasks()
            assert second is not first
            await within(component.stop())
            assert done.result() is None
            assert second.cancelled()
            assert retry_tasks() == []
            assert await holder.call("test.contested") == "holder"

    scenario()


def test_retries_end_at_max_retries_and_can_be_turned_off(
    component_router: RouterThread, caplog: pytest.LogCaptureFixture
) -> None:
    @async_test
    async def scenario() -> None:
        url = component_router.url
        async with await autostrada.connect(url) as holder:
            await holder.register(lambda: "holder", "test.bounded")
            await holder.register(lambda: "holder", "test.unretried")
            component = Component(transports=url)
            component.registration_retry = RetryPolicy(
                max_retries=2, initial_retry_delay=0.01, retry_delay_jitter=0.0
            )
            component.register("test.bounded")(lambda: "component")
            other = Component(transports=url)
            other.registration_retry = None
            other.register("test.unretried")(lambda: "component")
            given_up = asyncio.Event()

            class Watch(logging.Handler):
                def emit(self, record: logging.LogRecord) -> None:
                    if "still registered by another session" in record.getMessage():
                        given_up.set()

            watch = Watch()
            logging.getLogger("autostrada.component").addHandler(watch)
            try:
                async with component, other:
                    await within(given_up.wait())
                    assert retry_tasks() == []
            finally:
                logging.getLogger("autostrada.component").removeHandler(watch)

    with caplog.at_level(logging.INFO, logger="autostrada.component"):
        scenario()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("could not register procedure test.bounded" in m for m in errors)
    assert any("could not register procedure test.unretried" in m for m in errors)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("test.bounded" in m for m in warned)
    assert not any("test.unretried" in m for m in warned)


def test_a_registration_refused_otherwise_is_not_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """not_authorized keeps today's behaviour: an ERROR, no retry."""
    with RouterThread(call_only_config(tmp_path)) as router:

        @async_test
        async def scenario() -> None:
            tasks: list[int] = []

            async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
                tasks.append(len(retry_tasks()))

            component = Component(main=main, transports=router.url)
            component.register("test.forbidden")(lambda: None)
            await within(component.start())
            assert tasks == [0]

        with caplog.at_level(logging.INFO, logger="autostrada.component"):
            scenario()
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert any(
        level == logging.ERROR
        and "could not register procedure test.forbidden" in m
        and ApplicationError.NOT_AUTHORIZED in m
        for level, m in messages
    ), messages
    assert not any(level == logging.WARNING and "test.forbidden" in m for level, m in messages)


# ------------------------------------------------------- a router that drops at once


FLAPPING = {
    "initial_retry_delay": 0.05,
    "retry_delay_growth": 2.0,
    "retry_delay_jitter": 0.0,
    "max_retry_delay": 0.4,
}


def logged_delays(caplog: pytest.LogCaptureFixture) -> list[float]:
    """The delays the component announced before its attempts, in order."""
    return [
        float(record.args[1])  # type: ignore[index]
        for record in caplog.records
        if record.msg == "%s: next attempt in %.3g s"
    ]


def record_sessions(component: Component, recorder: Recorder) -> None:
    @component.on_join
    def joined(session: Session, details: SessionDetails) -> None:
        recorder.add("join", details)

    @component.on_leave
    def left(session: Session, details: CloseDetails) -> None:
        recorder.add("leave", details)


def test_sessions_dropped_at_once_back_off(
    component_router: RouterThread, caplog: pytest.LogCaptureFixture
) -> None:
    """Every session is killed as it joins: the reconnections wait 0, then the
    initial delay, growing to the cap — not a tight loop at the minimum."""

    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        killer = Killer()
        async with await autostrada.connect(component_router.url) as admin:
            await killer.attach(admin)
            component = Component(
                transports={"url": component_router.url, **FLAPPING, "max_retries": 1}
            )
            record_sessions(component, recorder)
            done = component.start()
            await recorder.wait_for("leave", 6, seconds=8.0)
            await within(component.stop())
            assert done.result() is None  # max_retries=1 never ran out: each join resets it
        reasons = [details.reason for (details,) in recorder.args("leave")]
        assert reasons[:6] == ["wamp.close.killed"] * 6

    with caplog.at_level(logging.INFO, logger="autostrada.component"):
        scenario()
    # Sessions 1..6 lost: the first reconnection is immediate, then 0.05 s doubling to 0.4.
    assert logged_delays(caplog)[:4] == [0.05, 0.1, 0.2, 0.4]
    backing_off = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and "backing off" in r.getMessage()
    ]
    assert len(backing_off) >= 4


def test_a_stable_session_resets_the_delays(
    component_router: RouterThread,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(backoff_module, "STABLE_SESSION", 0.3)

    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        killer = Killer(limit=3)
        async with await autostrada.connect(component_router.url) as admin:
            await killer.attach(admin)
            component = Component(transports={"url": component_router.url, **FLAPPING})
            record_sessions(component, recorder)
            done = component.start()
            await recorder.wait_for("join", 4, seconds=5.0)
            assert logged_delays(caplog) == [0.05, 0.1]
            # Time passing is what is under test here: the session becomes stable.
            await asyncio.sleep(0.4)
            assert recorder.count("leave") == 3  # the fourth is still joined
            session_id = recorder.args("join")[3][0].session
            await admin.call("wamp.session.kill", session_id)
            await recorder.wait_for("join", 5, seconds=5.0)
            await within(component.stop())
            assert done.result() is None
        assert logged_delays(caplog) == [0.05, 0.1]  # the fifth join came at once

    with caplog.at_level(logging.INFO, logger="autostrada.component"):
        scenario()


# ------------------------------------------------------------ clear-text tickets


@pytest.mark.parametrize(
    ("url", "options", "clear"),
    [
        ("ws://router.example.com/ws", {}, True),
        ("rs://10.0.0.5:8080", {}, True),
        ("tcp://[2001:db8::1]:8080", {}, True),
        ("ws://127.0.0.1:8080/ws", {}, False),
        ("ws://127.0.0.2:8080/ws", {}, False),
        ("ws://[::1]:8080/ws", {}, False),
        ("ws://localhost:8080/ws", {}, False),
        ("ws://LOCALHOST:8080/ws", {}, False),
        ("wss://router.example.com/ws", {}, False),
        ("rss://router.example.com", {}, False),
        ("ws://router.example.com/ws", {"ssl": True}, False),
        ("ws://router.example.com/ws", {"ssl": False}, True),
        ("ws+unix:///run/router.sock", {}, False),
        ("rs+unix:///run/router.sock", {}, False),
        ("ws://router.example.com/ws", {"unix_path": "/run/router.sock"}, False),
        # Every host on the way counts: the URL's, the endpoint's, the proxy's.
        ("ws://router.example.com/ws", {"host": "127.0.0.1"}, True),
        ("ws://localhost/ws", {"host": "10.0.0.5"}, True),
        ("ws://localhost/ws", {"proxy": {"host": "proxy.example.com", "port": 3128}}, True),
        ("ws://localhost/ws", {"proxy": "http://127.0.0.1:3128"}, False),
    ],
)
def test_what_crosses_the_network_in_clear_text(
    url: str, options: dict[str, Any], clear: bool
) -> None:
    assert crosses_network_in_clear_text(url, **options) is clear
    assert warn_if_ticket_in_clear_text(["ticket"], url, options) is clear
    assert warn_if_ticket_in_clear_text(["anonymous", "wampcra"], url, options) is False


def ticket_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "clear text" in r.getMessage()
    ]


def test_a_component_warns_once_when_it_starts(
    component_router: RouterThread, caplog: pytest.LogCaptureFixture
) -> None:
    """The URL names a remote host, the socket goes to 127.0.0.1 (a test): one warning,
    as the component starts, not again on reconnections; none for the same over
    loopback."""
    port = urllib.parse.urlsplit(component_router.url).port
    remote = {
        "url": "ws://router.example.com/ws",
        "endpoint": {"type": "tcp", "host": "127.0.0.1", "port": port},
        "initial_retry_delay": 0.01,
    }
    authentication = {"ticket": {"authid": TICKET_USER, "ticket": TICKET}}

    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        component = Component(transports=remote, authentication=authentication)
        assert ticket_warnings(caplog) == []  # not at construction: logging may not be set up
        record_sessions(component, recorder)
        component.start()
        assert len(ticket_warnings(caplog)) == 1
        await recorder.wait_for("join")
        async with await autostrada.connect(component_router.url) as admin:
            await admin.call("wamp.session.kill", recorder.args("join")[0][0].session)
        await recorder.wait_for("join", 2)
        await within(component.stop())
        component.start()  # started again: said already
        await within(component.stop())
        assert len(ticket_warnings(caplog)) == 1
        assert recorder.args("join")[0][0].authid == TICKET_USER

        caplog.clear()
        local = Component(transports=component_router.url, authentication=authentication)
        async with local:
            pass
        assert ticket_warnings(caplog) == []

    with caplog.at_level(logging.INFO, logger="autostrada"):
        scenario()


def test_the_warning_comes_before_any_connection(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listens: the warning is there anyway, naming the transport, not the ticket."""

    @async_test
    async def scenario() -> None:
        transport = {
            "url": "rs://router.example.com:8080",
            "endpoint": {"type": "tcp", "host": "127.0.0.1", "port": free_port()},
            "max_retries": 0,
        }
        component = Component(
            transports=[transport, f"ws://127.0.0.1:{free_port()}/ws"],
            authentication={"ticket": {"authid": TICKET_USER, "ticket": TICKET}},
        )
        done = component.start()
        (warning,) = ticket_warnings(caplog)
        assert "transport 0" in warning and "router.example.com" in warning
        assert "password" in warning and TICKET not in warning
        await within(component.stop())
        assert done.result() is None

    with caplog.at_level(logging.WARNING, logger="autostrada"):
        scenario()


def test_connect_warns_too(
    component_router: RouterThread, caplog: pytest.LogCaptureFixture
) -> None:
    """``autostrada.connect()`` says it as a Component does, before connecting."""
    port = urllib.parse.urlsplit(component_router.url).port
    authentication = {"ticket": {"authid": TICKET_USER, "ticket": TICKET}}

    @async_test
    async def scenario() -> None:
        async with await autostrada.connect(
            "ws://router.example.com/ws",
            host="127.0.0.1",
            port=port,
            authentication=authentication,
        ) as session:
            assert session.details is not None and session.details.authid == TICKET_USER
        (warning,) = ticket_warnings(caplog)
        assert "router.example.com" in warning and TICKET not in warning
        caplog.clear()
        async with await autostrada.connect(component_router.url, authentication=authentication):
            pass
        assert ticket_warnings(caplog) == []

    with caplog.at_level(logging.WARNING, logger="autostrada"):
        scenario()
