"""Shared pieces of the Component tests: bounded async tests, routers to kill, event records.

Routers are real: :class:`RouterProcess` runs ``python -m autostrada.cli router`` on a
port chosen up front, so that it can be SIGKILLed and started again on the same port;
:func:`router_config` is the realm all of them serve (anonymous, plus ticket user
``joe``). Every wait is bounded; a hang fails the test that hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

from async_kit import async_runner, bounded
from autostrada.router.config import ListenerConfig, ServerConfig, load_toml

TEST_TIMEOUT = 15.0
"""Upper bound on every async test."""

REPO = Path(__file__).resolve().parent.parent.parent
TICKET_USER = "joe"
TICKET = "joe-secret-ticket"

async_test = async_runner(TEST_TIMEOUT)
"""Run an ``async def`` test in a fresh loop, bounded by :data:`TEST_TIMEOUT` (see async_kit)."""


async def within(awaitable: Awaitable[Any], seconds: float = 5.0) -> Any:
    """Await with a bound shorter than the test's, so that a failure names the step."""
    return await bounded(awaitable, seconds)


class Recorder:
    """Collects (event, args) tuples and lets a test wait for the n-th of a kind."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self._changed = asyncio.Event()

    def add(self, name: str, *args: Any) -> None:
        self.events.append((name, args))
        self._changed.set()

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.events if n == name)

    def args(self, name: str) -> list[tuple[Any, ...]]:
        return [args for n, args in self.events if n == name]

    async def wait_for(self, name: str, count: int = 1, seconds: float = 5.0) -> None:
        async with asyncio.timeout(seconds):
            while self.count(name) < count:
                self._changed.clear()
                await self._changed.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ROUTER_TOML = f"""
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

[[realms.roles]]
name = "user"
[[realms.roles.permissions]]
uri = ""
match = "prefix"
call = true
register = true
publish = true
subscribe = true

[realms.auth.anonymous]
role = "anonymous"

[realms.auth.ticket.principals.{TICKET_USER}]
ticket = "{TICKET}"
role = "user"
"""


def router_config(directory: Path, *listeners: ListenerConfig) -> ServerConfig:
    """The test realm (anonymous + ticket user ``joe``) on ``listeners``."""
    path = directory / "router.toml"
    path.write_text(ROUTER_TOML + '\n[[listeners]]\nkind = "universal"\nport = 0\n')
    config = load_toml(path)
    return dataclasses.replace(config, listeners=listeners or config.listeners)


class RouterProcess:
    """``autostrada router`` in a subprocess on a fixed port: kill it, start it again."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"ws://127.0.0.1:{self.port}/ws"
        self.rs_url = f"rs://127.0.0.1:{self.port}"
        self.config_path = directory / "router-process.toml"
        listener = f'\n[[listeners]]\nkind = "universal"\nport = {self.port}\npath = "/ws"\n'
        self.config_path.write_text(ROUTER_TOML + listener)
        self.log_path = directory / "router-process.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start the router and return once it accepts connections."""
        assert self.proc is None, "already running"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "autostrada.cli", "--log-level", "warning"),
                    *("router", "--config", str(self.config_path)),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            with socket.socket() as sock:
                sock.settimeout(1.0)
                with contextlib.suppress(OSError):
                    sock.connect(("127.0.0.1", self.port))
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"the router exited: {self.log_path.read_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the router did not listen in time: {self.log_path}")
            time.sleep(0.02)  # polling a subprocess's port: nothing to wait on instead

    def kill(self) -> None:
        """SIGKILL: no GOODBYE, no close handshake; the port is free again at once."""
        proc, self.proc = self.proc, None
        if proc is not None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


class SilentServer:
    """Accepts TCP connections, records what they send, never answers."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.connected = asyncio.Event()
        self.lost = asyncio.Event()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._transports: list[asyncio.BaseTransport] = []

    def _protocol(self) -> asyncio.Protocol:
        server = self

        class Peer(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                server._transports.append(transport)
                server.connected.set()

            def data_received(self, data: bytes) -> None:
                server.received += data

            def connection_lost(self, exc: Exception | None) -> None:
                server.lost.set()

        return Peer()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[SilentServer]:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            self._server.close()
            for transport in self._transports:
                transport.abort()
            await self._server.wait_closed()


def call_only_config(directory: Path) -> ServerConfig:
    """A router (WebSocket on a free port) where anonymous may only call: any other
    action is refused with ``wamp.error.not_authorized``."""
    toml = directory / "call-only.toml"
    toml.write_text(
        '[[realms]]\nname = "realm1"\n[[realms.roles]]\nname = "anonymous"\n'
        '[[realms.roles.permissions]]\nuri = ""\nmatch = "prefix"\ncall = true\n'
        '[realms.auth.anonymous]\nrole = "anonymous"\n'
        '[[listeners]]\nkind = "websocket"\nport = 0\n'
    )
    return load_toml(toml)


def make_certificates(directory: Path) -> Any:
    """A throwaway CA and server certificate (tests/aio/helpers.py makes them)."""
    name = "autostrada_tests_aio_helpers"
    module = sys.modules.get(name)
    if module is None:
        path = REPO / "tests" / "aio" / "helpers.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return module.make_certificates(directory)
