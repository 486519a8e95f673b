"""PubSub basic, frontend: subscribe to the counter, leave after five events.

Start ``backend.py`` first.
"""

from __future__ import annotations

import os

from autostrada import ApplicationRunner, ApplicationSession, CloseDetails, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Frontend(ApplicationSession):
    received = 0

    async def onJoin(self, details: SessionDetails) -> None:
        def on_event(counter: int) -> None:
            if self.received == 5:
                return  # leaving
            self.received += 1
            print(f"event {self.received}: counter is an int: {isinstance(counter, int)}")
            if self.received == 5:
                self.leave()

        await self.subscribe(on_event, "com.myapp.topic1")
        print("frontend: subscribed")

    def onLeave(self, details: CloseDetails) -> None:
        print(f"frontend: left after {self.received} events")
        self.disconnect()

    def onDisconnect(self) -> None:
        print("frontend: disconnected")


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Frontend)
