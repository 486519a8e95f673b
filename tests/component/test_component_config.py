"""Component configuration: Autobahn's transport and authentication formats, checked up front.

Nothing here connects: every mistake must be a ValueError naming the key, raised by the
constructor.
"""

from __future__ import annotations

import copy
import ssl
from pathlib import Path
from typing import Any

import pytest
from component_helpers import make_certificates

import autostrada
from autostrada import Component, ComponentConfig, RegisterOptions, Session, SubscribeOptions
from autostrada.aio.component import EVENTS, default_is_fatal
from autostrada.aio.component_config import (
    DEFAULT_TRANSPORT_URL,
    TRANSPORT_KEYS,
    parse_authentication,
    parse_transports,
)
from autostrada.authenticators import AuthTicket
from autostrada.backoff import RetryPolicy
from autostrada.exceptions import AuthenticationFailed, TransportError

PRIVKEY = "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510"


def only(transports: Any) -> Any:
    (transport,) = parse_transports(transports)
    return transport


# --------------------------------------------------------------------- transports


def test_default_transport_is_autobahns() -> None:
    transport = only(None)
    assert DEFAULT_TRANSPORT_URL == "ws://127.0.0.1:8080/ws"
    assert (transport.kind, transport.url) == ("websocket", DEFAULT_TRANSPORT_URL)
    assert transport.retry == RetryPolicy()
    assert dict(transport.connect_options) == {}
    assert str(transport) == "transport 0 (websocket, ws://127.0.0.1:8080/ws)"


def test_url_dict_and_list_forms() -> None:
    transports = parse_transports(
        ["ws://a.example/ws", {"url": "rs://b.example:9000"}, {"url": "tcp://c.example:9001"}]
    )
    assert [(t.index, t.kind, t.url) for t in transports] == [
        (0, "websocket", "ws://a.example/ws"),
        (1, "rawsocket", "rs://b.example:9000"),
        (2, "rawsocket", "tcp://c.example:9001"),
    ]
    assert only({"url": "wss://a.example/ws"}).kind == "websocket"
    assert only(("rss://a.example:9000",)).kind == "rawsocket"


@pytest.mark.parametrize("transports", [[], 42, b"ws://x/ws"])
def test_transports_must_be_url_dict_or_list(transports: Any) -> None:
    with pytest.raises(ValueError, match="transports"):
        parse_transports(transports)


def test_unknown_transport_key_is_named() -> None:
    with pytest.raises(ValueError, match=r"transports\[0\]: unknown key\(s\) 'urll'"):
        Component(transports={"urll": "ws://127.0.0.1:8080/ws"})
    assert "max_retry_delay" in TRANSPORT_KEYS and len(TRANSPORT_KEYS) == 13


@pytest.mark.parametrize(
    ("transport", "match"),
    [
        (17, r"transports\[0\] must be a URL or a dict"),
        ({"type": "websocket"}, "'url' is required"),
        ({"url": 8080}, r"\.url must be a string"),
        ({"url": "http://127.0.0.1/ws"}, r"\.url: unsupported transport URL"),
        ({"type": "carrier-pigeon", "url": "ws://x/ws"}, r"\.type must be"),
        ({"type": "websocket", "url": "rs://x:1"}, "contradicts the RawSocket URL"),
        ({"url": "ws://x/ws", "serializer": "json"}, "'serializer' is for rawsocket"),
        ({"url": "rs://x:1", "serializers": ["json"]}, "'serializers' is for websocket"),
        ({"url": "ws://x/ws", "serializers": "json"}, "non-empty list"),
        ({"url": "ws://x/ws", "serializers": []}, "non-empty list"),
        ({"url": "ws://x/ws", "serializers": [1]}, "must be strings"),
        ({"url": "ws://x/ws", "serializers": ["ubjson"]}, "ubjson"),
        ({"url": "rs://x:1", "serializer": ["json"]}, r"\.serializer must be a name"),
        ({"url": "rs://x:1", "headers": {"a": "b"}}, "'headers' are for WebSocket"),
        ({"url": "ws://x/ws", "headers": {"a": 1}}, r"\.headers must be a dict of strings"),
        ({"url": "ws://x/ws", "proxy": {"host": "p"}}, "port"),
        ({"url": "ws://x/ws", "proxy": {"host": "p", "port": 1, "x": 2}}, "unknown key"),
        ({"url": "ws://x/ws", "max_retries": -5}, r"transports\[0\]: max_retries"),
        ({"url": "ws://x/ws", "retry_delay_jitter": 2}, "retry_delay_jitter"),
        ({"url": "ws://x/ws", "initial_retry_delay": "1"}, "initial_retry_delay"),
    ],
)
def test_bad_transport_is_a_named_value_error(transport: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Component(transports=[transport])


def test_retry_keys_with_float_values() -> None:
    transport = only(
        {
            "url": "ws://x/ws",
            "max_retries": 3,
            "initial_retry_delay": 0.25,
            "retry_delay_growth": 2,
            "retry_delay_jitter": 0.0,
            "max_retry_delay": 1.5,
        }
    )
    assert transport.retry == RetryPolicy(3, 0.25, 2.0, 0.0, 1.5)


def test_serializers() -> None:
    assert only({"url": "ws://x/ws", "serializers": ["cbor", "json"]}).connect_options == {
        "serializers": ["cbor", "json"]
    }
    assert only({"url": "rs://x:1", "serializer": "msgpack"}).connect_options == {
        "serializers": ["msgpack"]
    }


def test_rawsocket_type_with_a_websocket_url_uses_its_host_and_port() -> None:
    # Autobahn: a rawsocket transport connects to the host and port of a ws:// URL.
    assert only({"type": "rawsocket", "url": "ws://x:8080/ws"}).url == "rs://x:8080"
    assert only({"type": "rawsocket", "url": "wss://x:8443/ws"}).url == "rss://x:8443"
    assert (
        only({"type": "rawsocket", "url": "ws+unix:///run/r.sock"}).url == "rs+unix:///run/r.sock"
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"autoPingInterval": 10, "autoPingTimeout": 5},
            {"keepalive_interval": 10.0, "keepalive_timeout": 5.0},
        ),
        (
            {"auto_ping_interval": 0.5, "auto_ping_timeout": 0.25},
            {"keepalive_interval": 0.5, "keepalive_timeout": 0.25},
        ),
        ({"autoPingInterval": 0, "autoPingTimeout": 5}, {"keepalive_interval": None}),
        ({"auto_ping_timeout": 5}, {}),
        ({"openHandshakeTimeout": 2.5}, {"open_timeout": 2.5}),
        ({"open_handshake_timeout": 3}, {"open_timeout": 3.0}),
        ({"closeHandshakeTimeout": 0.5}, {"close_timeout": 0.5}),
        ({"close_handshake_timeout": 1}, {"close_timeout": 1.0}),
        ({"maxMessagePayloadSize": 65536}, {"max_message_size": 65536}),
        ({"max_message_payload_size": 4096}, {"max_message_size": 4096}),
    ],
)
def test_websocket_options_camel_and_snake_case(
    options: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert dict(only({"url": "ws://x/ws", "options": options}).connect_options) == expected


def test_options_for_rawsocket() -> None:
    transport = only(
        {
            "url": "rs://x:1",
            "options": {"max_message_payload_size": 1 << 16, "auto_ping_interval": 1},
        }
    )
    assert dict(transport.connect_options) == {
        "max_message_size": 1 << 16,
        "keepalive_interval": 1.0,
    }


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"perMessageCompressionOffers": []}, "'perMessageCompressionOffers' have no equivalent"),
        (
            {"per_message_compression_accept": None},
            "'per_message_compression_accept' have no equivalent",
        ),
        ({"tcpNoDelay": True, "failByDrop": False}, "'tcpNoDelay', 'failByDrop'"),
        ({"autoPingIntervall": 1}, "unknown option.*'autoPingIntervall'"),
        ({"auto_ping_interval": -1}, r"options\.auto_ping_interval must be a positive"),
        ({"openHandshakeTimeout": 0}, r"options\.openHandshakeTimeout must be a positive"),
        ({"closeHandshakeTimeout": "1"}, "closeHandshakeTimeout"),
        ({"maxMessagePayloadSize": 0}, "unlimited is not supported"),
        ({"maxMessagePayloadSize": 1.5}, "maxMessagePayloadSize"),
    ],
)
def test_unsupported_or_bad_options_are_named(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Component(transports={"url": "ws://x/ws", "options": options})


def test_options_must_be_a_dict() -> None:
    with pytest.raises(ValueError, match=r"options must be a dict"):
        Component(transports={"url": "ws://x/ws", "options": ["autoPingInterval"]})


def test_endpoint_tcp_overrides_host_and_port_with_float_timeout() -> None:
    transport = only(
        {
            "url": "ws://router.example:8080/ws",
            "endpoint": {
                "type": "tcp",
                "host": "127.0.0.1",
                "port": 9000,
                "timeout": 2.5,
                "version": 4,
            },
            "options": {"openHandshakeTimeout": 1.5},
        }
    )
    assert transport.url == "ws://router.example:8080/ws"
    # endpoint.timeout bounds the TCP connect, openHandshakeTimeout the handshake.
    assert dict(transport.connect_options) == {
        "host": "127.0.0.1",
        "port": 9000,
        "open_timeout": 4.0,
    }


def test_endpoint_tls_true_and_context() -> None:
    assert (
        only(
            {"url": "ws://x/ws", "endpoint": {"type": "tcp", "host": "x", "port": 1, "tls": True}}
        ).connect_options["ssl"]
        is True
    )
    context = ssl.create_default_context()
    transport = only(
        {"url": "wss://x/ws", "endpoint": {"type": "tcp", "host": "x", "port": 1, "tls": context}}
    )
    assert transport.connect_options["ssl"] is context


def test_endpoint_tls_dict_hostname_and_trust_root(tmp_path: Path) -> None:
    certificates = make_certificates(tmp_path)
    transport = only(
        {
            "url": "wss://127.0.0.1:8443/ws",
            "endpoint": {
                "type": "tcp",
                "host": "127.0.0.1",
                "port": 8443,
                "tls": {"hostname": "localhost", "trust_root": str(certificates.ca)},
            },
        }
    )
    # The certificate is checked against "localhost"; the socket goes to 127.0.0.1.
    assert transport.url == "wss://localhost:8443/ws"
    assert transport.connect_options["host"] == "127.0.0.1"
    assert isinstance(transport.connect_options["ssl"], ssl.SSLContext)
    plain = only(
        {"url": "wss://x/ws", "endpoint": {"type": "tcp", "host": "x", "port": 1, "tls": {}}}
    )
    assert plain.connect_options["ssl"] is True


def test_rawsocket_endpoint_without_url() -> None:
    tcp = only({"type": "rawsocket", "endpoint": {"type": "tcp", "host": "::1", "port": 9000}})
    assert tcp.url == "rs://[::1]:9000"
    tls = only(
        {"type": "rawsocket", "endpoint": {"type": "tcp", "host": "x", "port": 9000, "tls": True}}
    )
    assert tls.url == "rss://x:9000"
    unix = only(
        {
            "type": "rawsocket",
            "serializer": "json",
            "endpoint": {"type": "unix", "path": "/run/r.sock"},
        }
    )
    assert (unix.url, unix.connect_options["unix_path"]) == ("rs://localhost", "/run/r.sock")
    assert str(unix) == "transport 0 (rawsocket, rs://localhost (Unix socket /run/r.sock))"


def test_websocket_unix_endpoint() -> None:
    transport = only({"url": "ws://localhost/ws", "endpoint": {"type": "unix", "path": "r.sock"}})
    assert transport.connect_options == {"unix_path": "r.sock"}
    assert (
        only({"type": "websocket", "url": "ws+unix:///tmp/r.sock"}).url == "ws+unix:///tmp/r.sock"
    )


@pytest.mark.parametrize(
    ("endpoint", "match"),
    [
        ("tcp://x:1", r"endpoint must be a dict"),
        ({"type": "tcp", "host": "x", "port": 1, "hots": "y"}, r"unknown key\(s\) 'hots'"),
        ({"type": "udp"}, r"endpoint\.type must be 'tcp' or 'unix'"),
        ({"type": "tcp", "port": 1}, "'host' is required"),
        ({"type": "tcp", "host": "x", "port": 1, "path": "/p"}, "'path' is not valid in a 'tcp'"),
        ({"type": "unix", "path": "/p", "tls": True}, "'tls' is not valid in a 'unix'"),
        ({"type": "unix"}, "'path' is required"),
        ({"type": "unix", "path": ""}, r"endpoint\.path must be"),
        ({"type": "tcp", "host": "", "port": 1}, r"endpoint\.host must be"),
        ({"type": "tcp", "host": "x", "port": 70000}, r"endpoint\.port must be"),
        ({"type": "tcp", "host": "x", "port": "80"}, r"endpoint\.port must be"),
        ({"type": "tcp", "host": "x", "port": 1, "version": 5}, r"endpoint\.version"),
        ({"type": "tcp", "host": "x", "port": 1, "timeout": 0}, r"endpoint\.timeout"),
        ({"type": "tcp", "host": "x", "port": 1, "tls": "yes"}, r"endpoint\.tls must be"),
        (
            {"type": "tcp", "host": "x", "port": 1, "tls": {"ca": "x"}},
            r"tls: unknown key\(s\) 'ca'",
        ),
        ({"type": "tcp", "host": "x", "port": 1, "tls": {"hostname": 3}}, r"tls\.hostname"),
        (
            {"type": "tcp", "host": "x", "port": 1, "tls": {"trust_root": "/nonexistent/ca.pem"}},
            "trust_root",
        ),
    ],
)
def test_bad_endpoint_is_named(endpoint: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Component(transports={"url": "ws://x/ws", "endpoint": endpoint})


def test_contradictions_are_refused() -> None:
    with pytest.raises(ValueError, match="tls=False contradicts"):
        parse_transports(
            {"url": "wss://x/ws", "endpoint": {"type": "tcp", "host": "x", "port": 1, "tls": False}}
        )
    with pytest.raises(ValueError, match="needs a 'url'"):
        parse_transports({"type": "websocket", "endpoint": {"type": "tcp", "host": "x", "port": 1}})
    with pytest.raises(ValueError, match="Unix socket"):
        parse_transports(
            {
                "url": "ws://x/ws",
                "endpoint": {"type": "unix", "path": "/p"},
                "proxy": {"host": "p", "port": 1},
            }
        )


def test_proxy_and_headers_reach_connect_options() -> None:
    transport = only(
        {"url": "ws://x/ws", "proxy": {"host": "proxy", "port": 3128}, "headers": {"X-Api": "k"}}
    )
    assert dict(transport.connect_options) == {
        "proxy": {"host": "proxy", "port": 3128},
        "headers": {"X-Api": "k"},
    }
    assert (
        only({"url": "ws://x/ws", "proxy": "http://proxy:3128"}).connect_options["proxy"]
        == "http://proxy:3128"
    )


def test_callers_dicts_are_never_mutated(tmp_path: Path) -> None:
    transports = [
        {
            "url": "ws://x/ws",
            "options": {"auto_ping_interval": 1},
            "headers": {"A": "b"},
            "endpoint": {"type": "tcp", "host": "x", "port": 1, "tls": {"hostname": "y"}},
        },
        {"type": "rawsocket", "endpoint": {"type": "tcp", "host": "x", "port": 2}},
        "rs://x:3",
    ]
    authentication = {"ticket": {"authid": "joe", "ticket": "t", "authextra": {"k": "v"}}}
    before = copy.deepcopy((transports, authentication))
    component = Component(transports=transports, authentication=authentication)
    component._new_session()  # builds authenticators from the stored copies
    assert (transports, authentication) == before
    assert "type" not in transports[0]  # Autobahn writes the default type into the dict


# ------------------------------------------------------------------ authentication


@pytest.mark.parametrize(
    "authentication",
    [
        {"anonymous": {}},
        {"ticket": {"authid": "joe", "ticket": "secret"}},
        {"wampcra": {"authid": "joe", "secret": "s3cr3t"}},
        {"cryptosign": {"authid": "joe", "privkey": PRIVKEY, "authextra": {"x": 1}}},
        {"scram": {"authid": "joe", "password": "pw", "kdf": "argon2id-13"}},
        {"ticket": {"authid": "joe", "ticket": "t"}, "anonymous": {}},
    ],
)
def test_every_auth_method_is_accepted(authentication: dict[str, Any]) -> None:
    component = Component(authentication=authentication)
    session = component._new_session()
    assert sorted(session._authenticators) == sorted(authentication)


@pytest.mark.parametrize(
    ("authentication", "match"),
    [
        ({"ticket": {"authid": "joe", "tikcet": "x"}}, "'tikcet'"),
        ({"ticket": {"authid": "joe"}}, "missing key.*'ticket'"),
        ({"wampcra": {"authid": "joe", "secret": ""}}, "secret"),
        ({"cryptosign": {"privkey": "zz"}}, "privkey"),
        ({"kerberos": {}}, "unknown authentication method 'kerberos'"),
        ({"ticket": "secret"}, r"authentication\['ticket'\] must be a dict"),
        (["ticket"], "authentication must be a dict"),
    ],
)
def test_bad_authentication_fails_before_connecting(authentication: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Component(authentication=authentication)


def test_authenticator_objects_are_used_as_given() -> None:
    ticket = AuthTicket(authid="joe", ticket="t")
    assert parse_authentication({"ticket": ticket}) == {"ticket": ticket}
    session = Component(authentication={"ticket": ticket})._new_session()
    assert session._authenticators["ticket"] is ticket


# ---------------------------------------------------------------------- constructor


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"main": 3}, "main must be callable"),
        ({"is_fatal": True}, "is_fatal must be callable"),
        ({"session_factory": "Session"}, "session_factory must be callable"),
        ({"realm": ""}, "realm must be a non-empty string"),
        ({"realm": None}, "realm"),
        ({"config": {"realm": "r"}}, "config must be a ComponentConfig"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Component(**kwargs)


def test_config_extra_and_session_factory() -> None:
    made: list[ComponentConfig] = []

    def factory(config: ComponentConfig) -> Session:
        made.append(config)
        return Session(config)

    config = ComponentConfig(realm="ignored", extra={"from": "config"}, shared="s")
    component = Component(config=config, realm="r2", session_factory=factory)
    session = component._new_session()
    assert made[0].realm == "r2" and made[0].extra == {"from": "config"} and made[0].shared == "s"
    assert session.config is made[0]
    assert Component(config=config, extra="mine")._new_session().config.extra == "mine"
    assert Component().session_factory is Session
    assert "realm='realm1'" in repr(Component())


def test_decorators_return_the_function() -> None:
    component = Component()

    def handler(*args: Any) -> None:
        pass

    for decorator in (
        component.on_join,
        component.on_leave,
        component.on_connect,
        component.on_disconnect,
        component.on_ready,
        component.on_connectfailure,
        component.register("com.example.add", RegisterOptions(invoke="roundrobin")),
        component.subscribe("com.example.", SubscribeOptions(match="prefix")),
    ):
        assert decorator(handler) is handler
    assert [len(component._handlers[e]) for e in EVENTS] == [0, 1, 3, 1, 1, 1, 1]


def test_decorator_arguments_are_checked() -> None:
    component = Component()
    with pytest.raises(TypeError, match="RegisterOptions"):
        component.register("a.b", SubscribeOptions())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SubscribeOptions"):
        component.subscribe("a.b", RegisterOptions())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a valid WAMP URI"):
        component.register("a..b")
    with pytest.raises(ValueError, match="not a valid WAMP URI"):
        component.subscribe("a b")
    component.subscribe("a..b", SubscribeOptions(match="wildcard"))  # fine as a pattern


def test_on_and_off() -> None:
    component = Component()

    def one(*args: Any) -> None:
        pass

    def two(*args: Any) -> None:
        pass

    with pytest.raises(ValueError, match="unknown event 'joined'"):
        component.on("joined", one)
    with pytest.raises(TypeError, match="callable"):
        component.on("join", "one")  # type: ignore[arg-type]
    component.on("join", one)
    component.on("join", two)
    component.on("leave", one)
    component.off("join", one)
    component.off("join", one)  # not there any more: nothing happens
    assert component._handlers["join"] == [two]
    component.off("join")
    assert component._handlers["join"] == []
    with pytest.raises(ValueError, match="name the event"):
        component.off(handler=one)
    component.off()
    assert all(not handlers for handlers in component._handlers.values())
    with pytest.raises(ValueError, match="unknown event"):
        component.off("nope")


def test_default_is_fatal() -> None:
    assert default_is_fatal(AuthenticationFailed("wrong ticket"))
    assert not default_is_fatal(TransportError("connection refused"))
    error = TransportError("TLS certificate verification failed")
    error.__cause__ = ssl.SSLCertVerificationError(1, "unknown CA")
    assert default_is_fatal(error)


def test_names_are_importable_from_the_top_level() -> None:
    # What an Autobahn asyncio app imports from autobahn.asyncio.component.
    assert autostrada.Component is Component
    assert callable(autostrada.run)
    assert {"Component", "run"} <= set(autostrada.__all__)
    assert Component(transports="ws://x/ws").transports[0].url == "ws://x/ws"
