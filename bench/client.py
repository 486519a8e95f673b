"""Client benchmark: autostrada vs Autobahn|Python (asyncio) through the same Crossbar.io.

One Crossbar.io node (``tests/crossbar.py``'s ``CrossbarNode``) is started for the whole
run. For each transport (WebSocket, RawSocket) and serializer (JSON, MessagePack), each
library drives three workloads through it:

* ``seq``: sequential calls (the next CALL goes out when the last RESULT is in);
* ``par100``: calls with 100 in flight (100 tasks, each calling in a loop);
* ``events``: events from one publisher session to one subscriber session, with at most
  100 published and not yet received (so nobody's buffers grow without bound).

**Process layout** (printed in the header): each library runs in a process of its own,
autostrada in this venv, Autobahn in ``bench/.venv-autobahn`` (created on first use;
Autobahn is never a dependency of the project). Caller and callee are two sessions in
that one process, and so are publisher and subscriber: the process's CPU time then
covers *both* client sides of every call (CALL out, INVOCATION in, YIELD out, RESULT in)
and of every event (PUBLISH out, EVENT in), and nothing else. The figure is that CPU
time (``time.process_time()`` in the worker, over the timed window only) divided by the
calls or events completed in the window: **client CPU µs per call / per event**.

Crossbar runs at close to a core in every workload (its CPU share is shown), so it
bounds both libraries' throughput; the CPU per message is what shows the client. Goal:
autostrada's CPU per call and per event <= 1/3 of Autobahn's.

A third "library", **bare**, runs in every cell (in this venv, same layout, same
workloads): the least a Python asyncio WAMP client can do, written from the specs
(``BareSession`` in ``_bare.py``, which ``router.py --load bare`` uses too): one
``asyncio.Protocol`` per session, the RawSocket handshake and 4-byte frame headers, or
the WebSocket opening handshake and RFC 6455 frames (client frames masked with the
all-zero key, a shortcut a compliant client cannot take: ~0.5 µs per frame sent),
``msgpack.packb``/``unpackb`` or orjson (the JSON autostrada uses), dispatch on the
message code with no validation at all, one ``transport.write`` per message, a future
per call. It is not a usable client; it is the floor that any asyncio client pays
(event-loop turns, epoll, send/recv syscalls, loopback TCP, the serializer) and no WAMP
library can go below. The report shows its CPU per message and ``(ours - bare) /
(Autobahn - bare)``: the share of each library above that floor, ours over Autobahn's.
The goal itself is unchanged (whole-process CPU ratio).

Each cell is the median of ``--runs`` (>= 3) runs; runs alternate which library goes
first. A window is ``--duration`` seconds after a ``--warmup``. Autobahn runs with its
defaults (stdlib json, NVX UTF-8 validator, no logging).

Usage (from the project venv)::

    .venv/bin/python bench/client.py            # ~3 minutes
    .venv/bin/python bench/client.py --quick    # smoke run, < 60 s, one run per cell
    .venv/bin/python bench/client.py --profile /tmp/prof   # cProfile each worker's windows

Exit status: 0, or 1 if any run failed (a missed goal is reported, not an error).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
from _bare import BareSession, bare_version

WORKLOADS = ("seq", "par100", "events")
WORKLOAD_TITLES = {
    "seq": "sequential calls",
    "par100": "calls, 100 in flight",
    "events": "events, 1 pub → 1 sub",
}
IN_FLIGHT = 100
EVENT_WINDOW = 100
LIBS = ("autostrada", "autobahn", "bare")
CONFIGS = (("ws", "json"), ("ws", "msgpack"), ("rs", "json"), ("rs", "msgpack"))
GOAL = 1 / 3  # our client CPU per message over Autobahn's
ARGS = ("hello, world", 42)  # the call arguments and event payload (~30 bytes)
PROFILES: list[Path] = []


# ======================================================================================
# Worker: one library, two sessions (a: caller + publisher, b: callee + subscriber)


class Sink:
    """The subscriber side of the events workload: counts and releases the publisher."""

    def __init__(self) -> None:
        self.received = 0
        self.meter: c.Meter | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.release_at = 0

    def hit(self, *_args: Any, **_kwargs: Any) -> None:
        self.received += 1
        if self.meter is not None:
            self.meter.count += 1
        waiter = self.waiter
        if waiter is not None and self.received >= self.release_at:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)


class Pair:
    """What the workloads need from a library: call, publish, the sink, close."""

    call: Callable[[], Awaitable[Any]]
    publish: Callable[[], Any]
    close: Callable[[], Awaitable[None]]
    version: str

    def __init__(self) -> None:
        self.sink = Sink()


def echo(text: str, number: int) -> int:
    return number


async def wire(pair: Pair, a: Any, b: Any, procedure: str, topic: str) -> Pair:
    """The same workloads for every library: ``b`` is callee and subscriber, ``a`` calls
    and publishes; both leave (bounded) at the end."""
    await b.register(echo, procedure)
    await b.subscribe(pair.sink.hit, topic)
    pair.call = functools.partial(a.call, procedure, *ARGS)
    pair.publish = functools.partial(a.publish, topic, *ARGS)

    async def close() -> None:
        for session in (a, b):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.leave(), 2.0)

    pair.close = close
    return pair


async def autostrada_pair(spec: dict[str, Any]) -> Pair:
    import autostrada

    pair = Pair()
    pair.version = autostrada.__version__
    url, procedure, topic = spec["url"], spec["procedure"], spec["topic"]
    a = await autostrada.connect(url, c.REALM, serializers=[spec["serializer"]])
    b = await autostrada.connect(url, c.REALM, serializers=[spec["serializer"]])
    return await wire(pair, a, b, procedure, topic)


async def autobahn_pair(spec: dict[str, Any]) -> Pair:
    import autobahn
    import txaio

    txaio.use_asyncio()
    txaio.config.loop = asyncio.get_running_loop()
    from autobahn.asyncio.rawsocket import WampRawSocketClientFactory
    from autobahn.asyncio.wamp import ApplicationSession
    from autobahn.asyncio.websocket import WampWebSocketClientFactory
    from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer
    from autobahn.wamp.types import ComponentConfig

    loop = asyncio.get_running_loop()

    async def open_session() -> Any:
        joined: asyncio.Future[Any] = loop.create_future()

        class BenchSession(ApplicationSession):  # type: ignore[misc]
            def onJoin(self, details: Any) -> None:
                if not joined.done():
                    joined.set_result(self)

            def onDisconnect(self) -> None:
                if not joined.done():
                    joined.set_exception(RuntimeError("disconnected before joining"))

        session = BenchSession(ComponentConfig(realm=c.REALM))
        serializer = JsonSerializer() if spec["serializer"] == "json" else MsgPackSerializer()
        factory: Any
        if spec["transport"] == "ws":
            factory = WampWebSocketClientFactory(
                lambda: session, url=spec["url"], serializers=[serializer]
            )
        else:
            factory = WampRawSocketClientFactory(lambda: session, serializer=serializer)
        await loop.create_connection(factory, "127.0.0.1", spec["port"])
        return await asyncio.wait_for(joined, 10.0)

    pair = Pair()
    pair.version = autobahn.__version__
    procedure, topic = spec["procedure"], spec["topic"]
    a = await open_session()
    b = await open_session()
    return await wire(pair, a, b, procedure, topic)


async def bare_pair(spec: dict[str, Any]) -> Pair:
    pair = Pair()
    pair.version = bare_version()
    procedure, topic = spec["procedure"], spec["topic"]
    a = await BareSession.open(spec["serializer"], spec["url"])  # rs:// or ws://
    b = await BareSession.open(spec["serializer"], spec["url"])
    return await wire(pair, a, b, procedure, topic)


async def run_calls(pair: Pair, meter: c.Meter, in_flight: int) -> None:
    call = pair.call

    async def loop() -> None:
        while not meter.done:
            await call()
            meter.count += 1

    await asyncio.gather(*(loop() for _ in range(in_flight)))


async def run_events(pair: Pair, meter: c.Meter, t1: float) -> None:
    sink = pair.sink
    publish = pair.publish
    loop = asyncio.get_running_loop()
    sink.received = 0
    sink.meter = meter
    published = 0
    try:
        while not meter.done:
            if published - sink.received >= EVENT_WINDOW:
                sink.release_at = published - EVENT_WINDOW // 2
                sink.waiter = loop.create_future()
                timeout = max(1.0, t1 - time.monotonic() + 1.0)
                await asyncio.wait_for(sink.waiter, timeout)
                continue
            publish()
            published += 1
        # Let the last events in, so that the next workload starts from quiet.
        if sink.received < published:
            sink.release_at = published
            sink.waiter = loop.create_future()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sink.waiter, 5.0)
    finally:
        sink.meter = None
        sink.waiter = None


def start_profiler(spec: dict[str, Any]) -> Any:
    if not spec.get("profile"):
        return None
    import cProfile

    # CPU time, not wall time: on a loaded machine wall time lands on whatever syscall
    # the process was preempted in (and the idle wait in epoll would dominate).
    return cProfile.Profile(time.thread_time)


async def client_worker(spec: dict[str, Any]) -> None:
    setups = {"autostrada": autostrada_pair, "autobahn": autobahn_pair, "bare": bare_pair}
    pair = await setups[spec["lib"]](spec)
    c.worker_reply({"ready": True, "version": pair.version})
    async for command in c.worker_commands():
        workload = command["run"]
        meter = c.Meter(command["t0"], command["t1"])
        profiler = start_profiler(spec)
        if profiler is not None:
            meter.on_start = profiler.enable
            meter.on_stop = profiler.disable
        if workload == "seq":
            await run_calls(pair, meter, 1)
        elif workload == "par100":
            await run_calls(pair, meter, IN_FLIGHT)
        else:
            await run_events(pair, meter, command["t1"])
        await meter.stopped.wait()
        if profiler is not None:
            profiler.dump_stats(f"{spec['profile']}.{workload}.pstats")
        c.worker_reply(meter.result())
    await pair.close()


def worker_main(spec_json: str) -> int:
    spec = json.loads(spec_json)
    try:
        asyncio.run(client_worker(spec))
    except Exception as exc:
        traceback.print_exc()
        c.worker_reply({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    return 0


# ======================================================================================
# Orchestrator


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per cell (median; >= 3)")
    parser.add_argument("--duration", type=float, default=1.5, help="timed window, seconds")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds before each window")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 run, short windows")
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="cProfile every worker over its timed windows, to PREFIX.<lib>.<cfg>.<workload>"
        ".pstats (figures then include the profiler's overhead)",
    )
    parser.add_argument(
        "--py-spy",
        metavar="EXE",
        help="sample every worker with this py-spy over its windows, to PREFIX.<lib>.<cfg>."
        "<workload>.txt (PREFIX from --py-spy-out); prints a summary per file",
    )
    parser.add_argument("--py-spy-out", default="/tmp/client-spy", help="py-spy file prefix")
    parser.add_argument("--only", help="comma-separated configs, e.g. ws-json,rs-msgpack")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        return worker_main(options.worker)

    runs = 1 if options.quick else max(3, options.runs)
    duration = 0.5 if options.quick else options.duration
    warmup = 0.25 if options.quick else options.warmup
    configs = CONFIGS
    if options.only:
        wanted = set(options.only.split(","))
        known = {"-".join(cfg) for cfg in CONFIGS}
        if wanted - known:
            parser.error(f"unknown config(s) {sorted(wanted - known)}: choose from {sorted(known)}")
        configs = tuple(cfg for cfg in CONFIGS if "-".join(cfg) in wanted)
    c.raise_fd_limit()
    pythons = {
        "autostrada": sys.executable,
        "autobahn": str(c.autobahn_python()),
        "bare": sys.executable,
    }
    script = str(Path(__file__).resolve())
    load_at_start = c.machine_line()
    c.progress(load_at_start)

    failures = 0
    results: dict[tuple[str, str, str, str], list[dict[str, float]]] = {}
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="autostrada-bench-client-") as tmp:
        tmpdir = Path(tmp)
        node = c.start_crossbar(tmpdir / "crossbar")
        try:
            crossbar_pids = c.group_pids(node.pid)
            c.progress(
                "Crossbar processes: "
                + ", ".join(f"{pid} ({c.proc_cmdline(pid)[:60]})" for pid in crossbar_pids)
            )
            urls = {
                "ws": (node.ws_url, node.ws_port),
                "rs": (f"rs://127.0.0.1:{node.rs_port}", node.rs_port),
            }
            serial = 0
            turn = 0  # which library goes first alternates from cell to cell
            for run in range(runs):
                for transport, serializer in configs:
                    order = LIBS if turn % 2 == 0 else LIBS[::-1]
                    turn += 1
                    for lib in order:
                        serial += 1
                        url, port = urls[transport]
                        name = f"{lib}-{transport}-{serializer}-r{run}"
                        spec = {
                            "name": name,
                            "lib": lib,
                            "transport": transport,
                            "serializer": serializer,
                            "url": url,
                            "port": port,
                            "procedure": f"bench.echo.{serial}",
                            "topic": f"bench.topic.{serial}",
                        }
                        if options.profile:
                            spec["profile"] = f"{options.profile}.{lib}.{transport}-{serializer}"
                        try:
                            argv = [pythons[lib], script]
                            spy = None
                            if options.py_spy:
                                spy = (
                                    options.py_spy,
                                    f"{options.py_spy_out}.{lib}.{transport}-{serializer}",
                                )
                            answers = measure_worker(
                                argv, spec, tmpdir, warmup, duration, crossbar_pids, spy
                            )
                        except Exception as exc:
                            failures += 1
                            c.progress(f"FAILED {name}: {exc}")
                            continue
                        versions[lib] = answers.pop("version")  # type: ignore[arg-type]
                        for workload, figures in answers.items():
                            assert isinstance(figures, dict)
                            results.setdefault((workload, transport, serializer, lib), []).append(
                                figures
                            )
                            c.progress(
                                f"run {run + 1}/{runs} {transport}/{serializer} {lib:<10} "
                                f"{workload:<6} {c.fmt_rate(figures['rate']):>7}/s "
                                f"{figures['cpu_us']:6.1f} µs CPU/msg "
                                f"({100 * figures['sys_share']:2.0f}% sys, "
                                f"{figures['vcsw']:.2f} sleeps/msg, "
                                f"client {figures['client_pct']:3.0f}% CPU, "
                                f"Crossbar {figures['router_pct']:3.0f}%)"
                            )
        finally:
            node.stop()
    print_report(results, versions, runs, duration, warmup, load_at_start)
    for path in dict.fromkeys(PROFILES):
        print(f"\npy-spy profile {path}:\n{c.summarize_collapsed(path)}")
    if failures:
        print(f"\n{failures} worker run(s) FAILED (see above)")
        return 1
    return 0


def measure_worker(
    argv: list[str],
    spec: dict[str, Any],
    tmpdir: Path,
    warmup: float,
    duration: float,
    crossbar_pids: list[int],
    spy: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """One worker process: all three workloads, one window each (py-spy: exe, prefix)."""
    [worker] = c.spawn_ready(argv, [spec], tmpdir)
    out: dict[str, Any] = {}
    try:
        ready = worker_ready_info(worker)
        out["version"] = ready
        for workload in WORKLOADS:
            sampler = None
            if spy is not None:
                path = Path(f"{spy[1]}.{workload}.txt")
                sampler = c.start_py_spy(spy[0], worker.pid, warmup + duration, path)
                PROFILES.append(path)
            [answer], cpu, window = c.run_window(
                [worker], workload, warmup, duration, {"crossbar": crossbar_pids}
            )
            if sampler is not None:
                sampler.wait(timeout=30)
            count = answer["count"]
            if count <= 0:
                raise c.WorkerError(f"{workload}: nothing completed in the window")
            out[workload] = {
                "rate": count / answer["wall"],
                "cpu_us": answer["cpu"] / count * 1e6,
                "router_pct": 100.0 * cpu["crossbar"] / window,
                "client_pct": 100.0 * answer["cpu"] / answer["wall"],
                "sys_share": answer["sys"] / answer["cpu"] if answer["cpu"] else 0.0,
                "vcsw": answer["vcsw"] / count,
            }
    finally:
        worker.close()
    return out


def worker_ready_info(worker: c.Worker) -> str:
    return worker.ready_message.get("version", "?")


def print_report(
    results: dict[tuple[str, str, str, str], list[dict[str, float]]],
    versions: dict[str, str],
    runs: int,
    duration: float,
    warmup: float,
    load_at_start: str,
) -> None:
    out = sys.stdout
    bare_line = ""
    if "bare" in versions:
        bare_line = (
            f"bare ({versions['bare']}): the floor, not a client (WebSocket frames masked "
            "with the zero key).\n"
        )
    out.write(
        f"\n## Client: autostrada {versions.get('autostrada', '?')} vs Autobahn|Python "
        f"{versions.get('autobahn', '?')} (asyncio), through one Crossbar.io node\n\n"
        f"{bare_line}{load_at_start}; load average {c.load_average()} at end.\n"
        f"Median of {runs} run(s) per cell, {duration:g} s windows after {warmup:g} s warm-up. "
        "Each library in its own process: caller + callee (or publisher + subscriber) are "
        "two sessions of that process, so *CPU µs/msg* (process CPU time / messages) covers "
        "both client sides of each call or event. ratio = autostrada / Autobahn. "
        "CB% = Crossbar's CPU (all its processes) during the window, autostrada run / "
        f"Autobahn run. Goal: CPU/msg ratio <= {GOAL:.2f}. *bare* = the least any asyncio "
        "client does (framing, packb/unpackb or orjson, one write per message, dispatch on "
        "the message code, nothing checked), in the same layout; ours - bare / AB - bare = "
        "the CPU that each WAMP library spends above that floor, ours over Autobahn's. "
        "*MISSED (bare x)*: the floor alone costs x of Autobahn's CPU, above the goal.\n\n"
    )
    headers = [
        "workload",
        "transport",
        "autostrada /s",
        "Autobahn /s",
        "ratio",
        "autostrada CPU µs/msg",
        "Autobahn CPU µs/msg",
        "bare CPU µs/msg",
        "CPU ratio",
        "ours - bare / AB - bare",
        "CB% (ours/AB)",
        "goal",
    ]
    rows = []
    for workload in WORKLOADS:
        for transport, serializer in CONFIGS:
            ours = results.get((workload, transport, serializer, "autostrada"), [])
            theirs = results.get((workload, transport, serializer, "autobahn"), [])
            bare = results.get((workload, transport, serializer, "bare"), [])
            if not ours and not theirs:
                continue

            def med(cells: list[dict[str, float]], key: str) -> float:
                return c.median([cell[key] for cell in cells])

            rate_o, rate_t = med(ours, "rate"), med(theirs, "rate")
            cpu_o, cpu_t = med(ours, "cpu_us"), med(theirs, "cpu_us")
            cpu_ratio = cpu_o / cpu_t if ours and theirs else float("nan")
            cpu_b = med(bare, "cpu_us")
            above = (cpu_o - cpu_b) / (cpu_t - cpu_b) if cpu_t > cpu_b else float("nan")
            goal = c.goal_status(cpu_ratio <= GOAL, cpu_ratio)
            if cpu_ratio > GOAL and bare and cpu_b / cpu_t > GOAL:
                goal += f" (bare {cpu_b / cpu_t:.2f})"  # the floor alone misses it
            rows.append(
                [
                    WORKLOAD_TITLES[workload],
                    f"{'WebSocket' if transport == 'ws' else 'RawSocket'}/{serializer}",
                    c.fmt_rate(rate_o),
                    c.fmt_rate(rate_t),
                    c.fmt_num(rate_o / rate_t if ours and theirs else float("nan"), 2),
                    c.fmt_num(cpu_o),
                    c.fmt_num(cpu_t),
                    c.fmt_num(cpu_b),
                    c.fmt_num(cpu_ratio, 2),
                    c.fmt_num(above, 2),
                    f"{med(ours, 'router_pct'):.0f}/{med(theirs, 'router_pct'):.0f}",
                    goal,
                ]
            )
    c.markdown_table(headers, rows, out)


if __name__ == "__main__":
    sys.exit(main())
