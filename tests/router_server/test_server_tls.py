"""TLS listeners: wss and rss on one port, client certificates, handshake bounds, bad files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from server_kit import (
    async_test,
    client_tls,
    listener,
    running,
    sessions,
    tcp_client,
    url_of,
    within,
)

import autostrada
from autostrada.exceptions import TransportError
from autostrada.router.config import TLSConfig
from autostrada.router.server import RouterServer
from autostrada.testing import test_config


def tls(certs: Any, *, require_client_cert: bool = False) -> TLSConfig:
    return TLSConfig(
        str(certs.server_cert),
        str(certs.server_key),
        str(certs.ca) if require_client_cert else None,
        require_client_cert,
    )


async def transport_of(session: Any) -> dict[str, Any]:
    """What the router knows about the session's transport (meta API)."""
    info = await within(session.call("wamp.session.get", session.session_id))
    transport: dict[str, Any] = info["transport"]
    return transport


@async_test
async def test_websocket_and_rawsocket_over_tls_on_one_port(router_certs: Any) -> None:
    async with running(listener("universal", tls=tls(router_certs))) as server:
        port = server.port_of("universal")
        assert server.urls == [f"wss://127.0.0.1:{port}/ws", f"rss://127.0.0.1:{port}"]
        context = client_tls(router_certs, with_cert=False)
        async with (
            sessions(url_of(server, "wss"), ssl=context) as [ws],
            sessions(url_of(server, "rss"), ssl=context, serializers=["msgpack"]) as [rs],
        ):
            assert (await transport_of(ws))["is_secure"] is True
            assert (await transport_of(rs))["type"] == "rawsocket"
            await within(rs.register(lambda: "over tls", "com.tls"))
            assert await within(ws.call("com.tls")) == "over tls"
        # A client that does not trust the server's CA refuses it.
        with pytest.raises(TransportError, match="certificate"):
            await within(autostrada.connect(url_of(server, "wss")))


@pytest.mark.parametrize("scheme", ["wss", "rss"])
@async_test
async def test_a_required_client_certificate(router_certs: Any, scheme: str) -> None:
    config = listener("universal", tls=tls(router_certs, require_client_cert=True))
    async with running(config) as server:
        url = url_of(server, scheme)
        with_cert = client_tls(router_certs, with_cert=True)
        async with sessions(url, ssl=with_cert) as [session]:
            assert (await transport_of(session))["is_secure"] is True
        without = client_tls(router_certs, with_cert=False)
        with pytest.raises(TransportError):
            await within(autostrada.connect(url, ssl=without))
        async with sessions(url, ssl=with_cert) as [session]:  # the router is fine
            assert session.is_attached()


@async_test
async def test_tls_over_a_unix_socket(router_certs: Any, tmp_path: Path) -> None:
    socket_path = tmp_path / "tls.sock"
    config = listener("universal", unix_path=str(socket_path), tls=tls(router_certs))
    async with running(config) as server:
        assert server.urls == [f"wss+unix://{socket_path}", f"rss+unix://{socket_path}"]
        context = client_tls(router_certs, with_cert=False)
        for url in server.urls:
            async with sessions(url, ssl=context) as [session]:
                assert (await transport_of(session))["is_secure"] is True


@async_test
async def test_a_client_that_never_starts_tls_is_dropped_after_open_timeout(
    router_certs: Any,
) -> None:
    async with running(listener("universal", tls=tls(router_certs), open_timeout=0.3)) as server:
        loop = asyncio.get_running_loop()
        async with tcp_client(server.port_of("universal")) as (reader, _):
            started = loop.time()
            assert await within(reader.read()) == b""
            assert 0.25 <= loop.time() - started < 2.5


@async_test
async def test_unreadable_tls_files_name_the_listener_and_the_files(tmp_path: Path) -> None:
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    cert.write_text("not a certificate\n")
    key.write_text("not a key\n")
    base = test_config()
    broken = listener("websocket", port=0, tls=TLSConfig(str(cert), str(key)))
    server = RouterServer(type(base)(base.router, (base.listeners[0], broken)))
    with pytest.raises(OSError, match=r"cannot listen on 127\.0\.0\.1:0: bad TLS files") as failed:
        await server.start()
    assert str(cert) in str(failed.value) and str(key) in str(failed.value)
    assert server.urls == []
