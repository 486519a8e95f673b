"""Fixtures of the router listener tests (helpers live in server_kit.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from server_kit import make_certificates


@pytest.fixture(scope="module")
def router_certs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A throwaway CA with a server certificate (127.0.0.1, localhost) and a client one."""
    directory: Path = tmp_path_factory.mktemp("router-certs")
    return make_certificates(directory)
