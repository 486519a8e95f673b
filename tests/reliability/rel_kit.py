"""Shared pieces of the reliability tests.

Reuses the helpers of the other test directories (loaded by path, under names of their
own): ``tests/component/component_helpers.py`` (bounded async tests, the killable
router subprocess, event recorder) and ``tests/router_server/server_kit.py`` (in-process
routers, hand-driven WAMP peers). Adds a router subprocess with extra configuration and
its memory figures (``/proc``), and a component service to fault.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from autostrada import Component, PublishOptions, RegisterOptions, Session

TESTS = Path(__file__).resolve().parent.parent


def _load(name: str, path: Path) -> ModuleType:
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


component_helpers = _load("reliability_component_helpers", TESTS / "component/component_helpers.py")
server_kit = _load("reliability_server_kit", TESTS / "router_server/server_kit.py")

async_test = component_helpers.async_test
within = component_helpers.within
Recorder = component_helpers.Recorder
free_port = component_helpers.free_port
TICKET_USER = component_helpers.TICKET_USER
TICKET = component_helpers.TICKET

# Short delays, capped: after a fault the component is back within ~0.1 s.
RETRY = {
    "initial_retry_delay": 0.02,
    "retry_delay_growth": 1.5,
    "retry_delay_jitter": 0.1,
    "max_retry_delay": 0.1,
}


def rss_kib(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) of a process in KiB, from /proc (Linux)."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


class RouterProcess(component_helpers.RouterProcess):  # type: ignore[misc,name-defined]
    """The killable router subprocess, with extra TOML (``[limits]``...) and listener keys."""

    def __init__(
        self,
        directory: Path,
        *,
        limits: dict[str, Any] | None = None,
        listener: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(directory)
        text = component_helpers.ROUTER_TOML
        text += f'\n[[listeners]]\nkind = "universal"\nport = {self.port}\npath = "/ws"\n'
        for key, value in (listener or {}).items():
            text += f"{key} = {value!r}\n"
        if limits:
            text += "\n[limits]\n" + "".join(f"{k} = {v!r}\n" for k, v in limits.items())
        self.config_path.write_text(text.replace("True", "true").replace("False", "false"))

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return int(self.proc.pid)

    def rss(self) -> tuple[int, int]:
        return rss_kib(self.pid)

    def log(self) -> str:
        return str(self.log_path.read_text(errors="replace"))


class Service:
    """A component through a transport URL: procedures, a subscription, and records.

    ``test.add`` adds, ``test.slow`` answers only when released, ``test.topic`` events
    are queued. Registrations use ``force_reregister`` when asked: after a half-open link
    the router may still hold the old session's registration (see docs/reliability.md).
    """

    def __init__(
        self,
        url: str,
        *,
        keepalive: tuple[float, float] | None = None,
        force_reregister: bool = False,
        **transport: Any,
    ) -> None:
        self.recorder = Recorder()
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.invoked = asyncio.Event()
        options: dict[str, Any] = {"url": url, **RETRY, **transport}
        if keepalive is not None:
            interval, timeout = keepalive
            options["options"] = {"auto_ping_interval": interval, "auto_ping_timeout": timeout}
        self.component = Component(transports=options)
        register = RegisterOptions(force_reregister=True) if force_reregister else None
        recorder = self.recorder

        @self.component.register("test.add", register)
        def add(a: int, b: int) -> int:
            return a + b

        @self.component.register("test.slow", register)
        async def slow() -> None:
            self.invoked.set()
            await asyncio.Future()  # never answers: its caller waits for the session's end

        @self.component.subscribe("test.topic")
        def on_event(n: Any) -> None:
            self.events.put_nowait(n)

        @self.component.on_ready
        def ready(session: Session) -> None:
            recorder.add("ready", session, time.monotonic())

        @self.component.on_leave
        def left(session: Session, details: Any) -> None:
            recorder.add("leave", details, time.monotonic())

        @self.component.on_connectfailure
        def failed(component: Component, error: BaseException) -> None:
            recorder.add("connectfailure", error)

    @property
    def session(self) -> Session:
        session = self.recorder.args("ready")[-1][0]
        assert isinstance(session, Session)
        return session

    async def check(self, checker: Session, n: int) -> None:
        """From a session that does not go through the fault: procedures and subscription work."""
        assert await within(checker.call("test.add", n, 1)) == n + 1
        acknowledged = PublishOptions(acknowledge=True)
        await within(checker.publish("test.topic", n, options=acknowledged))  # type: ignore[arg-type]
        while True:  # events of earlier checks may still be queued
            got = await within(self.events.get())
            if got == n:
                return
