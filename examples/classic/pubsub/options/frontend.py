"""PubSub options, frontend: acknowledged publications and ``exclude_me``.

Start ``backend.py`` first. By default a publisher does not receive its own event;
``PublishOptions(exclude_me=False)`` says it should. ``acknowledge=True`` makes
``publish()`` return a future of the broker's answer.
"""

from __future__ import annotations

import asyncio
import os

from autostrada import (
    ApplicationRunner,
    ApplicationSession,
    Publication,
    PublishOptions,
    SessionDetails,
)

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Frontend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        pongs: asyncio.Queue[int] = asyncio.Queue()
        own: asyncio.Queue[int] = asyncio.Queue()
        await self.subscribe(pongs.put_nowait, "com.example.pong")
        await self.subscribe(own.put_nowait, "com.example.ping")  # our own pings, if any

        for number, exclude_me in ((1, True), (2, False)):
            options = PublishOptions(acknowledge=True, exclude_me=exclude_me)
            acknowledged = self.publish("com.example.ping", number, options=options)
            assert acknowledged is not None  # with acknowledge=True: a future
            publication: Publication = await acknowledged
            print(f"ping {number} acknowledged: {isinstance(publication.id, int)}")
            print(f"pong {await pongs.get()}")
        heard = [await own.get()]  # ping 2, sent with exclude_me=False
        while not own.empty():
            heard.append(own.get_nowait())
        print(f"heard my own pings: {heard}")
        self.leave()

    def onDisconnect(self) -> None:
        print("frontend: disconnected")


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Frontend)
