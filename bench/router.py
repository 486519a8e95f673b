"""Router benchmark: autostrada's router vs Crossbar.io, driven by the same client.

Both routers run for the whole script, each in processes of its own on 127.0.0.1:
ours as ``autostrada router --config <tmp>.toml``, Crossbar.io as a node started by
``tests/crossbar.py``'s ``CrossbarNode``. Both grant the anonymous role everything on
``realm1`` and disclose caller and publisher (Crossbar's test config does; ours is
configured alike, so both send the same messages). The load comes from autostrada
clients (the cheaper client: see ``client.py``), in separate worker processes:

* ``calls100``: calls with 100 in flight, from ``--load-procs`` processes (each a
  caller + callee pair on a procedure of its own, 100 / N in flight each);
* ``events1`` / ``events10``: events from one publisher process to 1 subscriber
  session, and to 10 subscriber sessions spread over ``--sub-procs`` processes. The
  publisher keeps at most 100 events published and not yet received by the slowest
  subscriber (subscribers report progress on a Unix datagram socket, outside WAMP), so
  no router buffers grow without bound;
* ``latency``: sequential calls (caller + callee in one process); round-trip p50/p99;
* ``rss``: the router's RSS with 1,000 idle sessions (opened 50 at a time from two
  processes), against its RSS before.

Figures: **routed messages/s**, a routed message being one the router delivers as the
result of another's (INVOCATION and RESULT: 2 per call; one EVENT per subscriber per
publication); the **router's CPU µs per routed message** (CPU time of its processes
from ``/proc`` over the window: for Crossbar all its processes, controller and router
worker, whose share is also shown); the router's CPU load during the window. Each cell
is the median of ``--runs`` (>= 3) runs; runs alternate which router goes first.

Caveat: this machine has 2 cores, and the routers and the client processes compete for
them. A router below ~90 % CPU is not saturated (the clients are the bottleneck), so
its messages/s understate it; the CPU per routed message is the robust comparison.

``--load bare`` generates the load with ``BareSession`` (``_bare.py``, the floor that
``client.py`` measures: framing, the serializer, one write per message, nothing
checked; over RawSocket or WebSocket, whichever the config says) instead of
autostrada's client: about half the client CPU per message, so more of the 2 cores is
left to the router, ours gets closer to saturation and the msgs/s ratio shows more of
the router (Crossbar, near a core already, barely changes). Same workers, flow control
(100 calls in flight; 100 events ahead of the slowest subscriber) and windows; only
``connect`` differs. The header and every row say which load it had. The RSS test
always uses autostrada sessions over WebSocket.

Goals: >= 5x Crossbar's routed messages/s and <= 1/5 of its CPU per routed message.

Usage (from the project venv)::

    .venv/bin/python bench/router.py            # ~3.5 minutes
    .venv/bin/python bench/router.py --quick    # smoke run, < 60 s
    .venv/bin/python bench/router.py --load bare --configs ws-json   # cheaper load
    .venv/bin/python bench/router.py --profile /tmp/router.pstats   # cProfile our router
    .venv/bin/python bench/router.py --py-spy /path/to/py-spy      # sample it per window

Exit status: 0, or 1 if any run failed (a missed goal is reported, not an error).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
from _bare import BareSession

ARGS = ("hello, world", 42)
IN_FLIGHT = 100
EVENT_WINDOW = 100  # events published and not yet received by the slowest subscriber
EVENT_STEP = 10  # the publisher publishes in bursts of this many; subscribers report as often
IDLE_SESSIONS = 1000
IDLE_PROCS = 2
IDLE_CONCURRENCY = 50
GOAL_RATE = 5.0
GOAL_CPU = 1 / 5
SCENARIOS = ("calls100", "events1", "events10", "latency")
TITLES = {
    "calls100": "calls, 100 in flight",
    "events1": "events, 1 pub → 1 sub",
    "events10": "events, 1 pub → 10 subs",
}
CONFIGS = {"ws-json": ("ws", "json"), "rs-msgpack": ("rs", "msgpack")}
ROUTERS = ("autostrada", "crossbar")
LOADS = ("autostrada", "bare")  # --load: the client that generates the load


# ======================================================================================
# Workers (autostrada clients, or BareSession with --load bare; both have the same
# register / call / subscribe / publish, so the workloads below serve both)


async def connect(spec: dict[str, Any]) -> Any:
    if spec["load"] == "bare":  # RawSocket or WebSocket, from the URL's scheme
        return await BareSession.open(spec["serializer"], spec["url"])
    import autostrada

    return await autostrada.connect(spec["url"], c.REALM, serializers=[spec["serializer"]])


def echo(text: str, number: int) -> int:
    return number


async def calls_worker(spec: dict[str, Any]) -> None:
    """Caller + callee on a procedure of their own; ``in_flight`` calls at a time."""
    caller, callee = await asyncio.gather(connect(spec), connect(spec))
    await callee.register(echo, spec["procedure"])
    call = functools.partial(caller.call, spec["procedure"], *ARGS)
    c.worker_reply({"ready": True})
    async for command in c.worker_commands():
        meter = c.Meter(command["t0"], command["t1"])
        samples: list[int] = []
        await asyncio.gather(*(call_loop(call, meter, samples) for _ in range(spec["in_flight"])))
        await meter.stopped.wait()
        samples.sort()
        result: dict[str, Any] = meter.result()
        result["p50_us"] = c.quantile(samples, 0.50) / 1000
        result["p99_us"] = c.quantile(samples, 0.99) / 1000
        c.worker_reply(result)


async def call_loop(call: Any, meter: c.Meter, samples: list[int]) -> None:
    """Call until the window ends; round-trip times (ns) of the calls inside it."""
    clock = time.perf_counter_ns
    while not meter.done:
        start = clock()
        await call()
        if meter.active:
            samples.append(clock() - start)
        meter.count += 1


async def publisher_worker(spec: dict[str, Any]) -> None:
    """Publishes in bursts while the slowest subscriber is < EVENT_WINDOW behind."""
    session = await connect(spec)
    publish = functools.partial(session.publish, spec["topic"], *ARGS)
    loop = asyncio.get_running_loop()
    credits = [0] * spec["sub_procs"]
    wake = asyncio.Event()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(spec["credit_path"])
    sock.setblocking(False)

    def on_credit() -> None:
        while True:
            try:
                data = sock.recv(64)
            except BlockingIOError:
                break
            index, received = struct.unpack("!II", data)
            credits[index] = max(credits[index], received)
        wake.set()

    loop.add_reader(sock.fileno(), on_credit)
    c.worker_reply({"ready": True})
    published = 0
    async for command in c.worker_commands():
        meter = c.Meter(command["t0"], command["t1"])
        while not meter.done:
            if published + EVENT_STEP - min(credits) > EVENT_WINDOW:
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), 1.0)
                continue
            for _ in range(EVENT_STEP):
                publish()
            published += EVENT_STEP
            meter.count += EVENT_STEP
        await meter.stopped.wait()
        # Wait (bounded) for the subscribers to catch up before the next command.
        deadline = time.monotonic() + 5.0
        while min(credits) < published and time.monotonic() < deadline:
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), 0.5)
        result: dict[str, Any] = meter.result()
        result["lagging"] = published - min(credits)
        c.worker_reply(result)


async def subscriber_worker(spec: dict[str, Any]) -> None:
    """``sessions`` subscribers; reports the slowest one's count every EVENT_STEP events."""
    sessions = await asyncio.gather(*(connect(spec) for _ in range(spec["sessions"])))
    counts = [0] * len(sessions)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    index = spec["index"]
    path = spec["credit_path"]
    state: dict[str, Any] = {"meter": None, "sent": 0}

    def handler(slot: int, *_args: Any) -> None:
        counts[slot] += 1
        meter = state["meter"]
        if meter is not None:
            meter.count += 1
        if counts[slot] % EVENT_STEP == 0:
            slowest = min(counts)
            if slowest > state["sent"]:
                state["sent"] = slowest
                with contextlib.suppress(OSError):  # the publisher may be gone already
                    sock.sendto(struct.pack("!II", index, slowest), path)

    for slot, session in enumerate(sessions):
        await session.subscribe(functools.partial(handler, slot), spec["topic"])
    c.worker_reply({"ready": True})
    async for command in c.worker_commands():
        meter = c.Meter(command["t0"], command["t1"])
        state["meter"] = meter
        await meter.stopped.wait()
        state["meter"] = None
        c.worker_reply(meter.result())


async def idle_worker(spec: dict[str, Any]) -> None:
    """Open ``sessions`` sessions, ``concurrency`` at a time; hold them until stdin ends."""
    limit = asyncio.Semaphore(spec["concurrency"])

    async def one() -> Any:
        async with limit:
            return await connect(spec)

    started = time.monotonic()
    sessions = await asyncio.gather(*(one() for _ in range(spec["sessions"])))
    c.worker_reply({"ready": True, "opened": len(sessions), "seconds": time.monotonic() - started})
    async for _command in c.worker_commands():
        pass
    os._exit(0)  # drop the connections at once; the router cleans up


def worker_main(spec_json: str) -> int:
    spec = json.loads(spec_json)
    role = {
        "calls": calls_worker,
        "pub": publisher_worker,
        "sub": subscriber_worker,
        "idle": idle_worker,
    }[spec["role"]]
    try:
        asyncio.run(role(spec))
    except Exception as exc:
        traceback.print_exc()
        c.worker_reply({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    return 0


# ======================================================================================
# Routers


ROUTER_TOML = """\
# Written by bench/router.py: what tests/crossbar.py configures on Crossbar.
[[realms]]
name = "{realm}"

[[realms.roles]]
name = "anonymous"

[[realms.roles.permissions]]
uri = ""
match = "prefix"
call = true
register = true
publish = true
subscribe = true
disclose_caller = true
disclose_publisher = true

[[listeners]]
kind = "websocket"
port = {ws_port}
path = "/"

[[listeners]]
kind = "rawsocket"
port = {rs_port}
"""


class Router:
    """A running router: its URLs, and the processes whose CPU and RSS we read."""

    name: str
    urls: dict[str, str]
    pids: list[int]  # all of its processes
    main_pid: int  # the one that routes (Crossbar's router worker)

    def stop(self) -> None:
        raise NotImplementedError


class OurRouter(Router):
    def __init__(self, tmpdir: Path, profile: str | None) -> None:
        self.name = "autostrada"
        ws_port, rs_port = c.free_port(), c.free_port()
        config = tmpdir / "router.toml"
        config.write_text(ROUTER_TOML.format(realm=c.REALM, ws_port=ws_port, rs_port=rs_port))
        if profile:
            code = (
                "import cProfile, sys, time\n"
                "from autostrada.cli import main\n"
                "p = cProfile.Profile(time.thread_time)\n"
                "p.enable()\n"
                "try:\n    main(sys.argv[2:])\n"
                "finally:\n    p.disable()\n    p.dump_stats(sys.argv[1])\n"
            )
            argv = [sys.executable, "-c", code, profile]
        else:
            argv = [sys.executable, "-c", "import sys; from autostrada.cli import main; main()"]
        argv += ["--log-level", "warning", "router", "--config", str(config)]
        self._log = (tmpdir / "router.log").open("ab")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.urls = {"ws": f"ws://127.0.0.1:{ws_port}/ws", "rs": f"rs://127.0.0.1:{rs_port}"}
        try:
            c.wait_listening(ws_port, self.proc)
            c.wait_listening(rs_port, self.proc)
        except Exception as exc:
            self.stop()
            log = (tmpdir / "router.log").read_text(errors="replace").splitlines()
            tail = "\n".join(log[-12:])
            raise RuntimeError(f"our router did not start: {exc}; its output:\n{tail}") from None
        except BaseException:
            self.stop()
            raise
        self.pids = [self.proc.pid]
        self.main_pid = self.proc.pid

    def stop(self) -> None:
        c.stop_process(self.proc)
        self._log.close()


class CrossbarRouter(Router):
    def __init__(self, tmpdir: Path) -> None:
        self.name = "crossbar"
        self.node = c.start_crossbar(tmpdir / "crossbar")
        self.urls = {"ws": self.node.ws_url, "rs": f"rs://127.0.0.1:{self.node.rs_port}"}
        self.pids = c.group_pids(self.node.pid)
        workers = [p for p in self.pids if "RouterController" in c.proc_cmdline(p)]
        self.main_pid = workers[0] if workers else self.node.pid
        c.progress(
            "Crossbar processes: "
            + ", ".join(f"{pid} ({c.proc_cmdline(pid)[:70]})" for pid in self.pids)
        )

    def stop(self) -> None:
        self.node.stop()


# ======================================================================================
# Scenarios


class Bench:
    def __init__(self, options: argparse.Namespace, tmpdir: Path) -> None:
        self.options = options
        self.tmpdir = tmpdir
        self.argv = [sys.executable, str(Path(__file__).resolve())]
        self.serial = 0
        self.profiles: list[Path] = []
        self.rss_baseline: dict[str, tuple[int, int]] = {}

    def spec(self, router: Router, config: str, role: str, **more: Any) -> dict[str, Any]:
        self.serial += 1
        transport, serializer = CONFIGS[config]
        return {
            "name": f"{router.name}-{config}-{role}-{self.serial}",
            "role": role,
            "url": router.urls[transport],
            "serializer": serializer,
            "load": self.options.load,
            **more,
        }

    def window(
        self, workers: list[c.Worker], router: Router
    ) -> tuple[list[dict[str, Any]], dict[str, float], float]:
        groups = {"all": router.pids, "main": [router.main_pid]}
        return c.run_window(workers, "go", self.options.warmup, self.options.duration, groups)

    def scenario(self, router: Router, config: str, scenario: str) -> dict[str, float]:
        specs: list[dict[str, Any]] = []
        if scenario in ("calls100", "latency"):
            procs = self.options.load_procs if scenario == "calls100" else 1
            in_flight = IN_FLIGHT // procs if scenario == "calls100" else 1
            for _ in range(procs):
                procedure = f"bench.echo.{self.serial}"
                specs.append(
                    self.spec(router, config, "calls", procedure=procedure, in_flight=in_flight)
                )
        else:
            total = 1 if scenario == "events1" else 10
            procs = min(total, self.options.sub_procs)
            topic = f"bench.topic.{self.serial}"
            path = str(self.tmpdir / f"credits-{self.serial}.sock")
            for index in range(procs):
                sessions = total // procs + (1 if index < total % procs else 0)
                specs.append(
                    self.spec(
                        router,
                        config,
                        "sub",
                        topic=topic,
                        sessions=sessions,
                        index=index,
                        credit_path=path,
                    )
                )
            # The publisher binds the credit socket: it must be ready before the others
            # send to it, which they do only once the window starts.
            specs.insert(
                0,
                self.spec(router, config, "pub", topic=topic, sub_procs=procs, credit_path=path),
            )
        workers = c.spawn_ready(self.argv, specs, self.tmpdir)
        spy = None
        if self.options.py_spy and router.name == "autostrada":
            out = Path(f"{self.options.py_spy_out}.{config}.{scenario}.txt")
            seconds = self.options.warmup + self.options.duration
            spy = c.start_py_spy(self.options.py_spy, router.main_pid, seconds, out)
            self.profiles.append(out)
        try:
            answers, cpu, window = self.window(workers, router)
        finally:
            c.close_all(workers)
            if spy is not None:
                spy.wait(timeout=30)
        if scenario in ("calls100", "latency"):
            calls = sum(a["count"] for a in answers)
            routed = 2 * calls
            client_cpu = sum(a["cpu"] for a in answers)
        else:
            routed = sum(a["count"] for a in answers[1:])  # EVENTs received
            client_cpu = sum(a["cpu"] for a in answers)
            if answers[0]["lagging"] > EVENT_WINDOW:
                c.progress(f"  note: subscribers ended {answers[0]['lagging']} events behind")
        if routed <= 0:
            raise c.WorkerError(f"{scenario}: nothing was routed in the window")
        wall = max(a["wall"] for a in answers)
        figures = {
            "rate": routed / wall,
            "cpu_us": cpu["all"] / routed * 1e6,
            "main_cpu_us": cpu["main"] / routed * 1e6,
            "router_pct": 100.0 * cpu["all"] / window,
            "client_pct": 100.0 * client_cpu / wall,
        }
        if scenario == "latency":
            figures["p50_us"] = answers[0]["p50_us"]
            figures["p99_us"] = answers[0]["p99_us"]
        return figures

    def rss(self, router: Router, config: str) -> dict[str, float]:
        per_proc = IDLE_SESSIONS // IDLE_PROCS
        specs = [
            self.spec(router, config, "idle", sessions=per_proc, concurrency=IDLE_CONCURRENCY)
            for _ in range(IDLE_PROCS)
        ]
        # The baseline is the fresh router's, read before its first sessions: later
        # rounds reuse the heap the first one grew, so their own "before" would hide it.
        if router.name not in self.rss_baseline:
            self.rss_baseline[router.name] = (
                c.proc_rss(router.main_pid),
                sum(c.proc_rss(pid) for pid in router.pids),
            )
        before, before_all = self.rss_baseline[router.name]
        started = time.monotonic()
        workers = c.spawn_ready(self.argv, specs, self.tmpdir, timeout=180.0)
        try:
            opened = time.monotonic() - started
            time.sleep(1.0)  # let the router settle
            after = c.proc_rss(router.main_pid)
            after_all = sum(c.proc_rss(pid) for pid in router.pids)
        finally:
            c.close_all(workers)
        time.sleep(2.0)  # let the router drop the sessions before what comes next
        return {
            "before_mib": before / 2**20,
            "after_mib": after / 2**20,
            "after_all_mib": after_all / 2**20,
            "before_all_mib": before_all / 2**20,
            "per_session_kib": (after - before) / IDLE_SESSIONS / 1024,
            "open_s": opened,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per cell (median; >= 3)")
    parser.add_argument("--duration", type=float, default=2.0, help="timed window, seconds")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds before each window")
    parser.add_argument("--load-procs", type=int, default=2, help="processes for calls100")
    parser.add_argument("--sub-procs", type=int, default=2, help="processes for 10 subscribers")
    parser.add_argument(
        "--load",
        choices=LOADS,
        default="autostrada",
        help="client that generates the load: autostrada (default), or bare (BareSession "
        "from _bare.py, RawSocket or WebSocket, about half the client CPU per message, so "
        "that our router gets closer to saturation)",
    )
    parser.add_argument(
        "--configs",
        default="ws-json,rs-msgpack",
        help="transport-serializer pairs: ws-json (headline), rs-msgpack",
    )
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="subset of " + ",".join(SCENARIOS)
    )
    parser.add_argument("--no-rss", action="store_true", help="skip the 1,000-session RSS test")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 run, short windows")
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="run our router under cProfile (CPU time) and write its stats to PATH",
    )
    parser.add_argument(
        "--py-spy",
        metavar="EXE",
        help="sample our router with this py-spy during every window (adds load)",
    )
    parser.add_argument(
        "--py-spy-out", default="/tmp/router-spy", help="prefix of py-spy's output files"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        return worker_main(options.worker)
    if options.quick:
        options.runs, options.duration, options.warmup = 1, 0.6, 0.3
    options.runs = max(options.runs, 1 if options.quick else 3)
    configs = [cfg for cfg in options.configs.split(",") if cfg]
    for cfg in configs:
        if cfg not in CONFIGS:
            parser.error(f"unknown config {cfg!r}: choose from {', '.join(CONFIGS)}")
    scenarios = [s for s in options.scenarios.split(",") if s]
    for scenario in scenarios:
        if scenario not in SCENARIOS:
            parser.error(f"unknown scenario {scenario!r}: choose from {', '.join(SCENARIOS)}")
    c.raise_fd_limit()
    load_at_start = c.machine_line()
    c.progress(load_at_start)
    c.progress(f"load generator: {load_line(options)}")

    failures = 0
    results: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    rss: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="autostrada-bench-router-") as tmp:
        tmpdir = Path(tmp)
        routers: dict[str, Router] = {}
        bench = Bench(options, tmpdir)
        try:
            routers["autostrada"] = OurRouter(tmpdir, options.profile)
            c.progress(f"autostrada router started (pid {routers['autostrada'].main_pid})")
            routers["crossbar"] = CrossbarRouter(tmpdir)
            rss_runs = 0 if options.no_rss else (1 if options.quick else options.runs)
            for run in range(rss_runs):
                for name in ROUTERS if run % 2 == 0 else ROUTERS[::-1]:
                    try:
                        figures = bench.rss(routers[name], "ws-json")
                    except Exception as exc:
                        failures += 1
                        c.progress(f"FAILED rss {name}: {exc}")
                        continue
                    rss.setdefault(name, []).append(figures)
                    c.progress(
                        f"rss run {run + 1}/{rss_runs} {name:<10} {figures['before_mib']:.1f} MiB"
                        f" -> {figures['after_mib']:.1f} MiB with {IDLE_SESSIONS} sessions "
                        f"({figures['per_session_kib']:.1f} KiB/session; all processes "
                        f"{figures['after_all_mib']:.1f} MiB; opened in {figures['open_s']:.1f} s)"
                    )
            turn = 0  # which router goes first alternates from cell to cell
            for run in range(options.runs):
                for config in configs:
                    for scenario in scenarios:
                        order = ROUTERS if turn % 2 == 0 else ROUTERS[::-1]
                        turn += 1
                        for name in order:
                            try:
                                figures = bench.scenario(routers[name], config, scenario)
                            except Exception as exc:
                                failures += 1
                                c.progress(f"FAILED {name} {config} {scenario}: {exc}")
                                continue
                            results.setdefault((scenario, config, name), []).append(figures)
                            extra = (
                                f", p50 {figures['p50_us']:.0f} µs p99 {figures['p99_us']:.0f} µs"
                                if scenario == "latency"
                                else ""
                            )
                            c.progress(
                                f"run {run + 1}/{options.runs} {config} {scenario:<8} {name:<10} "
                                f"{c.fmt_rate(figures['rate']):>7} routed msgs/s, "
                                f"{figures['cpu_us']:5.1f} µs CPU/msg "
                                f"(router {figures['router_pct']:3.0f}% CPU, "
                                f"clients {figures['client_pct']:3.0f}%{extra})"
                            )
        finally:
            for router in routers.values():
                with contextlib.suppress(Exception):
                    router.stop()
    print_report(options, configs, results, rss, load_at_start)
    if options.py_spy:
        for path in dict.fromkeys(bench.profiles):
            print(f"\npy-spy profile of our router, {path}:\n{c.summarize_collapsed(path)}")
    if failures:
        print(f"\n{failures} measurement(s) FAILED (see above)")
        return 1
    return 0


def print_report(
    options: argparse.Namespace,
    configs: list[str],
    results: dict[tuple[str, str, str], list[dict[str, float]]],
    rss: dict[str, list[dict[str, float]]],
    load_at_start: str,
) -> None:
    out = sys.stdout

    def med(scenario: str, config: str, router: str, key: str) -> float:
        return c.median([r[key] for r in results.get((scenario, config, router), [])])

    out.write(
        "\n## Router: autostrada vs Crossbar.io, same client in the same run\n\n"
        f"Load generator: {load_line(options)}.\n"
        f"{load_at_start}; load average {c.load_average()} at end.\n"
        f"Median of {options.runs} run(s) per cell, {options.duration:g} s windows after "
        f"{options.warmup:g} s warm-up; calls100 from {options.load_procs} client processes, "
        f"10 subscribers in {options.sub_procs} processes. Routed message = INVOCATION, RESULT "
        "(2 per call) or EVENT (1 per subscriber). CPU = the router's processes (Crossbar: "
        "controller + router worker; worker alone in brackets). Router% = its CPU load "
        "in the window (100 = one core): below ~90 the clients, which share the 2 cores, "
        "are the bottleneck. ratio = autostrada / Crossbar. msgs/s per router core = "
        "1e6 / CPU µs per msg: what the router would route with a core to itself.\n"
        f"Goals: msgs/s ratio >= {GOAL_RATE:g} and CPU/msg ratio <= {GOAL_CPU:.2f}.\n\n"
    )
    headers = [
        "workload",
        "transport",
        "autostrada msgs/s",
        "Crossbar msgs/s",
        "ratio",
        "autostrada CPU µs/msg",
        "Crossbar CPU µs/msg",
        "CPU ratio",
        "router% (ours/CB)",
        "msgs/s per router core (ours/CB)",
        "goal",
    ]
    rows = []
    for scenario in ("calls100", "events1", "events10"):
        for config in configs:
            rate_o = med(scenario, config, "autostrada", "rate")
            rate_t = med(scenario, config, "crossbar", "rate")
            cpu_o = med(scenario, config, "autostrada", "cpu_us")
            cpu_t = med(scenario, config, "crossbar", "cpu_us")
            cpu_t_main = med(scenario, config, "crossbar", "main_cpu_us")
            rate_ratio, cpu_ratio = rate_o / rate_t, cpu_o / cpu_t
            goal = c.goal_status(
                rate_ratio >= GOAL_RATE and cpu_ratio <= GOAL_CPU, rate_ratio, cpu_ratio
            )
            if goal == "MISSED":
                missed = [
                    what
                    for what, ok in (
                        ("rate", rate_ratio >= GOAL_RATE),
                        ("CPU", cpu_ratio <= GOAL_CPU),
                    )
                    if not ok
                ]
                goal = f"MISSED ({', '.join(missed)})"
            rows.append(
                [
                    TITLES[scenario],
                    row_transport(options, config),
                    c.fmt_rate(rate_o),
                    c.fmt_rate(rate_t),
                    c.fmt_num(rate_ratio, 2),
                    c.fmt_num(cpu_o),
                    f"{c.fmt_num(cpu_t)} ({c.fmt_num(cpu_t_main)})",
                    c.fmt_num(cpu_ratio, 2),
                    f"{c.fmt_num(med(scenario, config, 'autostrada', 'router_pct'), 0)}/"
                    f"{c.fmt_num(med(scenario, config, 'crossbar', 'router_pct'), 0)}",
                    f"{c.fmt_rate(1e6 / cpu_o)}/{c.fmt_rate(1e6 / cpu_t)}",
                    goal,
                ]
            )
    c.markdown_table(headers, rows, out)

    out.write("\nSequential call round trip through the router (one caller, one callee):\n\n")
    rows = []
    for config in configs:
        for key, label in (("p50_us", "p50"), ("p99_us", "p99")):
            ours = med("latency", config, "autostrada", key)
            theirs = med("latency", config, "crossbar", key)
            rows.append(
                [
                    f"round trip {label}",
                    row_transport(options, config),
                    f"{c.fmt_num(ours, 0)} µs",
                    f"{c.fmt_num(theirs, 0)} µs",
                    c.fmt_num(ours / theirs, 2),
                ]
            )
        ours_cpu = med("latency", config, "autostrada", "cpu_us")
        theirs_cpu = med("latency", config, "crossbar", "cpu_us")
        rows.append(
            [
                "router CPU µs/msg, sequential",
                row_transport(options, config),
                c.fmt_num(ours_cpu),
                c.fmt_num(theirs_cpu),
                c.fmt_num(ours_cpu / theirs_cpu, 2),
            ]
        )
    c.markdown_table(["latency", "transport", "autostrada", "Crossbar", "ratio"], rows, out)

    if rss:
        out.write(
            f"\nRouter RSS with {IDLE_SESSIONS:,} idle sessions (autostrada clients on "
            "WebSocket/json whatever --load says; the routing "
            "process: Crossbar's router worker; all Crossbar processes in brackets):\n\n"
        )

        def rss_med(router: str, key: str) -> float:
            return c.median([r[key] for r in rss.get(router, [])])

        rows = []
        for key, label, unit in (
            ("before_mib", "RSS before any session", "MiB"),
            ("after_mib", f"RSS with {IDLE_SESSIONS:,} sessions", "MiB"),
            ("per_session_kib", "per session", "KiB"),
            ("open_s", f"time to open {IDLE_SESSIONS:,} sessions", "s"),
        ):
            ours, theirs = rss_med("autostrada", key), rss_med("crossbar", key)
            theirs_text = f"{c.fmt_num(theirs)} {unit}"
            if key in ("before_mib", "after_mib"):
                all_key = key.replace("_mib", "_all_mib")
                theirs_text += f" ({c.fmt_num(rss_med('crossbar', all_key))})"
            rows.append(
                [label, f"{c.fmt_num(ours)} {unit}", theirs_text, c.fmt_num(ours / theirs, 2)]
            )
        first_o = rss.get("autostrada", [{}])[0].get("per_session_kib", float("nan"))
        first_t = rss.get("crossbar", [{}])[0].get("per_session_kib", float("nan"))
        rows.insert(
            3,
            [
                "per session, first round (fresh router)",
                f"{c.fmt_num(first_o)} KiB",
                f"{c.fmt_num(first_t)} KiB",
                c.fmt_num(first_o / first_t, 2),
            ],
        )
        c.markdown_table(["memory", "autostrada", "Crossbar", "ratio"], rows, out)
        out.write(
            "\n(per session = (RSS with the sessions - RSS before any session) / "
            f"{IDLE_SESSIONS:,}; later rounds include heap the first round left behind.)\n"
        )


def transport_name(config: str) -> str:
    transport, serializer = CONFIGS[config]
    return f"{'WebSocket' if transport == 'ws' else 'RawSocket'}/{serializer}"


def load_line(options: argparse.Namespace) -> str:
    if options.load == "autostrada":
        return "autostrada clients (--load autostrada, the default)"
    return (
        "bare (--load bare: BareSession from bench/_bare.py, the floor any Python asyncio "
        "client pays, not a usable client; WebSocket client frames masked with the zero "
        "key), on every transport"
    )


def row_transport(options: argparse.Namespace, config: str) -> str:
    """The transport cell; with --load bare it says so, so that a pasted row does too."""
    if options.load == "autostrada":
        return transport_name(config)
    return f"{transport_name(config)} (bare load)"


if __name__ == "__main__":
    sys.exit(main())
