"""PubSub complex payloads, frontend: handlers for positional and keyword event payloads.

Start ``backend.py`` first.
"""

from __future__ import annotations

import os
from typing import Any

from autostrada import (
    ApplicationRunner,
    ApplicationSession,
    EventDetails,
    SessionDetails,
    SubscribeOptions,
)

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Frontend(ApplicationSession):
    heartbeats = 0
    events = 0

    async def onJoin(self, details: SessionDetails) -> None:
        def on_heartbeat(details: EventDetails) -> None:
            self.heartbeats += 1
            if self.heartbeats == 1:
                publication = isinstance(details.publication, int)
                print(f"heartbeat on {details.topic}, publication id is an int: {publication}")

        def on_topic2(counter: int, values: list[Any], c: str, d: dict[str, Any]) -> None:
            if self.events == 3:
                return  # leaving
            self.events += 1
            print(f"topic2: values {values} c {c!r} d.foo {d['foo']} d.nested {d['nested']}")
            print(f"topic2: counter matches d.counter: {counter == d['counter']}")
            if self.events == 3:
                self.leave()

        await self.subscribe(
            on_heartbeat, "com.myapp.heartbeat", SubscribeOptions(details_arg="details")
        )
        await self.subscribe(on_topic2, "com.myapp.topic2")
        print("frontend: subscribed")

    def onDisconnect(self) -> None:
        print(f"frontend: disconnected after {self.events} topic2 events")


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Frontend)
