"""Fixtures of the CLI tests: our router with a principal per auth method, and a callee."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_kit import Callee, Creds, router_config

from autostrada.testing import RouterThread


@pytest.fixture(scope="session")
def cli_creds() -> Creds:
    """Fresh secrets for the CLI tests' router."""
    return Creds()


@pytest.fixture(scope="session")
def cli_router(cli_creds: Creds) -> Iterator[RouterThread]:
    """Our embedded router: realm1 with ticket, wampcra, cryptosign and scram principals."""
    with RouterThread(router_config(cli_creds)) as router:
        yield router


@pytest.fixture(scope="session")
def cli_callee(cli_router: RouterThread) -> Iterator[Callee]:
    """A Python session on ``cli_router`` that registers the com.test.* procedures."""
    callee = Callee(cli_router.url).start()
    try:
        yield callee
    finally:
        callee.stop()
