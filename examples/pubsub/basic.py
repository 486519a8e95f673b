"""Publish & subscribe: a publisher sends events, a subscriber receives them.

The subscriber subscribes two ways: with the Component decorator (made again after
every reconnect), and by hand in ``main`` (keeping the ``Subscription`` handle, to
unsubscribe later). Event handlers get the event's positional and keyword arguments.

Run a router (``autostrada router``), then::

    python examples/pubsub/basic.py
"""

from __future__ import annotations

import asyncio
import os

from autostrada import Component, Session, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")
TICKS = 3

subscribed = asyncio.Event()  # the subscriber is listening: the publisher may begin
finished = asyncio.Event()  # the subscriber got the last event


# ---------------------------------------------------------------- the subscriber


async def listen(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    # main runs once the decorated subscriptions (on_tick below) are made.
    def on_status(text: str, **details: object) -> None:
        print(f"subscriber: status {text!r} {details}")
        finished.set()

    subscription = await session.subscribe(on_status, "com.example.status")
    subscribed.set()
    await finished.wait()
    await subscription.unsubscribe()
    print("subscriber: unsubscribed from", subscription.topic)


subscriber = Component(main=listen, transports=URL, realm=REALM)


@subscriber.subscribe("com.example.tick")
def on_tick(n: int) -> None:
    print("subscriber: tick", n)


# ---------------------------------------------------------------- the publisher


async def publish(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    await subscribed.wait()
    for n in range(1, TICKS + 1):
        session.publish("com.example.tick", n)
        print("publisher: published tick", n)
    # Events from one publisher arrive in the order they were published.
    session.publish("com.example.status", "done", ticks=TICKS)


publisher = Component(main=publish, transports=URL, realm=REALM)

if __name__ == "__main__":
    run([subscriber, publisher])
