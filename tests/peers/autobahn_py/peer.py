"""An Autobahn|Python peer for autostrada's router tests (runs in .peers/autobahn-venv).

Usage: ``python peer.py CONFIG_JSON`` where the config holds ``scenario``, ``ws_url``,
``rs_url``, ``transport`` (websocket/rawsocket), ``serializer`` (or null: Autobahn's
default list), ``realm``, ``creds`` (the router's principals) and ``params``.

The scenario (``scenarios_*.py``) talks to the test in JSON lines: it prints
``{"event": NAME, ...}`` on stdout and reads commands from stdin. Bytes travel as
``{"$bytes": BASE64}``. The last line is ``{"event": "done", ...}``; on an exception it
is ``{"event": "failed", "error": ...}`` and the exit code is 1. Autobahn's own log goes
to stderr, which the test shows when something fails.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import traceback
from typing import Any

import txaio

txaio.use_asyncio()

from autobahn.asyncio.component import Component  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.types import CallResult  # noqa: E402

SCENARIOS: dict[str, Any] = {}
NOTES: list[str] = []  # peer misbehaviour worked around, reported in the "done" event
CLEAN_REASONS = ("wamp.close.normal", "wamp.close.goodbye_and_out")


def scenario(function: Any) -> Any:
    """Make ``function(ctx)`` runnable as ``scenario = function.__name__``."""
    SCENARIOS[function.__name__] = function
    return function


# --- values on the JSON lines -----------------------------------------------------------


def encode(value: Any) -> Any:
    """A JSON-able form of a WAMP payload value (bytes as {"$bytes": base64})."""
    if isinstance(value, bytes | bytearray):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return repr(value)


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return base64.b64decode(value["$bytes"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def result_of(value: Any) -> dict[str, Any]:
    """A call result as {"args": [...], "kwargs": {...}} (Autobahn unwraps single values)."""
    if isinstance(value, CallResult):
        return {"args": encode(list(value.results)), "kwargs": encode(value.kwresults)}
    return {"args": encode([value]), "kwargs": {}}


def error_of(exc: BaseException) -> dict[str, Any]:
    """An error as the peer saw it."""
    if isinstance(exc, ApplicationError):
        return {
            "error": exc.error,
            "args": encode(list(exc.args)),
            "kwargs": encode(exc.kwargs or {}),
            "message": exc.error_message(),
        }
    return {"exception": type(exc).__name__, "text": str(exc)}


def emit(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, **encode(data)}), flush=True)


# --- sessions ---------------------------------------------------------------------------


class JoinFailed(Exception):
    """The router did not let the session join; ``reason`` is the ABORT/close reason."""

    def __init__(self, reason: str | None, message: str | None) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class Peer:
    """One joined Autobahn session, made by an asyncio ``Component``."""

    def __init__(
        self, component: Component, session: Any, details: Any, done: Any, left: dict[str, Any]
    ) -> None:
        self.component = component
        self.session = session
        self.details = details
        self.done = done
        self.left = left  # reason and message once the session has left

    @property
    def id(self) -> int:
        return int(self.details.session)

    def describe(self) -> dict[str, Any]:
        d = self.details
        serializer = getattr(
            getattr(self.session._transport, "_serializer", None), "SERIALIZER_ID", None
        )
        return {
            "session": d.session,
            "realm": d.realm,
            "authid": d.authid,
            "authrole": d.authrole,
            "authmethod": d.authmethod,
            "authprovider": d.authprovider,
            "authextra": d.authextra,
            "serializer": serializer,
        }

    async def leave(self) -> None:
        """Leave (GOODBYE) and wait until the component is done.

        Autobahn 26.10.2 on RawSocket (against Crossbar too): the session closes the
        transport in its own onLeave, before the Component's leave listener resolves,
        so the Component takes the clean leave for a lost connection and fails ("Exhausted
        all transport connect attempts"; with retries it would reconnect). That is
        recorded in the ``done`` event's ``notes`` for the test to check.
        """
        if self.session.is_attached():
            await self.session.leave()
        try:
            await asyncio.wait_for(self.done, 10)
        except Exception as exc:
            if self.left.get("reason") not in CLEAN_REASONS:
                raise
            NOTES.append(f"component failed after a clean leave: {exc}")


class Context:
    """What a scenario gets: its config, joins, and the command channel from the test."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.creds: dict[str, Any] = config.get("creds", {})
        self.params: dict[str, Any] = decode(config.get("params", {}))
        self._stdin: asyncio.StreamReader | None = None
        self.peers: list[Peer] = []

    async def command(self, timeout: float = 20) -> dict[str, Any]:
        """The next JSON command line from the test."""
        if self._stdin is None:
            loop = asyncio.get_running_loop()
            self._stdin = asyncio.StreamReader()
            protocol = asyncio.StreamReaderProtocol(self._stdin)
            await loop.connect_read_pipe(lambda: protocol, sys.stdin)
        line = await asyncio.wait_for(self._stdin.readline(), timeout)
        if not line:
            raise RuntimeError("the test closed stdin before sending a command")
        return decode(json.loads(line))

    def transport(
        self, kind: str | None = None, serializer: str | None = "config"
    ) -> dict[str, Any]:
        kind = kind or self.config["transport"]
        url = self.config["ws_url"] if kind == "websocket" else self.config["rs_url"]
        transport: dict[str, Any] = {"type": kind, "url": url, "max_retries": 0}
        if serializer == "config":
            serializer = self.config.get("serializer")
        if kind == "rawsocket":
            transport["serializer"] = serializer or "json"
        elif serializer is not None:
            transport["serializers"] = [serializer]
        return transport

    async def join(
        self,
        authentication: dict[str, Any] | None = None,
        *,
        realm: str | None = None,
        transport: dict[str, Any] | None = None,
    ) -> Peer:
        """Start a Component and wait until its session joined.

        Raises:
            JoinFailed: the session ended before joining (the router's reason).
        """
        loop = asyncio.get_running_loop()
        joined: asyncio.Future[tuple[Any, Any]] = loop.create_future()
        left: dict[str, Any] = {}

        def on_join(session: Any, details: Any) -> None:
            if not joined.done():
                joined.set_result((session, details))

        def on_leave(session: Any, details: Any) -> None:
            left.setdefault("reason", details.reason)
            left.setdefault("message", details.message)

        component = Component(
            transports=[transport or self.transport()],
            realm=realm or self.config["realm"],
            authentication=authentication or {},
        )
        component.on("join", on_join)
        component.on("leave", on_leave)
        done = component.start(loop)
        waiter = asyncio.ensure_future(asyncio.wait_for(asyncio.shield(joined), 15))
        finished = await asyncio.wait({waiter, done}, return_when=asyncio.FIRST_COMPLETED)
        if waiter in finished[0]:
            session, details = waiter.result()
            peer = Peer(component, session, details, done, left)
            self.peers.append(peer)
            return peer
        waiter.cancel()
        if not done.cancelled():
            done.exception()  # retrieved: the reason is what matters
        raise JoinFailed(left.get("reason"), left.get("message") or repr(done))

    async def close(self) -> None:
        for peer in self.peers:
            if peer.session.is_attached():
                await peer.leave()


async def run(config: dict[str, Any]) -> int:
    txaio.config.loop = asyncio.get_running_loop()
    txaio.start_logging(out=sys.stderr, level="info")
    import scenarios_pubsub  # noqa: F401  (register their scenarios)
    import scenarios_rpc  # noqa: F401
    import scenarios_session  # noqa: F401

    ctx = Context(config)
    try:
        function = SCENARIOS[config["scenario"]]
        result = await asyncio.wait_for(function(ctx), config.get("timeout", 60))
        await ctx.close()
    except BaseException as exc:
        traceback.print_exc()
        emit("failed", error=f"{type(exc).__name__}: {exc}")
        return 1
    emit("done", notes=NOTES, **(result or {}))
    return 0


if __name__ == "__main__":
    sys.modules.setdefault("peer", sys.modules["__main__"])  # one module for the scenarios
    sys.exit(asyncio.run(run(json.loads(sys.argv[1]))))
