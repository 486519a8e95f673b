"""PubSub options, backend: answer each ping event with a pong event.

Run a router (``autostrada router``), this backend, then ``frontend.py`` next to it.
``AUTOSTRADA_URL`` and ``AUTOSTRADA_REALM`` say where to connect instead.
"""

from __future__ import annotations

import os

from autostrada import ApplicationRunner, ApplicationSession, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Backend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        def on_ping(number: int) -> None:
            self.publish("com.example.pong", number)

        await self.subscribe(on_ping, "com.example.ping")
        print("backend: ready", flush=True)


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Backend)
