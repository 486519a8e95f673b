"""The router's configuration files: our TOML format and the Crossbar.io config subset."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from autostrada.auth import ScramCredential
from autostrada.router import config as config_module
from autostrada.router.config import (
    ConfigError,
    ListenerConfig,
    ServerConfig,
    TLSConfig,
    default_config,
    load_crossbar,
    load_toml,
)
from autostrada.router.core import (
    AnonymousAuth,
    CryptosignAuth,
    DynamicAuthenticator,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    RouterLimits,
    ScramAuth,
    TicketAuth,
    TicketPrincipal,
    WampCraAuth,
    WampCraPrincipal,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "router.toml"
KEY = "920fda7817e5ac2824d71a944db5bc3fe607d385475250069c4366260870e7f6"
SECRET = "T0P-SECRET-VALUE"

# A SCRAM credential as Crossbar stores it (cheap argon2id costs: fast tests).
SCRAM = ScramCredential.from_password("pw", iterations=1, memory=8, salt=b"saltsalt").to_config()


def write(tmp_path: Path, text: str, name: str = "router.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path, load: Any = load_toml) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(path)
    return info.value


# ======================================================================================
# default_config, the example, the dataclasses


def test_default_config() -> None:
    config = default_config()
    assert config.router == RouterConfig.development()
    [realm] = config.router.realms
    assert realm.name == "realm1"
    assert realm.auth == (AnonymousAuth("anonymous"),)
    assert realm.roles[0].permissions == (Permission.allow_all(),)
    ws, rs = config.listeners
    assert ws == ListenerConfig("websocket", "127.0.0.1", 8080, path="/ws")
    assert rs == ListenerConfig("rawsocket", "127.0.0.1", 8081)
    [warning] = config.warnings
    assert "\n" not in warning
    assert "ws://127.0.0.1:8080/ws" in warning
    assert "rs://127.0.0.1:8081" in warning
    assert "anonymous" in warning


def test_example_loads_completely() -> None:
    config = load_toml(EXAMPLE)
    assert config.warnings == ()
    assert config.shutdown_timeout == 5.0
    assert config.router.agent == "autostrada"
    assert config.router.limits == RouterLimits()
    app, iot = config.router.realms
    assert app.name == "com.example.app"
    assert [r.name for r in app.roles] == ["backend", "frontend", "anonymous"]
    backend = app.role("backend")
    assert backend is not None
    assert backend.permissions == (
        Permission(
            "com.example.",
            "prefix",
            call=True,
            register=True,
            publish=True,
            subscribe=True,
            disclose_caller=True,
        ),
    )
    frontend = app.role("frontend")
    assert frontend is not None
    assert frontend.permissions[1] == Permission("com.example..status", "wildcard", subscribe=True)
    assert frontend.permissions[2] == Permission("com.example.api.admin.shutdown")
    assert app.auth_method("anonymous") == AnonymousAuth("anonymous")
    ticket = app.auth_method("ticket")
    assert isinstance(ticket, TicketAuth)
    assert ticket.principals["browser-1"] == TicketPrincipal("example-ticket-browser-1", "frontend")
    wampcra = app.auth_method("wampcra")
    assert isinstance(wampcra, WampCraAuth)
    assert wampcra.principals["backend-1"] == WampCraPrincipal("example-wampcra-secret", "backend")
    assert wampcra.principals["backend-2"] == WampCraPrincipal(
        "9DLBUcv+TSwlXkZg16X6wUCft3959cN4psVRD4CLEKY=", "backend", "example-salt", 1000, 32
    )
    cryptosign = app.auth_method("cryptosign")
    assert isinstance(cryptosign, CryptosignAuth)
    assert cryptosign.principals["device-1"].authorized_keys == (KEY,)
    scram = app.auth_method("wamp-scram")
    assert isinstance(scram, ScramAuth)
    dave = scram.principals["dave"]
    assert (dave.kdf, dave.iterations, dave.memory, dave.role) == (
        "argon2id-13",
        4096,
        512,
        "frontend",
    )
    # The stored keys are those of the password the example names.
    credential = ScramCredential.from_password(
        "dave-password", iterations=4096, memory=512, salt=bytes.fromhex(dave.salt)
    )
    assert credential.stored_key.hex() == dave.stored_key

    assert iot.auth == (
        TicketAuth(
            authenticator=DynamicAuthenticator("com.example.authenticate", "com.example.app", 5.0)
        ),
    )
    ws, rs, universal, unix = config.listeners
    assert ws == ListenerConfig(
        "websocket",
        "127.0.0.1",
        8080,
        path="/ws",
        serializers=("json", "msgpack", "cbor", "json.batched"),
        max_message_size=1 << 20,
        keepalive_interval=30.0,
        keepalive_timeout=10.0,
        max_write_buffer=4 << 20,
        open_timeout=10.0,
    )
    assert rs == ListenerConfig("rawsocket", port=8081)
    assert universal == ListenerConfig("universal", port=8082, path="/")
    assert unix == ListenerConfig("rawsocket", unix_path=str(EXAMPLE.parent / "router.sock"))
    assert ws.urls() == ("ws://127.0.0.1:8080/ws",)
    assert universal.urls() == ("ws://127.0.0.1:8082/", "rs://127.0.0.1:8082")
    assert unix.urls() == (f"rs://unix:{EXAMPLE.parent / 'router.sock'}",)


def test_example_documents_every_key() -> None:
    """The example is the complete reference: every key we accept appears in it."""
    text = EXAMPLE.read_text()
    keys = {
        *(f.name for f in dataclasses.fields(ListenerConfig)),
        *(f.name for f in dataclasses.fields(TLSConfig)),
        *(f.name for f in dataclasses.fields(RouterLimits)),
        "agent",
        "shutdown_timeout",
        "disclose_caller",
        "procedure",
        "timeout",
    }
    keys.discard("tls")  # a table: [listeners.tls]
    assert "[listeners.tls]" in text
    missing = [key for key in keys if not re.search(rf"^#? ?{key} =", text, re.MULTILINE)]
    assert missing == []


def test_docs_show_the_example() -> None:
    docs = (EXAMPLE.parents[1] / "docs" / "router-config.md").read_text()
    assert f"```toml\n{EXAMPLE.read_text()}```\n" in docs


def test_minimal_file_uses_default_listeners_and_anonymous(tmp_path: Path) -> None:
    path = write(tmp_path, '[[realms]]\nname = "realm1"\n[[realms.roles]]\nname = "anonymous"\n')
    config = load_toml(path)
    assert config.listeners == default_config().listeners
    assert config.router.realms == (RealmConfig("realm1", (RoleConfig("anonymous"),)),)
    assert config.warnings == ()


def test_every_limit_can_be_set(tmp_path: Path) -> None:
    values: dict[str, Any] = {}
    lines = []
    for f in dataclasses.fields(RouterLimits):
        value = (not f.default) if isinstance(f.default, bool) else f.default * 2
        values[f.name] = value
        lines.append(f"{f.name} = {json.dumps(value)}")
    text = "[limits]\n" + "\n".join(lines) + '\n[[realms]]\nname = "r"\n[[realms.roles]]\n'
    config = load_toml(write(tmp_path, text + 'name = "anonymous"\n'))
    assert config.router.limits == RouterLimits(**values)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: TLSConfig("", "k"), "TLSConfig.cert_file"),
        (lambda: TLSConfig("c", "k", ""), "TLSConfig.ca_file"),
        (lambda: TLSConfig("c", "k", require_client_cert=1), "TLSConfig.require_client_cert"),
        (lambda: TLSConfig("c", "k", require_client_cert=True), "TLSConfig.require_client_cert"),
        (lambda: ListenerConfig("http", port=1), "ListenerConfig.kind"),
        (lambda: ListenerConfig("websocket", "", 1), "ListenerConfig.host"),
        (lambda: ListenerConfig("websocket", port=True), "ListenerConfig.port"),
        (lambda: ListenerConfig("websocket", unix_path=""), "ListenerConfig.unix_path"),
        (
            lambda: ListenerConfig("websocket", port=1, serializers="json"),
            "ListenerConfig.serializers",
        ),
        (lambda: ListenerConfig("websocket", port=1, tls="x"), "ListenerConfig.tls"),
        (
            lambda: ListenerConfig("websocket", port=1, max_write_buffer=0),
            "ListenerConfig.max_write_buffer",
        ),
        (
            lambda: ListenerConfig("websocket", port=1, keepalive_interval=-1),
            "ListenerConfig.keepalive_interval",
        ),
        (lambda: ServerConfig("x", (ListenerConfig("websocket", port=1),)), "ServerConfig.router"),
        (lambda: ServerConfig(RouterConfig(), ()), "ServerConfig.listeners"),
        (lambda: ServerConfig(RouterConfig(), ("x",)), "ServerConfig.listeners[0]"),
        (
            lambda: ServerConfig(RouterConfig(), (ListenerConfig("websocket", port=1),) * 2),
            "ServerConfig.listeners[1]",
        ),
        (
            lambda: ServerConfig(RouterConfig(), default_config().listeners, 0),
            "ServerConfig.shutdown_timeout",
        ),
        (
            lambda: ServerConfig(RouterConfig(), default_config().listeners, warnings=(1,)),
            "ServerConfig.warnings",
        ),
    ],
)
def test_dataclasses_validate(make: Any, field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{re.escape(field)}: "):
        make()


def test_dataclass_conveniences() -> None:
    listener = ListenerConfig(
        "universal", "::1", 0, serializers=["wamp.2.cbor", "json"], tls=TLSConfig("c", "k")
    )
    assert listener.serializers == ("cbor", "json")
    assert listener.urls() == ("wss://[::1]:0/ws", "rss://[::1]:0")
    # Port 0 (any free port) may repeat; so may Unix paths not.
    ServerConfig(RouterConfig(), (ListenerConfig("websocket", port=0),) * 2)
    config = ServerConfig(RouterConfig(), [ListenerConfig("rawsocket", port=1)], 1, ["w"])
    assert config.listeners == (ListenerConfig("rawsocket", port=1),)
    assert config.warnings == ("w",)


# ======================================================================================
# TOML: every error names the file and the key

REALM = """
[[realms]]
name = "realm1"
[[realms.roles]]
name = "user"
[[realms.roles.permissions]]
uri = "com.example."
match = "prefix"
call = true
"""
ANON = REALM + '[[realms.roles]]\nname = "anonymous"\n'
TICKET = REALM + f'[realms.auth.ticket.principals.alice]\nticket = "{SECRET}"\nrole = "user"\n'
CRA = REALM + f'[realms.auth.wampcra.principals.bob]\nsecret = "{SECRET}"\nrole = "user"\n'
CRYPTOSIGN = REALM + "[realms.auth.cryptosign.principals.carol]\nrole = 'user'\n"
SCRAM_TOML = REALM + "[realms.auth.scram.principals.dave]\nrole = 'user'\n"
SCRAM_KEYS = "".join(f"{k} = {json.dumps(v)}\n" for k, v in SCRAM.items())
DYNAMIC = REALM + "[realms.auth.ticket.authenticator]\n"
WS = ANON + "[[listeners]]\nkind = 'websocket'\n"
RS = ANON + "[[listeners]]\nkind = 'rawsocket'\nport = 9000\n"
P0 = "realms[0].roles[0].permissions[0]"
PRINCIPALS = "realms[0].auth.ticket.principals"

BAD_TOML = [
    # the file
    ("[[realms]\n", "", "not valid TOML"),
    ("foo = 1\n" + ANON, "foo", "unknown key 'foo' (allowed: limits, listeners, realms, router)"),
    ("", "realms", "missing: configure at least one [[realms]]"),
    ("realms = 5\n", "realms", "must be an array, got integer"),
    ("realms = [1]\n", "realms[0]", "must be a table, got integer"),
    # router, limits
    ("[router]\nagent = ''\n" + ANON, "router.agent", "must be a non-empty string"),
    (
        "[router]\nshutdown_timeout = 0\n" + ANON,
        "router.shutdown_timeout",
        "must be a positive number, got 0",
    ),
    ("[router]\nnodes = 1\n" + ANON, "router.nodes", "unknown key 'nodes'"),
    ("[limits]\nmax_foo = 1\n" + ANON, "limits.max_foo", "unknown key 'max_foo'"),
    (
        "[limits]\nmax_pending_calls_per_session = -1\n" + ANON,
        "limits.max_pending_calls_per_session",
        "must be a positive integer, got -1",
    ),
    (
        "[limits]\nstrict_request_ids = 1\n" + ANON,
        "limits.strict_request_ids",
        "must be a bool, got 1",
    ),
    (
        "[limits]\nchallenge_timeout = 'x'\n" + ANON,
        "limits.challenge_timeout",
        "must be a positive number, got 'x'",
    ),
    # realms, roles, permissions
    ("[[realms]]\n", "realms[0].name", "missing (required)"),
    (ANON.replace("realm1", "bad realm"), "realms[0].name", "'bad realm' is not a valid WAMP URI"),
    (ANON + ANON, "realms[1]", "duplicate realm 'realm1'"),
    (ANON + '[[realms.roles]]\nname = "user"\n', "realms[0].roles[2]", "duplicate role 'user'"),
    (
        ANON.replace('name = "user"', "name = 5"),
        "realms[0].roles[0].name",
        "must be a string, got integer",
    ),
    (ANON + "[[realms.roles]]\npermissions = []\n", "realms[0].roles[2].name", "missing"),
    (
        ANON.replace('"prefix"', '"regex"'),
        f"{P0}.match",
        "must be one of exact, prefix, wildcard, got 'regex'",
    ),
    (
        ANON.replace('"prefix"', '"exact"').replace("example.", "example..x"),
        f"{P0}.uri",
        "not a valid URI pattern",
    ),
    (ANON.replace("call = true", "call = 'yes'"), f"{P0}.call", "must be a boolean, got string"),
    (ANON.replace("call = true", "allow = true"), f"{P0}.allow", "unknown key 'allow' (allowed: "),
    (
        ANON.replace(
            'name = "anonymous"',
            'name = "anonymous"\n[[realms.roles.permissions]]\nuri = "a"\n'
            '[[realms.roles.permissions]]\nuri = "a"',
        ),
        "realms[0].roles[1].permissions[1]",
        "duplicate permission for uri='a' match=exact",
    ),
    ("[[realms]]\nname = 'r'\nroles = 'x'\n", "realms[0].roles", "must be an array, got string"),
    ("[[realms]]\nname = 'r'\nbroker = {}\n", "realms[0].broker", "unknown key 'broker'"),
    # auth
    (REALM, "realms[0].auth", "missing: without it the realm accepts anonymous sessions"),
    (
        REALM + "[realms.auth]\n",
        "realms[0].auth",
        "configure at least one of anonymous, ticket, wampcra",
    ),
    (REALM + "[realms.auth.cookie]\n", "realms[0].auth.cookie", "unknown key 'cookie'"),
    (
        REALM + "[realms.auth]\nticket = 1\n",
        "realms[0].auth.ticket",
        "must be a table, got integer",
    ),
    (
        REALM + "[realms.auth.anonymous]\n",
        "realms[0].auth.anonymous.role",
        "'anonymous' is not a role of the realm",
    ),
    (
        REALM + "[realms.auth.anonymous]\nrole = 'user'\nauthid = 'x'\n",
        "realms[0].auth.anonymous.authid",
        "unknown",
    ),
    (
        REALM + "[realms.auth.ticket]\n",
        "realms[0].auth.ticket",
        "give either principals (static) or authenticator",
    ),
    (
        TICKET + "[realms.auth.ticket.authenticator]\nprocedure = 'a.b'\n",
        "realms[0].auth.ticket",
        "give either principals (static) or authenticator",
    ),
    (REALM + "[realms.auth.ticket.principals]\n", PRINCIPALS, "must not be empty"),
    (
        REALM + "[realms.auth.ticket.principals]\nalice = 'x'\n",
        f"{PRINCIPALS}.alice",
        "must be a table, got string",
    ),
    (REALM + '[realms.auth.ticket.principals.""]\n', PRINCIPALS, "names must not be empty"),
    (TICKET.replace("ticket = ", "token = "), f"{PRINCIPALS}.alice.ticket", "missing (required)"),
    (
        TICKET.replace('role = "user"', "role = 'admin'"),
        f"{PRINCIPALS}.alice.role",
        "'admin' is not a role of the realm",
    ),
    (
        TICKET.replace("alice", '"a.b"').replace('role = "user"', "role = 'x'"),
        f'{PRINCIPALS}."a.b".role',
        "'x' is not a role of the realm",
    ),
    (TICKET + "extra = 1\n", f"{PRINCIPALS}.alice.extra", "unknown key 'extra'"),
    (
        TICKET.replace(SECRET, "${AUTOSTRADA_TEST_UNSET_VARIABLE}"),
        f"{PRINCIPALS}.alice.ticket",
        "environment variable AUTOSTRADA_TEST_UNSET_VARIABLE is not set",
    ),
    (
        CRA + "iterations = 0\n",
        "realms[0].auth.wampcra.principals.bob.iterations",
        "must be a positive integer, got 0",
    ),
    (
        CRA + "salt = ''\n",
        "realms[0].auth.wampcra.principals.bob.salt",
        "must be a non-empty string, got ''",
    ),
    (
        CRA + "keylen = 2000\n",
        "realms[0].auth.wampcra.principals.bob.keylen",
        "must be at most 1024, got 2000",
    ),
    (
        CRA + "salt = 's'\niterations = 1e9\n",
        "realms[0].auth.wampcra.principals.bob.iterations",
        "must be a positive integer, got float",
    ),
    (
        CRA + "salt = 's'\niterations = 1000000000\n",
        "realms[0].auth.wampcra.principals.bob.iterations",
        "must be at most",
    ),
    (
        CRYPTOSIGN + "authorized_keys = ['abc']\n",
        "realms[0].auth.cryptosign.principals.carol.authorized_keys[0]",
        "must be an Ed25519 public key: 64 hex digits",
    ),
    (
        CRYPTOSIGN + "authorized_keys = []\n",
        "realms[0].auth.cryptosign.principals.carol.authorized_keys",
        "must not be empty",
    ),
    (
        CRYPTOSIGN + "authorized_keys = [1]\n",
        "realms[0].auth.cryptosign.principals.carol.authorized_keys",
        "must be an array of strings",
    ),
    (
        SCRAM_TOML + SCRAM_KEYS.replace(SCRAM["salt"], "zz"),
        "realms[0].auth.scram.principals.dave",
        "must be hex",
    ),
    (
        SCRAM_TOML + SCRAM_KEYS.replace("argon2id-13", "md5"),
        "realms[0].auth.scram.principals.dave",
        "unknown SCRAM kdf",
    ),
    (
        SCRAM_TOML + SCRAM_KEYS.replace("stored-key", "stored_key"),
        "realms[0].auth.scram.principals.dave.stored-key",
        "missing (required) (is 'stored_key' a misspelling?)",
    ),
    (
        SCRAM_TOML + "password = 'pw'\nkdf = 'md5'\n",
        "realms[0].auth.scram.principals.dave",
        "unknown SCRAM kdf",
    ),
    (
        SCRAM_TOML + "password = 'pw'\nsalt = 'aa'\n",
        "realms[0].auth.scram.principals.dave.salt",
        "unknown key 'salt'",
    ),
    (DYNAMIC, "realms[0].auth.ticket.authenticator.procedure", "missing (required)"),
    (
        DYNAMIC + "procedure = 'not a uri'\n",
        "realms[0].auth.ticket.authenticator.procedure",
        "is not a valid WAMP URI",
    ),
    (
        DYNAMIC + "procedure = 'a.b'\ntimeout = 0\n",
        "realms[0].auth.ticket.authenticator.timeout",
        "must be a positive number, got 0",
    ),
    (
        DYNAMIC + "procedure = 'a.b'\nrealm = 'a b'\n",
        "realms[0].auth.ticket.authenticator.realm",
        "not a valid WAMP URI",
    ),
    (
        DYNAMIC + "procedure = 'a.b'\nauthenticator = 'a.b'\n",
        "realms[0].auth.ticket.authenticator.authenticator",
        "unknown key",
    ),
    # listeners
    ("listeners = []\n" + ANON, "listeners", "must not be empty"),
    (
        WS.replace("'websocket'", "'http'") + "port = 1\n",
        "listeners[0].kind",
        "must be one of websocket, rawsocket, universal, got 'http'",
    ),
    (ANON + "[[listeners]]\nport = 1\n", "listeners[0].kind", "missing (required)"),
    (WS + "port = 70000\n", "listeners[0].port", "must be an integer in 0..65535, got 70000"),
    (WS + "port = '80'\n", "listeners[0].port", "must be an integer in 0..65535, got '80'"),
    (
        WS + "port = 1\nunix_path = 'a.sock'\n",
        "listeners[0].port",
        "give exactly one of port and unix_path",
    ),
    (WS, "listeners[0].port", "give exactly one of port and unix_path"),
    (
        WS + "host = 'localhost'\nunix_path = 'a.sock'\n",
        "listeners[0].host",
        "has no meaning with unix_path",
    ),
    (WS + "port = 1\nhost = ''\n", "listeners[0].host", "must be a non-empty string"),
    (
        WS + "port = 1\nserializers = ['json', 'xml']\n",
        "listeners[0].serializers[1]",
        "unknown WAMP serializer 'xml'",
    ),
    (
        RS + "serializers = ['json.batched']\n",
        "listeners[0].serializers[0]",
        "json.batched exists only on WebSocket",
    ),
    (
        WS + "port = 1\nserializers = ['json', 'wamp.2.json']\n",
        "listeners[0].serializers[1]",
        "duplicate serializer 'json'",
    ),
    (WS + "port = 1\nserializers = []\n", "listeners[0].serializers", "must not be empty"),
    (
        WS + "port = 1\nserializers = 'json'\n",
        "listeners[0].serializers",
        "must be a list of serializer names",
    ),
    (
        WS + "port = 1\npath = 'ws'\n",
        "listeners[0].path",
        "must be a URL path starting with '/', got 'ws'",
    ),
    (
        RS + "max_message_size = 100\n",
        "listeners[0].max_message_size",
        "RawSocket allows 512..16777216, got 100",
    ),
    (
        RS + "max_message_size = 33554432\n",
        "listeners[0].max_message_size",
        "RawSocket allows 512..16777216, got 33554432",
    ),
    (
        WS + "port = 1\nmax_message_size = 0\n",
        "listeners[0].max_message_size",
        "must be a positive integer, got 0",
    ),
    (
        WS + "port = 1\nkeepalive_interval = 0\nkeepalive_timeout = 5\n",
        "listeners[0].keepalive_timeout",
        "means nothing with keepalive_interval = 0 (no pings)",
    ),
    (
        WS + "port = 1\nkeepalive_interval = -1\n",
        "listeners[0].keepalive_interval",
        "must be a positive number of seconds, or 0 (no pings), got -1",
    ),
    (
        WS + "port = 1\nopen_timeout = '10'\n",
        "listeners[0].open_timeout",
        "must be a positive number of seconds, got '10'",
    ),
    (
        WS + "port = 1\nopen_timeout = nan\n",
        "listeners[0].open_timeout",
        "must be a positive number of seconds, got nan",
    ),
    (
        WS + "port = 1\nopen_timeout = inf\n",
        "listeners[0].open_timeout",
        "must be a positive number of seconds, got inf",
    ),
    (WS + "port = 1\nbacklog = 5\n", "listeners[0].backlog", "unknown key 'backlog' (allowed: "),
    (
        WS + "port = 9\n" + RS.removeprefix(ANON).replace("9000", "9"),
        "listeners[1]",
        "same address as listeners[0]",
    ),
    (
        WS + "unix_path = 'a'\n[[listeners]]\nkind = 'rawsocket'\nunix_path = 'a'\n",
        "listeners[1]",
        "same address as listeners[0]",
    ),
    (
        WS + "port = 1\n[listeners.tls]\nkey_file = 'k'\n",
        "listeners[0].tls.cert_file",
        "missing (required)",
    ),
    (
        WS + "port = 1\n[listeners.tls]\ncert_file = 'nope.pem'\nkey_file = 'k'\n",
        "listeners[0].tls.cert_file",
        "no such file: ",
    ),
    (
        WS + "port = 1\n[listeners.tls]\ncert_file = 'c.pem'\nkey_file = 'nope'\n",
        "listeners[0].tls.key_file",
        "no such file",
    ),
    (
        WS
        + "port = 1\n[listeners.tls]\ncert_file = 'c.pem'\nkey_file = 'k.pem'\nca_file = 'nope'\n",
        "listeners[0].tls.ca_file",
        "no such file",
    ),
    (
        WS
        + "port = 1\n[listeners.tls]\ncert_file = 'c.pem'\nkey_file = 'k.pem'\n"
        + "require_client_cert = true\n",
        "listeners[0].tls.require_client_cert",
        "needs ca_file",
    ),
    (
        WS + "port = 1\n[listeners.tls]\ncert_file = 'c.pem'\nkey_file = 'k.pem'\nciphers = 'x'\n",
        "listeners[0].tls.ciphers",
        "unknown key 'ciphers' (allowed: ca_file, cert_file, key_file, require_client_cert)",
    ),
]


@pytest.mark.parametrize(("text", "key", "problem"), BAD_TOML)
def test_toml_errors_name_file_and_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    (tmp_path / "c.pem").write_text("cert")
    (tmp_path / "k.pem").write_text("key")
    path = write(tmp_path, text)
    error = error_of(path)
    assert (error.file, error.key) == (str(path), key), str(error)
    assert problem in error.problem
    assert str(error) == (f"{path}: {key}: {error.problem}" if key else f"{path}: {error.problem}")
    assert SECRET not in str(error)


def test_port_zero_may_repeat_and_odd_unix_paths(tmp_path: Path) -> None:
    listeners = "[[listeners]]\nkind = 'websocket'\nport = 0\n" * 2
    assert len(load_toml(write(tmp_path, ANON + listeners)).listeners) == 2
    error = error_of(write(tmp_path, ANON + "[[listeners]]\nkind = 'rawsocket'\nunix_path = 5\n"))
    assert (error.key, error.problem) == ("listeners[0].unix_path", "must be a non-empty string")


def test_dataclass_errors_without_a_field_keep_the_key() -> None:
    src = config_module._Source(Path("x.toml"), strict=True, table_word="table")

    def fail(message: str) -> Any:
        raise ValueError(message)

    for message in ("TicketAuth: give either principals or authenticator", "odd message"):
        with pytest.raises(ConfigError) as info:
            src.core("realms[0].auth", lambda m=message: fail(m))
        assert info.value.key == "realms[0].auth"
        assert info.value.problem in message


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    assert str(error_of(missing)) == f"{missing}: cannot read: No such file or directory"
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe")
    assert "not valid TOML" in str(error_of(binary))


@pytest.mark.parametrize(
    "field",
    [
        "ticket = 12345678",  # the secret has the wrong type: the message names only the type
        "ticket = ''",
        f"ticket = '{SECRET}'\nrole = 'nobody'",
        f"ticket = '{SECRET}'\nrole = 'user'\nticket2 = '{SECRET}'",
    ],
)
def test_secrets_never_appear_in_errors(tmp_path: Path, field: str) -> None:
    text = REALM + f"[realms.auth.ticket.principals.alice]\n{field}\n"
    error = error_of(write(tmp_path, text))
    assert SECRET not in str(error)
    assert "12345678" not in str(error)
    assert error.key.startswith(PRINCIPALS)


def test_secrets_never_appear_in_repr(tmp_path: Path) -> None:
    cra = f"\n[realms.auth.wampcra.principals.bob]\nsecret = '{SECRET}'\nrole = 'user'\n"
    config = load_toml(write(tmp_path, TICKET + cra))
    assert SECRET not in repr(config)
    assert SECRET not in str(config)


def test_secret_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOSTRADA_TEST_TICKET", "from-env")
    config = load_toml(write(tmp_path, TICKET.replace(SECRET, "${AUTOSTRADA_TEST_TICKET}")))
    ticket = config.router.realms[0].auth_method("ticket")
    assert isinstance(ticket, TicketAuth)
    assert ticket.principals["alice"].ticket == "from-env"


def test_scram_from_stored_keys_and_password(tmp_path: Path) -> None:
    text = SCRAM_TOML + SCRAM_KEYS
    text += "[realms.auth.scram.principals.erin]\nrole = 'user'\npassword = 'pw'\n"
    text += "iterations = 1\nmemory = 8\n"
    text += "[realms.auth.scram.principals.frank]\nrole = 'user'\npassword = 'pw'\n"
    text += "kdf = 'pbkdf2'\niterations = 1000\n"
    config = load_toml(write(tmp_path, text))
    scram = config.router.realms[0].auth_method("scram")
    assert isinstance(scram, ScramAuth)
    dave, erin, frank = (scram.principals[n] for n in ("dave", "erin", "frank"))
    assert dave.stored_key == SCRAM["stored-key"]
    assert (dave.salt, dave.iterations, dave.memory) == (SCRAM["salt"], 1, 8)
    assert (erin.kdf, erin.iterations, erin.memory) == ("argon2id-13", 1, 8)
    assert (frank.kdf, frank.iterations, frank.memory) == ("pbkdf2", 1000, None)
    # Each password derivation gets a fresh salt; the keys match the password.
    check = ScramCredential.from_password(
        "pw", kdf="pbkdf2", iterations=1000, salt=bytes.fromhex(frank.salt)
    )
    assert check.server_key.hex() == frank.server_key
    assert len(config.warnings) == 2
    assert all("plaintext password" in w for w in config.warnings)
    assert "realms[0].auth.scram.principals.erin.password" in config.warnings[0]


def test_scram_password_without_argon2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_argon2(*args: Any, **kwargs: Any) -> None:
        raise ImportError("SCRAM with argon2id needs argon2-cffi")

    monkeypatch.setattr(config_module.ScramCredential, "from_password", no_argon2)
    text = SCRAM_TOML + "password = 'pw'\n"
    error = error_of(write(tmp_path, text))
    assert error.key == "realms[0].auth.scram.principals.dave.kdf"
    assert "argon2-cffi" in error.problem


def test_tls_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    for name in ("server.pem", "server.key", "ca.pem"):
        (tmp_path / "certs" / name).write_text("x")
    text = (
        ANON + "[[listeners]]\nkind = 'websocket'\nport = 443\nhost = '0.0.0.0'\n[listeners.tls]\n"
    )
    text += "cert_file = 'certs/server.pem'\nkey_file = 'certs/server.key'\n"
    text += f"ca_file = '{tmp_path / 'certs' / 'ca.pem'}'\nrequire_client_cert = true\n"
    config = load_toml(write(tmp_path, text))
    [listener] = config.listeners
    assert listener.tls == TLSConfig(
        str(tmp_path / "certs/server.pem"),
        str(tmp_path / "certs/server.key"),
        str(tmp_path / "certs/ca.pem"),
        True,
    )
    assert listener.urls() == ("wss://0.0.0.0:443/ws",)


@pytest.mark.parametrize(
    ("listener", "warned"),
    [
        ("kind = 'websocket'\nport = 1\nhost = '0.0.0.0'", True),
        ("kind = 'universal'\nport = 1\nhost = '::'", True),
        ("kind = 'rawsocket'\nport = 1\nhost = 'router.example.com'", True),
        ("kind = 'websocket'\nport = 1\nhost = '127.0.0.1'", False),
        ("kind = 'websocket'\nport = 1\nhost = '::1'", False),
        ("kind = 'websocket'\nport = 1\nhost = 'localhost'", False),
        ("kind = 'rawsocket'\nunix_path = '/tmp/x.sock'", False),
        (
            "kind = 'websocket'\nport = 1\nhost = '0.0.0.0'\n"
            "tls = {cert_file = 'c', key_file = 'c'}",
            False,
        ),
    ],
)
def test_ticket_over_unencrypted_listener_warns(
    tmp_path: Path, listener: str, warned: bool
) -> None:
    (tmp_path / "c").write_text("x")
    config = load_toml(write(tmp_path, TICKET + f"[[listeners]]\n{listener}\n"))
    warnings = [w for w in config.warnings if "WAMP-Ticket" in w]
    assert len(warnings) == warned
    if warned:
        assert "realm realm1" in warnings[0]
        assert "clear text" in warnings[0]


def test_no_ticket_no_warning(tmp_path: Path) -> None:
    config = load_toml(
        write(tmp_path, ANON + "[[listeners]]\nkind = 'websocket'\nport = 1\nhost = '0.0.0.0'\n")
    )
    assert config.warnings == ()


# ======================================================================================
# Crossbar: config.json variants


def node(tmp_path: Path, *workers: dict[str, Any], **top: Any) -> Path:
    cbdir = tmp_path / ".crossbar"
    cbdir.mkdir(exist_ok=True)
    config = {"version": 2, "controller": {}, "workers": list(workers), **top}
    return write(cbdir, json.dumps(config), "config.json")


def router(
    realms: list[dict[str, Any]], transports: list[dict[str, Any]], **more: Any
) -> dict[str, Any]:
    return {"type": "router", "realms": realms, "transports": transports, **more}


ALLOW_ALL = {
    "uri": "",
    "match": "prefix",
    "allow": {"call": True, "register": True, "publish": True, "subscribe": True},
    "disclose": {"caller": True, "publisher": True},
    "cache": True,
}
REALM1 = {
    "name": "realm1",
    "roles": [
        {"name": "anonymous", "permissions": [ALLOW_ALL]},
        {"name": "user", "permissions": [{"uri": "com.example.*", "allow": {"call": True}}]},
        {"name": "backend", "permissions": [ALLOW_ALL]},
    ],
}


def tcp(port: int, **more: Any) -> dict[str, Any]:
    return {"type": "tcp", "port": port, "interface": "127.0.0.1", **more}


def test_crossbar_minimal_node(tmp_path: Path) -> None:
    """The node config of a plain ``crossbar init``: one realm, ws + rs, anonymous."""
    transports = [
        {"type": "websocket", "endpoint": tcp(8080), "serializers": ["json", "msgpack", "cbor"]},
        {"type": "rawsocket", "endpoint": tcp(8081), "serializers": ["json"]},
    ]
    config = load_crossbar(node(tmp_path, router([REALM1], transports)))
    assert config.warnings == ()
    [realm] = config.router.realms
    assert realm.auth == (AnonymousAuth("anonymous"),)
    assert realm.role("anonymous") == RoleConfig(
        "anonymous", (Permission.allow_all(disclose=True),)
    )
    assert realm.role("user") == RoleConfig(
        "user", (Permission("com.example.", "prefix", call=True),)
    )
    ws, rs = config.listeners
    assert ws == ListenerConfig(
        "websocket",
        "127.0.0.1",
        8080,
        path="/",
        serializers=("json", "msgpack", "cbor", "json.batched", "msgpack.batched", "cbor.batched"),
    )
    assert rs == ListenerConfig("rawsocket", "127.0.0.1", 8081, serializers=("json",))


def test_crossbar_web_transport_with_tls_and_static_principals(tmp_path: Path) -> None:
    cbdir = tmp_path / ".crossbar"
    cbdir.mkdir()
    for name in ("server.crt", "server.key", "ca.crt"):
        (cbdir / name).write_text("x")
    auth = {
        "ticket": {"type": "static", "principals": {"joe": {"ticket": SECRET, "role": "user"}}},
        "wampcra": {
            "type": "static",
            "users": {
                "peter": {"secret": SECRET, "role": "user"},
                "salted": {
                    "secret": SECRET,
                    "role": "user",
                    "salt": "s",
                    "iterations": 10,
                    "keylen": 16,
                },
                "half": {"secret": SECRET, "role": "user", "salt": "s"},
            },
        },
        "cryptosign": {
            "type": "static",
            "principals": {
                "device": {"authorized_keys": [KEY.upper()], "role": "backend", "realm": "realm1"},
                "elsewhere": {"authorized_keys": [KEY], "role": "backend", "realm": "realm2"},
            },
        },
        "scram": {"type": "static", "principals": {"sam": {**SCRAM, "role": "user"}}},
    }
    web = {
        "type": "web",
        "endpoint": tcp(
            443,
            interface="0.0.0.0",
            tls={
                "key": "server.key",
                "certificate": "server.crt",
                "ca_certificates": ["ca.crt"],
                "ciphers": "ECDHE",
                "dhparam": "dh.pem",
            },
        ),
        "paths": {
            "/": {"type": "static", "directory": "../web"},
            "ws": {
                "type": "websocket",
                "serializers": ["cbor", "json"],
                "options": {
                    "max_message_size": 65536,
                    "auto_ping_interval": 10000,
                    "auto_ping_timeout": 5000,
                    "open_handshake_timeout": 2500,
                    "enable_webstatus": False,
                },
                "auth": auth,
            },
        },
        "options": {"access_log": True},
    }
    realm2 = {"name": "realm2", "roles": [{"name": "backend", "permissions": [ALLOW_ALL]}]}
    config = load_crossbar(node(tmp_path, router([REALM1, realm2], [web])))
    [listener] = config.listeners
    assert listener == ListenerConfig(
        "websocket",
        "0.0.0.0",
        443,
        path="/ws",
        serializers=("cbor", "json", "cbor.batched", "json.batched"),
        max_message_size=65536,
        tls=TLSConfig(
            str(cbdir / "server.crt"), str(cbdir / "server.key"), str(cbdir / "ca.crt"), True
        ),
        keepalive_interval=10.0,
        keepalive_timeout=5.0,
        open_timeout=2.5,
    )
    realm1, realm2_config = config.router.realms
    assert [m.method for m in realm1.auth] == ["ticket", "wampcra", "cryptosign", "scram"]
    ticket = realm1.auth_method("ticket")
    assert isinstance(ticket, TicketAuth)
    assert ticket.principals == {"joe": TicketPrincipal(SECRET, "user")}
    wampcra = realm1.auth_method("wampcra")
    assert isinstance(wampcra, WampCraAuth)
    assert wampcra.principals == {
        "peter": WampCraPrincipal(SECRET, "user"),
        "salted": WampCraPrincipal(SECRET, "user", "s", 10, 16),
        "half": WampCraPrincipal(SECRET, "user"),  # Crossbar salts only with all three
    }
    cryptosign = realm1.auth_method("cryptosign")
    assert isinstance(cryptosign, CryptosignAuth)
    assert list(cryptosign.principals) == ["device"]
    assert cryptosign.principals["device"].authorized_keys == (KEY,)
    scram = realm1.auth_method("scram")
    assert isinstance(scram, ScramAuth)
    assert scram.principals["sam"].stored_key == SCRAM["stored-key"]
    # realm2 has only the backend role: the cryptosign principal bound to it.
    assert [m.method for m in realm2_config.auth] == ["cryptosign"]
    cryptosign2 = realm2_config.auth_method("cryptosign")
    assert isinstance(cryptosign2, CryptosignAuth)
    assert list(cryptosign2.principals) == ["elsewhere"]
    warnings = "\n".join(config.warnings)
    assert (
        "paths./ (a static web service)" in warnings
        or 'paths."/" (a static web service)' in warnings
    )
    assert "users.half: salt, iterations and keylen are used only together" in warnings
    assert "options" in warnings  # the web options
    assert "WAMP-Ticket" not in warnings  # TLS
    assert SECRET not in warnings
    assert SECRET not in repr(config)


def test_crossbar_universal_and_unix_rawsocket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CB_PORT", "9000")
    universal = {
        "type": "universal",
        "endpoint": {"type": "tcp", "port": "$CB_PORT", "version": 6},
        "rawsocket": {"serializers": ["msgpack", "json"], "options": {"max_message_size": 4096}},
        "websocket": {
            "ws": {
                "type": "websocket",
                "serializers": ["json"],
                "options": {"max_message_size": 8192},
            }
        },
        "web": {"paths": {"/": {"type": "nodeinfo"}}, "options": {"hsts": True}},
    }
    unix = {"type": "rawsocket", "endpoint": {"type": "unix", "path": "rs.sock", "backlog": 10}}
    only_rs = {"type": "universal", "endpoint": tcp(9001), "rawsocket": {}}
    only_ws = {
        "type": "universal",
        "endpoint": tcp(9002),
        "websocket": {"/": {"type": "websocket"}},
    }
    cbdir = tmp_path / ".crossbar"
    cbdir.mkdir()
    (cbdir / "c").write_text("x")
    plain = {
        "type": "universal",
        "endpoint": tcp(9003, tls={"certificate": "c", "key": "c"}),
        "rawsocket": {"options": {}},
        "websocket": {"ws": {"type": "websocket"}},
    }
    transports = [universal, unix, only_rs, only_ws, plain]
    config = load_crossbar(node(tmp_path, router([REALM1], transports)))
    first, second, third, fourth, fifth = config.listeners
    assert first == ListenerConfig(
        "universal",
        "::",
        9000,
        path="/ws",
        serializers=("json", "json.batched", "msgpack"),
        max_message_size=4096,
    )
    assert second == ListenerConfig("rawsocket", unix_path=str(tmp_path / ".crossbar" / "rs.sock"))
    assert third == ListenerConfig("rawsocket", "127.0.0.1", 9001)
    assert fourth.kind == "websocket"
    assert fourth.path == "/"
    assert fifth == ListenerConfig(
        "universal",
        "127.0.0.1",
        9003,
        serializers=("json", "msgpack", "cbor", "json.batched", "msgpack.batched", "cbor.batched"),
        tls=TLSConfig(str(cbdir / "c"), str(cbdir / "c")),
    )
    warnings = "\n".join(config.warnings)
    assert "one max_message_size per listener: using the smaller, 4096" in warnings
    assert "a nodeinfo web service" in warnings
    assert "transports[0].web.options" in warnings
    assert "endpoint.backlog" in warnings


def test_crossbar_universal_large_messages_are_capped(tmp_path: Path) -> None:
    universal = {
        "type": "universal",
        "endpoint": tcp(9000),
        "rawsocket": {},
        "websocket": {"ws": {"type": "websocket", "options": {"max_message_size": 1 << 25}}},
    }
    config = load_crossbar(node(tmp_path, router([REALM1], [universal])))
    assert config.listeners[0].max_message_size == 1 << 24
    assert "capped" in "".join(config.warnings)


def test_crossbar_dynamic_authenticators(tmp_path: Path) -> None:
    auth = {
        "ticket": {
            "type": "dynamic",
            "authenticator": "com.example.auth",
            "authenticator-realm": "authrealm",
        },
        "wampcra": {"type": "dynamic", "authenticator": "com.example.auth"},
        "cryptosign": {"type": "function", "create": "my.module.create"},
        "anonymous": {"type": "dynamic", "authenticator": "com.example.anon"},
    }
    transports = [{"type": "websocket", "endpoint": tcp(8080, interface="0.0.0.0"), "auth": auth}]
    config = load_crossbar(node(tmp_path, router([REALM1], transports)))
    [realm] = config.router.realms
    assert realm.auth == (
        TicketAuth(authenticator=DynamicAuthenticator("com.example.auth", "authrealm")),
        WampCraAuth(authenticator=DynamicAuthenticator("com.example.auth")),
    )
    warnings = "\n".join(config.warnings)
    assert "auth.cryptosign (function cryptosign authentication)" in warnings
    assert "auth.anonymous (dynamic anonymous authentication)" in warnings
    assert (
        "WAMP-Ticket (realm realm1) is accepted on unencrypted listeners ws://0.0.0.0:8080/"
        in warnings
    )


def test_crossbar_auth_differs_between_transports(tmp_path: Path) -> None:
    ticket = {"ticket": {"type": "static", "principals": {"joe": {"ticket": "t", "role": "user"}}}}
    anonymous_user = {"anonymous": {"type": "static", "role": "user", "authid": "x"}}
    transports = [
        {"type": "websocket", "endpoint": tcp(8080), "auth": ticket},
        {"type": "rawsocket", "endpoint": tcp(8081), "auth": {**ticket, **anonymous_user}},
        {"type": "rawsocket", "endpoint": tcp(8082), "auth": ticket},
    ]
    config = load_crossbar(node(tmp_path, router([REALM1], transports)))
    [realm] = config.router.realms
    assert realm.auth == (
        TicketAuth(principals={"joe": TicketPrincipal("t", "user")}),
        AnonymousAuth("user"),
    )
    warnings = "\n".join(config.warnings)
    assert "authentication differs between transports" in warnings
    assert "every listener accepts anonymous, ticket (joe)" in warnings
    assert "auth.anonymous.authid" in warnings


def test_crossbar_transport_without_auth_is_anonymous(tmp_path: Path) -> None:
    ticket = {"ticket": {"type": "static", "principals": {"joe": {"ticket": "t", "role": "user"}}}}
    transports = [
        {"type": "websocket", "endpoint": tcp(8080)},
        {"type": "rawsocket", "endpoint": tcp(8081), "auth": ticket},
    ]
    config = load_crossbar(node(tmp_path, router([REALM1], transports)))
    assert [m.method for m in config.router.realms[0].auth] == ["anonymous", "ticket"]
    assert "transports[0]: anonymous; " in "".join(config.warnings)


def test_crossbar_principals_without_a_realm_role(tmp_path: Path) -> None:
    auth = {
        "anonymous": {"type": "static", "role": "guest"},
        "ticket": {"type": "static", "principals": {"joe": {"ticket": "t", "role": "admin"}}},
    }
    transports = [{"type": "websocket", "endpoint": tcp(8080), "auth": auth}]
    config = load_crossbar(node(tmp_path, router([REALM1], transports)))
    assert config.router.realms[0].auth == ()
    warnings = "\n".join(config.warnings)
    assert "no authentication method applies to realm 'realm1': nobody can join" in warnings
    assert "auth.anonymous: anonymous role 'guest' is not a role of any realm" in warnings
    assert "principals.joe: role 'admin' is not a role of any realm" in warnings


def test_crossbar_unsupported_parts_are_warnings(tmp_path: Path) -> None:
    realm = {
        **REALM1,
        "roles": [*REALM1["roles"], {"name": "dyn", "authorizer": "com.example.authorize"}],
        "store": {"type": "memory"},
        "options": {"enable_meta_api": False, "bridge_meta_api": True},
    }
    transports = [
        {
            "type": "websocket",
            "id": "ws1",
            "endpoint": tcp(8080),
            "serializers": ["json", "ubjson", "flatbuffers"],
            "cookie": {"store": {"type": "memory"}},
            "max_connections": 100,
            "options": {"allowed_origins": ["*"], "compression": {}, "max_message_size": 0},
            "auth": {
                "cookie": {},
                "tls": {"type": "static"},
                "anonymous": {"type": "static"},
                "cryptosign": {"type": "static", "trustroots": {"realm1": {"certificate": "c"}}},
            },
        },
        {"type": "mqtt", "endpoint": tcp(1883), "options": {"realm": "realm1"}},
        {"type": "rawsocket", "endpoint": {"type": "twisted", "server_string": "tcp:1"}},
        {
            "type": "web",
            "endpoint": tcp(8081),
            "paths": {"/": {"type": "static", "directory": ".."}},
        },
        {"type": "universal", "endpoint": tcp(8082), "mqtt": {"options": {"realm": "realm1"}}},
        {
            "type": "web",
            "endpoint": {
                "type": "onion",
                "port": 80,
                "private_key_file": "tor.key",
                "tor_control_endpoint": {"type": "unix", "path": "/tmp/tor.sock"},
            },
            "paths": {"ws": {"type": "websocket"}},
        },
    ]
    workers = [
        router(
            [realm],
            transports,
            components=[{"type": "class", "classname": "app.Backend", "realm": "realm1"}],
            options={"title": "x"},
        ),
        {"type": "container", "components": []},
        {"type": "guest", "executable": "node"},
    ]
    config = load_crossbar(node(tmp_path, *workers, controller={"id": "node1"}))
    assert config.router.realms[0].role("dyn") == RoleConfig("dyn")
    assert [listener.port for listener in config.listeners] == [8080]
    assert config.listeners[0].max_message_size == 1 << 20
    warnings = config.warnings
    [ignored] = [w for w in warnings if "ignored, not supported by autostrada" in w]
    for part in (
        "controller",
        "workers[1] (a container worker)",
        "workers[2] (a guest worker)",
        "workers[0].components",
        "workers[0].options",
        "workers[0].realms[0].store",
        "workers[0].transports[0].serializers[1] (ubjson)",
        "workers[0].transports[0].serializers[2] (flatbuffers)",
        "workers[0].transports[0].cookie",
        "workers[0].transports[0].max_connections",
        "workers[0].transports[0].options.allowed_origins",
        "workers[0].transports[0].options.compression",
        "workers[0].transports[0].auth.cookie (cookie authentication)",
        "workers[0].transports[0].auth.tls (tls authentication)",
        "workers[0].transports[0].auth.cryptosign (trustroots cryptosign authentication)",
        "workers[0].transports[1] (a mqtt transport)",
        "workers[0].transports[2].endpoint (a twisted endpoint: its transport is skipped)",
        "workers[0].transports[4].mqtt",
        "workers[0].transports[5].endpoint (a onion endpoint: its transport is skipped)",
    ):
        assert part in ignored
    joined = "\n".join(warnings)
    assert "roles[3].authorizer: dynamic authorizers are not supported: role 'dyn'" in joined
    assert "options.enable_meta_api: the meta API cannot be turned off" in joined
    assert "options.max_message_size: 0 (unlimited) is not supported" in joined
    assert "transports[3]: has no WebSocket path: no listener" in joined
    assert "transports[4]: serves neither WebSocket nor RawSocket" in joined


def test_crossbar_realm_bound_anonymous(tmp_path: Path) -> None:
    realm2 = {"name": "realm2", "roles": [{"name": "anonymous"}]}
    auth = {"anonymous": {"type": "static", "realm": "realm2"}}
    config = load_crossbar(node(tmp_path, router([REALM1, realm2], [{**WS_T, "auth": auth}])))
    assert [realm.auth for realm in config.router.realms] == [(), (AnonymousAuth(),)]


def test_crossbar_several_router_workers_merge(tmp_path: Path) -> None:
    realm2 = {"name": "realm2", "roles": [{"name": "anonymous"}]}
    workers = [
        router([REALM1], [{"type": "websocket", "endpoint": tcp(8080)}]),
        router([realm2], [{"type": "rawsocket", "endpoint": tcp(8081)}]),
    ]
    config = load_crossbar(node(tmp_path, *workers))
    assert [r.name for r in config.router.realms] == ["realm1", "realm2"]
    assert [listener.port for listener in config.listeners] == [8080, 8081]
    assert "2 router workers are merged into one router" in config.warnings[0]


def test_crossbar_permissions(tmp_path: Path) -> None:
    permissions = [
        {"uri": "com.example.exact"},
        {"uri": "com.*.x.*"},
        {"uri": "com..x", "match": "exact"},
        {
            "uri": "com.p",
            "match": "prefix",
            "allow": {"subscribe": True},
            "disclose": {"publisher": True},
        },
    ]
    realm = {"name": "realm1", "roles": [{"name": "anonymous", "permissions": permissions}]}
    transports = [{"type": "websocket", "endpoint": tcp(8080)}]
    with pytest.raises(ConfigError) as info:
        load_crossbar(node(tmp_path, router([realm], transports)))
    assert info.value.key == "workers[0].realms[0].roles[0].permissions[2].uri"
    del permissions[2]
    config = load_crossbar(node(tmp_path, router([realm], transports)))
    assert config.router.realms[0].roles[0].permissions == (
        Permission("com.example.exact"),
        Permission("com..x.", "wildcard"),
        Permission("com.p", "prefix", subscribe=True, disclose_publisher=True),
    )


def test_crossbar_config_of_the_interop_fixture(tmp_path: Path) -> None:
    """The node config our Crossbar interop tests run (tests/crossbar.py) maps completely."""
    from crossbar import CrossbarNode

    node_ = CrossbarNode(Path("crossbar"), tmp_path)
    config = load_crossbar(tmp_path / ".crossbar" / "config.json")
    assert not [w for w in config.warnings if "differs" in w or "cannot join" in w]
    [realm] = config.router.realms
    assert [m.method for m in realm.auth] == [
        "anonymous",
        "ticket",
        "wampcra",
        "cryptosign",
        "scram",
    ]
    ticket = realm.auth_method("ticket")
    assert isinstance(ticket, TicketAuth)
    assert ticket.principals[node_.ticket.authid].ticket == node_.ticket.ticket
    assert [(lis.kind, lis.port) for lis in config.listeners] == [
        ("websocket", node_.ws_port),
        ("rawsocket", node_.rs_port),
        ("rawsocket", None),
    ]
    assert config.listeners[2].unix_path == node_.rs_unix_path


def _transports(auth: dict[str, Any], auth2: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "websocket", "endpoint": tcp(8080), "auth": auth},
        {"type": "rawsocket", "endpoint": tcp(8081), "auth": auth2},
    ]


T0 = "workers[0].transports[0]"
T1 = "workers[0].transports[1]"
R0 = "workers[0].realms[0]"
STATIC_JOE = {"type": "static", "principals": {"joe": {"ticket": "t", "role": "user"}}}
STATIC_JOE2 = {"type": "static", "principals": {"joe": {"ticket": SECRET, "role": "user"}}}
DYN = {"type": "dynamic", "authenticator": "com.a"}
WS_T = {"type": "websocket", "endpoint": tcp(8080)}

BAD_CROSSBAR: list[tuple[Any, str, str]] = [
    ("{", "", "not valid JSON"),
    ([], "", "must be a JSON object"),
    ({"workers": []}, "version", "only Crossbar config version 2 is supported, got 1"),
    ({"version": 2, "workers": []}, "workers", "no router worker: nothing to run"),
    ({"version": 2, "workers": [{"type": "container"}]}, "workers", "no router worker"),
    ({"version": 2, "workers": [{"realms": []}]}, "workers[0].type", "missing (required)"),
    (
        {"version": 2, "workers": [router([REALM1], [])]},
        "workers",
        "no transport of a router worker serves WAMP",
    ),
    (
        {"version": 2, "workers": [router([REALM1], [1])]},
        "workers[0].transports[0]",
        "must be an object, got integer",
    ),
    (
        {"version": 2, "workers": [router([{"roles": []}], [WS_T])]},
        f"{R0}.name",
        "missing (required)",
    ),
    (
        {"version": 2, "workers": [router([{"name": "a b"}], [WS_T])]},
        f"{R0}.name",
        "not a valid WAMP URI",
    ),
    (
        {"version": 2, "workers": [router([REALM1], [WS_T]), router([REALM1], [WS_T])]},
        "workers[1].realms[0]",
        "duplicate realm 'realm1' (also workers[0].realms[0])",
    ),
    (
        {
            "version": 2,
            "workers": [
                router(
                    [
                        {
                            "name": "r",
                            "roles": [{"name": "x", "permissions": [{"uri": "a", "match": "re"}]}],
                        }
                    ],
                    [WS_T],
                )
            ],
        },
        f"{R0}.roles[0].permissions[0].match",
        "must be one of exact, prefix, wildcard, got 're'",
    ),
    (
        {
            "version": 2,
            "workers": [
                router(
                    [
                        {
                            "name": "r",
                            "roles": [
                                {"name": "x", "permissions": [{"uri": "a", "allow": {"call": 1}}]}
                            ],
                        }
                    ],
                    [WS_T],
                )
            ],
        },
        f"{R0}.roles[0].permissions[0].allow.call",
        "must be a boolean, got integer",
    ),
    (
        {"version": 2, "workers": [router([REALM1], [{"type": "websocket"}])]},
        f"{T0}.endpoint",
        "missing (required)",
    ),
    (
        {
            "version": 2,
            "workers": [router([REALM1], [{"type": "websocket", "endpoint": {"type": "tcp"}}])],
        },
        f"{T0}.endpoint.port",
        "missing",
    ),
    (
        {"version": 2, "workers": [router([REALM1], [{"type": "websocket", "endpoint": tcp(0)}])]},
        f"{T0}.endpoint.port",
        "must be in 1..65535, got 0",
    ),
    (
        {
            "version": 2,
            "workers": [
                router([REALM1], [{"type": "websocket", "endpoint": tcp("$NOT_SET_ANYWHERE")}])
            ],
        },
        f"{T0}.endpoint.port",
        "environment variable",
    ),
    (
        {
            "version": 2,
            "workers": [router([REALM1], [{"type": "websocket", "endpoint": tcp("80")}])],
        },
        f"{T0}.endpoint.port",
        "environment variable",
    ),
    (
        {
            "version": 2,
            "workers": [router([REALM1], [{"type": "websocket", "endpoint": tcp(80, version=5)}])],
        },
        f"{T0}.endpoint.version",
        "must be 4 or 6, got 5",
    ),
    (
        {
            "version": 2,
            "workers": [
                router(
                    [REALM1],
                    [
                        {
                            "type": "websocket",
                            "endpoint": tcp(80, tls={"key": "k", "certificate": "c"}),
                        }
                    ],
                )
            ],
        },
        f"{T0}.endpoint.tls.certificate",
        "no such file",
    ),
    (
        {
            "version": 2,
            "workers": [
                router(
                    [REALM1],
                    [
                        {
                            "type": "websocket",
                            "endpoint": tcp(
                                80, tls={"key": "k", "certificate": "k", "ca_certificates": ["ca"]}
                            ),
                        }
                    ],
                )
            ],
        },
        f"{T0}.endpoint.tls.ca_certificates[0]",
        "no such file",
    ),
    (
        {"version": 2, "workers": [router([REALM1], [{**WS_T, "serializers": ["xml"]}])]},
        f"{T0}.serializers[0]",
        "unknown WAMP serializer 'xml'",
    ),
    (
        {"version": 2, "workers": [router([REALM1], [{**WS_T, "serializers": ["ubjson"]}])]},
        f"{T0}.serializers",
        "none of these serializers",
    ),
    (
        {
            "version": 2,
            "workers": [
                router([REALM1], [{**WS_T, "type": "rawsocket", "serializers": ["json.batched"]}])
            ],
        },
        f"{T0}.serializers[0]",
        "RawSocket has no batched",
    ),
    (
        {
            "version": 2,
            "workers": [
                router(
                    [REALM1], [{**WS_T, "type": "rawsocket", "options": {"max_message_size": 10}}]
                )
            ],
        },
        f"{T0}.options.max_message_size",
        "must be in 512..16777216, got 10",
    ),
    (
        {
            "version": 2,
            "workers": [router([REALM1], [{**WS_T, "options": {"auto_ping_interval": -1}}])],
        },
        f"{T0}.options.auto_ping_interval",
        "must be milliseconds >= 0",
    ),
    (
        {
            "version": 2,
            "workers": [router([REALM1], [{**WS_T, "auth": {"ticket": {"type": "static"}}}])],
        },
        f"{T0}.auth.ticket.principals",
        "missing",
    ),
    (
        {
            "version": 2,
            "workers": [router([REALM1], [{**WS_T, "auth": {"ticket": {"principals": {}}}}])],
        },
        f"{T0}.auth.ticket.type",
        "missing",
    ),
    (
        {
            "version": 2,
            "workers": [
                router(
                    [REALM1],
                    [
                        {
                            **WS_T,
                            "auth": {
                                "ticket": {
                                    "type": "static",
                                    "principals": {"joe": {"ticket": SECRET}},
                                }
                            },
                        }
                    ],
                )
            ],
        },
        f"{T0}.auth.ticket.principals.joe.role",
        "missing",
    ),
    (
        {
            "version": 2,
            "workers": [router([REALM1], [{**WS_T, "auth": {"ticket": {"type": "dynamic"}}}])],
        },
        f"{T0}.auth.ticket.authenticator",
        "missing",
    ),
    (
        {
            "version": 2,
            "workers": [router([REALM1], _transports({"ticket": STATIC_JOE}, {"ticket": DYN}))],
        },
        f"{T1}.auth.ticket",
        f"differs from {T0}.auth.ticket",
    ),
    (
        {
            "version": 2,
            "workers": [
                router(
                    [REALM1],
                    _transports({"ticket": DYN}, {"ticket": {**DYN, "authenticator": "com.b"}}),
                )
            ],
        },
        f"{T1}.auth.ticket",
        "differs",
    ),
    (
        {
            "version": 2,
            "workers": [
                router([REALM1], _transports({}, {"anonymous": {"type": "static", "role": "user"}}))
            ],
        },
        f"{T1}.auth.anonymous",
        f"differs from {T0} (no auth)",
    ),
    (
        {
            "version": 2,
            "workers": [
                router([REALM1], _transports({"ticket": STATIC_JOE}, {"ticket": STATIC_JOE2}))
            ],
        },
        f"{T1}.auth.ticket.principals.joe",
        f"differs from {T0}.auth.ticket.principals.joe",
    ),
]


@pytest.mark.parametrize(("data", "key", "problem"), BAD_CROSSBAR)
def test_crossbar_errors_name_file_and_key(
    tmp_path: Path, data: Any, key: str, problem: str
) -> None:
    cbdir = tmp_path / ".crossbar"
    cbdir.mkdir()
    (cbdir / "k").write_text("x")
    path = write(cbdir, data if isinstance(data, str) else json.dumps(data), "config.json")
    error = error_of(path, load_crossbar)
    assert (error.file, error.key) == (str(path), key), str(error)
    assert problem in error.problem
    assert SECRET not in str(error)


def test_crossbar_empty_auth_means_anonymous(tmp_path: Path) -> None:
    """``"auth": {}`` is no auth configuration: Crossbar then accepts anonymous."""
    config = load_crossbar(node(tmp_path, router([REALM1], [{**WS_T, "auth": {}}])))
    assert config.router.realms[0].auth == (AnonymousAuth(),)


def test_crossbar_ca_certificates_beyond_the_first_warn(tmp_path: Path) -> None:
    cbdir = tmp_path / ".crossbar"
    cbdir.mkdir()
    for name in ("c", "k", "ca1", "ca2", "chain"):
        (cbdir / name).write_text("x")
    tls = {
        "key": "k",
        "certificate": "c",
        "ca_certificates": ["ca1", "ca2"],
        "chain_certificates": ["chain"],
    }
    config = load_crossbar(
        node(tmp_path, router([REALM1], [{**WS_T, "endpoint": tcp(8443, tls=tls)}]))
    )
    assert config.listeners[0].tls == TLSConfig(
        str(cbdir / "c"), str(cbdir / "k"), str(cbdir / "ca1"), True
    )
    warnings = "\n".join(config.warnings)
    assert "ca_certificates: one CA file per listener" in warnings
    assert "chain_certificates: not supported" in warnings


def test_crossbar_multiple_websocket_paths(tmp_path: Path) -> None:
    web = {
        "type": "web",
        "endpoint": tcp(8080),
        "paths": {"ws": {"type": "websocket"}, "ws2": {"type": "websocket", "auth": {}}},
    }
    config = load_crossbar(node(tmp_path, router([REALM1], [web])))
    assert config.listeners[0].path == "/ws"
    assert "paths.ws2: one WebSocket path per listener" in "\n".join(config.warnings)
    assert config.router.realms[0].auth == (AnonymousAuth(),)


def test_example_salted_wampcra_principal_can_log_in() -> None:
    """The salted principal of examples/router.toml holds a derived key that works."""
    import asyncio

    import autostrada
    from autostrada.router.config import ListenerConfig, ServerConfig
    from autostrada.testing import RouterThread

    loaded = load_toml(EXAMPLE)
    config = ServerConfig(
        router=loaded.router,
        listeners=(ListenerConfig(kind="universal", host="127.0.0.1", port=0),),
    )
    realm = loaded.router.realms[0].name

    async def join() -> str | None:
        session = await autostrada.connect(
            router.url,
            realm,
            authentication={
                "wampcra": {"authid": "backend-2", "secret": "example-wampcra-password-2"}
            },
        )
        async with session:
            return session.details.authrole if session.details else None

    with RouterThread(config) as router:
        assert asyncio.run(asyncio.wait_for(join(), 10)) == "backend"
