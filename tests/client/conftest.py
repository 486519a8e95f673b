"""Fixtures of the client tests: Crossbar targets over every transport and serializer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from clientkit import MATRIX, Target, crossbar_url

from autostrada.testing import RouterThread


@pytest.fixture(params=MATRIX, ids=[f"{t}-{s}" for t, s in MATRIX])
def cb_target(request: pytest.FixtureRequest, crossbar: Any) -> Target:
    """One Crossbar listener (ws, rs, rs-unix) with one serializer (json, msgpack, cbor)."""
    transport, serializer = request.param
    return Target(crossbar_url(crossbar, transport), serializer, crossbar.realm)


@pytest.fixture(scope="session")
def client_router() -> Iterator[RouterThread]:
    """Our embedded router, for what Crossbar does not offer (realm1, anonymous may all)."""
    with RouterThread() as router:
        yield router
