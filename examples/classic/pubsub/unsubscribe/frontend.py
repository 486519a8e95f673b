"""PubSub unsubscribe, frontend: subscribe, take three events, unsubscribe; twice.

Start ``backend.py`` first.
"""

from __future__ import annotations

import asyncio
import os

from autostrada import ApplicationRunner, ApplicationSession, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Frontend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        counters: asyncio.Queue[int] = asyncio.Queue()
        for round_ in (1, 2):
            subscription = await self.subscribe(counters.put_nowait, "com.myapp.counter")
            print(f"round {round_}: subscribed (active: {subscription.active})")
            received = [await counters.get() for _ in range(3)]
            print(f"round {round_}: 3 events, increasing: {received == sorted(received)}")
            await subscription.unsubscribe()
            print(f"round {round_}: unsubscribed (active: {subscription.active})")
            while not counters.empty():  # any that arrived before the unsubscription
                counters.get_nowait()
        self.leave()

    def onDisconnect(self) -> None:
        print("frontend: disconnected")


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Frontend)
