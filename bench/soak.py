"""Soak: steady mixed load against our router with periodic restarts, for a bounded time.

A router subprocess (``autostrada router``, realm1 open to anonymous) on a free port of
127.0.0.1; in this process, a service component (procedure ``soak.add``, subscription
``soak.topic``) and ``--clients`` load components, each calling ``soak.add`` and
publishing an acknowledged event every ``--pace`` seconds while joined. Every
``--restart-every`` seconds the router is killed (SIGKILL) and started again on the same
port; the components reconnect by themselves.

Every ``--interval`` seconds one line: calls, publications and events per second, failed
requests, the router's RSS and this process's (the clients') RSS. At the end, a summary:
totals, failures, and RSS growth after warm-up (the first ``--warmup`` seconds): for the
clients from the first sample after warm-up to the last; for the router, its RSS just
before each kill (a new process starts at every restart), first kept after warm-up vs last.
Exit status 1 when a growth exceeds ``--max-growth`` MiB (or the service never came back).

    python bench/soak.py                         # 10 minutes, a restart a minute
    python bench/soak.py --duration 120 --restart-every 30 --interval 10
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import free_port, proc_rss, wait_listening
from autostrada import Component, PublishOptions, WampError

MiB = 1024 * 1024
RETRY = {"initial_retry_delay": 0.05, "retry_delay_growth": 1.5, "max_retry_delay": 0.5}

ROUTER_TOML = """
[router]
shutdown_timeout = 2.0

[[realms]]
name = "realm1"
[[realms.roles]]
name = "anonymous"
[[realms.roles.permissions]]
uri = ""
match = "prefix"
call = true
register = true
publish = true
subscribe = true

[[listeners]]
kind = "universal"
host = "127.0.0.1"
port = {port}
path = "/ws"
"""


class Router:
    """``autostrada router`` in a subprocess on a fixed port: kill it, start it again."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/ws"
        self.config = directory / "soak-router.toml"
        self.config.write_text(ROUTER_TOML.format(port=self.port))
        self.log = directory / "soak-router.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "autostrada.cli", "--log-level", "warning"),
                    *("router", "--config", str(self.config)),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_listening(self.port, self.proc)

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def rss(self) -> int:
        return proc_rss(self.proc.pid) if self.proc is not None else 0


class Counters:
    def __init__(self) -> None:
        self.calls = 0
        self.publishes = 0
        self.events = 0
        self.failures: Counter[str] = Counter()


async def load_loop(component: Component, counters: Counters, pace: float, until: float) -> None:
    acknowledged = PublishOptions(acknowledge=True)
    n = 0
    while time.monotonic() < until:
        session = component.session
        if session is None or not session.is_attached():
            await asyncio.sleep(pace)  # between sessions: the component reconnects
            continue
        n += 1
        try:
            if await session.call("soak.add", n, 1) == n + 1:
                counters.calls += 1
            future = session.publish("soak.topic", n, options=acknowledged)
            if future is not None:
                await asyncio.wait_for(future, 10.0)
                counters.publishes += 1
        except (WampError, TimeoutError) as exc:
            counters.failures[getattr(exc, "error", None) or type(exc).__name__] += 1
        await asyncio.sleep(pace)  # the load's pace


async def soak(args: argparse.Namespace, router: Router) -> int:
    counters = Counters()
    ready = asyncio.Event()
    service = Component(transports={"url": router.url, **RETRY})
    service.register("soak.add")(lambda a, b: a + b)

    def on_event(n: int) -> None:
        counters.events += 1

    service.subscribe("soak.topic")(on_event)
    service.on("ready", lambda session: ready.set())
    service.on("leave", lambda session, details: ready.clear())
    clients = [Component(transports={"url": router.url, **RETRY}) for _ in range(args.clients)]
    started = time.monotonic()
    until = started + args.duration
    tasks = [service.start(), *(c.start() for c in clients)]
    await asyncio.wait_for(ready.wait(), 30.0)
    loops = [asyncio.ensure_future(load_loop(c, counters, args.pace, until)) for c in clients]
    next_restart = started + args.restart_every
    last = (started, 0, 0, 0, 0)
    samples: list[tuple[float, int, int]] = []  # (t, router RSS, client RSS)
    router_before_kill: list[tuple[float, int]] = []
    restarts = 0
    print(
        f"soak: {args.duration:g} s, {args.clients} load clients, pace {args.pace:g} s, "
        f"restart every {args.restart_every:g} s, router {router.url}"
    )
    print("    t  calls/s  publ/s  events/s  failed  router MiB  clients MiB")
    while (now := time.monotonic()) < until:
        await asyncio.sleep(min(args.interval, until - now, max(0.0, next_restart - now)) or 0.01)
        now = time.monotonic()
        if now >= next_restart and now < until:
            router_before_kill.append((now - started, router.rss()))
            await asyncio.to_thread(router.kill)
            await asyncio.to_thread(router.start)
            restarts += 1
            next_restart = now + args.restart_every
        if now - last[0] >= args.interval - 0.05 or now >= until:
            span = now - last[0]
            failed = sum(counters.failures.values())
            router_rss, client_rss = router.rss(), proc_rss(os.getpid())
            samples.append((now - started, router_rss, client_rss))
            print(
                f"{now - started:5.0f}  {(counters.calls - last[1]) / span:7.0f}  "
                f"{(counters.publishes - last[2]) / span:6.0f}  "
                f"{(counters.events - last[3]) / span:8.0f}  {failed - last[4]:6d}  "
                f"{router_rss / MiB:10.1f}  {client_rss / MiB:11.1f}",
                flush=True,
            )
            last = (now, counters.calls, counters.publishes, counters.events, failed)
    for loop in loops:
        await loop
    router_before_kill.append((time.monotonic() - started, router.rss()))
    for component in (service, *clients):
        await component.stop()
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            print(f"a component failed: {task.exception()!r}")
    elapsed = time.monotonic() - started
    print(
        f"total: {counters.calls} calls ({counters.calls / elapsed:.0f}/s), "
        f"{counters.publishes} publications, {counters.events} events, {restarts} restarts, "
        f"failed {sum(counters.failures.values())} {dict(counters.failures)}"
    )
    status = 0
    warm = [s for s in samples if s[0] >= args.warmup]
    if len(warm) >= 2:
        growth = (warm[-1][2] - warm[0][2]) / MiB
        print(
            f"clients RSS after warm-up: {warm[0][2] / MiB:.1f} -> {warm[-1][2] / MiB:.1f} MiB "
            f"({growth:+.1f} MiB)"
        )
        status |= growth > args.max_growth
    kills = [r for t, r in router_before_kill if t >= args.warmup]
    if len(kills) >= 2:
        growth = (kills[-1] - kills[0]) / MiB
        print(
            "router RSS at the end of each run after warm-up: "
            + ", ".join(f"{r / MiB:.1f}" for r in kills)
            + f" MiB ({growth:+.1f} MiB)"
        )
        status |= growth > args.max_growth
    if counters.calls == 0 or counters.events == 0:
        print("no load went through")
        status = 1
    print("verdict:", "RSS stable, load served" if status == 0 else "FAILED")
    return int(status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--restart-every", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--interval", type=float, default=10.0, help="report every N seconds")
    parser.add_argument("--clients", type=int, default=2, help="load components (default 2)")
    parser.add_argument("--pace", type=float, default=0.002, help="seconds between requests")
    parser.add_argument("--warmup", type=float, default=None, help="seconds (default 20%%)")
    parser.add_argument("--max-growth", type=float, default=10.0, help="MiB allowed after warm-up")
    parser.add_argument("--log-level", default="error", help="autostrada's (default error)")
    args = parser.parse_args()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("autostrada").setLevel(args.log_level.upper())
    if args.warmup is None:
        args.warmup = args.duration * 0.2
    with tempfile.TemporaryDirectory(prefix="soak-") as directory:
        router = Router(Path(directory))
        router.start()
        try:
            return asyncio.run(soak(args, router))
        finally:
            router.kill()


if __name__ == "__main__":
    sys.exit(main())
