"""Router restart cycles under steady load: SIGKILL, start again, 20 times.

A service component (procedure ``test.add``, subscription ``test.topic``) and a load
component (a call and an acknowledged publication every few milliseconds, for as long
as it is joined) run against a router subprocess that is killed and started again on
the same port. Each cycle checks, from a fresh session, that the service's registration
and subscription are back (meta API and a real call and event), and that load went
through in that cycle. The figures (recovery per cycle, calls failed vs succeeded) are
printed; run with ``-s`` to see them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rel_kit import RETRY, RouterProcess, Service, async_test, within

import autostrada
from autostrada import Component, PublishOptions, WampError
from crossbar import CrossbarNode

CYCLES = 20
MAX_ITERATIONS = 200_000  # bound of the load loop, whatever happens
PACE = 0.002  # seconds between two iterations of the load: steady, not flat out


@dataclass
class Load:
    """A component that calls and publishes while it is joined; it counts the outcomes."""

    url: str
    calls_ok: int = 0
    publishes_ok: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    joined: asyncio.Event = field(default_factory=asyncio.Event)
    progress: asyncio.Event = field(default_factory=asyncio.Event)
    stop: bool = False

    def __post_init__(self) -> None:
        self.component = Component(transports={"url": self.url, **RETRY})
        self.component.on("ready", lambda session: self.joined.set())
        self.component.on("leave", lambda session, details: self.joined.clear())

    async def run(self) -> None:
        acknowledged = PublishOptions(acknowledge=True)
        for n in range(MAX_ITERATIONS):
            if self.stop:
                return
            if not self.joined.is_set():
                await within(self.joined.wait(), 30.0)
                continue
            session = self.component.session
            if session is None or not session.is_attached():
                await asyncio.sleep(PACE)  # between a leave and its notice: pace on
                continue
            try:
                assert await within(session.call("test.add", n, 1)) == n + 1
                self.calls_ok += 1
                future = session.publish("test.topic", n, options=acknowledged)
                assert future is not None
                await within(future)
                self.publishes_ok += 1
            except WampError as exc:
                self.failures[getattr(exc, "error", None) or type(exc).__name__] += 1
            self.progress.set()
            await asyncio.sleep(PACE)  # the load's pace (it is not waiting for anything)

    async def wait_calls(self, count: int) -> None:
        async with asyncio.timeout(10.0):
            while self.calls_ok < count:
                self.progress.clear()
                await self.progress.wait()


async def restored(url: str, service: Service, n: int) -> None:
    """From a fresh session: the registration and subscription exist and work."""
    async with await within(autostrada.connect(url)) as checker:
        assert await within(checker.call("wamp.registration.lookup", "test.add")) is not None
        assert await within(checker.call("wamp.subscription.lookup", "test.topic")) is not None
        await service.check(checker, -n)


async def cycles(
    url: str,
    count: int,
    kill: Callable[[], None],
    start: Callable[[], None],
    label: str,
) -> dict[str, Any]:
    service = Service(url)
    load = Load(url)
    service_done = service.component.start()
    load_done = load.component.start()
    runner = asyncio.ensure_future(load.run())
    recoveries: list[float] = []
    downtimes: list[float] = []
    try:
        await service.recorder.wait_for("ready")
        await within(load.joined.wait())
        await restored(url, service, 0)
        for cycle in range(1, count + 1):
            await load.wait_calls(load.calls_ok + 20)  # load flows before the kill
            killed = time.monotonic()
            await asyncio.to_thread(kill)
            await service.recorder.wait_for("leave", cycle)
            await asyncio.to_thread(start)
            up = time.monotonic()
            await service.recorder.wait_for("ready", cycle + 1, seconds=10.0)
            ready = service.recorder.args("ready")[cycle][1]
            recoveries.append(ready - up)
            downtimes.append(ready - killed)
            await restored(url, service, cycle)
            await load.wait_calls(load.calls_ok + 20)  # and flows again after
    finally:
        load.stop = True
        await within(runner, 15.0)
        await within(load.component.stop(), 10.0)
        await within(service.component.stop(), 10.0)
    assert service_done.result() is None and load_done.result() is None
    failed = sum(load.failures.values())
    figures = {
        "cycles": count,
        "recovery_median": statistics.median(recoveries),
        "recovery_max": max(recoveries),
        "down_median": statistics.median(downtimes),
        "down_max": max(downtimes),
        "calls_ok": load.calls_ok,
        "publishes_ok": load.publishes_ok,
        "failed": failed,
        "failures": dict(load.failures),
    }
    print(
        f"\n{label}: {count} kill/restart cycles; recovery after the router listens again: "
        f"median {statistics.median(recoveries) * 1000:.0f} ms, "
        f"max {max(recoveries) * 1000:.0f} ms; "
        f"kill to ready: median {figures['down_median']:.2f} s, max {figures['down_max']:.2f} s; "
        f"calls ok {load.calls_ok}, publications ok {load.publishes_ok}, "
        f"failed {failed} {dict(load.failures)}"
    )
    # Every cycle ended with the service back: registrations and subscriptions restored.
    assert len(recoveries) == count
    # Only a request in flight at a kill fails with the session, and a call made in the
    # moment between the load's join and the service's registration finds no procedure.
    assert set(load.failures) <= {"SessionClosed", "wamp.error.no_such_procedure"}
    assert load.failures["SessionClosed"] <= 2 * count
    assert load.calls_ok >= 40 * count
    return figures


def test_twenty_restarts_of_our_router_under_load(tmp_path: Path) -> None:
    router = RouterProcess(tmp_path)
    router.start()
    try:

        @async_test
        async def scenario() -> None:
            await cycles(router.url, CYCLES, router.kill, router.start, "autostrada router")

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("reliability_component_helpers.TEST_TIMEOUT", 90.0)
            scenario()
    finally:
        router.stop()


def test_three_restarts_of_crossbar_under_load(crossbar: CrossbarNode) -> None:
    def kill() -> None:
        pid = crossbar.pid
        assert pid is not None
        os.killpg(pid, signal.SIGKILL)  # the node's process group: controller and router
        crossbar.stop()  # reaps it; the group is gone already

    try:

        @async_test
        async def scenario() -> None:
            await cycles(crossbar.ws_url, 3, kill, crossbar.start, "Crossbar")

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("reliability_component_helpers.TEST_TIMEOUT", 90.0)
            scenario()
    finally:
        if crossbar.pid is None:  # leave the session's node running for other tests
            crossbar.start()
