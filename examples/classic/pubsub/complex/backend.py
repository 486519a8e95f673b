"""PubSub complex payloads, backend: events without payload, and with lists and dicts.

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
        print("backend: ready", flush=True)
        counter = 0
        while self.is_attached():  # until the session leaves (Ctrl-C)
            self.publish("com.myapp.heartbeat")
            self.publish(
                "com.myapp.topic2",
                counter,
                [1, 2.5, "three"],
                c="Hello",
                d={"counter": counter, "foo": [1, 2, 3], "nested": {"ok": True}},
            )
            counter += 1
            await asyncio.sleep(0.1)


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Backend)
