"""RPC options, frontend: disclose yourself to the callee, and see who gets the event.

Start ``backend.py`` first. The event for ``square(0)`` excludes this caller; the one
for ``square(-2)`` reaches it (before the result: the router keeps the order).
"""

from __future__ import annotations

import os

from autostrada import ApplicationRunner, ApplicationSession, CallOptions, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Frontend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        def on_event(value: int) -> None:
            print(f"event: square_on_nonpositive {value}")

        await self.subscribe(on_event, "com.myapp.square_on_nonpositive")
        disclosed = CallOptions(disclose_me=True)

        caller = await self.call("com.myapp.whoami", options=disclosed)
        print(f"whoami() -> my session id: {caller == details.session}")
        for value in (2, 0, -2):
            result = await self.call("com.myapp.square", value, options=disclosed)
            print(f"square({value}) -> {result}")
        self.leave()

    def onDisconnect(self) -> None:
        print("frontend: disconnected")


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Frontend)
