"""Pattern-based subscriptions: one subscription, many topics.

* ``SubscribeOptions(match="prefix")``: every topic that starts with the given string;
* ``SubscribeOptions(match="wildcard")``: an empty URI component matches any one
  component (``com.example.sensors..temperature``).

``details.topic`` says which topic an event was published to.

Run a router (``autostrada router``), then::

    python examples/pubsub/pattern.py
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter

from autostrada import Component, EventDetails, Session, SubscribeOptions, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")

READINGS = [
    ("com.example.sensors.kitchen.temperature", 21.5),
    ("com.example.sensors.kitchen.humidity", 40),
    ("com.example.sensors.garage.temperature", 12.0),
]

subscribed = asyncio.Event()


async def watch(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    seen: Counter[str] = Counter()
    all_seen = asyncio.Event()

    def count(kind: str) -> None:
        seen[kind] += 1
        if seen == {"prefix": 3, "wildcard": 2}:  # every reading, and both temperatures
            all_seen.set()

    def on_sensor(value: float, details: EventDetails) -> None:
        print(f"prefix: {details.topic} = {value}")
        count("prefix")

    def on_temperature(value: float, details: EventDetails) -> None:
        print(f"wildcard: {details.topic} = {value}")
        count("wildcard")

    prefix = SubscribeOptions(match="prefix", details_arg="details")
    await session.subscribe(on_sensor, "com.example.sensors.", prefix)
    wildcard = SubscribeOptions(match="wildcard", details_arg="details")
    await session.subscribe(on_temperature, "com.example.sensors..temperature", wildcard)
    subscribed.set()
    await all_seen.wait()


async def publish(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    await subscribed.wait()
    for topic, value in READINGS:
        session.publish(topic, value)


watcher = Component(main=watch, transports=URL, realm=REALM)
sensors = Component(main=publish, transports=URL, realm=REALM)

if __name__ == "__main__":
    run([watcher, sensors])
