"""Anonymous sessions: no credentials, and only what the router allows the role.

Without ``authentication`` (or with ``{"anonymous": {}}``) a component offers the
``anonymous`` method. examples/auth/router.toml gives anonymous sessions the role
``anonymous``, which may only subscribe to ``com.example.public.*``: anything else is
refused with ``wamp.error.not_authorized``.

Run the router of the auth examples, then this::

    autostrada router --config examples/auth/router.toml
    python examples/auth/anonymous.py
"""

from __future__ import annotations

import asyncio
import os

from autostrada import ApplicationError, Component, PublishOptions, Session, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    details = session.details
    assert details is not None
    print(f"joined as {details.authid!r}, role {details.authrole!r}, via {details.authmethod}")

    subscription = await session.subscribe(print, "com.example.public.news")
    print("subscribed to", subscription.topic)

    try:  # acknowledge=True: a refused publication raises
        await session.publish(
            "com.example.public.news", "hi", options=PublishOptions(acknowledge=True)
        )
    except ApplicationError as exc:
        print("publishing is refused:", exc.error)


component = Component(
    main=main,
    transports=URL,
    realm=REALM,
    authentication={"anonymous": {}},
)

if __name__ == "__main__":
    run([component])
