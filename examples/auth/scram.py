"""WAMP-SCRAM authentication: a password, of which the router stores only derived keys.

``authentication={"scram": {"authid": ..., "password": ...}}``. The router sends the
salt and the key-derivation parameters (argon2id here; needs ``argon2-cffi``:
``pip install autostrada[scram]``); client and router prove to each other that they
know the password (the client checks the router's proof too).

Run the router of the auth examples, then this::

    autostrada router --config examples/auth/router.toml
    python examples/auth/scram.py
"""

from __future__ import annotations

import asyncio
import os

from autostrada import Component, Session, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")

# EXAMPLE SECRET (examples/auth/router.toml): never use it for anything real.
PASSWORD = "example-scram-password"


async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    details = session.details
    assert details is not None
    print(f"joined as {details.authid!r}, role {details.authrole!r}, via {details.authmethod}")


component = Component(
    main=main,
    transports=URL,
    realm=REALM,
    authentication={"scram": {"authid": "scram-user", "password": PASSWORD}},
)

if __name__ == "__main__":
    run([component])
