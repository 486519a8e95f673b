"""connect(): URLs, TLS, Unix sockets, HTTP proxies, timeouts, cancellation, bad peers.

All servers are real (127.0.0.1 or a Unix socket in tmp_path); see helpers.py.
"""

from __future__ import annotations

import asyncio
import base64
import random
import shutil
import socket
import ssl
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    Certificates,
    RawPeer,
    async_test,
    connect_proxy,
    make_certificates,
    raw_server,
    serve,
    websocket_accept,
    within,
)
from websockets.http11 import Response

from autostrada.aio.channel import Channel
from autostrada.aio.connect import (
    Endpoint,
    ProxyAddress,
    connect,
    is_certificate_error,
    parse_proxy,
    parse_url,
)
from autostrada.aio.rawsocket import RawSocketChannel
from autostrada.aio.websocket import WebSocketChannel
from autostrada.exceptions import TransportError
from autostrada.serializers import get_serializer

ALL = ("json", "msgpack", "cbor")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


def ws_server(serializers: tuple[str, ...] = ALL, **options: Any) -> Any:
    return lambda: WebSocketChannel.server("test client", serializers, **options)


def rs_server(serializers: tuple[str, ...] = ALL, **options: Any) -> Any:
    return lambda: RawSocketChannel.server("test client", serializers, **options)


def factory_for(scheme: str) -> Any:
    return ws_server() if scheme.startswith("ws") else rs_server()


async def assert_echoes(channel: Channel, data: bytes = b'[16,1,{},"com.example.t"]') -> None:
    frames: asyncio.Queue[bytes] = asyncio.Queue()
    channel.set_receiver(frames.put_nowait)
    channel.send(data)
    assert await within(frames.get()) == data


async def close(channel: Channel) -> None:
    channel.close()
    assert await within(channel.wait_closed()) is None


@pytest.fixture
def socket_path() -> Iterator[Path]:
    """A Unix socket path in a short temporary directory (sun_path holds ~107 bytes,
    and pytest's tmp_path can be longer), removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="as-"))
    try:
        yield directory / "r.sock"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# ------------------------------------------------------------------------ parse_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "ws://example.com/ws",
            Endpoint(
                "ws://example.com/ws",
                "websocket",
                False,
                "example.com",
                80,
                None,
                "ws://example.com/ws",
            ),
        ),
        (
            "wss://example.com",
            Endpoint("wss://example.com", "websocket", True, "example.com", 443, None, ""),
        ),
        (
            "WS://Example.com:81/p?q=1",
            Endpoint("", "websocket", False, "example.com", 81, None, "ws://Example.com:81/p?q=1"),
        ),
        ("rs://127.0.0.1:8080", Endpoint("", "rawsocket", False, "127.0.0.1", 8080, None, "")),
        ("rss://h", Endpoint("", "rawsocket", True, "h", 443, None, "")),
        ("tcp://h:9000", Endpoint("", "rawsocket", False, "h", 9000, None, "")),
        ("ws://[::1]:9/", Endpoint("", "websocket", False, "::1", 9, None, "ws://[::1]:9/")),
        (
            "ws+unix:///run/router.sock",
            Endpoint("", "websocket", False, "localhost", 0, "/run/router.sock", "ws://localhost/"),
        ),
        (
            "rss+unix:///tmp/a%20b.sock",
            Endpoint("", "rawsocket", True, "localhost", 0, "/tmp/a b.sock", "wss://localhost/"),
        ),
    ],
)
def test_parse_url(url: str, expected: Endpoint) -> None:
    endpoint = parse_url(url)
    assert endpoint.url == url
    assert endpoint.kind == expected.kind
    assert endpoint.secure is expected.secure
    assert (endpoint.host, endpoint.port, endpoint.unix_path) == (
        expected.host,
        expected.port,
        expected.unix_path,
    )
    if expected.kind == "websocket" and expected.websocket_url:
        assert endpoint.websocket_url == expected.websocket_url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.com/", "scheme must be one of"),
        ("example.com:8080", "scheme must be one of"),
        ("ws://", "has no host"),
        ("ws://h:99999/", "invalid port"),
        ("ws://h/ws#top", "fragment"),
        ("rs://h:1?x=1", "query"),
        ("ws+unix://host/path.sock", "empty host"),
        ("rs+unix://", "empty host and a socket path"),
    ],
)
def test_parse_url_rejects(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        parse_url(url)
    assert repr(url) in str(raised.value)


def test_parse_url_wants_a_string() -> None:
    with pytest.raises(TypeError, match="url must be a string"):
        parse_url(b"ws://h/")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- parse_proxy


@pytest.mark.parametrize(
    ("proxy", "expected"),
    [
        ("http://proxy:3128", ProxyAddress("proxy", 3128)),
        ("http://proxy", ProxyAddress("proxy", 80)),
        ("http://u%3Ax:p%40ss@proxy:1/", ProxyAddress("proxy", 1, "u:x", "p@ss")),
        ({"host": "proxy", "port": 8080}, ProxyAddress("proxy", 8080)),
    ],
)
def test_parse_proxy(proxy: Any, expected: ProxyAddress) -> None:
    assert parse_proxy(proxy) == expected


@pytest.mark.parametrize(
    ("proxy", "message"),
    [
        ("socks5://p:1", "only http://"),
        ("https://p:1", "only http://"),
        ("http://p:1/path", "must be http://"),
        ("http://p:x", "invalid port"),
        ("http://u@p:1", "without a password"),
        ({"host": "p"}, "'port' must be an int"),
        ({"host": "p", "port": 0}, "'port' must be an int"),
        ({"host": "", "port": 1}, "'host' must be"),
        ({"host": "p", "port": 1, "user": "x"}, "unknown key 'user'"),
    ],
)
def test_parse_proxy_rejects(proxy: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_proxy(proxy)


def test_parse_proxy_type_and_display() -> None:
    with pytest.raises(TypeError, match="proxy must be"):
        parse_proxy(3128)  # type: ignore[arg-type]
    assert str(ProxyAddress("::1", 8)) == "http://[::1]:8"
    assert str(ProxyAddress("p", 8)) == "http://p:8"


# ------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("url", "options", "error", "message"),
    [
        ("wss://h/", {"ssl": False}, ValueError, "contradicts"),
        ("ws://h/", {"ssl": "yes"}, TypeError, "ssl must be"),
        ("ws://h/", {"serializers": "json"}, ValueError, "non-empty list"),
        ("ws://h/", {"serializers": []}, ValueError, "non-empty list"),
        ("ws://h/", {"serializers": ["yaml"]}, ValueError, "unknown WAMP serializer 'yaml'"),
        ("rs://h:1", {"serializers": ["json.batched"]}, ValueError, "over RawSocket"),
        ("rs://h:1", {"headers": {"a": "b"}}, ValueError, "headers are for WebSocket"),
        ("rs://h:1", {"max_message_size": 100}, ValueError, "at least 512"),
        ("ws://h/", {"max_message_size": 0}, ValueError, "max_message_size"),
        ("ws://h/", {"open_timeout": 0}, ValueError, "open_timeout"),
        ("ws://h/", {"close_timeout": -1}, ValueError, "close_timeout"),
        ("ws://h/", {"keepalive_interval": 0}, ValueError, "keepalive_interval"),
        ("ws://h/", {"keepalive_timeout": 1.0}, ValueError, "needs keepalive_interval"),
        ("ws+unix:///x.sock", {"proxy": "http://p:1"}, ValueError, "Unix socket"),
        ("ws://h/", {"unix_path": "/x", "proxy": "http://p:1"}, ValueError, "Unix socket"),
        ("ws://h/", {"proxy": 5}, TypeError, "proxy must be"),
        ("ftp://h/", {}, ValueError, "scheme"),
        ("ws://user@h/", {}, ValueError, "not a WebSocket URL"),
    ],
)
@async_test
async def test_bad_arguments_raise_before_connecting(
    url: str, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await connect(url, **options)


# ------------------------------------------------------------- failures to connect


@pytest.mark.parametrize("scheme", ["ws", "wss", "rs"])
@async_test
async def test_connection_refused_names_the_url(scheme: str) -> None:
    with socket.socket() as unused:  # bound, never listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        url = f"{scheme}://127.0.0.1:{unused.getsockname()[1]}/ws"
        with pytest.raises(TransportError) as raised:
            await connect(url)
    assert url in str(raised.value)
    assert isinstance(raised.value.__cause__, ConnectionRefusedError)
    assert not is_certificate_error(raised.value)


@pytest.mark.parametrize(
    ("scheme", "stage"),
    [
        ("ws", "WebSocket handshake"),
        ("rs", "RawSocket handshake"),
        ("wss", "TLS handshake"),
        ("rss", "TLS handshake"),
    ],
)
@async_test
async def test_open_timeout_against_a_server_that_never_answers(scheme: str, stage: str) -> None:
    async with raw_server() as server:  # accepts TCP, reads, never writes
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TransportError, match=r"timed out after 0\.2 s") as raised:
            await connect(server.url(scheme), open_timeout=0.2)
        assert loop.time() - started < 1.2  # bounded (generous for CI)
        assert server.url(scheme) in str(raised.value)
        assert stage in str(raised.value)
        await within(server.peers[0].lost)  # the half-open socket was closed


@async_test
async def test_tls_to_a_plain_server_is_a_clear_tls_error() -> None:
    async with serve(ws_server()) as server:
        # The server answers the ClientHello by hanging up (it is no HTTP request).
        with pytest.raises(TransportError, match=r"TLS handshake\): closed by the peer") as raised:
            await connect(server.url("wss"))
        assert isinstance(raised.value.__cause__, ConnectionResetError)
        assert not is_certificate_error(raised.value)


@async_test
async def test_plain_text_answer_to_tls_is_a_clear_tls_error() -> None:
    async with raw_server(
        lambda peer, data: peer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    ) as server:
        with pytest.raises(TransportError, match=r"TLS handshake with .* failed") as raised:
            await connect(server.url("wss"))
        assert isinstance(raised.value.__cause__, ssl.SSLError)
        assert not is_certificate_error(raised.value)


@async_test
async def test_missing_unix_socket_names_url_and_path(tmp_path: Path) -> None:
    path = tmp_path / "missing.sock"
    with pytest.raises(TransportError) as raised:
        await connect("ws://localhost/ws", unix_path=str(path))
    assert str(path) in str(raised.value) and "ws://localhost/ws" in str(raised.value)
    assert isinstance(raised.value.__cause__, FileNotFoundError)


# ----------------------------------------------------------------------------- TLS


@pytest.mark.parametrize("scheme", ["wss", "rss"])
@async_test
async def test_tls_with_a_custom_ca(certs: Certificates, scheme: str) -> None:
    async with serve(factory_for(scheme), tls=certs.server_context()) as server:
        client = await connect(server.url(scheme), ssl=certs.client_context())
        assert client.transport is not None
        peercert = client.transport.get_extra_info("peercert")
        assert ("IP Address", "127.0.0.1") in peercert["subjectAltName"]
        await assert_echoes(client)
        await close(client)


@pytest.mark.parametrize("scheme", ["wss", "rss"])
@async_test
async def test_unknown_ca_is_a_certificate_error(certs: Certificates, scheme: str) -> None:
    async with serve(factory_for(scheme), tls=certs.server_context()) as server:
        with pytest.raises(TransportError, match="certificate") as raised:
            await connect(server.url(scheme))  # the default context: system CAs only
        assert server.url(scheme) in str(raised.value)
        assert isinstance(raised.value.__cause__, ssl.SSLCertVerificationError)
        assert is_certificate_error(raised.value)


@async_test
async def test_ssl_false_on_a_plain_scheme_is_plain() -> None:
    async with serve(rs_server()) as server:
        client = await connect(server.url("rs"), ssl=False)
        assert client.transport is not None
        assert client.transport.get_extra_info("ssl_object") is None
        await close(client)


@async_test
async def test_ssl_true_enables_tls_on_a_plain_scheme(certs: Certificates) -> None:
    async with serve(ws_server(), tls=certs.server_context()) as server:
        with pytest.raises(TransportError, match="certificate"):
            await connect(server.url("ws"), ssl=True)


@async_test
async def test_certificate_must_match_the_url_host_not_the_address(certs: Certificates) -> None:
    async with serve(ws_server(), tls=certs.server_context()) as server:
        context = certs.client_context()
        # Connect to 127.0.0.1 but verify "localhost" (in the certificate)...
        client = await connect(f"wss://localhost:{server.port}/ws", host="127.0.0.1", ssl=context)
        assert isinstance(client, WebSocketChannel)
        peer = await server.next_channel()
        await within(peer.opened)
        assert isinstance(peer, WebSocketChannel) and peer.request is not None
        assert peer.request.headers["Host"] == f"localhost:{server.port}"
        await close(client)
        # ...and a name the certificate does not carry is refused.
        with pytest.raises(TransportError, match="certificate") as raised:
            await connect("wss://wrong.test/ws", host="127.0.0.1", port=server.port, ssl=context)
        assert "wrong.test" in str(raised.value.__cause__)
        assert is_certificate_error(raised.value)


@async_test
async def test_client_certificate_required_by_the_server(certs: Certificates) -> None:
    server_context = certs.server_context(require_client_cert=True)
    async with serve(ws_server(), tls=server_context) as server:
        # An asyncio server drops the connection without a TLS alert, so under
        # TLS 1.3 the client only sees the server hang up after the handshake.
        with pytest.raises(TransportError) as raised:
            await connect(server.url("wss"), ssl=certs.client_context())
        assert server.url("wss") in str(raised.value)

        client = await connect(server.url("wss"), ssl=certs.client_context(with_cert=True))
        peer = server.channels[-1]
        await within(peer.opened)
        assert peer.transport is not None
        subject = dict(item[0] for item in peer.transport.get_extra_info("peercert")["subject"])
        assert subject["commonName"] == "client"
        await assert_echoes(client)
        await close(client)


def test_is_certificate_error_walks_the_chain() -> None:
    assert not is_certificate_error(TransportError("plain"))
    alert = ssl.SSLError(1, "tlsv13 alert certificate required")
    alert.reason = "TLSV13_ALERT_CERTIFICATE_REQUIRED"  # as OpenSSL reports a peer's alert
    wrapped = TransportError("lost")
    wrapped.__cause__ = alert
    assert is_certificate_error(wrapped)
    assert not is_certificate_error(ssl.SSLError(1, "wrong version number"))
    outer = TransportError("outer")
    outer.__cause__ = ssl.SSLCertVerificationError("unable to get local issuer certificate")
    assert is_certificate_error(outer)
    looping = TransportError("a")
    other = TransportError("b")
    looping.__context__, other.__context__ = other, looping
    assert not is_certificate_error(looping)


# ---------------------------------------------------------------------- Unix sockets


@pytest.mark.parametrize("scheme", ["ws+unix", "rs+unix"])
@async_test
async def test_unix_socket_urls(socket_path: Path, scheme: str) -> None:
    path = socket_path
    async with serve(factory_for(scheme), unix=path) as server:
        client = await connect(f"{scheme}://{path}", serializers=["cbor"])
        assert client.serializer is get_serializer("cbor")
        assert client.endpoint == f"{scheme}://{path}"
        await assert_echoes(client)
        if scheme == "ws+unix":
            peer = server.channels[0]
            assert isinstance(peer, WebSocketChannel) and peer.request is not None
            assert peer.request.path == "/"
            assert peer.request.headers["Host"] == "localhost"
        await close(client)


@async_test
async def test_unix_path_keeps_the_urls_host_and_path(socket_path: Path) -> None:
    path = socket_path
    async with serve(ws_server(), unix=path) as server:
        client = await connect("ws://router.example/wamp?x=1", unix_path=str(path))
        assert str(path) in client.endpoint
        peer = server.channels[0]
        await within(peer.opened)
        assert isinstance(peer, WebSocketChannel) and peer.request is not None
        assert peer.request.path == "/wamp?x=1"
        assert peer.request.headers["Host"] == "router.example"
        await close(client)


@async_test
async def test_tls_over_a_unix_socket(socket_path: Path, certs: Certificates) -> None:
    path = socket_path
    async with serve(rs_server(), unix=path, tls=certs.server_context()) as _:
        client = await connect(f"rss+unix://{path}", ssl=certs.client_context())
        await assert_echoes(client)
        await close(client)


# -------------------------------------------------------- headers and negotiation


@async_test
async def test_custom_headers_and_url_credentials_reach_the_server() -> None:
    async with serve(ws_server()) as server:
        client = await connect(
            f"ws://alice:s3cret@127.0.0.1:{server.port}/ws",
            headers={"X-Token": "abc", "Origin": "https://app.example"},
        )
        peer = server.channels[0]
        await within(peer.opened)
        assert isinstance(peer, WebSocketChannel) and peer.request is not None
        headers = peer.request.headers
        assert headers["X-Token"] == "abc"
        assert headers.get_all("Origin") == ["https://app.example"]
        assert headers["Authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
        await close(client)
        # A header the request already has is replaced, not sent twice.
        client = await connect(
            f"ws://alice:s3cret@127.0.0.1:{server.port}/ws",
            headers={"Authorization": "Bearer t0ken"},
        )
        peer = server.channels[1]
        await within(peer.opened)
        assert isinstance(peer, WebSocketChannel) and peer.request is not None
        assert peer.request.headers.get_all("Authorization") == ["Bearer t0ken"]
        await close(client)


@async_test
async def test_server_picks_among_the_offered_serializers() -> None:
    async with serve(ws_server(("cbor", "json"))) as server:
        client = await connect(server.url("ws"), serializers=["msgpack", "json", "cbor"])
        peer = server.channels[0]
        await within(peer.opened)
        assert isinstance(peer, WebSocketChannel) and peer.request is not None
        offered = peer.request.headers["Sec-WebSocket-Protocol"]
        assert offered == "wamp.2.msgpack, wamp.2.json, wamp.2.cbor"
        assert client.serializer is get_serializer("json")  # the client's first common choice
        assert peer.serializer is client.serializer
        await assert_echoes(client, b"\x83\x01\x02\x03")
        await close(client)


@async_test
async def test_no_serializer_in_common_is_a_clear_error() -> None:
    async with serve(ws_server(("cbor",))) as server:
        with pytest.raises(TransportError, match="HTTP 400") as raised:
            await connect(server.url("ws"), serializers=["json", "msgpack"])
        assert "subprotocol" in str(raised.value)
        assert "wamp.2.cbor" in str(raised.value)  # what the server would have taken


@async_test
async def test_server_choosing_an_unoffered_subprotocol_is_refused() -> None:
    def wrong_pick(response: Response) -> None:
        del response.headers["Sec-WebSocket-Protocol"]
        response.headers["Sec-WebSocket-Protocol"] = "wamp.2.cbor"

    def script(peer: RawPeer, data: bytes) -> None:
        accepted = websocket_accept(peer, ["wamp.2.json"], edit=wrong_pick)
        if accepted is not None and not peer.state.get("open"):
            peer.state["open"] = True
            peer.write(accepted[1])

    async with raw_server(script) as server:
        with pytest.raises(TransportError, match="unsupported subprotocol"):
            await connect(server.url("ws"), serializers=["json"])


@async_test
async def test_rawsocket_asks_for_the_first_serializer() -> None:
    async with serve(rs_server(("json", "cbor"))) as server:
        client = await connect(server.url("tcp"), serializers=["cbor", "json"])
        assert client.serializer is get_serializer("cbor")
        await assert_echoes(client)
        await close(client)
        with pytest.raises(TransportError, match="serializer unsupported"):
            await connect(server.url("rs"), serializers=["msgpack", "json"])


@pytest.mark.parametrize("scheme", ["ws", "rs", "wss"])
@async_test
async def test_tcp_nodelay_is_set(scheme: str, certs: Certificates) -> None:
    tls = certs.server_context() if scheme == "wss" else None
    async with serve(factory_for(scheme), tls=tls) as server:
        client = await connect(server.url(scheme), ssl=certs.client_context() if tls else None)
        assert client.transport is not None
        sock = client.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        await close(client)


# ------------------------------------------------------------------------ proxies


@pytest.mark.parametrize("scheme", ["ws", "rs"])
@async_test
async def test_through_an_http_proxy(scheme: str) -> None:
    async with serve(factory_for(scheme)) as server, connect_proxy() as proxy:
        client = await connect(server.url(scheme), proxy=proxy.url)
        await assert_echoes(client)
        assert proxy.requests[0].startswith(f"CONNECT 127.0.0.1:{server.port} HTTP/1.1".encode())
        assert f"Host: 127.0.0.1:{server.port}".encode() in proxy.requests[0]
        await close(client)


@async_test
async def test_wss_through_an_http_proxy_with_credentials(certs: Certificates) -> None:
    async with serve(ws_server(), tls=certs.server_context()) as server, connect_proxy() as proxy:
        proxy_url = f"http://user:p%40ss@127.0.0.1:{proxy.port}"
        client = await connect(server.url("wss"), proxy=proxy_url, ssl=certs.client_context())
        assert client.transport is not None
        assert client.transport.get_extra_info("peercert") is not None  # TLS end to end
        await assert_echoes(client)
        expected = base64.b64encode(b"user:p@ss").decode()
        assert f"Proxy-Authorization: Basic {expected}".encode() in proxy.requests[0]
        await close(client)


@async_test
async def test_proxy_as_autobahn_dict() -> None:
    async with serve(ws_server()) as server, connect_proxy() as proxy:
        client = await connect(server.url("ws"), proxy={"host": "127.0.0.1", "port": proxy.port})
        await assert_echoes(client)
        await close(client)


@pytest.mark.parametrize(
    "status", ["407 Proxy Authentication Required", "403 Forbidden", "502 Bad Gateway"]
)
@async_test
async def test_proxy_refusal_is_a_clear_error(status: str) -> None:
    async with connect_proxy(refuse=status) as proxy:
        url = "ws://203.0.113.7:9000/ws"  # never reached: the proxy refuses first
        with pytest.raises(TransportError) as raised:
            await connect(url, proxy=proxy.url)
        message = str(raised.value)
        assert status in message and url in message and proxy.url in message


@async_test
async def test_silent_proxy_times_out_naming_the_stage() -> None:
    async with connect_proxy(silent=True) as proxy:
        with pytest.raises(TransportError, match="timed out") as raised:
            await connect("ws://203.0.113.7:9000/ws", proxy=proxy.url, open_timeout=0.2)
        assert "CONNECT to 203.0.113.7:9000" in str(raised.value)
        await within(proxy.finished.wait())  # our side of the tunnel was closed


@async_test
async def test_unreachable_proxy() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{unused.getsockname()[1]}"
        with pytest.raises(TransportError, match="connecting to HTTP proxy") as raised:
            await connect("ws://example.test/ws", proxy=proxy)
    assert isinstance(raised.value.__cause__, ConnectionRefusedError)


def _answer_connect(answer: bytes, *, then_close: bool = False) -> Any:
    def script(peer: RawPeer, data: bytes) -> None:
        if not peer.state.get("answered") and b"\r\n\r\n" in peer.received:
            peer.state["answered"] = True
            peer.write(answer)
            if then_close:
                assert peer.transport is not None
                peer.transport.close()

    return script


@pytest.mark.parametrize(
    ("answer", "then_close", "message"),
    [
        (b"SSH-2.0-OpenSSH_9.6 " + b"x" * 100 + b"\r\n\r\n", False, "not an HTTP response"),
        (b"HTTP/1.1 abc Weird\r\n\r\n", False, "not an HTTP response"),
        (b"HTTP/1.1 200 OK\r\n", True, "closed the connection before answering CONNECT"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Pad: y\r\n" * 2000, False, "without ending"),
        (b"HTTP/1.1 200 OK\r\n\r\n", True, "closed the tunnel|closed during the handshake"),
        (b"HTTP/1.0 404\r\n\r\n", False, "refused: 404"),
    ],
)
@async_test
async def test_misbehaving_proxies(answer: bytes, then_close: bool, message: str) -> None:
    async with raw_server(_answer_connect(answer, then_close=then_close)) as proxy:
        with pytest.raises(TransportError, match=message):
            await connect(
                "rs://203.0.113.7:9000", proxy=f"http://127.0.0.1:{proxy.port}", open_timeout=1
            )
        await within(proxy.peers[0].lost)


@async_test
async def test_bytes_right_behind_the_proxy_answer_go_to_the_channel() -> None:
    # A tunnel whose far end answers the RawSocket handshake in the same packet
    # as the proxy's 200: nothing may be lost.
    answer = (
        b"HTTP/1.1 200 Connection established\r\n\r\n"
        + bytes((0x7F, 0xF1, 0, 0))
        + struct.pack(">I", 2)
        + b"hi"
    )
    async with raw_server(_answer_connect(answer)) as proxy:
        client = await connect("rs://203.0.113.7:9000", proxy=f"http://127.0.0.1:{proxy.port}")
        frames: list[bytes] = []
        client.set_receiver(frames.append)
        assert frames == [b"hi"]
        await close(client)


@async_test
async def test_proxy_bytes_before_tls_are_refused(certs: Certificates) -> None:
    answer = b"HTTP/1.1 200 OK\r\n\r\nunexpected"
    async with raw_server(_answer_connect(answer)) as proxy:
        with pytest.raises(TransportError, match="sent data before the TLS handshake"):
            await connect(
                "wss://localhost:9000/ws",
                proxy=f"http://127.0.0.1:{proxy.port}",
                ssl=certs.client_context(),
            )


# ------------------------------------------------------------------- cancellation


@pytest.mark.parametrize("scheme", ["ws", "wss", "rs"])
@async_test
async def test_cancelling_connect_closes_the_socket(scheme: str) -> None:
    request_seen = asyncio.Event()
    async with raw_server(lambda peer, data: request_seen.set()) as server:
        attempt = asyncio.ensure_future(connect(server.url(scheme)))
        peer = await server.next_peer()
        await within(request_seen.wait())  # handshake (TLS or WAMP) under way
        attempt.cancel()
        with pytest.raises(asyncio.CancelledError):
            await attempt
        await within(peer.lost)


@async_test
async def test_cancelling_connect_during_proxy_connect_closes_the_tunnel() -> None:
    async with connect_proxy(silent=True) as proxy:
        attempt = asyncio.ensure_future(connect("ws://203.0.113.7:9000/ws", proxy=proxy.url))
        await within(proxy.connected.wait())
        while not proxy.requests:
            await asyncio.sleep(0)  # yield until the proxy has read the request
        attempt.cancel()
        with pytest.raises(asyncio.CancelledError):
            await attempt
        await within(proxy.finished.wait())


# ---------------------------------------------------------------------- fuzz-ish


def _garbage(rng: random.Random) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))


@pytest.mark.parametrize("scheme", ["ws", "rs"])
@async_test
async def test_garbage_handshake_replies_are_always_transport_errors(scheme: str) -> None:
    rng = random.Random(f"handshake-{scheme}")
    prefixes = (
        [b"", b"HTTP/1.1 101 Switching Protocols\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"]
        if scheme == "ws"
        else [b"", b"\x7f", b"\x7f\x00"]
    )

    def reply_garbage(peer: RawPeer, data: bytes) -> None:
        if not peer.state.get("done"):
            peer.state["done"] = True
            peer.write(rng.choice(prefixes) + _garbage(rng))
            assert peer.transport is not None
            peer.transport.close()

    async with raw_server(reply_garbage) as server:
        for _ in range(30):
            with pytest.raises(TransportError) as raised:
                await connect(server.url(scheme), open_timeout=1.0)
            assert server.url(scheme) in str(raised.value)
            assert "timed out" not in str(raised.value)  # failed at once, no hang
