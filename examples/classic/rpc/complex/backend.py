"""RPC complex results, backend: procedures returning several values with ``CallResult``.

Run a router (``autostrada router``), this backend, then ``frontend.py`` next to it.
``AUTOSTRADA_URL`` and ``AUTOSTRADA_REALM`` say where to connect instead.
"""

from __future__ import annotations

import os

from autostrada import ApplicationRunner, ApplicationSession, CallResult, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Backend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        def add_complex(a: int, ai: int, b: int, bi: int) -> CallResult:
            """Keyword results: the caller gets a CallResult with kwresults."""
            return CallResult(c=a + b, ci=ai + bi)

        def split_name(fullname: str) -> CallResult:
            """Several positional results: the caller gets a CallResult with results."""
            forename, surname = fullname.split()
            return CallResult(forename, surname)

        def profile(user: str) -> CallResult:
            """Positional and keyword results together."""
            return CallResult(user, roles=["admin", "dev"], active=True)

        await self.register(add_complex, "com.myapp.add_complex")
        await self.register(split_name, "com.myapp.split_name")
        await self.register(profile, "com.myapp.profile")
        print("backend: ready", flush=True)


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Backend)
