"""Fixtures of the example tests: the routers the examples run against (one per module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from examples_kit import auth_router_config, autobahn_python, make_certificates, tls_router_config

from autostrada.testing import RouterThread


@pytest.fixture(scope="module")
def router() -> Iterator[RouterThread]:
    """What ``autostrada router`` offers, on free ports: realm1, anonymous may do anything.

    One universal listener: ``router.url`` (WebSocket) and ``router.rs_url`` (RawSocket).
    """
    with RouterThread() as running:
        yield running


@pytest.fixture(scope="module")
def auth_router() -> Iterator[RouterThread]:
    """examples/auth/router.toml on a free port."""
    with RouterThread(auth_router_config()) as running:
        yield running


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A CA with a server certificate (127.0.0.1, localhost) and a client certificate."""
    directory: Path = tmp_path_factory.mktemp("certificates")
    return make_certificates(directory)


@pytest.fixture(scope="module")
def tls_router(certificates: Any) -> Iterator[RouterThread]:
    """realm1 over wss://, client certificates required."""
    with RouterThread(tls_router_config(certificates)) as running:
        yield running


@pytest.fixture(scope="session")
def autobahn_interpreter() -> Path:
    """Python with Autobahn|Python 26.10 (installed into .peers/ on first use)."""
    try:
        return autobahn_python()
    except RuntimeError as exc:  # peer_env.PeerError
        message = f"Autobahn|Python is needed by this test and unavailable: {exc}"
        raise pytest.fail.Exception(message, pytrace=False) from None
