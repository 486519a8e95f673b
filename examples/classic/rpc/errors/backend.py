"""RPC errors, backend: procedures that fail with ApplicationError and a defined exception.

Run a router (``autostrada router``), this backend, then ``frontend.py`` next to it.
``AUTOSTRADA_URL`` and ``AUTOSTRADA_REALM`` say where to connect instead.
"""

from __future__ import annotations

import math
import os

from autostrada import ApplicationError, ApplicationRunner, ApplicationSession, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class AppError1(Exception):
    """An application exception, mapped to an error URI with ``define()``."""


class Backend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        # Raising AppError1 in a procedure sends this URI (and the exception's args).
        self.define(AppError1, "com.myapp.error1")

        def sqrt(x: float) -> float:
            if x == 0:
                raise Exception("don't ask foolish questions ;)")
            return math.sqrt(x)  # a negative x: ValueError, the caller gets runtime_error

        def checkname(name: str) -> None:
            if name in ("foo", "bar"):
                raise ApplicationError("com.myapp.error.reserved")
            if name.lower() != name:
                raise ApplicationError("com.myapp.error.mixed_case", name.lower(), name.upper())
            if not 3 <= len(name) <= 10:
                raise ApplicationError("com.myapp.error.invalid_length", min=3, max=10)

        def compare(a: int, b: int) -> int:
            if a < b:
                raise AppError1(b - a)
            return a - b

        await self.register(sqrt, "com.myapp.sqrt")
        await self.register(checkname, "com.myapp.checkname")
        await self.register(compare, "com.myapp.compare")
        print("backend: ready", flush=True)


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Backend)
