"""A session that kills every session joining the realm: a router that drops sessions at once.

Used by the reconnect tests of Component and ApplicationRunner (the hot-loop guard).
"""

from __future__ import annotations

import contextlib
from typing import Any

from autostrada import ApplicationError, Session


class Killer:
    """Kills every session that joins the realm after :meth:`attach` (the first ``limit``)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.killed: list[int] = []

    async def on_join(self, session: Session, details: dict[str, Any]) -> None:
        if self.limit is not None and len(self.killed) >= self.limit:
            return
        self.killed.append(details["session"])
        with contextlib.suppress(ApplicationError):  # gone already
            await session.call("wamp.session.kill", details["session"])

    async def attach(self, session: Session) -> None:
        """Watch the realm's joins through ``session`` (meta API ``wamp.session.on_join``)."""
        await session.subscribe(
            lambda details: self.on_join(session, details), "wamp.session.on_join"
        )
