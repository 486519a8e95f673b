"""WAMP-CRA authentication: challenge-response with a shared secret.

``authentication={"wampcra": {"authid": ..., "secret": ...}}``. The secret never crosses
the network: the router sends a challenge, the client answers with its HMAC. When the
router stores a salted key (PBKDF2 of a password), the challenge carries the salt and
the client derives the same key from its password: the client configuration is the
same either way. Both principals are in examples/auth/router.toml.

Run the router of the auth examples, then this::

    autostrada router --config examples/auth/router.toml
    python examples/auth/wampcra.py
"""

from __future__ import annotations

import asyncio
import os

from autostrada import Component, Session, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")

# EXAMPLE SECRETS (examples/auth/router.toml): never use them for anything real.
SECRET = "example-wampcra-secret"
PASSWORD = "example-wampcra-password"


async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    details = session.details
    assert details is not None
    print(f"joined as {details.authid!r}, role {details.authrole!r}, via {details.authmethod}")


plain = Component(
    main=main,
    transports=URL,
    realm=REALM,
    authentication={"wampcra": {"authid": "cra-user", "secret": SECRET}},
)

salted = Component(
    main=main,
    transports=URL,
    realm=REALM,
    authentication={"wampcra": {"authid": "cra-salted-user", "secret": PASSWORD}},
)

if __name__ == "__main__":
    run([plain, salted])
