"""``autostrada.testing``: the ``wamp_router`` pytest fixture and :class:`RouterThread`."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import threading
from typing import Any

import pytest
from server_kit import listener, server_config, sessions, within

import autostrada
import autostrada.testing
from autostrada.testing import RouterThread, test_config


def router_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "wamp-router"]


def round_trip(url: str) -> Any:
    """Register and call over ``url`` in a fresh event loop; return the result."""

    async def main() -> Any:
        async with sessions(url, 2) as [callee, caller]:
            await within(callee.register(lambda a, b: a + b, "com.example.add"))
            return await within(caller.call("com.example.add", 2, 3))

    return asyncio.run(main())


def test_the_plugin_is_registered_through_its_entry_point(
    pytestconfig: pytest.Config,
) -> None:
    # The pytest11 entry point "autostrada" loads autostrada.testing as a plugin.
    assert pytestconfig.pluginmanager.get_plugin("autostrada") is autostrada.testing


def test_wamp_router_fixture(wamp_router: RouterThread) -> None:
    port = wamp_router.url.rsplit(":", 1)[1].removesuffix("/ws")
    assert wamp_router.url == f"ws://127.0.0.1:{port}/ws"
    assert wamp_router.rs_url == f"rs://127.0.0.1:{port}"
    assert wamp_router.realm == "realm1"
    assert round_trip(wamp_router.url) == 5
    assert round_trip(wamp_router.rs_url) == 5


def test_router_thread_start_stop_leaves_nothing_behind(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    before = len(router_threads())
    router = RouterThread()
    router.stop()  # before start: nothing to do
    with router:
        assert len(router_threads()) == before + 1
        assert router.server is not None
        assert round_trip(router.url) == 5

        async def goodbye() -> str:
            async with sessions(router.rs_url) as [session]:
                left: asyncio.Future[str] = asyncio.get_running_loop().create_future()
                session.on("leave", lambda _s, details: left.set_result(details.reason))
                await asyncio.to_thread(router.stop)
                return await within(left)

        assert asyncio.run(goodbye()) == "wamp.close.system_shutdown"
    router.stop()  # again: harmless
    assert len(router_threads()) == before
    assert router.server is None
    # No "Task was destroyed but it is pending", no unclosed transports, no errors.
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not [r for r in caplog.records if r.name == "asyncio" and r.levelno >= logging.WARNING]
    # And it starts again.
    with router:
        assert round_trip(router.url) == 5


def test_router_thread_failed_start_raises_and_cleans_up() -> None:
    before = len(router_threads())
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        router = RouterThread(server_config(listener("universal", port=port)))
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            router.start()
        router.stop()  # after a failed start: harmless
        assert len(router_threads()) == before


def test_router_thread_start_twice_is_refused() -> None:
    with RouterThread() as router:
        with pytest.raises(RuntimeError, match="already running"):
            router.start()
        assert round_trip(router.rs_url) == 5


def test_router_thread_urls_follow_the_listeners(tmp_path: Any) -> None:
    config = server_config(
        listener("rawsocket"), listener("websocket", path="/wamp"), listener("universal")
    )
    with RouterThread(config) as router:
        assert router.server is not None
        rs, ws, *_ = router.server.urls
        assert (router.url, router.rs_url) == (ws, rs)
        assert ws.endswith("/wamp")
        assert round_trip(router.url) == 5
        assert round_trip(router.rs_url) == 5
    unix = tmp_path / "r.sock"
    with RouterThread(server_config(listener("rawsocket", unix_path=str(unix)))) as router:
        assert (router.url, router.rs_url) == ("", f"rs+unix://{unix}")
        assert round_trip(router.rs_url) == 5


def test_router_thread_with_another_realm() -> None:
    with RouterThread(realm="other") as router:
        assert router.realm == "other"
        assert router.config.router.realms[0].name == "other"

        async def main() -> str:
            session = await within(autostrada.connect(router.url, "other"))
            try:
                assert session.details is not None
                return session.details.realm
            finally:
                session.disconnect()
                await within(session.wait_disconnected())

        assert asyncio.run(main()) == "other"


def test_test_config_is_a_development_config() -> None:
    config = test_config("dev")
    [only] = config.listeners
    assert dataclasses.astuple(only)[:3] == ("universal", "127.0.0.1", 0)
    assert [realm.name for realm in config.router.realms] == ["dev"]
    assert getattr(test_config, "__test__", True) is False  # pytest must not collect it
