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

A third "library", **bare**, runs in every RawSocket cell (in this venv, same layout,
same workloads): the least a Python asyncio WAMP client can do, written here from the
spec (``BareSession``): one ``asyncio.Protocol`` per session, the RawSocket handshake and
4-byte frame headers, ``msgpack.packb``/``unpackb`` or orjson (the JSON autostrada
uses), dispatch on the message code with no validation at all, one ``transport.write``
per message, a future per call. It is not a usable client; it is the floor that any
asyncio client pays (event-loop turns, epoll, send/recv syscalls, loopback TCP, the
serializer) and no WAMP library can go below. The report shows its CPU per message and
``(ours - bare) / (Autobahn - bare)``: the share of each library above that floor,
ours over Autobahn's. The goal itself is unchanged (whole-process CPU ratio).

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
import struct
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

WORKLOADS = ("seq", "par100", "events")
WORKLOAD_TITLES = {
    "seq": "sequential calls",
    "par100": "calls, 100 in flight",
    "events": "events, 1 pub → 1 sub",
}
IN_FLIGHT = 100
EVENT_WINDOW = 100
LIBS = ("autostrada", "autobahn", "bare")
BARE_TRANSPORTS = ("rs",)  # bare speaks RawSocket only
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


# --------------------------------------------------------------------------------------
# bare: the floor, not a client. The least an asyncio WAMP client does per message over
# RawSocket, written from the spec for this benchmark: one Protocol per session, a
# 4-byte header per frame, packb/unpackb (or orjson), dispatch on msg[0] without any
# validation, one transport.write per message. It measures what any Python asyncio
# client pays (loop turns, epoll, send/recv, the serializer) that no library can avoid.

HELLO, WELCOME, ABORT, GOODBYE, ERROR = 1, 2, 3, 6, 8
PUBLISH, SUBSCRIBE, SUBSCRIBED, EVENT = 16, 32, 33, 36
CALL, RESULT, REGISTER, REGISTERED, INVOCATION, YIELD = 48, 50, 64, 65, 68, 70
BARE_DETAILS: dict[str, Any] = {
    "roles": {"caller": {}, "callee": {}, "publisher": {}, "subscriber": {}}
}
BARE_TIMEOUT = 10.0  # every wait of the bare client's setup and teardown is bounded
_header = struct.Struct(">I")  # frame type (high octet) and 24-bit payload length


def bare_codec(serializer: str) -> tuple[int, Callable[[Any], bytes], Callable[[bytes], Any]]:
    """RawSocket serializer id, dumps, loads: msgpack, or the JSON autostrada uses."""
    if serializer == "msgpack":
        import msgpack

        return 2, msgpack.packb, msgpack.unpackb
    try:
        import orjson
    except ImportError:
        return 1, lambda value: json.dumps(value).encode(), json.loads
    return 1, orjson.dumps, orjson.loads


def bare_version() -> str:
    import msgpack

    try:
        import orjson
    except ImportError:
        json_name = "stdlib json"
    else:
        json_name = f"orjson {orjson.__version__}"
    return f"msgpack {'.'.join(map(str, msgpack.version))}, {json_name}"


class BareSession(asyncio.Protocol):
    """One WAMP session over RawSocket, with nothing but what a round trip needs."""

    transport: asyncio.Transport

    def __init__(self, serializer: str) -> None:
        self.serializer_id, self.dumps, self.loads = bare_codec(serializer)
        self.loop = asyncio.get_running_loop()
        self.buffer = bytearray()
        self.shaken = False
        self.opened: asyncio.Future[None] = self.loop.create_future()
        self.control: asyncio.Future[list[Any]] | None = None  # WELCOME, ABORT, GOODBYE
        self.pending: dict[int, asyncio.Future[Any]] = {}  # by request id
        self.request_id = 0
        self.procedures: dict[int, Callable[..., Any]] = {}  # by registration id
        self.handlers: dict[int, Callable[..., Any]] = {}  # by subscription id

    @classmethod
    async def open(cls, serializer: str, port: int) -> BareSession:
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(lambda: cls(serializer), "127.0.0.1", port)
        _, session = await asyncio.wait_for(connecting, BARE_TIMEOUT)
        await asyncio.wait_for(session.opened, BARE_TIMEOUT)
        reply = await session.exchange([HELLO, c.REALM, BARE_DETAILS])
        if reply[0] != WELCOME:
            raise RuntimeError(f"not welcomed: {reply}")
        return session

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        # 0x7F, max length we receive 2**24 (LLLL = 15), serializer, two reserved zeros.
        transport.write(bytes((0x7F, 0xF0 | self.serializer_id, 0, 0)))

    def data_received(self, data: bytes) -> None:
        if self.buffer:
            data = bytes(self.buffer + data)
            self.buffer.clear()
        if not self.shaken:
            data = self.handshake(data)
        pos, size = 0, len(data)
        while size - pos >= 4:
            header = _header.unpack_from(data, pos)[0]
            end = pos + 4 + (header & 0xFFFFFF)
            if end > size:
                break
            kind = header >> 24
            if kind == 0:  # a WAMP message
                self.dispatch(self.loads(data[pos + 4 : end]))
            elif kind == 1:  # PING: PONG with the same payload
                self.transport.write(b"\x02" + data[pos + 1 : end])
            pos = end
        if pos < size:
            self.buffer += data[pos:]

    def handshake(self, data: bytes) -> bytes:
        """The router's reply: 0x7F, its max length (ignored: ours are tiny), serializer."""
        if len(data) < 4:
            return data  # kept in the buffer, since no frame fits in it
        if data[0] != 0x7F or data[1] & 0x0F != self.serializer_id:
            self.opened.set_exception(RuntimeError(f"handshake refused: {data[:4]!r}"))
            self.transport.close()
            return b""
        self.shaken = True
        self.opened.set_result(None)
        return data[4:]

    def connection_lost(self, exc: Exception | None) -> None:
        error = ConnectionError(f"connection lost ({exc})")
        for future in (self.opened, self.control, *self.pending.values()):
            if future is not None and not future.done():
                future.set_exception(error)
        self.pending.clear()

    # WAMP

    def dispatch(self, msg: list[Any]) -> None:
        code = msg[0]
        if code == RESULT:  # [RESULT, request, details, args]
            self.pending.pop(msg[1]).set_result(msg[3][0])
        elif code == INVOCATION:  # [INVOCATION, request, registration, details, args]
            result = self.procedures[msg[2]](*msg[4])
            self.send([YIELD, msg[1], {}, [result]])
        elif code == EVENT:  # [EVENT, subscription, publication, details, args]
            self.handlers[msg[1]](*msg[4])
        elif code in (REGISTERED, SUBSCRIBED):  # [REGISTERED, request, registration]
            self.pending.pop(msg[1]).set_result(msg[2])
        elif code == ERROR:  # [ERROR, type, request, details, error, ...]
            self.pending.pop(msg[2]).set_exception(RuntimeError(f"WAMP error {msg[4]}"))
        elif code in (WELCOME, ABORT, GOODBYE) and self.control and not self.control.done():
            self.control.set_result(msg)

    def send(self, msg: list[Any]) -> None:
        payload = self.dumps(msg)
        # Type 0 (regular message) in the high octet, the length below: one int.
        self.transport.write(len(payload).to_bytes(4, "big") + payload)

    def next_id(self) -> int:
        self.request_id += 1
        return self.request_id

    async def exchange(self, msg: list[Any]) -> list[Any]:
        """Send HELLO or GOODBYE and wait for the answer (WELCOME, ABORT, GOODBYE)."""
        self.control = self.loop.create_future()
        self.send(msg)
        return await asyncio.wait_for(self.control, BARE_TIMEOUT)

    async def request(self, msg: list[Any]) -> Any:
        """Send REGISTER or SUBSCRIBE (request id at msg[1]) and wait for its id."""
        future = self.pending[msg[1]] = self.loop.create_future()
        self.send(msg)
        return await asyncio.wait_for(future, BARE_TIMEOUT)

    async def register(self, endpoint: Callable[..., Any], procedure: str) -> None:
        registration = await self.request([REGISTER, self.next_id(), {}, procedure])
        self.procedures[registration] = endpoint

    async def subscribe(self, handler: Callable[..., Any], topic: str) -> None:
        subscription = await self.request([SUBSCRIBE, self.next_id(), {}, topic])
        self.handlers[subscription] = handler

    async def call(self, procedure: str, *args: Any) -> Any:
        request = self.next_id()
        future = self.pending[request] = self.loop.create_future()
        self.send([CALL, request, {}, procedure, list(args)])
        return await future

    def publish(self, topic: str, *args: Any) -> None:
        self.send([PUBLISH, self.next_id(), {}, topic, list(args)])

    async def leave(self) -> None:
        try:
            await self.exchange([GOODBYE, {}, "wamp.close.normal"])
        finally:
            self.transport.close()


async def bare_pair(spec: dict[str, Any]) -> Pair:
    pair = Pair()
    pair.version = bare_version()
    procedure, topic = spec["procedure"], spec["topic"]
    a = await BareSession.open(spec["serializer"], spec["port"])
    b = await BareSession.open(spec["serializer"], spec["port"])
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
                        if lib == "bare" and transport not in BARE_TRANSPORTS:
                            continue
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
        bare_line = f"bare ({versions['bare']}): the floor, not a client; RawSocket only.\n"
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
        "the CPU that each WAMP library spends above that floor, ours over Autobahn's.\n\n"
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
            no_bare = transport not in BARE_TRANSPORTS
            goal = c.goal_status(cpu_ratio <= GOAL, cpu_ratio)
            rows.append(
                [
                    WORKLOAD_TITLES[workload],
                    f"{'WebSocket' if transport == 'ws' else 'RawSocket'}/{serializer}",
                    c.fmt_rate(rate_o),
                    c.fmt_rate(rate_t),
                    c.fmt_num(rate_o / rate_t if ours and theirs else float("nan"), 2),
                    c.fmt_num(cpu_o),
                    c.fmt_num(cpu_t),
                    "—" if no_bare else c.fmt_num(cpu_b),
                    c.fmt_num(cpu_ratio, 2),
                    "—" if no_bare else c.fmt_num(above, 2),
                    f"{med(ours, 'router_pct'):.0f}/{med(theirs, 'router_pct'):.0f}",
                    goal,
                ]
            )
    c.markdown_table(headers, rows, out)


if __name__ == "__main__":
    sys.exit(main())
