"""WAMP-Ticket authentication, and what happens with a wrong ticket.

``authentication={"ticket": {"authid": ..., "ticket": ...}}``: the router checks the
ticket and assigns the principal's role. A refused ticket is fatal by default (no
retry can fix it): the component fails with ``AuthenticationFailed`` at once, and
``run()`` raises it, instead of reconnecting forever.

The ticket is sent as it is: use WAMP-Ticket over TLS only (or on the loopback).

Run the router of the auth examples, then this::

    autostrada router --config examples/auth/router.toml
    python examples/auth/ticket.py
"""

from __future__ import annotations

import asyncio
import os

from autostrada import AuthenticationFailed, Component, Session, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")

# EXAMPLE SECRET (examples/auth/router.toml): never use it for anything real.
TICKET = "example-ticket"


async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    details = session.details
    assert details is not None
    print(f"joined as {details.authid!r}, role {details.authrole!r}, via {details.authmethod}")


component = Component(
    main=main,
    transports=URL,
    realm=REALM,
    authentication={"ticket": {"authid": "ticket-user", "ticket": TICKET}},
)

intruder = Component(
    main=main,
    transports=URL,
    realm=REALM,
    authentication={"ticket": {"authid": "ticket-user", "ticket": "a wrong guess"}},
)

if __name__ == "__main__":
    run([component])
    try:
        run([intruder])
    except AuthenticationFailed as exc:
        print("a wrong ticket is refused:", exc.reason)
