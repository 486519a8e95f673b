"""Fixtures of the Component tests: routers (in-process and killable subprocess)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from component_helpers import RouterProcess, router_config

from autostrada.router.config import ListenerConfig
from autostrada.testing import RouterThread


@pytest.fixture
def component_router(tmp_path: Path) -> Iterator[RouterThread]:
    """An in-process router: realm1, anonymous + ticket user joe, universal listener."""
    listener = ListenerConfig(kind="universal", host="127.0.0.1", port=0)
    with RouterThread(router_config(tmp_path, listener)) as router:
        yield router


@pytest.fixture
def router_process(tmp_path: Path) -> Iterator[RouterProcess]:
    """``autostrada router`` as a subprocess on a fixed port (not started yet)."""
    router = RouterProcess(tmp_path)
    try:
        yield router
    finally:
        router.stop()


@pytest.fixture(autouse=True)
def _restore_autostrada_log_level() -> Iterator[None]:
    """run(log_level=...) sets the autostrada logger's level: undo it after each test."""
    logger = logging.getLogger("autostrada")
    level = logger.level
    yield
    logger.setLevel(level)
