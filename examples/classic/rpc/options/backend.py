"""RPC options, backend: who is calling (caller disclosure), and an event that excludes them.

Run a router (``autostrada router``), this backend, then ``frontend.py`` next to it.
``AUTOSTRADA_URL`` and ``AUTOSTRADA_REALM`` say where to connect instead.
"""

from __future__ import annotations

import os

from autostrada import (
    ApplicationRunner,
    ApplicationSession,
    CallDetails,
    PublishOptions,
    RegisterOptions,
    SessionDetails,
)

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Backend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        def square(value: int, details: CallDetails) -> int:
            # details.caller is the caller's session id when the router discloses it
            # (the caller asked with CallOptions(disclose_me=True), or router config).
            if value < 0:
                self.publish("com.myapp.square_on_nonpositive", value)
            elif value == 0:
                # Tell everybody, except the caller: it has the result already.
                options = PublishOptions(exclude=[details.caller]) if details.caller else None
                self.publish("com.myapp.square_on_nonpositive", value, options=options)
            return value * value

        def whoami(details: CallDetails) -> int | None:
            return details.caller

        options = RegisterOptions(details_arg="details")
        await self.register(square, "com.myapp.square", options)
        await self.register(whoami, "com.myapp.whoami", options)
        print("backend: ready", flush=True)


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Backend)
