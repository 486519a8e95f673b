"""ApplicationRunner(auto_reconnect=True) against a router that drops every session at once:
the reconnections back off (the rule a Component follows too), until a session is stable.

The router is real (an in-process RouterThread per test); "the router drops every session"
is played by a session that calls ``wamp.session.kill`` on every ``wamp.session.on_join``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from classic_kit import async_test, router_config, within

import autostrada
from autostrada import (
    ApplicationRunner,
    ApplicationSession,
    CloseDetails,
    SessionDetails,
)
from autostrada import backoff as backoff_module
from autostrada.testing import RouterThread
from session_killer import Killer

FLAPPING: dict[str, Any] = {
    "initial_retry_delay": 0.05,
    "retry_delay_growth": 2.0,
    "retry_delay_jitter": 0.0,
    "max_retry_delay": 0.4,
}


@pytest.fixture
def own_router(creds: Any) -> Iterator[RouterThread]:
    """A router of this test alone: its killer touches no other test's sessions."""
    with RouterThread(router_config(creds)) as running:
        yield running


class Sessions:
    """What the runner's sessions went through: join details and leave reasons, awaitable."""

    def __init__(self) -> None:
        self.joins: list[SessionDetails] = []
        self.leaves: list[str] = []
        self.release = asyncio.Event()  # ends the onJoin of busy sessions
        self._changed = asyncio.Event()

    def factory(self, busy: bool = False) -> type[ApplicationSession]:
        """The session class; ``busy``: its onJoin runs until :attr:`release` is set."""
        sessions = self

        class Recorded(ApplicationSession):
            async def onJoin(self, details: SessionDetails) -> None:
                sessions.joins.append(details)
                sessions._changed.set()
                if busy:
                    await sessions.release.wait()

            def onLeave(self, details: CloseDetails) -> None:
                sessions.leaves.append(details.reason)
                sessions._changed.set()
                self.disconnect()

        return Recorded

    async def wait(self, joins: int = 0, leaves: int = 0, seconds: float = 5.0) -> None:
        async with asyncio.timeout(seconds):
            while len(self.joins) < joins or len(self.leaves) < leaves:
                self._changed.clear()
                await self._changed.wait()


def logged_delays(caplog: pytest.LogCaptureFixture) -> list[float]:
    """The delays the runner announced before its attempts, in order."""
    return [
        float(record.args[1])  # type: ignore[index]
        for record in caplog.records
        if record.name == "autostrada.apprunner" and record.msg == "%s: next attempt in %.3g s"
    ]


def backing_off(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "autostrada.apprunner"
        and r.levelno == logging.WARNING
        and "again: backing off" in r.getMessage()
    ]


def test_sessions_dropped_at_once_back_off(
    own_router: RouterThread, caplog: pytest.LogCaptureFixture
) -> None:
    """Every session is killed as it joins: the reconnections wait 0, then the initial
    delay, growing to the cap — not a tight loop with no delay at all."""
    sessions = Sessions()

    @async_test
    async def scenario() -> None:
        async with await autostrada.connect(own_router.url) as admin:
            await Killer().attach(admin)
            runner = ApplicationRunner(own_router.url, "realm1", max_retries=1, **FLAPPING)
            task = runner.run(sessions.factory(), False, None, auto_reconnect=True)
            await sessions.wait(leaves=6, seconds=8.0)
            await within(runner.stop())
            # max_retries=1 never ran out: every join resets the count of failed attempts.
            assert await within(task) is None

    with caplog.at_level(logging.INFO, logger="autostrada.apprunner"):
        scenario()
    assert sessions.leaves[:6] == ["wamp.close.killed"] * 6
    # Sessions 1..6 lost: the first reconnection is immediate, then 0.05 s doubling to 0.4.
    assert logged_delays(caplog)[:4] == [0.05, 0.1, 0.2, 0.4]
    warnings = backing_off(caplog)
    assert len(warnings) >= 4
    assert "session lost" in warnings[0].getMessage()


def test_a_stable_session_resets_the_delays(
    own_router: RouterThread,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three sessions killed at once (0, 0.05, 0.1 s), the fourth stays joined past
    the (lowered) threshold: once it is killed, the reconnection is immediate again."""
    monkeypatch.setattr(backoff_module, "STABLE_SESSION", 0.3)
    sessions = Sessions()

    @async_test
    async def scenario() -> None:
        async with await autostrada.connect(own_router.url) as admin:
            await Killer(limit=3).attach(admin)
            runner = ApplicationRunner(own_router.url, "realm1", **FLAPPING)
            task = runner.run(sessions.factory(), False, None, auto_reconnect=True)
            await sessions.wait(joins=4)
            assert logged_delays(caplog) == [0.05, 0.1]
            # Time passing is what is under test here: the session becomes stable.
            await asyncio.sleep(0.4)
            assert len(sessions.leaves) == 3  # the fourth is still joined
            await admin.call("wamp.session.kill", sessions.joins[3].session)
            await sessions.wait(joins=5)
            await within(runner.stop())
            assert await within(task) is None

    with caplog.at_level(logging.INFO, logger="autostrada.apprunner"):
        scenario()
    assert logged_delays(caplog) == [0.05, 0.1]  # the fifth join came at once
    assert len(backing_off(caplog)) == 2
    assert sessions.leaves[3] == "wamp.close.killed"


def test_a_session_whose_on_join_never_returns_counts_from_its_join(
    own_router: RouterThread,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """onJoin runs as long as the session (as in many Autobahn examples): two sessions
    killed at once back off, the third, joined past the threshold, counts as stable
    although its onJoin never returned."""
    monkeypatch.setattr(backoff_module, "STABLE_SESSION", 0.3)
    sessions = Sessions()

    @async_test
    async def scenario() -> None:
        async with await autostrada.connect(own_router.url) as admin:
            await Killer(limit=2).attach(admin)
            runner = ApplicationRunner(own_router.url, "realm1", **FLAPPING)
            task = runner.run(sessions.factory(busy=True), False, None, auto_reconnect=True)
            await sessions.wait(joins=3)
            assert logged_delays(caplog) == [0.05]
            # Time passing is what is under test here: the session becomes stable.
            await asyncio.sleep(0.4)
            assert len(sessions.leaves) == 2  # the third is still joined
            await admin.call("wamp.session.kill", sessions.joins[2].session)
            await sessions.wait(joins=4)
            await within(runner.stop())
            assert await within(task) is None
            sessions.release.set()  # the onJoin of every session, still running

    with caplog.at_level(logging.INFO, logger="autostrada.apprunner"):
        scenario()
    assert logged_delays(caplog) == [0.05]  # the fourth join came at once
    assert sessions.leaves[:3] == ["wamp.close.killed"] * 3
