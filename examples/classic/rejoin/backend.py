"""Rejoin, backend: count the visits of the frontend's sessions.

Needs a router that lets a transport carry a new session after GOODBYE (Crossbar.io
does; autostrada's router closes the transport after GOODBYE).
``AUTOSTRADA_URL`` and ``AUTOSTRADA_REALM`` say where to connect.
"""

from __future__ import annotations

import os

from autostrada import ApplicationRunner, ApplicationSession, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Backend(ApplicationSession):
    visits = 0

    async def onJoin(self, details: SessionDetails) -> None:
        def visit(session_id: int) -> int:
            self.visits += 1
            return self.visits

        await self.register(visit, "com.example.visit")
        print("backend: ready", flush=True)


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Backend)
