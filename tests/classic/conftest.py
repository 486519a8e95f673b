"""Fixtures of the class-based API tests: a router with every auth method, and Autobahn."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from classic_kit import peer_env, peer_router, router_config, unix_socket_path

from autostrada.testing import RouterThread


@pytest.fixture(scope="session")
def creds() -> Any:
    """Fresh principals for the router: tests/peers/peer_router.py ``Credentials``."""
    return peer_router.Credentials()


@pytest.fixture(scope="session")
def unix_path() -> Iterator[str]:
    """Where ``router`` also listens: a Unix socket (WebSocket and RawSocket)."""
    path = unix_socket_path()
    try:
        yield path
    finally:
        shutil.rmtree(Path(path).parent, ignore_errors=True)


@pytest.fixture(scope="session")
def router(creds: Any, unix_path: str) -> Iterator[RouterThread]:
    """Realm ``realm1`` with a principal for every auth method, on TCP and a Unix socket.

    ``router.url`` (WebSocket) and ``router.rs_url`` (RawSocket) on one TCP port.
    """
    with RouterThread(router_config(creds, unix_path=unix_path)) as running:
        yield running


@pytest.fixture(scope="session")
def autobahn_interpreter() -> Path:
    """Python with Autobahn|Python 26.10 (installed into .peers/ on first use)."""
    try:
        path: Path = peer_env.ensure_autobahn_python()
    except RuntimeError as exc:  # peer_env.PeerError
        message = f"Autobahn|Python is needed by this test and unavailable: {exc}"
        raise pytest.fail.Exception(message, pytrace=False) from None
    return path
