"""Test your components against a real, in-process router — nothing else to install.

With pytest, the ``wamp_router`` fixture (registered through the ``pytest11`` entry
point, so it is available as soon as autostrada is installed) gives a running router
on free ports for the test's duration::

    def test_add(wamp_router):
        async def main():
            async with await autostrada.connect(wamp_router.url) as session:
                assert await session.call("com.example.add", 2, 3) == 5
        asyncio.run(main())

The router runs in a background thread with its own event loop, so the fixture works
with plain tests, pytest-asyncio and anyio alike. In async code without pytest, use
``async with RouterServer(test_config()) as server`` directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily: this module is a pytest plugin loaded at startup
    from autostrada.router.config import ServerConfig
    from autostrada.router.server import RouterServer

__all__ = ["RouterThread", "test_config", "wamp_router"]

log = logging.getLogger("autostrada.testing")


def test_config(realm: str = "realm1") -> ServerConfig:
    """A development config: one realm where anonymous may do anything, on free ports.

    One "universal" listener on 127.0.0.1 serves WebSocket (``/ws``) and RawSocket.
    """
    from autostrada.router.config import ListenerConfig, ServerConfig  # noqa: PLC0415
    from autostrada.router.core import RealmConfig, RouterConfig  # noqa: PLC0415

    return ServerConfig(
        router=RouterConfig(realms=(RealmConfig.development(realm),)),
        listeners=(ListenerConfig(kind="universal", host="127.0.0.1", port=0),),
    )


test_config.__test__ = False  # type: ignore[attr-defined]  # not a test, despite the name


class RouterThread:
    """A :class:`RouterServer` running in a background thread.

    Use as a context manager, or call :meth:`start` and :meth:`stop` (which is safe to
    call at any time, also after a failed start, and more than once).

    Attributes:
        url: the first WebSocket URL (``ws://127.0.0.1:<port>/ws``), ``""`` if none.
        rs_url: the first RawSocket URL (``rs://127.0.0.1:<port>``), ``""`` if none.
        realm: the realm name.
        server: the running :class:`RouterServer` (``None`` when not running).
    """

    def __init__(self, config: ServerConfig | None = None, realm: str = "realm1") -> None:
        self.config = config or test_config(realm)
        self.realm = realm
        self.server: RouterServer | None = None
        self.url = ""
        self.rs_url = ""
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._stop_requested = False

    def start(self, timeout: float = 10.0) -> RouterThread:
        """Start the router; return once it listens (or raise what stopped it).

        Raises:
            OSError: a listener could not bind.
            TimeoutError: the router did not start within ``timeout`` seconds.
            RuntimeError: it is already running.
        """
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("RouterThread.start: the router is already running")
        started: Future[None] = Future()
        self._stop_requested = False
        self._thread = threading.Thread(
            target=self._run, args=(started,), daemon=True, name="wamp-router"
        )
        self._thread.start()
        try:
            started.result(timeout)
        except BaseException:
            self.stop(timeout)
            raise
        return self

    def _run(self, started: Future[None]) -> None:
        try:
            asyncio.run(self._main(started))
        except BaseException as exc:  # pragma: no cover - only on a router bug
            if started.done():
                log.exception("the test router failed")
            else:
                started.set_exception(exc)
        finally:
            with self._lock:
                self._loop = self._stop = None
            self.server = None

    async def _main(self, started: Future[None]) -> None:
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            if self._stop_requested:
                self._stop.set()
        from autostrada.router.server import RouterServer  # noqa: PLC0415

        try:
            server = RouterServer(self.config)
            await server.start()
        except BaseException as exc:
            started.set_exception(exc)
            return
        try:
            self.server = server
            urls = server.urls
            self.url = next((u for u in urls if u.startswith("ws")), "")
            self.rs_url = next((u for u in urls if u.startswith("rs")), "")
            started.set_result(None)
            await self._stop.wait()
        finally:
            await server.stop()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the router (sessions get GOODBYE) and wait for the thread to end.

        Raises:
            RuntimeError: the thread did not end within ``timeout`` seconds.
        """
        with self._lock:
            self._stop_requested = True
            loop, event = self._loop, self._stop
        if loop is not None and event is not None:
            # RuntimeError: the loop closed just now, the thread is ending anyway.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise RuntimeError(f"the test router did not stop within {timeout} s")
        self._thread = None

    def __enter__(self) -> RouterThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _wamp_router() -> Iterator[RouterThread]:
    """A running router (realm ``realm1``, anonymous may do anything) on free ports."""
    with RouterThread() as router:
        yield router


try:  # the fixture exists only where pytest does (it is not a runtime dependency)
    import pytest
except ImportError:  # pragma: no cover
    pass
else:
    wamp_router = pytest.fixture(name="wamp_router")(_wamp_router)
