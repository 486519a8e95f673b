"""Publish and subscribe options: acknowledgement, event details, who receives an event.

* ``PublishOptions(acknowledge=True)``: ``publish()`` returns an awaitable that resolves
  once the broker accepted the event (or raises its error, e.g. not authorized);
* ``SubscribeOptions(details_arg="details")``: the handler gets ``EventDetails``;
* ``exclude_me=False``: the publisher receives its own event (when subscribed);
* ``exclude=[session ids]`` / ``eligible=[session ids]``: leave sessions out / only
  these (``exclude_authid``, ``eligible_authrole``... filter by identity).

Run a router (``autostrada router``), then::

    python examples/pubsub/options.py
"""

from __future__ import annotations

import asyncio
import os

from autostrada import Component, EventDetails, PublishOptions, Session, SubscribeOptions, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")
TOPIC = "com.example.news"

listening = asyncio.Event()
finished = asyncio.Event()


async def listen(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    def on_news(text: str, details: EventDetails) -> None:
        print(f"listener: {text!r} (topic {details.topic})")
        if text == "bye":
            finished.set()

    await session.subscribe(on_news, TOPIC, SubscribeOptions(details_arg="details"))
    listening.set()
    await finished.wait()


async def publish(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    await listening.wait()
    assert listener.session is not None and listener.session.session_id is not None
    listener_id = listener.session.session_id  # the other component's session
    own_events: asyncio.Queue[str] = asyncio.Queue()
    await session.subscribe(own_events.put_nowait, TOPIC)  # the publisher listens too

    publication = await session.publish(TOPIC, "hello", options=PublishOptions(acknowledge=True))
    print("publisher: the broker acknowledged", publication)

    # By default a publisher never receives its own events; exclude_me=False changes that.
    session.publish(TOPIC, "for everyone, me too", options=PublishOptions(exclude_me=False))
    print("publisher: got my own event", repr(await own_events.get()))

    # Everyone but the listener (and, with exclude_me=False, me).
    options = PublishOptions(exclude=[listener_id], exclude_me=False)
    session.publish(TOPIC, "not for the listener", options=options)
    print("publisher: got my own event", repr(await own_events.get()))

    # Only the listener.
    session.publish(TOPIC, "only for the listener", options=PublishOptions(eligible=[listener_id]))
    session.publish(TOPIC, "bye")
    await finished.wait()


listener = Component(main=listen, transports=URL, realm=REALM)
publisher = Component(main=publish, transports=URL, realm=REALM)

if __name__ == "__main__":
    run([listener, publisher])
