"""RPC progressive results, backend: a procedure that reports progress before its result.

Run a router (``autostrada router``), this backend, then ``frontend.py`` next to it.
``AUTOSTRADA_URL`` and ``AUTOSTRADA_REALM`` say where to connect instead.
"""

from __future__ import annotations

import asyncio
import os

from autostrada import (
    ApplicationRunner,
    ApplicationSession,
    CallDetails,
    RegisterOptions,
    SessionDetails,
)

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Backend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        async def longop(n: int, details: CallDetails) -> str:
            # details.progress is None unless the caller asked for progressive results.
            for step in range(n, 0, -1):
                if details.progress is not None:
                    details.progress(step)
                await asyncio.sleep(0.01)  # the work
            return "liftoff"

        await self.register(longop, "com.myapp.longop", RegisterOptions(details_arg="details"))
        print("backend: ready", flush=True)


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Backend)
