"""Retained events: a late subscriber gets the last event published on a topic.

The publisher publishes with ``PublishOptions(retain=True)``: the broker keeps the last
such event of the topic. A session that subscribes later with
``SubscribeOptions(get_retained=True)`` receives it at once, marked ``details.retained``.
The retained event outlives its publisher: here the publisher has left the realm
before the subscriber joins.

Run a router (``autostrada router``), then::

    python examples/pubsub/retained.py
"""

from __future__ import annotations

import asyncio
import os

from autostrada import Component, EventDetails, PublishOptions, Session, SubscribeOptions, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")
TOPIC = "com.example.thermostat.setpoint"


async def publish(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    for setpoint in (19.5, 21.0):  # the broker retains the last one
        # acknowledge=True: publish() returns an awaitable, resolved once the broker has it.
        await session.publish(
            TOPIC, setpoint, options=PublishOptions(retain=True, acknowledge=True)
        )
        print("publisher: published setpoint", setpoint)
    print("publisher: leaving")


async def subscribe(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    received = asyncio.Event()

    def on_setpoint(value: float, details: EventDetails) -> None:
        print(f"subscriber: setpoint {value} (retained: {details.retained})")
        received.set()

    options = SubscribeOptions(get_retained=True, details_arg="details")
    await session.subscribe(on_setpoint, TOPIC, options)
    await received.wait()


publisher = Component(main=publish, transports=URL, realm=REALM)
subscriber = Component(main=subscribe, transports=URL, realm=REALM)

if __name__ == "__main__":
    run([publisher])  # publish, then leave ...
    run([subscriber])  # ... and later, in a new session, get what the broker retained
