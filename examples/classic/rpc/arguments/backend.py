"""RPC arguments, backend: procedures taking positional and keyword arguments.

Run a router (``autostrada router``), this backend, then ``frontend.py`` next to it.
``AUTOSTRADA_URL`` and ``AUTOSTRADA_REALM`` say where to connect instead.
"""

from __future__ import annotations

import os
from typing import Any

from autostrada import ApplicationRunner, ApplicationSession, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Backend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        def ping() -> None:
            """No arguments, no result."""

        def add2(a: int, b: int) -> int:
            return a + b

        def stars(nick: str = "somebody", stars: int = 0) -> str:
            return f"{nick} starred {stars}x"

        def orders(product: str, limit: int = 5) -> list[str]:
            return [f"{product} #{n}" for n in range(limit)]

        def arglen(*args: Any, **kwargs: Any) -> list[int]:
            return [len(args), len(kwargs)]

        await self.register(ping, "com.arguments.ping")
        await self.register(add2, "com.arguments.add2")
        await self.register(stars, "com.arguments.stars")
        await self.register(orders, "com.arguments.orders")
        await self.register(arglen, "com.arguments.arglen")
        print("backend: ready", flush=True)


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Backend)
