"""Fixtures of the peer tests: the installed peers, the router, and a way to run a peer.

* ``autobahn_python`` / ``autobahn_js`` (session): install the peer on first use
  (``peer_env.py``); an install that fails fails the tests with the reason. The JS peer
  skips only when Node is not on PATH, and says so.
* ``creds``, ``router`` (module): fresh principals and a router that knows them.
* ``peer`` (parametrized over both peers): a ``peer_env.PeerKind`` that starts scenarios.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from peer_env import (
    AUTOBAHN_JS_DIR,
    AUTOBAHN_PY_DIR,
    NodeMissing,
    PeerError,
    PeerKind,
    ensure_autobahn_js,
    ensure_autobahn_python,
    node_command,
)
from peer_router import REALM, Credentials, router_config

from autostrada.testing import RouterThread


def _progress(request: pytest.FixtureRequest) -> Any:
    plugins = request.config.pluginmanager
    capture, reporter = plugins.getplugin("capturemanager"), plugins.getplugin("terminalreporter")

    def progress(line: str) -> None:
        with capture.global_and_fixture_disabled():
            if reporter is not None:
                reporter.write_line(line)
            else:
                print(line, file=sys.stderr, flush=True)

    return progress


@pytest.fixture(scope="session")
def autobahn_python(request: pytest.FixtureRequest) -> Path:
    """The Python interpreter of ``.peers/autobahn-venv``."""
    try:
        return ensure_autobahn_python(_progress(request))
    except PeerError as exc:
        message = f"Autobahn|Python is needed by this test and unavailable: {exc}"
        raise pytest.fail.Exception(message, pytrace=False) from None


@pytest.fixture(scope="session")
def autobahn_js(request: pytest.FixtureRequest) -> tuple[list[str], Path]:
    """``node`` (with its flags) and the ``node_modules`` holding Autobahn|JS."""
    try:
        return node_command(), ensure_autobahn_js(_progress(request))
    except NodeMissing as exc:
        pytest.skip(f"Autobahn|JS peer tests not run: {exc}")
    except PeerError as exc:
        message = f"Autobahn|JS is needed by this test and unavailable: {exc}"
        raise pytest.fail.Exception(message, pytrace=False) from None


@pytest.fixture(scope="module")
def creds() -> Credentials:
    return Credentials()


@pytest.fixture(scope="module")
def router(creds: Credentials) -> Iterator[RouterThread]:
    with RouterThread(router_config(creds)) as running:
        yield running


ALL_AUTH = (
    "anonymous",
    "ticket",
    "wampcra",
    "wampcra_salted",
    "cryptosign",
    "scram",
    "scram_pbkdf2",
)


def _python_kind(python: Path, router: RouterThread, creds: Credentials) -> PeerKind:
    return PeerKind(
        name="autobahn-python",
        argv=[str(python), str(AUTOBAHN_PY_DIR / "peer.py")],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONWARNINGS": "default"},
        rawsocket_serializers=("json", "msgpack", "cbor"),
        feature_transport=("websocket", "cbor"),
        default_serializers=("cbor", "json"),  # Component's transport default
        auth_methods=ALL_AUTH,
        callee_canceling=True,
        ws_url=router.url,
        rs_url=router.rs_url,
        realm=REALM,
        creds=creds.for_peer(),
    )


def _js_kind(node: list[str], modules: Path, router: RouterThread, creds: Credentials) -> PeerKind:
    return PeerKind(
        name="autobahn-js",
        argv=[*node, str(AUTOBAHN_JS_DIR / "peer.js")],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("AUTOBAHN_")},
            "NODE_PATH": str(modules),
        },
        # Autobahn|JS on Node frames RawSocket with JSON only (lib/transport/rawsocket.js).
        rawsocket_serializers=("json",),
        feature_transport=("websocket", None),  # its defaults
        default_serializers=("json", "msgpack"),  # lib/transport/websocket.js
        # No SCRAM in Autobahn|JS (lib/auth has cra, cryptosign and persona).
        auth_methods=("anonymous", "ticket", "wampcra", "wampcra_salted", "cryptosign"),
        # Its callee role does not announce call_canceling: it gets no INTERRUPT.
        callee_canceling=False,
        ws_url=router.url,
        rs_url=router.rs_url,
        realm=REALM,
        creds=creds.for_peer(),
    )


@pytest.fixture(params=["autobahn-python", "autobahn-js"])
def peer(request: pytest.FixtureRequest, router: RouterThread, creds: Credentials) -> PeerKind:
    """Each peer in turn (the JS one skips, saying why, where Node is not on PATH)."""
    if request.param == "autobahn-python":
        return _python_kind(request.getfixturevalue("autobahn_python"), router, creds)
    node, modules = request.getfixturevalue("autobahn_js")
    return _js_kind(node, modules, router, creds)
