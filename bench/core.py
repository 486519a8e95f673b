"""Serializer benchmark: autostrada vs Autobahn|Python, measured in the same run.

A *round trip* is what a peer does per message: encode a built message to bytes,
then decode those bytes back to a validated message object. For each message type
(CALL, RESULT, EVENT, PUBLISH), payload (small ~50 B, medium ~4 KiB) and format, the
script prints round trips per second for autostrada (JSON on orjson and on the
standard library, MessagePack, CBOR) and for Autobahn's own serializer classes, and
the ratio ours/Autobahn. Each cell is the median of several timed runs.

Autobahn is never a dependency of the project: run from the project's venv
(``make bench`` or ``.venv/bin/python bench/core.py``), the script creates or reuses
``bench/.venv-autobahn`` with ``autobahn`` and this project (``pip install -e .[fast]``)
and re-executes itself there.

Fairness: Autobahn caches a message's serialization per message object, so the
cache is cleared before every encode (``msg.uncache()``); otherwise both sides encode
an already-built message and decode into new message objects, with the strict
validation each library does. Autobahn JSON is its default (stdlib json with its
binary hooks, no ``AUTOBAHN_USE_UJSON``).

Options: ``--quick`` (1 run per cell, for a smoke test), ``--runs N``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / "bench" / ".venv-autobahn"
AUTOBAHN = "autobahn==26.10.2"  # the release DESIGN.md's findings were made with
TARGET_SECONDS = 0.08  # per timed run
GOALS = {"json": 3.0, "msgpack": 1.5, "cbor": 1.5}


def ensure_autobahn_venv() -> None:
    """Re-execute this script in a venv that has Autobahn, creating it if needed."""
    try:
        import autobahn  # noqa: F401
        import txaio  # noqa: F401
    except ImportError:
        pass
    else:
        return
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {BENCH_VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    probe = subprocess.run(
        [str(python), "-c", "import autobahn, txaio, orjson, autostrada"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        print("installing autobahn and autostrada[fast] into it ...", file=sys.stderr)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", AUTOBAHN, "-e", f"{ROOT}[fast]"],
            check=True,
        )
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


# --------------------------------------------------------------------------------------
# Workload


def payloads() -> dict[str, tuple[list[Any], dict[str, Any]]]:
    """Positional and keyword payloads: small (~50 bytes) and medium (~4 KiB) as JSON."""
    small = (["hello, world", 42, 3.25], {"user": "alice", "ok": True})
    records = [
        {
            "id": 1000 + i,
            "name": f"user{i:03d}",
            "email": f"user{i:03d}@example.com",
            "score": i * 1.25,
            "active": i % 3 != 0,
            "tags": ["alpha", "beta"],
        }
        for i in range(38)
    ]
    medium = ([records], {"page": 1, "total": 38})
    return {"small": small, "medium": medium}


def our_messages(args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    from autostrada import messages as m

    return {
        "CALL": m.Call(7814135, {}, "com.example.procedure", args, kwargs),
        "RESULT": m.Result(7814135, {}, args, kwargs),
        "EVENT": m.Event(5512315355, 4429313566, {}, args, kwargs),
        "PUBLISH": m.Publish(239714735, {}, "com.example.topic", args, kwargs),
    }


def autobahn_messages(args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    from autobahn.wamp import message as am

    return {
        "CALL": am.Call(7814135, "com.example.procedure", args=args, kwargs=kwargs),
        "RESULT": am.Result(7814135, args=args, kwargs=kwargs),
        "EVENT": am.Event(5512315355, 4429313566, args=args, kwargs=kwargs),
        "PUBLISH": am.Publish(239714735, "com.example.topic", args=args, kwargs=kwargs),
    }


def our_round_trip(serializer: Any, message: Any) -> Callable[[int], None]:
    encode = serializer.encode
    decode = serializer.decode

    def run(n: int) -> None:
        for _ in range(n):
            decode(encode(message))

    return run


def autobahn_round_trip(serializer: Any, message: Any) -> Callable[[int], None]:
    serialize = serializer.serialize
    unserialize = serializer.unserialize
    uncache = message.uncache

    def run(n: int) -> None:
        for _ in range(n):
            uncache()
            data, binary = serialize(message)
            unserialize(data, binary)

    return run


def check_interop(ours: Any, theirs: Any, message: Any) -> None:
    """Our bytes decode in Autobahn, and Autobahn's re-encoding decodes back to ``message``."""
    [their_message] = theirs.unserialize(ours.encode(message), ours.binary)
    their_message.uncache()
    their_bytes, _ = theirs.serialize(their_message)
    [back] = ours.decode(their_bytes)
    assert back == message, (back, message)


# --------------------------------------------------------------------------------------
# Timing


def calibrate(run: Callable[[int], None]) -> int:
    """Return an iteration count that takes about TARGET_SECONDS."""
    n = 50
    while True:
        start = time.perf_counter()
        run(n)
        elapsed = time.perf_counter() - start
        if elapsed >= TARGET_SECONDS / 4 or n >= 1_000_000:
            return max(10, int(n * TARGET_SECONDS / max(elapsed, 1e-6)))
        n *= 4


def measure(cells: dict[str, Callable[[int], None]], runs: int) -> dict[str, tuple[float, float]]:
    """Time every cell ``runs`` times, round-robin, so that load drifts hit all alike.

    Returns:
        Per cell: (median round trips/s, median CPU µs per round trip).
    """
    counts = {name: calibrate(run) for name, run in cells.items()}
    rates: dict[str, list[float]] = {name: [] for name in cells}
    cpu: dict[str, list[float]] = {name: [] for name in cells}
    for _ in range(runs):
        for name, run in cells.items():
            n = counts[name]
            wall0, cpu0 = time.perf_counter(), time.process_time()
            run(n)
            wall, used = time.perf_counter() - wall0, time.process_time() - cpu0
            rates[name].append(n / wall)
            cpu[name].append(used / n * 1e6)
    return {name: (statistics.median(rates[name]), statistics.median(cpu[name])) for name in cells}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per cell (median)")
    parser.add_argument("--quick", action="store_true", help="one run per cell")
    options = parser.parse_args()
    runs = 1 if options.quick else max(3, options.runs)

    ensure_autobahn_venv()
    import txaio

    txaio.use_asyncio()
    import autobahn
    from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer

    from autostrada.serializers import CBOR, MSGPACK, json_serializer
    from autostrada.serializers.json_codec import BACKENDS

    ours = {
        "json": json_serializer("orjson" if "orjson" in BACKENDS else "stdlib"),
        "json-stdlib": json_serializer("stdlib"),
        "msgpack": MSGPACK,
        "cbor": CBOR,
    }
    theirs = {"json": JsonSerializer(), "msgpack": MsgPackSerializer(), "cbor": CBORSerializer()}
    baseline_of = {"json": "json", "json-stdlib": "json", "msgpack": "msgpack", "cbor": "cbor"}
    print(
        f"autostrada vs autobahn {autobahn.__version__}, Python {sys.version.split()[0]}, "
        f"median of {runs} runs, round trips/s (encode + decode + validate)",
        file=sys.stderr,
    )
    started = time.perf_counter()
    rows = []
    for size, (args, kwargs) in payloads().items():
        ours_built = our_messages(args, kwargs)
        theirs_built = autobahn_messages(args, kwargs)
        for kind, message in ours_built.items():
            cells = {}
            for fmt, serializer in theirs.items():
                check_interop(ours[fmt], serializer, message)
                cells[f"ab-{fmt}"] = autobahn_round_trip(serializer, theirs_built[kind])
            for column, serializer in ours.items():
                cells[column] = our_round_trip(serializer, message)
            results = measure(cells, runs)
            row: dict[str, Any] = {"row": f"{kind} {size}"}
            for name, (rate, cpu) in results.items():
                row[name] = rate
                row[f"{name}-cpu"] = cpu
            for column, fmt in baseline_of.items():
                row[f"{column}-ratio"] = row[column] / row[f"ab-{fmt}"]
            rows.append(row)
            print(
                f"  {row['row']:<15} json {row['json-ratio']:5.1f}x  msgpack "
                f"{row['msgpack-ratio']:4.1f}x  cbor {row['cbor-ratio']:4.1f}x   "
                f"({time.perf_counter() - started:5.1f} s)",
                file=sys.stderr,
            )
    print_table(rows)
    return 0


def print_table(rows: list[dict[str, Any]]) -> None:
    def k(rate: float) -> str:
        return f"{rate / 1000:7.1f}k"

    header = (
        f"{'message':<15}|{'json ours':>9}{'stdlib':>9}{'autobahn':>9}{'ratio':>7}{'(std)':>7}"
        f" |{'msgpack':>9}{'autobahn':>9}{'ratio':>7} |{'cbor':>9}{'autobahn':>9}{'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['row']:<15}|{k(row['json'])}{k(row['json-stdlib'])}{k(row['ab-json'])}"
            f"{row['json-ratio']:6.1f}x{row['json-stdlib-ratio']:6.1f}x"
            f" |{k(row['msgpack'])}{k(row['ab-msgpack'])}{row['msgpack-ratio']:6.1f}x"
            f" |{k(row['cbor'])}{k(row['ab-cbor'])}{row['cbor-ratio']:6.1f}x"
        )
    print()
    print("round trips/s (k = 1000); ratio = autostrada / autobahn; (std) = stdlib JSON backend")
    for fmt, goal in GOALS.items():
        column = fmt
        worst = min(rows, key=lambda r: r[f"{column}-ratio"])
        small = [r[f"{column}-ratio"] for r in rows if r["row"].endswith("small")]
        status = "met" if min(small) >= goal else "MISSED"
        print(
            f"goal {fmt} >= {goal}x on small messages: {status} (small: {min(small):.2f}x.."
            f"{max(small):.2f}x; lowest overall {worst[f'{column}-ratio']:.2f}x on {worst['row']})"
        )
    columns = ("json", "json-stdlib", "msgpack", "cbor")
    for size in ("small", "medium"):
        cpu = {
            c: statistics.median(r[f"{c}-cpu"] for r in rows if size in r["row"]) for c in columns
        }
        shown = ", ".join(f"{c} {v:.2f}" for c, v in cpu.items())
        print(f"autostrada CPU µs per {size} round trip (median over message types): {shown}")


if __name__ == "__main__":
    sys.exit(main())
