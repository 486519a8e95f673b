"""Decorators, frontend: call the backend's decorated methods, publish to its handler.

Start ``backend.py`` first.
"""

from __future__ import annotations

import os

from autostrada import ApplicationRunner, ApplicationSession, PublishOptions, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Frontend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        print("add2(2, 3) ->", await self.call("com.example.add2", 2, 3))
        print("greet('Ada') ->", await self.call("com.example.greet", "Ada"))
        # Acknowledged: the broker has it; the backend gets the event before the next
        # call (the router keeps the order of what it sends the backend).
        acknowledged = self.publish(
            "com.example.set_greeting", "Bonjour", options=PublishOptions(acknowledge=True)
        )
        assert acknowledged is not None
        await acknowledged
        print("greet('Ada') ->", await self.call("com.example.greet", "Ada"))
        self.leave()

    def onDisconnect(self) -> None:
        print("frontend: disconnected")


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Frontend)
