"""Rejoin, frontend: leave the realm and join again over the same transport.

Start ``backend.py`` first. ``onLeave`` decides: join again (``self.join()``), or
close the transport (``self.disconnect()``, the default). Needs a router that lets a
transport carry a new session after GOODBYE (Crossbar.io does; autostrada's router
closes the transport after GOODBYE).
"""

from __future__ import annotations

import os

from autostrada import ApplicationRunner, ApplicationSession, CloseDetails, SessionDetails
from autostrada.aio.channel import Channel

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Frontend(ApplicationSession):
    sessions = 0
    first_transport: Channel | None = None

    def onConnect(self) -> None:
        self.first_transport = self.transport
        self.join(self.config.realm)

    async def onJoin(self, details: SessionDetails) -> None:
        self.sessions += 1
        visit = await self.call("com.example.visit", details.session)
        same = self.transport is self.first_transport
        print(f"session {self.sessions}: joined, visit {visit}, same transport: {same}")
        self.leave()

    def onLeave(self, details: CloseDetails) -> None:
        print(f"session {self.sessions}: left ({details.reason})")
        if self.sessions < 2:
            self.join(self.config.realm)  # again, over the same transport
        else:
            self.disconnect()

    def onDisconnect(self) -> None:
        print(f"frontend: disconnected after {self.sessions} sessions")


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Frontend)
