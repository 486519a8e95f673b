"""``autostrada demo``: the embedded router and five small components, in one process.

It starts a router on a free port of 127.0.0.1, then a callee (``com.demo.add``,
``com.demo.countdown`` with progressive results), a caller, a subscriber and a
publisher, over WebSocket and RawSocket, and prints what each one sees. Exit code 0
when everything happened as expected.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import autostrada
from autostrada.exceptions import ApplicationError, WampError
from autostrada.router.config import ListenerConfig, ServerConfig
from autostrada.router.core import RealmConfig, RouterConfig
from autostrada.router.server import RouterServer
from autostrada.types import (
    CallDetails,
    CallOptions,
    EventDetails,
    PublishOptions,
    RegisterOptions,
    SubscribeOptions,
)

__all__ = ["run_demo"]

log = logging.getLogger("autostrada.demo")

DEMO_TIMEOUT = 30.0
"""Seconds the whole demo may take: it fails rather than hang."""


async def run_demo(quiet: bool = False) -> int:
    """Run the demo; return 0 when every step gave the expected result."""

    def say(text: str) -> None:
        if not quiet:
            print(text, flush=True)

    config = ServerConfig(
        router=RouterConfig(realms=(RealmConfig.development("realm1"),)),
        listeners=(ListenerConfig(kind="universal", host="127.0.0.1", port=0),),
    )
    started = time.perf_counter()
    try:
        async with asyncio.timeout(DEMO_TIMEOUT), RouterServer(config) as server:
            ws_url, rs_url = server.urls
            say(f"router    listening on {ws_url} and {rs_url} (realm1)")
            checks = await _scenario(ws_url, rs_url, say)
    except TimeoutError:
        print(f"demo FAILED: timed out (a step, or the whole demo's {DEMO_TIMEOUT:g} s)")
        return 1
    except (WampError, OSError) as exc:
        print(f"demo FAILED: {type(exc).__name__}: {exc}")
        return 1
    elapsed = time.perf_counter() - started
    failed = [name for name, ok in checks if not ok]
    if failed:
        print(f"demo FAILED: {', '.join(failed)}")
        return 1
    print(f"demo ok: {len(checks)} checks passed in {elapsed:.2f} s")
    return 0


async def _scenario(ws_url: str, rs_url: str, say: Callable[[str], None]) -> list[tuple[str, bool]]:
    checks: list[tuple[str, bool]] = []
    callee = await autostrada.connect(ws_url, serializers=["json"])
    subscriber = await autostrada.connect(rs_url, serializers=["msgpack"])
    caller = await autostrada.connect(ws_url, serializers=["cbor"])
    publisher = await autostrada.connect(rs_url, serializers=["json"])
    say(f"callee    joined as session {callee.session_id} (WebSocket, json)")
    say(f"subscriber joined as session {subscriber.session_id} (RawSocket, msgpack)")
    say(f"caller    joined as session {caller.session_id} (WebSocket, cbor)")
    say(f"publisher joined as session {publisher.session_id} (RawSocket, json)")

    def add(a: int, b: int) -> int:
        say(f"callee    add({a}, {b}) called")
        return a + b

    async def countdown(n: int, details: CallDetails) -> str:
        for i in range(n, 0, -1):
            if details.progress is not None:
                details.progress(i)
            await asyncio.sleep(0)
        return "liftoff"

    await callee.register(add, "com.demo.add")
    await callee.register(countdown, "com.demo.countdown", RegisterOptions(details_arg="details"))
    say("callee    registered com.demo.add and com.demo.countdown")

    result = await caller.call("com.demo.add", 2, 3)
    say(f"caller    com.demo.add(2, 3) -> {result}")
    checks.append(("rpc", result == 5))

    try:
        await caller.call("com.demo.nothing")
        checks.append(("error", False))
    except ApplicationError as exc:
        say(f"caller    com.demo.nothing -> error {exc.error}")
        checks.append(("error", exc.error == ApplicationError.NO_SUCH_PROCEDURE))

    progress: list[int] = []
    final = await caller.call(
        "com.demo.countdown", 3, options=CallOptions(on_progress=progress.append)
    )
    say(f"caller    com.demo.countdown(3) -> progress {progress}, result {final!r}")
    checks.append(("progressive", progress == [3, 2, 1] and final == "liftoff"))

    received: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    def on_news(headline: str, details: EventDetails) -> None:
        say(f"subscriber got {headline!r} on {details.topic}")
        received.put_nowait((headline, details.topic or ""))

    await subscriber.subscribe(on_news, "com.demo.news", SubscribeOptions(details_arg="details"))
    for headline in ("first", "second", "third"):
        acknowledged = publisher.publish(
            "com.demo.news", headline, options=PublishOptions(acknowledge=True)
        )
        assert acknowledged is not None
        publication = await acknowledged
        say(f"publisher published {headline!r} (publication {publication.id})")
    got = [await asyncio.wait_for(received.get(), 5) for _ in range(3)]
    checks.append(("pubsub", [h for h, _ in got] == ["first", "second", "third"]))

    for session in (callee, subscriber, caller, publisher):
        await session.leave()
        await session.wait_disconnected()
    say("all       left the realm")
    return checks
