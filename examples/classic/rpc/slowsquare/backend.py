"""RPC slow square, backend: a fast and a slow procedure; invocations run concurrently.

Run a router (``autostrada router``), this backend, then ``frontend.py`` next to it.
``AUTOSTRADA_URL`` and ``AUTOSTRADA_REALM`` say where to connect instead.
"""

from __future__ import annotations

import asyncio
import os

from autostrada import ApplicationRunner, ApplicationSession, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Backend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        def square(x: int) -> int:
            return x * x

        async def slowsquare(x: int, delay: float = 0.5) -> int:
            # Each invocation is a task of its own: a slow one holds nothing else up.
            await asyncio.sleep(delay)
            return x * x

        await self.register(square, "com.math.square")
        await self.register(slowsquare, "com.math.slowsquare")
        print("backend: ready", flush=True)


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Backend)
