"""RPC slow square, frontend: call a slow and a fast procedure at once.

Start ``backend.py`` first. The slow call is made first and returns last.
"""

from __future__ import annotations

import asyncio
import os

from autostrada import ApplicationRunner, ApplicationSession, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Frontend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        async def call(procedure: str, x: int) -> None:
            result = await self.call(procedure, x)
            print(f"{procedure}({x}) -> {result}")

        # Both calls are in flight at once: the fast one, made second, returns first.
        await asyncio.gather(call("com.math.slowsquare", 3), call("com.math.square", 4))
        print("both done")
        self.leave()

    def onDisconnect(self) -> None:
        print("frontend: disconnected")


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Frontend)
